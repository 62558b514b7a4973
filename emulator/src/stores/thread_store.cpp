#include "stores/thread_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "http/api_error.hpp"
#include "stores/persistence.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"
#include "util/time_util.hpp"

namespace rtemu {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kTitleCharacters = 80;
constexpr char kMetaFile[] = "thread.json";
constexpr char kEventsFile[] = "events.jsonl";

Json nullableMs(const std::optional<std::int64_t>& ms) {
  return ms ? Json(isoTimestamp(*ms)) : Json(nullptr);
}

bool isContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

struct ThreadStore::Record {
  struct Rollout {
    std::string id;
    std::int64_t startedAtMs = 0;
    std::optional<std::int64_t> completedAtMs;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Rollout, id, startedAtMs, completedAtMs)
  };

  std::string id;
  std::string orgId;
  std::string ownerUserId;
  std::string agentId;
  std::string agentSlug;
  std::string title;
  std::string executionMode;
  bool archived = false;
  std::int64_t createdAtMs = 0;
  std::int64_t updatedAtMs = 0;
  std::uint64_t touch = 0;        // tie-break of updatedAt (newer touch first)
  std::vector<Rollout> rollouts;  // the last one is active
  std::vector<Json> events;       // wire objects, by sequence
  std::int64_t nextSequence = 1;

  const std::string& activeRollout() const { return rollouts.back().id; }

  // thread.json: everything but the events (events.jsonl) and the in-memory ordering.
  NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Record, id, orgId, ownerUserId, agentId, agentSlug,
                                              title, executionMode, archived, createdAtMs,
                                              updatedAtMs, rollouts)
};

std::size_t ThreadStore::countCharacters(const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return !isContinuation(c); }));
}

std::string ThreadStore::cutCharacters(const std::string& text, std::size_t max) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (isContinuation(text[i])) continue;
    if (chars == max) return text.substr(0, i);
    ++chars;
  }
  return text;
}

ThreadStore::ThreadStore(std::optional<fs::path> root, const Clock& clock)
    : root_(std::move(root)), clock_(clock) {}

ThreadStore::~ThreadStore() = default;

ThreadStore::Record* ThreadStore::findLocked(const std::string& orgId, const std::string& id) {
  for (const auto& record : records_) {
    if (record->id == id && record->orgId == orgId) return record.get();
  }
  return nullptr;
}

ThreadStore::Record& ThreadStore::requireLocked(const std::string& orgId, const std::string& id) {
  Record* record = findLocked(orgId, id);
  if (!record) throw notFound("Thread not found");
  return *record;
}

Json ThreadStore::toJsonLocked(const Record& r) const {
  return Json{
      {"id", r.id},
      {"orgId", r.orgId},
      {"ownerUserId", r.ownerUserId},
      {"agentId", r.agentId},
      {"agentSlug", r.agentSlug},
      {"title", r.title},
      {"executionMode", r.executionMode},
      {"archived", r.archived},
      {"activeRolloutId", r.activeRollout()},
      {"createdAt", isoTimestamp(r.createdAtMs)},
      {"updatedAt", isoTimestamp(r.updatedAtMs)},
  };
}

void ThreadStore::saveMetaLocked(const Record& r) {
  if (!root_) return;
  const fs::path dir = *root_ / r.id;
  std::error_code ec;
  if (fs::create_directories(dir, ec)) fsyncDirectory(*root_);
  Json meta = r;
  meta["version"] = 1;
  writeFileAtomically(dir / kMetaFile, dumpJson(meta), true);
}

void ThreadStore::touchLocked(Record& record, std::int64_t nowMs) {
  record.updatedAtMs = std::max(record.updatedAtMs, nowMs);
  record.touch = ++nextTouch_;
}

void ThreadStore::appendLocked(Record& record, const std::string& rolloutId,
                               const std::string& runId, const std::string& type, Json payload) {
  const std::int64_t now = clock_.nowMs();
  Json event{{"sequence", record.nextSequence++},
             {"rolloutId", rolloutId},
             {"threadId", record.id},
             {"runId", runId.empty() ? Json(nullptr) : Json(runId)},
             {"type", type},
             {"payload", std::move(payload)},
             {"createdAt", isoTimestamp(now)}};
  touchLocked(record, now);
  if (root_) {
    const fs::path file = *root_ / record.id / kEventsFile;
    const std::string line = dumpJson(event) + "\n";
    const UniqueFd fd(
        ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (fd && writeAll(fd.get(), line.data(), line.size())) ::fsync(fd.get());
  }
  record.events.push_back(std::move(event));
}

ThreadRef ThreadStore::create(const Principal& caller, const std::string& agentId,
                              const std::string& agentSlug, const std::string& executionMode,
                              const std::string& title) {
  auto record = std::make_unique<Record>();
  record->id = newThreadId();
  record->orgId = caller.orgId;
  record->ownerUserId = caller.userId;
  record->agentId = agentId;
  record->agentSlug = agentSlug;
  record->title = cutCharacters(title, kTitleCharacters);
  record->executionMode = executionMode;
  record->createdAtMs = clock_.nowMs();
  record->updatedAtMs = record->createdAtMs;
  record->rollouts.push_back(Record::Rollout{newRolloutId(), record->createdAtMs, std::nullopt});

  std::lock_guard<std::mutex> lock(mutex_);
  record->touch = ++nextTouch_;
  saveMetaLocked(*record);
  ThreadRef ref{record->id, record->activeRollout()};
  records_.push_back(std::move(record));
  return ref;
}

ThreadRef ThreadStore::require(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, id);
  return ThreadRef{record.id, record.activeRollout()};
}

void ThreadStore::append(const std::string& threadId, const std::string& rolloutId,
                         const std::string& runId, const std::string& type, Json payload) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& record : records_) {
    if (record->id == threadId) {
      appendLocked(*record, rolloutId, runId, type, std::move(payload));
      return;
    }
  }
}

std::vector<std::string> ThreadStore::userMessages(const std::string& threadId) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& record : records_) {
    if (record->id != threadId) continue;
    for (const Json& event : record->events) {
      if (event["type"] != "user_message") continue;
      const Json& payload = event["payload"];
      if (payload.is_object() && payload.contains("content") && payload["content"].is_string()) {
        out.push_back(payload["content"].get<std::string>());
      }
    }
  }
  return out;
}

Json ThreadStore::list(const std::string& orgId, bool includeArchived,
                       const std::optional<std::string>& agentRef) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const Record*> matches;
  for (const auto& record : records_) {
    if (record->orgId != orgId) continue;
    if (record->archived && !includeArchived) continue;
    if (agentRef && record->agentSlug != *agentRef && record->agentId != *agentRef) continue;
    matches.push_back(record.get());
  }
  std::sort(matches.begin(), matches.end(), [](const Record* a, const Record* b) {
    if (a->updatedAtMs != b->updatedAtMs) return a->updatedAtMs > b->updatedAtMs;
    return a->touch > b->touch;
  });
  Json out = Json::array();
  for (const Record* record : matches)
    out.push_back(toJsonLocked(*record));
  return out;
}

Json ThreadStore::get(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return toJsonLocked(requireLocked(orgId, id));
}

Json ThreadStore::events(const std::string& orgId, const std::string& id, bool allRollouts,
                         const std::optional<std::string>& rolloutId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, id);
  std::string wanted = record.activeRollout();
  if (rolloutId) {
    const bool known = std::any_of(record.rollouts.begin(), record.rollouts.end(),
                                   [&](const Record::Rollout& r) { return r.id == *rolloutId; });
    if (!known) throw notFound("Rollout not found");
    wanted = *rolloutId;
  }
  Json events = Json::array();
  for (const Json& event : record.events) {
    if (allRollouts && !rolloutId) {
      events.push_back(event);
    } else if (event["rolloutId"] == wanted) {
      events.push_back(event);
    }
  }
  return Json{{"thread", toJsonLocked(record)}, {"events", std::move(events)}};
}

Json ThreadStore::rollouts(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, id);
  Json rollouts = Json::array();
  for (const auto& rollout : record.rollouts) {
    const auto count = std::count_if(record.events.begin(), record.events.end(),
                                     [&](const Json& e) { return e["rolloutId"] == rollout.id; });
    rollouts.push_back(Json{{"rolloutId", rollout.id},
                            {"threadId", record.id},
                            {"startedAt", isoTimestamp(rollout.startedAtMs)},
                            {"completedAt", nullableMs(rollout.completedAtMs)},
                            {"eventCount", count}});
  }
  return Json{{"thread", toJsonLocked(record)}, {"rollouts", std::move(rollouts)}};
}

Json ThreadStore::patch(const std::string& orgId, const std::string& id,
                        const std::optional<std::string>& title,
                        const std::optional<bool>& archived) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(orgId, id);
  if (title) record.title = *title;
  if (archived) record.archived = *archived;
  touchLocked(record, clock_.nowMs());
  saveMetaLocked(record);
  return toJsonLocked(record);
}

Json ThreadStore::remove(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(orgId, id);
  if (root_) {
    std::error_code ec;
    fs::remove_all(*root_ / record.id, ec);
    fsyncDirectory(*root_);
  }
  records_.erase(
      std::remove_if(records_.begin(), records_.end(),
                     [&](const std::unique_ptr<Record>& r) { return r.get() == &record; }),
      records_.end());
  return Json{{"id", id}, {"deleted", true}};
}

Json ThreadStore::compact(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(orgId, id);
  const std::string previous = record.activeRollout();
  const auto messages =
      std::count_if(record.events.begin(), record.events.end(), [&](const Json& e) {
        return e["rolloutId"] == previous &&
               (e["type"] == "user_message" || e["type"] == "assistant_message");
      });
  const std::string next = newRolloutId();
  appendLocked(record, previous, "", "compaction_started", Json{{"nextRolloutId", next}});
  const std::int64_t now = clock_.nowMs();
  record.rollouts.back().completedAtMs = now;
  record.rollouts.push_back(Record::Rollout{next, now, std::nullopt});
  appendLocked(record, next, "", "compaction_completed",
               Json{{"summary", std::to_string(messages) + " messages compacted"},
                    {"previousRolloutId", previous}});
  saveMetaLocked(record);
  return Json{{"threadId", record.id}, {"rolloutId", next}};
}

void ThreadStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (root_) {
    for (const auto& record : records_) {
      std::error_code ec;
      fs::remove_all(*root_ / record->id, ec);
    }
  }
  records_.clear();
}

// ---- restore ---------------------------------------------------------------------------------

namespace {

// The thread.json of `dir`, read as a Record (no events yet); null when it is missing, damaged
// or names another thread than its directory.
template <typename Record>
std::unique_ptr<Record> loadMeta(const fs::path& dir) {
  const auto meta =
      readRecord<Record>(readStateFile(dir / kMetaFile), {"id", "orgId", "rollouts"},
                         [](const Json& entry, Record& r) {
                           if (!entry.contains("executionMode")) r.executionMode = "in_sandbox";
                           updatedAtDefault(entry, r);
                           const Json& rollouts = entry.at("rollouts");
                           for (std::size_t i = 0; i < rollouts.size(); ++i) {
                             (void)rollouts.at(i).at("id").template get<std::string>();  // required
                             if (!rollouts[i].contains("startedAtMs"))
                               r.rollouts[i].startedAtMs = r.createdAtMs;
                           }
                         });
  if (!meta || meta->rollouts.empty() || dir.filename() != meta->id) return nullptr;
  return std::make_unique<Record>(std::move(*meta));
}

// The complete lines of `file`; a last line cut short by a crash (no newline) is dropped from
// the file too, so that the next append starts on a line of its own.
std::vector<std::string> readCompleteLines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file, std::ios::binary);
  if (!in) return lines;
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  const std::size_t end = text.rfind('\n');
  const std::size_t keep = end == std::string::npos ? 0 : end + 1;
  if (keep < text.size()) {
    std::error_code ec;
    fs::resize_file(file, keep, ec);
  }
  std::size_t start = 0;
  while (start < keep) {
    const std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace

std::unique_ptr<ThreadStore::Record> ThreadStore::load(const fs::path& dir) {
  std::unique_ptr<Record> r = loadMeta<Record>(dir);
  if (!r) return nullptr;
  for (const std::string& line : readCompleteLines(dir / kEventsFile)) {
    const Json event = Json::parse(line, nullptr, false);
    if (!event.is_object() || !event.contains("sequence") ||
        !event["sequence"].is_number_integer()) {
      continue;
    }
    r->nextSequence = std::max(r->nextSequence, event["sequence"].get<std::int64_t>() + 1);
    r->events.push_back(event);
  }
  if (!r->events.empty()) {
    // updatedAt follows the last event (thread.json is rewritten only on metadata changes).
    const Json& last = r->events.back();
    if (last.contains("createdAt") && last["createdAt"].is_string()) {
      if (const auto at = parseIsoTimestamp(last["createdAt"].get<std::string>())) {
        r->updatedAtMs = std::max(r->updatedAtMs, *at);
      }
    }
  }
  return r;
}

void ThreadStore::restore() {
  if (!root_) return;
  std::error_code ec;
  std::vector<std::unique_ptr<Record>> loaded;
  for (const auto& entry : fs::directory_iterator(*root_, ec)) {
    if (!entry.is_directory(ec)) continue;
    if (auto record = load(entry.path())) loaded.push_back(std::move(record));
  }
  std::sort(loaded.begin(), loaded.end(),
            [](const std::unique_ptr<Record>& a, const std::unique_ptr<Record>& b) {
              if (a->updatedAtMs != b->updatedAtMs) return a->updatedAtMs < b->updatedAtMs;
              return a->createdAtMs < b->createdAtMs;
            });
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& record : loaded) {
    record->touch = ++nextTouch_;
    records_.push_back(std::move(record));
  }
}

}  // namespace rtemu
