// Agent runs (plain and streamed) and attachments.

#include <chrono>

#include "internal/json_util.hpp"
#include "internal/pagination.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "internal/sse.hpp"
#include "internal/sse_stream.hpp"
#include "internal/streams.hpp"
#include "runtools/agent.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

// ---------------------------------------------------------------- models

MessagePart MessagePart::fromText(std::string text) {
  MessagePart part;
  part.type = "text";
  part.text = std::move(text);
  return part;
}

MessagePart MessagePart::fromAttachment(std::string attachmentId) {
  MessagePart part;
  part.type = "attachment";
  part.attachmentId = std::move(attachmentId);
  return part;
}

Message Message::user(std::string content, std::vector<MessagePart> parts) {
  return Message{"user", std::move(content), std::move(parts)};
}

Message Message::assistant(std::string content) {
  return Message{"assistant", std::move(content), {}};
}

Message Message::system(std::string content) {
  return Message{"system", std::move(content), {}};
}

void from_json(const json& j, Usage& usage) {
  usage.promptTokens = js::optInt(j, {"promptTokens"}).value_or(0);
  usage.completionTokens = js::optInt(j, {"completionTokens"}).value_or(0);
  usage.totalTokens = js::optInt(j, {"totalTokens"}).value_or(0);
  usage.inputTokens = js::optInt(j, {"inputTokens"}).value_or(0);
  usage.outputTokens = js::optInt(j, {"outputTokens"}).value_or(0);
  usage.cachedInputTokens = js::optInt(j, {"cachedInputTokens"}).value_or(0);
  usage.reasoningTokens = js::optInt(j, {"reasoningTokens"}).value_or(0);
}

namespace {

std::optional<RunError> readError(const json& j) {
  const json* error = js::find(j, {"error"});
  if (error == nullptr) return std::nullopt;
  if (error->is_string()) return RunError{error->get<std::string>(), ""};
  return RunError{js::string(*error, {"code"}), js::string(*error, {"message"})};
}

}  // namespace

void from_json(const json& j, RunResult& result) {
  result.runId = js::string(j, {"runId", "id"});
  result.threadId = js::optString(j, {"threadId"});
  result.rolloutId = js::optString(j, {"rolloutId"});
  result.sandboxId = js::optString(j, {"sandboxId"});
  result.executionMode = js::string(j, {"executionMode"});
  result.status = js::string(j, {"status"});
  result.result = js::string(j, {"result"});
  if (const json* usage = js::find(j, {"usage"})) result.usage = usage->get<Usage>();
  result.iterations = static_cast<int>(js::optInt(j, {"iterations"}).value_or(0));
  result.error = readError(j);
  result.raw = j;
}

void from_json(const json& j, RunInfo& info) {
  info.id = js::string(j, {"id", "runId"});
  info.status = js::string(j, {"status"});
  info.agentId = js::optString(j, {"agentId"});
  info.sandboxId = js::optString(j, {"sandboxId"});
  info.userId = js::optString(j, {"userId"});
  info.threadId = js::optString(j, {"threadId"});
  info.result = js::optString(j, {"result"});
  if (const json* usage = js::find(j, {"usage"}); usage && usage->is_object()) {
    info.usage = usage->get<Usage>();
  }
  info.error = readError(j);
  info.createdAt = js::optTimestamp(j, {"createdAt"});
  info.completedAt = js::optTimestamp(j, {"completedAt"});
  info.raw = j;
}

std::string RunEvent::textDelta() const {
  return isTextDelta() ? js::string(data, {"delta", "text", "content"}) : std::string();
}

ToolCall RunEvent::toolCall() const {
  ToolCall call;
  call.id = js::string(data, {"toolCallId", "id"});
  call.name = js::string(data, {"name", "toolName"});
  if (const json* input = js::find(data, {"input", "arguments"})) call.input = *input;
  return call;
}

ToolResult RunEvent::toolResult() const {
  ToolResult out;
  out.id = js::string(data, {"toolCallId", "id"});
  if (const json* output = js::find(data, {"output", "result"})) out.output = *output;
  out.isError = js::boolean(data, {"isError"});
  return out;
}

// ---------------------------------------------------------------- runs

namespace {

void requireRange(const std::optional<double>& value, double low, double high, const char* name) {
  if (value && !(*value >= low && *value <= high)) {
    throw InvalidArgumentError(std::string("RunOptions::") + name + " must be between " +
                               json(low).dump() + " and " + json(high).dump());
  }
}

json runBody(const std::string& agent, const RunInput& input, const RunOptions& options,
             bool stream) {
  if (agent.empty()) throw InvalidArgumentError("run: the agent slug or id must not be empty");
  json body = {{"agent", agent}, {"stream", stream}};
  if (input.prompt) {
    if (input.prompt->empty()) throw InvalidArgumentError("run: the prompt must not be empty");
    body["prompt"] = *input.prompt;
  } else {
    if (input.messages.empty()) throw InvalidArgumentError("run: give a prompt or messages");
    json messages = json::array();
    for (const auto& m : input.messages) {
      if (m.role != "user" && m.role != "assistant" && m.role != "system") {
        throw InvalidArgumentError("run: message roles are user, assistant or system");
      }
      json message = {{"role", m.role}, {"content", m.content}};
      if (!m.parts.empty()) {
        json parts = json::array();
        for (const auto& p : m.parts) {
          if (p.type == "attachment") {
            if (p.attachmentId.empty()) throw InvalidArgumentError("run: empty attachment id");
            parts.push_back({{"type", "attachment"}, {"attachmentId", p.attachmentId}});
          } else {
            parts.push_back({{"type", p.type}, {"text", p.text}});
          }
        }
        message["parts"] = std::move(parts);
      }
      messages.push_back(std::move(message));
    }
    body["messages"] = std::move(messages);
  }
  if (options.threadId) {
    if (options.threadId->empty()) throw InvalidArgumentError("run: empty threadId");
    body["threadId"] = *options.threadId;
  } else if (options.thread) {
    body["thread"] = true;
  }
  requireRange(options.maxTokens ? std::optional<double>(*options.maxTokens) : std::nullopt, 1,
               128000, "maxTokens");
  requireRange(options.maxTurns ? std::optional<double>(*options.maxTurns) : std::nullopt, 1, 100,
               "maxTurns");
  requireRange(options.temperature, 0, 2, "temperature");
  json config = json::object();
  if (options.maxTokens) config["maxTokens"] = *options.maxTokens;
  if (options.maxTurns) config["maxTurns"] = *options.maxTurns;
  if (options.temperature) config["temperature"] = *options.temperature;
  if (!config.empty()) body["config"] = std::move(config);
  if (options.metadata) body["metadata"] = *options.metadata;
  return body;
}

RunEvent toRunEvent(const internal::SseEvent& frame) {
  RunEvent event;
  event.data = json::parse(frame.data, nullptr, /*allow_exceptions=*/false);
  if (event.data.is_discarded()) event.data = json(frame.data);
  event.type = frame.event.empty() ? js::string(event.data, {"type"}, "message") : frame.event;
  event.sequence = js::optInt(event.data, {"sequence"}).value_or(0);
  return event;
}

// Folds each event of a stream into the result it describes.
class RunAccumulator {
 public:
  void apply(const RunEvent& event) {
    const json& d = event.data;
    if (auto id = js::optString(d, {"runId"})) result_.runId = *id;
    if (auto id = js::optString(d, {"threadId"})) result_.threadId = *id;
    if (auto id = js::optString(d, {"rolloutId"})) result_.rolloutId = *id;
    if (auto id = js::optString(d, {"sandboxId"})) result_.sandboxId = *id;
    if (js::optInt(d, {"sequence"})) lastSequence_ = event.sequence;
    if (event.isTextDelta()) {
      text_ += event.textDelta();
    } else if (event.type == "assistant_message") {
      text_ = js::string(d, {"content"}, text_);
    } else if (event.type == "run_completed") {
      terminal_ = true;
      result_.status = js::string(d, {"status"}, "completed");
      result_.result = js::string(d, {"result"}, text_);
      if (const json* usage = js::find(d, {"usage"})) result_.usage = usage->get<Usage>();
      result_.iterations = static_cast<int>(js::optInt(d, {"iterations"}).value_or(0));
      result_.error = readError(d);
      result_.raw = d;
    } else if (event.type == "error") {
      terminal_ = true;
      const std::string code = js::string(d, {"code"});
      result_.status = code == "cancelled" ? "cancelled" : "failed";
      result_.error = RunError{code, js::string(d, {"message"})};
      result_.result = text_;
      result_.raw = d;
    }
  }

  bool terminal() const noexcept { return terminal_; }

  // What the events so far delivered, for a StreamError.
  StreamError::Received received() const {
    StreamError::Received out;
    out.text = text_;
    out.runId = result_.runId;
    out.threadId = result_.threadId.value_or("");
    out.lastSequence = lastSequence_;
    return out;
  }

  RunResult stopped() {
    result_.stoppedEarly = true;
    result_.status = "stopped";
    result_.result = text_;
    return result_;
  }

  RunResult finish(const HttpHeaders& headers) {
    if (result_.runId.empty()) result_.runId = headers.get("X-Run-ID").value_or("");
    if (!result_.threadId) result_.threadId = headers.get("X-Thread-ID");
    return result_;
  }

 private:
  RunResult result_;
  std::string text_;
  std::optional<std::int64_t> lastSequence_;
  bool terminal_ = false;
};

const std::chrono::milliseconds kStreamTimeout = std::chrono::hours(24);

}  // namespace

RunResult AgentClient::run(const std::string& agent, const RunInput& input,
                           const RunOptions& options) const {
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"run"});
  request.body = runBody(agent, input, options, false);
  request.timeout = options.timeout;
  request.cancellation = options.cancellation;
  const auto response = api_->call(request);
  auto result = response.object("run result").get<RunResult>();
  if (result.runId.empty()) result.runId = response.headers.get("X-Run-ID").value_or("");
  if (!result.threadId) result.threadId = response.headers.get("X-Thread-ID");
  return result;
}

RunResult AgentClient::run(const std::string& agent, const RunInput& input,
                           const RunEventHandler& onEvent, const RunOptions& options) const {
  RunAccumulator accumulator;
  internal::SseStream stream;
  stream.what = "the run stream of agent \"" + agent + "\"";
  stream.finalFrame = "its run_completed or error event";
  stream.onEvent = [&](const internal::SseEvent& frame) {
    const RunEvent event = toRunEvent(frame);
    accumulator.apply(event);
    return onEvent ? onEvent(event) : true;
  };
  stream.complete = [&] { return accumulator.terminal(); };
  stream.received = [&] { return accumulator.received(); };
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"run"});
  request.body = runBody(agent, input, options, true);
  request.timeout = kStreamTimeout;
  request.idleTimeout = options.idleTimeout;
  request.cancellation = options.cancellation;
  const auto end = internal::callSseStream(*api_, std::move(request), stream);
  if (end.stopped) return accumulator.stopped();
  return accumulator.finish(end.headers);
}

RunResult AgentClient::stream(const std::string& agent, const RunInput& input,
                              const RunOptions& options) const {
  return run(agent, input, RunEventHandler(), options);
}

RunInfo AgentClient::getRun(const std::string& runId) const {
  return api_->get(makePath({"run", runId})).object("run").get<RunInfo>();
}

std::string AgentClient::cancel(const std::string& runId) const {
  return js::string(api_->post(makePath({"run", runId, "cancel"})).data(), {"status"}, "cancelled");
}

Page<RunInfo> AgentClient::runsPage(const RunListOptions& filters) const {
  internal::Query query;
  if (filters.agent) query.emplace_back("agent", *filters.agent);
  if (filters.status) query.emplace_back("status", *filters.status);
  internal::addLimit(query, filters.limit, 500, "RunListOptions::limit");
  if (filters.cursor) query.emplace_back("cursor", *filters.cursor);
  if (filters.all) query.emplace_back("all", "true");
  const auto response = api_->get(makePath({"run"}), query);
  const json& data = response.data();
  const json* items = data.is_array() ? &data : js::find(data, {"runs"});
  return internal::makePage<RunInfo>(response.envelope, items != nullptr ? *items : json::array());
}

std::vector<RunInfo> AgentClient::runs(const RunListOptions& filters) const {
  return internal::collectAll(iterateRuns(filters));
}

PageRange<RunInfo> AgentClient::iterateRuns(const RunListOptions& filters) const {
  return internal::pagesOf<RunInfo>(
      filters, [self = *this](const RunListOptions& page) { return self.runsPage(page); });
}

std::vector<Thread> AgentClient::threads(const std::string& slug) const {
  return internal::collectAll(iterateThreads(slug));
}

PageRange<Thread> AgentClient::iterateThreads(const std::string& slug) const {
  if (slug.empty()) throw InvalidArgumentError("threads: the agent slug must not be empty");
  return PageRange<Thread>([api = api_, slug](const std::optional<std::string>& cursor) {
    internal::Query query{{"agent", slug}};
    if (cursor) query.emplace_back("cursor", *cursor);
    const auto response = api->get(makePath({"run", "threads"}), query);
    const json& data = response.data();
    const json* items = data.is_array() ? &data : js::find(data, {"threads"});
    return internal::makePage<Thread>(response.envelope, items != nullptr ? *items : json::array());
  });
}

// ---------------------------------------------------------------- attachments

Attachment AgentClient::attach(const CreateAttachmentOptions& options,
                               std::shared_ptr<BodySource> body) const {
  if (options.threadId.empty() || options.filename.empty() || options.contentType.empty()) {
    throw InvalidArgumentError("an attachment needs a threadId, a filename and a contentType");
  }
  if (options.filename.find('/') != std::string::npos) {
    throw InvalidArgumentError("an attachment filename must not contain '/'");
  }
  json request = {{"threadId", options.threadId},
                  {"filename", options.filename},
                  {"contentType", options.contentType},
                  {"sizeBytes", body->size()}};
  if (options.agentSlug) request["agentSlug"] = *options.agentSlug;
  const auto created =
      api_->post(makePath({"agent-attachments"}), std::move(request)).object("attachment");
  const std::string id = js::string(created, {"id"});
  const std::string uploadUrl = js::string(created, {"uploadUrl"});
  if (id.empty() || (uploadUrl.rfind("https://", 0) != 0 && uploadUrl.rfind("http://", 0) != 0)) {
    throw InvalidResponseError(201, "the attachment response carries no usable id or uploadUrl");
  }

  // The pre-signed URL is the credential: the API key never goes there.
  HttpRequest upload;
  upload.method = js::string(created, {"method"}, "PUT");
  upload.url = uploadUrl;
  const json headers = js::objectOrEmpty(created, {"headers"});
  for (const auto& [name, value] : headers.items()) {
    if (value.is_string()) upload.headers.set(name, value.get<std::string>());
  }
  if (!upload.headers.has("Content-Type")) upload.headers.set("Content-Type", options.contentType);
  upload.bodySource = std::move(body);
  upload.timeout = std::chrono::minutes(10);
  api_->sendExternal(std::move(upload));

  const auto completed =
      api_->post(makePath({"agent-attachments", id, "complete"})).object("attachment");
  const json* inner = js::find(completed, {"attachment"});
  const json& a = inner != nullptr ? *inner : completed;
  Attachment attachment;
  attachment.id = js::string(a, {"id"}, id);
  attachment.threadId = js::string(a, {"threadId"}, options.threadId);
  attachment.filename = js::string(a, {"filename"}, options.filename);
  attachment.contentType = js::string(a, {"contentType"}, options.contentType);
  attachment.sizeBytes = js::optInt(a, {"sizeBytes"}).value_or(0);
  attachment.status = js::string(a, {"status"});
  attachment.raw = a;
  return attachment;
}

Attachment AgentClient::createAttachment(const CreateAttachmentOptions& options,
                                         std::string_view bytes) const {
  return attach(options, internal::ContentSource::fromBytes(std::string(bytes)));
}

Attachment AgentClient::createAttachmentFromFile(const CreateAttachmentOptions& options,
                                                 const std::string& localFile) const {
  return attach(options, internal::ContentSource::fromFile(localFile));
}

}  // namespace runtools
