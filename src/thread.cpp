#include "runtools/thread.hpp"

#include "internal/json_util.hpp"
#include "internal/pagination.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

void from_json(const json& j, Thread& thread) {
  thread.id = js::string(j, {"id"});
  thread.orgId = js::string(j, {"orgId"});
  thread.ownerUserId = js::string(j, {"ownerUserId"});
  thread.agentId = js::string(j, {"agentId"});
  thread.title = js::string(j, {"title"});
  thread.executionMode = js::string(j, {"executionMode"});
  thread.archived = js::boolean(j, {"archived"});
  thread.activeRolloutId = js::optString(j, {"activeRolloutId"});
  thread.createdAt = js::optTimestamp(j, {"createdAt"});
  thread.updatedAt = js::optTimestamp(j, {"updatedAt"});
  thread.raw = j;
}

void from_json(const json& j, ThreadEvent& event) {
  event.sequence = js::optInt(j, {"sequence"}).value_or(0);
  event.type = js::string(j, {"type"});
  event.threadId = js::string(j, {"threadId"});
  event.rolloutId = js::optString(j, {"rolloutId"});
  event.runId = js::optString(j, {"runId"});
  const json* payload = js::find(j, {"payload"});
  event.payload = payload != nullptr ? *payload : json::object();
  event.createdAt = js::optTimestamp(j, {"createdAt"});
  event.raw = j;
}

ThreadClient::ThreadClient(std::shared_ptr<internal::ServiceClient> api) : api_(std::move(api)) {}

Page<Thread> ThreadClient::listPage(const ThreadListOptions& options) const {
  internal::Query query;
  internal::addLimit(query, options.limit, 100, "ThreadListOptions::limit");
  if (options.cursor) query.emplace_back("cursor", *options.cursor);
  if (options.archived) query.emplace_back("archived", "true");
  const auto response = api_->get(makePath({"threads"}), query);
  const json& data = response.data();
  const json* items = data.is_array() ? &data : js::find(data, {"threads"});
  return internal::makePage<Thread>(response.envelope, items != nullptr ? *items : json::array());
}

std::vector<Thread> ThreadClient::list(const ThreadListOptions& options) const {
  return internal::collectAll(iterate(options));
}

PageRange<Thread> ThreadClient::iterate(const ThreadListOptions& options) const {
  return internal::pagesOf<Thread>(
      options, [self = *this](const ThreadListOptions& page) { return self.listPage(page); });
}

ThreadSnapshot ThreadClient::get(const std::string& threadId, std::optional<int> limit,
                                 bool allRollouts) const {
  internal::Query query;
  internal::addLimit(query, limit, 500, "the event limit");
  if (allRollouts) query.emplace_back("include", "all_rollouts");
  const auto data = api_->get(makePath({"threads", threadId}), query).data();
  ThreadSnapshot snapshot;
  const json* thread = js::find(data, {"thread"});
  snapshot.thread = (thread != nullptr ? *thread : data).get<Thread>();
  if (const json* events = js::find(data, {"events"})) {
    snapshot.events = js::list<ThreadEvent>(*events);
  }
  return snapshot;
}

Page<ThreadEvent> ThreadClient::eventsPage(const std::string& threadId,
                                           const ThreadEventsOptions& options) const {
  internal::Query query;
  internal::addLimit(query, options.limit, 500, "ThreadEventsOptions::limit");
  if (options.cursor) query.emplace_back("cursor", *options.cursor);
  if (options.allRollouts) query.emplace_back("include", "all_rollouts");
  if (options.rolloutId) query.emplace_back("rollout_id", *options.rolloutId);
  const auto response = api_->get(makePath({"threads", threadId, "events"}), query);
  const json& data = response.data();
  const json* events = data.is_array() ? &data : js::find(data, {"events"});
  return internal::makePage<ThreadEvent>(response.envelope,
                                         events != nullptr ? *events : json::array());
}

std::vector<ThreadEvent> ThreadClient::events(const std::string& threadId,
                                              const ThreadEventsOptions& options) const {
  return internal::collectAll(iterateEvents(threadId, options));
}

PageRange<ThreadEvent> ThreadClient::iterateEvents(const std::string& threadId,
                                                   const ThreadEventsOptions& options) const {
  return internal::pagesOf<ThreadEvent>(options,
                                        [self = *this, threadId](const ThreadEventsOptions& page) {
                                          return self.eventsPage(threadId, page);
                                        });
}

std::vector<Rollout> ThreadClient::rollouts(const std::string& threadId) const {
  const auto data = api_->get(makePath({"threads", threadId, "rollouts"})).data();
  const json* items = data.is_array() ? &data : js::find(data, {"rollouts"});
  std::vector<Rollout> out;
  if (items == nullptr || !items->is_array()) return out;
  for (const auto& r : *items) {
    Rollout rollout;
    rollout.rolloutId = js::string(r, {"rolloutId", "id"});
    rollout.threadId = js::string(r, {"threadId"}, threadId);
    rollout.startedAt = js::optTimestamp(r, {"startedAt"});
    rollout.completedAt = js::optTimestamp(r, {"completedAt"});
    rollout.eventCount = js::optInt(r, {"eventCount"}).value_or(0);
    out.push_back(std::move(rollout));
  }
  return out;
}

namespace {

// A PATCH answer: the thread, or an acknowledgement (then fetch it).
Thread patchThread(const internal::ServiceClient& api, const std::string& threadId, json body) {
  const auto data = api.patch(makePath({"threads", threadId}), std::move(body)).data();
  const json* thread = js::find(data, {"thread"});
  const json& object = thread != nullptr ? *thread : data;
  if (object.is_object() && object.contains("id")) return object.get<Thread>();
  const auto fresh = api.get(makePath({"threads", threadId})).data();
  const json* inner = js::find(fresh, {"thread"});
  return (inner != nullptr ? *inner : fresh).get<Thread>();
}

}  // namespace

Thread ThreadClient::rename(const std::string& threadId, const std::string& title) const {
  if (title.empty()) throw InvalidArgumentError("a thread title must not be empty");
  return patchThread(*api_, threadId, json{{"title", title}});
}

Thread ThreadClient::archive(const std::string& threadId, bool archived) const {
  return patchThread(*api_, threadId, json{{"archived", archived}});
}

void ThreadClient::remove(const std::string& threadId) const {
  api_->del(makePath({"threads", threadId}));
}

CompactResult ThreadClient::compact(const std::string& threadId) const {
  const auto data = api_->post(makePath({"threads", threadId, "compact"})).data();
  CompactResult out;
  out.threadId = js::string(data, {"threadId"}, threadId);
  out.rolloutId = js::string(data, {"rolloutId"});
  return out;
}

}  // namespace runtools
