// Agent runs (docs/wire-contract.md §4.5, §6.2): the in-memory run records, and the deterministic
// agent that executes a run, either at once (stream: false) or as server-sent events.
//
// The agent answers the text of the last user message:
//   /history     the thread's earlier user messages, joined with "\n"
//   /count N     "1 2 ... N" (1 <= N <= 1000), one number per streamed delta
//   /exec CMD    one exec_command tool call in the agent's sandbox; the result is its stdout
//   /fail        the run fails (error agent_error)
//   otherwise    "echo: " + text (+ " [attachments: a, b]")
// Every run appends durable events to its thread: run_started, user_message, [tool_call,
// tool_result], assistant_message, and one terminal event (run_completed or error).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/router.hpp"
#include "stores/auth.hpp"
#include "stores/thread_store.hpp"
#include "util/json_util.hpp"

namespace rtemu {

// One run. The identity fields are fixed at creation; the outcome fields are guarded by the
// RunManager's mutex.
struct Run {
  std::string id;
  std::string orgId;
  std::string userId;
  std::string agentId;
  std::string agentSlug;
  std::string threadId;
  std::string rolloutId;
  std::string executionMode;
  std::optional<std::string> sandboxId;
  std::optional<std::string> targetDeviceId;
  std::int64_t createdAtMs = 0;

  std::string status = "running";
  Json result;  // null until completed
  Json usage;   // null while running
  int iterations = 0;
  Json error;  // null, or {code, message}
  std::optional<std::int64_t> completedAtMs;
  bool stopRequested = false;
};

class RunManager {
 public:
  explicit RunManager(const Clock& clock) : clock_(clock) {}

  // Registers a new running run (id and createdAt are filled in).
  std::shared_ptr<Run> create(Run run);
  // GET /v1/run/{id}: 404 when unknown or another organization's.
  Json get(const std::string& orgId, const std::string& id);
  // GET /v1/run items, newest first; `agentRef` matches the agent's slug or id.
  Json list(const std::string& orgId, const std::optional<std::string>& agentRef,
            const std::optional<std::string>& status);
  // Marks a running run cancelled and wakes its producer; 409 invalid_state_transition when it
  // has already ended.
  Json cancel(const std::string& orgId, const std::string& id);

  // running -> `status` with its outcome; false when the run had already ended (cancelled).
  bool finish(Run& run, const std::string& status, Json result, Json usage, int iterations,
              Json error);
  bool stopRequested(const Run& run);
  // Waits up to `delay`; false (at once) when the run is asked to stop.
  bool pause(const Run& run, std::chrono::milliseconds delay);

  // Asks every running run to stop (the emulator is stopping).
  void shutdown();
  // Forgets every run (running ones are asked to stop first).
  void reset();

 private:
  Json toJsonLocked(const Run& run) const;

  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool shuttingDown_ = false;
  std::vector<std::shared_ptr<Run>> runs_;  // creation order
};

// Everything a run needs, decided (and validated) before it starts.
struct RunPlan {
  std::shared_ptr<Run> run;
  Principal caller;
  std::string text;                          // of the last user message
  std::vector<std::string> attachmentIds;    // of the last user message
  std::vector<std::string> attachmentNames;  // their filenames
};

// The outcome of the agent's exec_command tool call.
struct ToolOutcome {
  bool ran = false;  // false: `failure` says why the command could not run
  std::string failure;
  std::string stdoutText;
  std::string stderrText;
  int exitCode = 0;
};
// Runs `command` for the run's agent; `keepGoing` is polled while it runs (false = kill it).
using ToolRunner = std::function<ToolOutcome(const RunPlan& plan, const std::string& command,
                                             const std::function<bool()>& keepGoing)>;

class RunEngine {
 public:
  RunEngine(ThreadStore& threads, RunManager& runs, ToolRunner tools,
            std::chrono::milliseconds streamDelay);

  // Executes the run without delays; returns the `data` of the non-stream answer.
  Json runToCompletion(const RunPlan& plan);
  // Executes the run as server-sent events on `sink`; a client that goes away cancels it.
  void stream(const RunPlan& plan, StreamSink& sink);
  // The stream never started: the run is cancelled.
  void abandon(const RunPlan& plan);

 private:
  class Emitter;
  class SilentEmitter;
  class SseEmitter;

  void execute(const RunPlan& plan, Emitter& out);
  // Steps of execute(); those returning bool return false when the run was cancelled meanwhile.
  void record(const Run& run, const std::string& type, Json payload);  // a durable event
  bool callExecTool(const RunPlan& plan, const std::string& command, Emitter& out,
                    std::string& result);
  static bool streamDeltas(const std::string& result, Emitter& out);

  ThreadStore& threads_;
  RunManager& runs_;
  ToolRunner tools_;
  std::chrono::milliseconds streamDelay_;
};

}  // namespace rtemu
