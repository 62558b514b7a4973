#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;

namespace {

AgentDefinition managedAgent(const std::string& slug) {
  AgentDefinition d;
  d.slug = slug;
  d.executionMode = "managed";
  return d;
}

// Polls until `predicate` holds (the emulator settles runs after a client
// goes away); fails after a generous deadline.
template <class Predicate>
void eventually(Predicate predicate, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("never: " << what);
    std::this_thread::sleep_for(milliseconds(20));
  }
}

}  // namespace

TEST_CASE("agents: upsert creates then updates, get, list, update, visibility, remove") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto definition = managedAgent("helper");
  definition.name = "Helper";
  definition.maxTokens = 2048;
  const auto created = rt.agent.upsert(definition);
  CHECK(created.action == "created");
  CHECK(created.version == 1);
  CHECK(created.id.rfind("agt_", 0) == 0);

  definition.systemPrompt = "Be kind.";
  const auto updated = rt.agent.create(definition);
  CHECK(updated.action == "updated");
  CHECK(updated.version == 2);

  const auto agent = rt.agent.get("helper");
  CHECK(agent.name == "Helper");
  CHECK(agent.systemPrompt == "Be kind.");
  CHECK(agent.executionMode == "managed");
  CHECK(agent.config["maxTokens"] == 2048);
  CHECK(rt.agent.list().size() == 1);

  AgentDefinition patch;
  patch.temperature = 1.5;
  const auto patched = rt.agent.update("helper", patch);
  CHECK(patched.version == 3);
  CHECK(patched.config["temperature"] == 1.5);
  CHECK(rt.agent.setVisibility("helper", "org").visibility == "org");

  rt.agent.remove("helper");
  CHECK_THROWS_AS(rt.agent.get("helper"), NotFoundError);
  CHECK_THROWS_AS(rt.agent.run("helper", "hi"), NotFoundError);
}

TEST_CASE("an in_sandbox agent is bound to a real sandbox") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  AgentDefinition definition;
  definition.slug = "sandboxed";
  definition.sandbox = "no-such-sandbox";
  CHECK_THROWS_AS(rt.agent.upsert(definition), NotFoundError);

  CreateSandboxOptions options;
  options.name = "agent-box";
  auto sandbox = rt.sandbox.create(options);
  sandbox.waitForReady(std::chrono::seconds(20), milliseconds(20));
  definition.sandbox = "agent-box";
  definition.tools = std::vector<nlohmann::json>{"exec_command"};
  CHECK(rt.agent.upsert(definition).sandboxId == std::optional<std::string>(sandbox.id()));

  std::vector<RunEvent> events;
  const auto result =
      rt.agent.run("sandboxed", "/exec echo from the sandbox", [&](const RunEvent& e) {
        events.push_back(e);
        return true;
      });
  CHECK(result.result == "from the sandbox\n");
  const auto call =
      std::find_if(events.begin(), events.end(), [](const RunEvent& e) { return e.isToolCall(); });
  REQUIRE(call != events.end());
  CHECK(call->toolCall().name == "exec_command");
  CHECK(call->toolCall().input["command"] == "echo from the sandbox");
  const auto toolResult = std::find_if(events.begin(), events.end(),
                                       [](const RunEvent& e) { return e.isToolResult(); });
  REQUIRE(toolResult != events.end());
  CHECK(toolResult->toolResult().output == "from the sandbox\n");
  CHECK_FALSE(toolResult->toolResult().isError);
}

TEST_CASE("a run without a stream returns the whole answer") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("echo"));
  const auto result = rt.agent.run("echo", "hello there");
  CHECK(result.completed());
  CHECK(result.result == "echo: hello there");
  CHECK(result.runId.rfind("run_", 0) == 0);
  REQUIRE(result.threadId);
  CHECK(result.usage.promptTokens == 2);
  CHECK(result.usage.totalTokens == result.usage.promptTokens + result.usage.completionTokens);
  CHECK(result.iterations == 1);

  const auto info = rt.agent.getRun(result.runId);
  CHECK(info.status == "completed");
  CHECK(info.result == std::optional<std::string>("echo: hello there"));
  RunListOptions filters;
  filters.agent = "echo";
  const auto runs = rt.agent.runs(filters);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].id == result.runId);
}

TEST_CASE("streamed events arrive while the run is still running") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("counter"));
  std::string statusAtFirstDelta;
  std::vector<std::string> deltas;
  const auto result = rt.agent.run("counter", "/count 20", [&](const RunEvent& e) {
    if (e.isTextDelta()) {
      if (deltas.empty()) {
        // The run cannot have completed: its answer is still being sent.
        statusAtFirstDelta = rt.agent.getRun(e.data["runId"].get<std::string>()).status;
      }
      deltas.push_back(e.textDelta());
    }
    return true;
  });
  CHECK(statusAtFirstDelta == "running");
  CHECK(deltas.size() == 20);
  CHECK(result.result == "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20");
  CHECK(result.completed());
  CHECK(rt.agent.stream("counter", "/count 3").result == "1 2 3");
}

TEST_CASE("the callback stops a stream early, the platform then cancels the run") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("counter"));
  int deltas = 0;
  std::string runId;
  const auto result = rt.agent.run("counter", "/count 500", [&](const RunEvent& e) {
    runId = e.data.value("runId", runId);
    return !(e.isTextDelta() && ++deltas == 3);
  });
  CHECK(result.stoppedEarly);
  CHECK(deltas == 3);
  CHECK(result.result == "1 2 3 ");
  REQUIRE_FALSE(runId.empty());
  eventually([&] { return rt.agent.getRun(runId).status == "cancelled"; }, "run cancelled");
}

TEST_CASE("cancel() from another thread ends the stream with a cancelled result") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("counter"));
  std::promise<std::string> started;
  auto runIdFuture = started.get_future();
  bool announced = false;
  auto running = std::async(std::launch::async, [&] {
    return rt.agent.run("counter", "/count 1000", [&](const RunEvent& e) {
      if (!announced && e.isTextDelta()) {
        announced = true;
        started.set_value(e.data["runId"].get<std::string>());
      }
      return true;
    });
  });
  const std::string runId = runIdFuture.get();
  CHECK(rt.agent.cancel(runId) == "cancelled");
  const auto result = running.get();
  CHECK(result.status == "cancelled");
  REQUIRE(result.error);
  CHECK(result.error->code == "cancelled");
  CHECK(result.result.size() < std::string("1 2 3 ... 1000").size() * 300);
  CHECK(rt.agent.getRun(runId).status == "cancelled");
  CHECK_THROWS_AS(rt.agent.cancel(runId), ConflictError);
}

TEST_CASE("a cancellation token abandons a stream from another thread") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("counter"));
  CancellationToken token;
  RunOptions options;
  options.cancellation = token;
  std::atomic<int> deltas{0};
  auto running = std::async(std::launch::async, [&] {
    return rt.agent.run(
        "counter", "/count 1000",
        [&](const RunEvent& e) {
          if (e.isTextDelta()) ++deltas;
          return true;
        },
        options);
  });
  eventually([&] { return deltas > 0; }, "a first delta");
  token.cancel();
  CHECK_THROWS_AS(running.get(), CancelledError);
  CHECK(deltas < 1000);
}

TEST_CASE("a thread continues across runs and keeps its history") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("memo"));
  RunOptions start;
  start.thread = true;
  const auto first = rt.agent.stream("memo", "remember the blue door", start);
  REQUIRE(first.threadId);
  RunOptions next;
  next.threadId = first.threadId;
  rt.agent.run("memo", "and the red key", next);
  const auto recall = rt.agent.run("memo", "/history", next);
  CHECK(recall.result == "remember the blue door\nand the red key");
  CHECK(recall.threadId == first.threadId);

  const auto snapshot = rt.threads.get(*first.threadId);
  CHECK(snapshot.thread.id == *first.threadId);
  const auto userMessages =
      std::count_if(snapshot.events.begin(), snapshot.events.end(),
                    [](const ThreadEvent& e) { return e.type == "user_message"; });
  CHECK(userMessages == 3);
  const auto agentThreads = rt.agent.threads("memo");
  REQUIRE(agentThreads.size() == 1);
  CHECK(agentThreads[0].id == *first.threadId);

  // After compaction the thread still remembers.
  const auto compacted = rt.threads.compact(*first.threadId);
  CHECK(rt.threads.rollouts(*first.threadId).size() == 2);
  CHECK(rt.threads.get(*first.threadId).thread.activeRolloutId ==
        std::optional<std::string>(compacted.rolloutId));
  CHECK(rt.agent.run("memo", "/history", next).result ==
        "remember the blue door\nand the red key\n/history");
  RunOptions missing;
  missing.threadId = "thr_missing";
  CHECK_THROWS_AS(rt.agent.run("memo", "hi", missing), NotFoundError);
}

TEST_CASE("threads: listing and event pagination, rename, archive, remove") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("chat"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(*rt.agent.run("chat", "thread " + std::to_string(i)).threadId);
  RunOptions more;
  more.threadId = ids[0];
  for (int i = 0; i < 3; ++i)
    rt.agent.run("chat", "more " + std::to_string(i), more);

  ThreadListOptions pages;
  pages.limit = 2;
  const auto page = rt.threads.listPage(pages);
  CHECK(page.data.size() == 2);
  CHECK(page.hasMore);
  CHECK(rt.threads.list(pages).size() == 3);

  const auto all = rt.threads.get(ids[0]).events;
  ThreadEventsOptions small;
  small.limit = 5;
  const auto firstPage = rt.threads.eventsPage(ids[0], small);
  CHECK(firstPage.data.size() == 5);
  CHECK(firstPage.hasMore);
  const auto paged = rt.threads.events(ids[0], small);
  REQUIRE(paged.size() == all.size());
  CHECK(paged.size() > 10);
  for (std::size_t i = 1; i < paged.size(); ++i)
    CHECK(paged[i].sequence > paged[i - 1].sequence);

  CHECK(rt.threads.rename(ids[1], "Renamed").title == "Renamed");
  CHECK(rt.threads.archive(ids[1]).archived);
  CHECK(rt.threads.list().size() == 2);
  ThreadListOptions withArchived;
  withArchived.archived = true;
  CHECK(rt.threads.list(withArchived).size() == 3);
  rt.threads.remove(ids[2]);
  CHECK_THROWS_AS(rt.threads.get(ids[2]), NotFoundError);
}

TEST_CASE("attachments: upload through the returned URL, then reference them in a message") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  rt.agent.upsert(managedAgent("reader"));
  const auto threadId = *rt.agent.run("reader", "start").threadId;

  CreateAttachmentOptions options;
  options.threadId = threadId;
  options.filename = "notes.txt";
  options.contentType = "text/plain";
  const auto fromBytes = rt.agent.createAttachment(options, "some notes\n");
  CHECK(fromBytes.status == "ready");
  CHECK(fromBytes.sizeBytes == 11);

  const auto path = std::filesystem::temp_directory_path() / "runtools-attachment-test.bin";
  { std::ofstream(path, std::ios::binary) << std::string(100000, 'z'); }
  options.filename = "data.bin";
  options.contentType = "application/octet-stream";
  const auto fromFile = rt.agent.createAttachmentFromFile(options, path.string());
  std::filesystem::remove(path);
  CHECK(fromFile.sizeBytes == 100000);

  RunOptions inThread;
  inThread.threadId = threadId;
  const auto result = rt.agent.run(
      "reader",
      std::vector<Message>{Message::user("read these", {fromBytes.part(), fromFile.part()})},
      inThread);
  CHECK(result.result == "echo: read these [attachments: notes.txt, data.bin]");
}

TEST_CASE("streamed exec delivers output while the command is still running") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady(std::chrono::seconds(20), milliseconds(20));

  // The command waits for a file that only the callback creates: it can
  // only finish if its first line was delivered before it ended.
  std::string seen;
  bool released = false;
  ExecOptions options;
  options.timeout = std::chrono::seconds(30);
  options.onStdout = [&](std::string_view chunk) {
    seen.append(chunk);
    if (!released && seen.find("waiting") != std::string::npos) {
      released = true;
      sandbox.exec("touch release");
    }
    return true;
  };
  const auto result = sandbox.exec(
      "echo waiting; while [ ! -f release ]; do sleep 0.05; done; echo released", options);
  CHECK(released);
  CHECK(result.exitCode == 0);
  CHECK(result.stdoutText == "waiting\nreleased\n");
  CHECK_FALSE(result.timedOut);

  ExecOptions stopAtFirst;
  stopAtFirst.onStdout = [](std::string_view) { return false; };
  const auto stopped = sandbox.exec("echo tick; sleep 1; touch should-not-exist", stopAtFirst);
  CHECK(stopped.stopped);
  CHECK(stopped.stdoutText == "tick\n");
  // Had the command survived the stop, the file would exist a second later.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(sandbox.exec("test -e should-not-exist").exitCode != 0);
}
