#include "stores/run_engine.hpp"

#include <algorithm>

#include "http/api_error.hpp"
#include "http/sse.hpp"
#include "util/ids.hpp"
#include "util/time_util.hpp"

namespace rtemu {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::seconds kPingInterval{15};
// While waiting between deltas, the connection is checked at least this often.
constexpr std::chrono::milliseconds kWatchInterval{100};
constexpr int kMaxCount = 1000;

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string trim(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && isSpace(text[begin]))
    ++begin;
  while (end > begin && isSpace(text[end - 1]))
    --end;
  return text.substr(begin, end - begin);
}

std::size_t countTokens(const std::string& text) {
  std::size_t tokens = 0;
  bool inToken = false;
  for (const char c : text) {
    if (isSpace(c)) {
      inToken = false;
    } else if (!inToken) {
      inToken = true;
      ++tokens;
    }
  }
  return tokens;
}

// Words, each with the whitespace that follows it: the pieces concatenate to `text`.
std::vector<std::string> splitPieces(const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && !isSpace(text[j]))
      ++j;
    while (j < text.size() && isSpace(text[j]))
      ++j;
    pieces.push_back(text.substr(i, j - i));
    i = j;
  }
  return pieces;
}

Json usageFor(const std::string& prompt, const std::string& completion) {
  const std::size_t in = countTokens(prompt);
  const std::size_t out = countTokens(completion);
  return Json{{"promptTokens", in},  {"completionTokens", out}, {"totalTokens", in + out},
              {"inputTokens", in},   {"outputTokens", out},     {"cachedInputTokens", 0},
              {"reasoningTokens", 0}};
}

std::optional<int> parseCount(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  int n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > kMaxCount) return std::nullopt;
  return n;
}

Json cancelledError() {
  return Json{{"code", "cancelled"}, {"message", "run cancelled"}};
}

Json internalError() {
  return Json{{"code", "internal_error"}, {"message", "The run failed unexpectedly"}};
}

Json nullable(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

}  // namespace

// ---- RunManager --------------------------------------------------------------------------------

std::shared_ptr<Run> RunManager::create(Run run) {
  auto out = std::make_shared<Run>(std::move(run));
  out->id = newRunId();
  out->createdAtMs = clock_.nowMs();
  std::lock_guard<std::mutex> lock(mutex_);
  if (shuttingDown_) out->stopRequested = true;
  runs_.push_back(out);
  return out;
}

Json RunManager::toJsonLocked(const Run& r) const {
  return Json{{"id", r.id},
              {"runId", r.id},
              {"agentId", r.agentId},
              {"agent", r.agentSlug},
              {"sandboxId", nullable(r.sandboxId)},
              {"userId", r.userId},
              {"threadId", r.threadId},
              {"rolloutId", r.rolloutId},
              {"executionMode", r.executionMode},
              {"targetDeviceId", nullable(r.targetDeviceId)},
              {"status", r.status},
              {"result", r.result},
              {"usage", r.usage},
              {"iterations", r.iterations},
              {"error", r.error},
              {"createdAt", isoTimestamp(r.createdAtMs)},
              {"completedAt", r.completedAtMs ? Json(isoTimestamp(*r.completedAtMs)) : Json()}};
}

Json RunManager::get(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& run : runs_) {
    if (run->id == id && run->orgId == orgId) return toJsonLocked(*run);
  }
  throw notFound("Run not found");
}

Json RunManager::list(const std::string& orgId, const std::optional<std::string>& agentRef,
                      const std::optional<std::string>& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::array();
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    const Run& r = **it;
    if (r.orgId != orgId) continue;
    if (agentRef && r.agentSlug != *agentRef && r.agentId != *agentRef) continue;
    if (status && r.status != *status) continue;
    out.push_back(Json{{"id", r.id},
                       {"sandboxId", nullable(r.sandboxId)},
                       {"agentId", r.agentId},
                       {"userId", r.userId},
                       {"status", r.status},
                       {"threadId", r.threadId},
                       {"createdAt", isoTimestamp(r.createdAtMs)}});
  }
  return out;
}

Json RunManager::cancel(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& run : runs_) {
    if (run->id != id || run->orgId != orgId) continue;
    if (run->status != "running") {
      throw ApiError(409, "invalid_state_transition",
                     "Cannot cancel a run in status '" + run->status + "'");
    }
    run->status = "cancelled";
    run->error = cancelledError();
    run->completedAtMs = clock_.nowMs();
    run->stopRequested = true;
    changed_.notify_all();
    return Json{{"id", run->id}, {"status", run->status}};
  }
  throw notFound("Run not found");
}

bool RunManager::finish(Run& run, const std::string& status, Json result, Json usage,
                        int iterations, Json error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (run.status != "running") {
    // Cancelled meanwhile: the outcome is not recorded, but the usage so far is.
    if (run.usage.is_null()) run.usage = std::move(usage);
    if (run.iterations == 0) run.iterations = iterations;
    return false;
  }
  run.status = status;
  run.result = std::move(result);
  run.usage = std::move(usage);
  run.iterations = iterations;
  run.error = std::move(error);
  run.completedAtMs = clock_.nowMs();
  return true;
}

bool RunManager::stopRequested(const Run& run) {
  std::lock_guard<std::mutex> lock(mutex_);
  return run.stopRequested;
}

bool RunManager::pause(const Run& run, std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !changed_.wait_for(lock, delay, [&] { return run.stopRequested; });
}

void RunManager::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  shuttingDown_ = true;
  for (const auto& run : runs_)
    run->stopRequested = true;
  changed_.notify_all();
}

void RunManager::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& run : runs_)
    run->stopRequested = true;
  changed_.notify_all();
  runs_.clear();
}

// ---- emitters ----------------------------------------------------------------------------------

// Where the frames of a run go.
class RunEngine::Emitter {
 public:
  virtual ~Emitter() = default;
  // Sends one frame; false when the client has gone.
  virtual bool emit(const std::string& type, Json fields) = 0;
  // The delay between two deltas; false when the run must stop (cancelled, client gone).
  virtual bool pause() = 0;
  // False when the run must stop; keeps an idle stream alive.
  virtual bool tick() = 0;
};

// stream: false — no frames, no delays.
class RunEngine::SilentEmitter : public RunEngine::Emitter {
 public:
  SilentEmitter(RunManager& runs, const Run& run) : runs_(runs), run_(run) {}
  bool emit(const std::string&, Json) override { return true; }
  bool pause() override { return !runs_.stopRequested(run_); }
  bool tick() override { return !runs_.stopRequested(run_); }

 private:
  RunManager& runs_;
  const Run& run_;
};

class RunEngine::SseEmitter : public RunEngine::Emitter {
 public:
  SseEmitter(RunManager& runs, const Run& run, StreamSink& sink, std::chrono::milliseconds delay)
      : runs_(runs), run_(run), sink_(sink), delay_(delay) {}

  bool write(const std::string& bytes) {
    if (gone_ || !sink_.write(bytes)) {
      gone_ = true;
      return false;
    }
    lastWrite_ = SteadyClock::now();
    return true;
  }

  bool emit(const std::string& type, Json fields) override {
    fields["type"] = type;
    fields["runId"] = run_.id;
    fields["threadId"] = run_.threadId;
    fields["sequence"] = ++sequence_;
    return write(sseFrame(type, fields));
  }

  bool pause() override {
    const SteadyClock::time_point deadline = SteadyClock::now() + delay_;
    while (true) {
      if (!tick()) return false;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return true;
      if (!runs_.pause(run_, std::min(left, kWatchInterval))) return false;
    }
  }

  bool tick() override {
    if (gone_ || runs_.stopRequested(run_)) return false;
    if (!sink_.connected()) {
      gone_ = true;
      return false;
    }
    if (SteadyClock::now() - lastWrite_ >= kPingInterval) return write(sseComment("ping"));
    return true;
  }

  bool gone() const { return gone_; }

 private:
  RunManager& runs_;
  const Run& run_;
  StreamSink& sink_;
  const std::chrono::milliseconds delay_;
  std::int64_t sequence_ = 0;
  bool gone_ = false;
  SteadyClock::time_point lastWrite_ = SteadyClock::now();
};

// ---- RunEngine ---------------------------------------------------------------------------------

RunEngine::RunEngine(ThreadStore& threads, RunManager& runs, ToolRunner tools,
                     std::chrono::milliseconds streamDelay)
    : threads_(threads), runs_(runs), tools_(std::move(tools)), streamDelay_(streamDelay) {}

namespace {

// The agent's answer to a prompt that calls no tool: /history, /count N, or the echo.
std::string directAnswer(const RunPlan& plan, const std::string& command,
                         const std::vector<std::string>& history) {
  std::string result;
  const std::optional<int> count =
      command.rfind("/count ", 0) == 0 ? parseCount(trim(command.substr(7))) : std::nullopt;
  if (command == "/history") {
    for (std::size_t i = 0; i < history.size(); ++i)
      result += (i ? "\n" : "") + history[i];
  } else if (count) {
    for (int i = 1; i <= *count; ++i)
      result += (i > 1 ? " " : "") + std::to_string(i);
  } else {
    result = "echo: " + plan.text;
    if (!plan.attachmentNames.empty()) {
      std::string names;
      for (const std::string& name : plan.attachmentNames)
        names += (names.empty() ? "" : ", ") + name;
      result += " [attachments: " + names + "]";
    }
  }
  return result;
}

}  // namespace

void RunEngine::record(const Run& run, const std::string& type, Json payload) {
  threads_.append(run.threadId, run.rolloutId, run.id, type, std::move(payload));
}

bool RunEngine::callExecTool(const RunPlan& plan, const std::string& command, Emitter& out,
                             std::string& result) {
  const Run& run = *plan.run;
  const std::string callId = newToolCallId();
  const Json call{
      {"toolCallId", callId}, {"name", "exec_command"}, {"input", Json{{"command", command}}}};
  record(run, "tool_call", call);
  if (!out.emit("tool_call", call)) return false;
  const ToolOutcome tool = tools_(plan, command, [&] { return out.tick(); });
  if (!out.tick()) return false;
  Json toolResult;
  if (tool.ran) {
    toolResult = Json{{"toolCallId", callId},
                      {"output", tool.stdoutText + (tool.exitCode != 0 ? tool.stderrText : "")},
                      {"isError", tool.exitCode != 0},
                      {"exitCode", tool.exitCode}};
    result = tool.stdoutText;
  } else {
    toolResult = Json{
        {"toolCallId", callId}, {"output", tool.failure}, {"isError", true}, {"exitCode", nullptr}};
    result = "tool failed: " + tool.failure;
  }
  record(run, "tool_result", toolResult);
  return out.emit("tool_result", toolResult);
}

bool RunEngine::streamDeltas(const std::string& result, Emitter& out) {
  const std::vector<std::string> pieces = splitPieces(result);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0 && !out.pause()) return false;
    if (!out.tick() || !out.emit("assistant_message_delta", Json{{"delta", pieces[i]}})) {
      return false;
    }
  }
  return true;
}

void RunEngine::execute(const RunPlan& plan, Emitter& out) {
  Run& run = *plan.run;
  Json usage = usageFor(plan.text, "");
  int iterations = 1;
  // The run ends cancelled (by the cancel route, or because the client went away).
  const auto cancelled = [&] {
    runs_.finish(run, "cancelled", nullptr, usage, iterations, cancelledError());
    record(run, "error", cancelledError());
    out.emit("error", cancelledError());
  };

  const std::vector<std::string> history = threads_.userMessages(run.threadId);
  record(run, "run_started", Json{{"agent", run.agentSlug}});
  record(run, "user_message", Json{{"content", plan.text}, {"attachments", plan.attachmentIds}});
  if (!out.emit("run_started", Json{{"agent", run.agentSlug}, {"rolloutId", run.rolloutId}}) ||
      !out.tick()) {
    return cancelled();
  }

  const std::string command = trim(plan.text);
  if (command == "/fail") {
    const Json error{{"code", "agent_error"},
                     {"message", "The agent failed (the prompt asked for /fail)"}};
    if (!runs_.finish(run, "failed", nullptr, usage, iterations, error)) return cancelled();
    record(run, "error", error);
    out.emit("error", error);
    return;
  }

  std::string result;
  const std::string execCommand = command.rfind("/exec ", 0) == 0 ? trim(command.substr(6)) : "";
  if (!execCommand.empty()) {
    iterations = 2;
    if (!callExecTool(plan, execCommand, out, result)) return cancelled();
  } else {
    result = directAnswer(plan, command, history);
  }
  usage = usageFor(plan.text, result);

  if (!streamDeltas(result, out)) return cancelled();
  record(run, "assistant_message", Json{{"content", result}});
  if (!out.emit("assistant_message", Json{{"content", result}}) || !out.tick()) {
    return cancelled();
  }
  if (!runs_.finish(run, "completed", result, usage, iterations, nullptr)) return cancelled();
  record(run, "run_completed", Json{{"status", "completed"}, {"usage", usage}});
  out.emit("run_completed", Json{{"status", "completed"},
                                 {"result", result},
                                 {"usage", usage},
                                 {"iterations", iterations}});
}

Json RunEngine::runToCompletion(const RunPlan& plan) {
  SilentEmitter out(runs_, *plan.run);
  try {
    execute(plan, out);
  } catch (const std::exception&) {
    runs_.finish(*plan.run, "failed", nullptr, usageFor(plan.text, ""), 1, internalError());
    throw;
  }
  const Json run = runs_.get(plan.run->orgId, plan.run->id);
  Json data{{"runId", run["id"]},
            {"sandboxId", run["sandboxId"]},
            {"threadId", run["threadId"]},
            {"rolloutId", run["rolloutId"]},
            {"executionMode", run["executionMode"]},
            {"targetDeviceId", run["targetDeviceId"]},
            {"status", run["status"]},
            {"result", run["result"]},
            {"usage", run["usage"]},
            {"iterations", run["iterations"]}};
  if (!run["error"].is_null()) data["error"] = run["error"];
  return data;
}

void RunEngine::stream(const RunPlan& plan, StreamSink& sink) {
  SseEmitter out(runs_, *plan.run, sink, streamDelay_);
  if (!out.write(sseComment("connected"))) return abandon(plan);
  try {
    execute(plan, out);
  } catch (const std::exception&) {
    if (runs_.finish(*plan.run, "failed", nullptr, usageFor(plan.text, ""), 1, internalError())) {
      out.emit("error", internalError());
    }
  }
}

void RunEngine::abandon(const RunPlan& plan) {
  runs_.finish(*plan.run, "cancelled", nullptr, usageFor(plan.text, ""), 1, cancelledError());
}

}  // namespace rtemu
