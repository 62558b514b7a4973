// Agent runs: the deterministic agent, non-stream and SSE answers, cancellation, client
// disconnects, run lookups and lists, threads and their durable events.
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

namespace {

void createManagedAgent(Api& api, const std::string& slug) {
  const Response r = api.post("/v1/agents", managedAgent(slug));
  INFO(r.raw);
  REQUIRE(r.status == 201);
}

// POST /v1/run with stream: false; expects 200 and returns data.
Json runNow(Api& api, Json body) {
  body["stream"] = false;
  const Response r = api.post("/v1/run", body);
  INFO(r.raw);
  REQUIRE(r.status == 200);
  REQUIRE(r.header("X-Run-ID") == r.data()["runId"]);
  REQUIRE(r.header("X-Thread-ID") == r.data()["threadId"]);
  return r.data();
}

std::vector<std::string> eventTypes(const Json& events) {
  std::vector<std::string> out;
  for (const Json& e : events)
    out.push_back(e["type"]);
  return out;
}

// Every frame carries type/runId/threadId and sequence 1, 2, 3...
void requireWellFormed(const SseResponse& sse) {
  REQUIRE(sse.status == 200);
  REQUIRE(sse.header("Content-Type").rfind("text/event-stream", 0) == 0);
  REQUIRE(sse.header("Cache-Control") == "no-cache");
  REQUIRE(sse.header("Content-Encoding").empty());
  REQUIRE_FALSE(sse.header("X-Run-ID").empty());
  REQUIRE_FALSE(sse.header("X-Thread-ID").empty());
  REQUIRE_FALSE(sse.comments.empty());
  REQUIRE(sse.comments.front() == "connected");
  REQUIRE(sse.body.rfind(": connected\n\n", 0) == 0);
  REQUIRE_FALSE(sse.frames.empty());
  for (std::size_t i = 0; i < sse.frames.size(); ++i) {
    const SseFrame& f = sse.frames[i];
    INFO(f.event << " " << f.data.dump());
    REQUIRE(f.data.is_object());
    REQUIRE(f.data["type"] == f.event);
    REQUIRE(f.data["runId"] == sse.header("X-Run-ID"));
    REQUIRE(f.data["threadId"] == sse.header("X-Thread-ID"));
    REQUIRE(f.data["sequence"] == i + 1);
  }
  const std::string last = sse.last().event;
  REQUIRE((last == "run_completed" || last == "error"));
}

std::string joinedDeltas(const SseResponse& sse) {
  std::string out;
  for (const SseFrame& f : sse.frames) {
    if (f.event == "assistant_message_delta") out += f.data["delta"].get<std::string>();
  }
  return out;
}

}  // namespace

TEST_CASE("runs without streaming: echo result, usage, ids, headers and a new thread") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");
  const std::string agentId = api.get("/v1/agents/echo").data()["id"];

  const Json run = runNow(api, Json{{"agent", "echo"}, {"prompt", "hello   big world"}});
  REQUIRE(isLowerAlnumId(run["runId"], "run_", 20));
  REQUIRE(isLowerAlnumId(run["threadId"], "thr_", 20));
  REQUIRE(isLowerAlnumId(run["rolloutId"], "rol_", 20));
  REQUIRE(run["status"] == "completed");
  REQUIRE(run["result"] == "echo: hello   big world");
  REQUIRE(run["iterations"] == 1);
  REQUIRE(run["executionMode"] == "managed");
  REQUIRE(run["sandboxId"].is_null());
  REQUIRE(run["targetDeviceId"].is_null());
  REQUIRE(run["usage"] == Json{{"promptTokens", 3},
                               {"completionTokens", 4},
                               {"totalTokens", 7},
                               {"inputTokens", 3},
                               {"outputTokens", 4},
                               {"cachedInputTokens", 0},
                               {"reasoningTokens", 0}});

  // The run, by id.
  const Json looked = api.get("/v1/run/" + run["runId"].get<std::string>()).data();
  REQUIRE(looked["id"] == run["runId"]);
  REQUIRE(looked["runId"] == run["runId"]);
  REQUIRE(looked["agentId"] == agentId);
  REQUIRE(looked["agent"] == "echo");
  REQUIRE(looked["threadId"] == run["threadId"]);
  REQUIRE(looked["rolloutId"] == run["rolloutId"]);
  REQUIRE(looked["status"] == "completed");
  REQUIRE(looked["result"] == run["result"]);
  REQUIRE(looked["usage"] == run["usage"]);
  REQUIRE(looked["iterations"] == 1);
  REQUIRE(looked["error"].is_null());
  REQUIRE(looked["userId"].is_string());
  REQUIRE(looked["createdAt"].is_string());
  REQUIRE(looked["completedAt"].is_string());
  REQUIRE(looked.contains("sandboxId"));

  // The thread it created, and its durable events.
  const Json snapshot = api.get("/v1/threads/" + run["threadId"].get<std::string>()).data();
  const Json& thread = snapshot["thread"];
  REQUIRE(thread["id"] == run["threadId"]);
  REQUIRE(thread["orgId"] == emu.defaultOrgId());
  REQUIRE(thread["agentId"] == agentId);
  REQUIRE(thread["agentSlug"] == "echo");
  REQUIRE(thread["title"] == "hello   big world");
  REQUIRE(thread["executionMode"] == "managed");
  REQUIRE(thread["archived"] == false);
  REQUIRE(thread["activeRolloutId"] == run["rolloutId"]);
  REQUIRE(thread["ownerUserId"] == looked["userId"]);
  REQUIRE(eventTypes(snapshot["events"]) == std::vector<std::string>{"run_started", "user_message",
                                                                     "assistant_message",
                                                                     "run_completed"});
  for (std::size_t i = 0; i < snapshot["events"].size(); ++i) {
    const Json& e = snapshot["events"][i];
    REQUIRE(e["sequence"] == i + 1);
    REQUIRE(e["threadId"] == run["threadId"]);
    REQUIRE(e["rolloutId"] == run["rolloutId"]);
    REQUIRE(e["runId"] == run["runId"]);
    REQUIRE(e["createdAt"].is_string());
  }
  REQUIRE(snapshot["events"][0]["payload"] == Json{{"agent", "echo"}});
  REQUIRE(snapshot["events"][1]["payload"] ==
          Json{{"content", "hello   big world"}, {"attachments", Json::array()}});
  REQUIRE(snapshot["events"][2]["payload"] == Json{{"content", "echo: hello   big world"}});
  REQUIRE(snapshot["events"][3]["payload"] ==
          Json{{"status", "completed"}, {"usage", run["usage"]}});

  // Titles are cut to 80 characters (UTF-8 aware).
  std::string longPrompt;
  for (int i = 0; i < 100; ++i)
    longPrompt += "\xc3\xa9";  // é
  const Json longRun = runNow(api, Json{{"agent", "echo"}, {"prompt", longPrompt}});
  const Json longThread =
      api.get("/v1/threads/" + longRun["threadId"].get<std::string>()).data()["thread"];
  REQUIRE(longThread["title"] == longPrompt.substr(0, 160));

  // messages: the last user message (content + text parts, joined by "\n").
  const Json fromMessages =
      runNow(api, Json{{"agent", "echo"},
                       {"messages",
                        {{{"role", "user"}, {"content", "old"}},
                         {{"role", "assistant"}, {"content", "answer"}},
                         {{"role", "user"},
                          {"content", "new"},
                          {"parts", {{{"type", "text"}, {"text", "part one"}}}}},
                         {{"role", "system"}, {"content", "be nice"}}}}});
  REQUIRE(fromMessages["result"] == "echo: new\npart one");
  // The agent by id; the legacy per-agent path.
  REQUIRE(runNow(api, Json{{"agent", agentId}, {"prompt", "x"}})["result"] == "echo: x");
  const Response legacy =
      api.post("/v1/agents/echo/run", Json{{"prompt", "legacy"}, {"stream", false}});
  REQUIRE(legacy.status == 200);
  REQUIRE(legacy.data()["result"] == "echo: legacy");
}

TEST_CASE("run request validation") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");
  const auto run = [&](Json body) { return api.post("/v1/run", body); };
  const Json base{{"agent", "echo"}, {"prompt", "hi"}, {"stream", false}};
  const auto with = [&](const char* key, const Json& value) {
    Json body = base;
    body[key] = value;
    return body;
  };

  requireError(run(Json{{"prompt", "hi"}}), 400, "validation_error", "agent");
  requireError(run(Json{{"agent", ""}, {"prompt", "hi"}}), 400, "validation_error", "agent");
  requireError(run(Json{{"agent", "echo"}}), 400, "validation_error");
  requireError(run(with("prompt", "")), 400, "validation_error", "prompt");
  requireError(run(with("prompt", 5)), 400, "validation_error", "prompt");
  Json noPrompt = base;
  noPrompt.erase("prompt");
  noPrompt["messages"] = Json::array();
  requireError(run(noPrompt), 400, "validation_error", "messages");
  noPrompt["messages"] = Json::array({{{"role", "robot"}, {"content", "x"}}});
  requireError(run(noPrompt), 400, "validation_error");
  noPrompt["messages"] = Json::array({{{"role", "assistant"}, {"content", "x"}}});
  requireError(run(noPrompt), 400, "validation_error", "messages");
  noPrompt["messages"] = Json::array({{{"role", "user"}, {"content", 5}}});
  requireError(run(noPrompt), 400, "validation_error");
  noPrompt["messages"] = Json::array({{{"role", "user"}, {"parts", {{{"type", "video"}}}}}});
  requireError(run(noPrompt), 400, "validation_error");
  requireError(run(with("stream", "yes")), 400, "validation_error", "stream");
  requireError(run(with("metadata", "x")), 400, "validation_error", "metadata");
  requireError(run(with("config", 5)), 400, "validation_error", "config");
  for (const Json& bad : {Json{{"maxTurns", 0}}, Json{{"maxTurns", 101}}, Json{{"maxTokens", 0}},
                          Json{{"maxTokens", 128001}}, Json{{"temperature", -0.1}},
                          Json{{"temperature", 2.1}}, Json{{"maxTurns", 1.5}}}) {
    INFO(bad.dump());
    requireError(run(with("config", bad)), 400, "validation_error");
  }
  for (const Json& good :
       {Json{{"maxTurns", 1}}, Json{{"maxTurns", 100}}, Json{{"maxTokens", 1}},
        Json{{"maxTokens", 128000}}, Json{{"temperature", 0}}, Json{{"temperature", 2}}}) {
    INFO(good.dump());
    Json body = with("config", good);
    body["metadata"] = Json{{"k", "v"}};
    REQUIRE(run(body).status == 200);
  }
  requireError(run(with("agent", "nobody")), 404, "not_found");
  requireError(run(with("threadId", "thr_doesnotexist000000")), 404, "not_found");
  requireError(run(with("threadId", 5)), 400, "validation_error", "threadId");
}

TEST_CASE("streamed run: SSE frames in order, with sequences, headers and the final frame") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");

  const SseResponse sse = postSse(emu.port(), emu.apiKey(), "/v1/run",
                                  Json{{"agent", "echo"}, {"prompt", "one two  three"}});
  INFO(sse.body);
  requireWellFormed(sse);
  REQUIRE(sse.types() == std::vector<std::string>{
                             "run_started", "assistant_message_delta", "assistant_message_delta",
                             "assistant_message_delta", "assistant_message_delta",
                             "assistant_message", "run_completed"});
  REQUIRE(sse.frames[0].data["agent"] == "echo");
  const std::string runId = sse.header("X-Run-ID");
  const std::string threadId = sse.header("X-Thread-ID");
  REQUIRE(isLowerAlnumId(sse.frames[0].data["rolloutId"], "rol_", 20));
  // Words with their trailing whitespace.
  REQUIRE(sse.frames[1].data["delta"] == "echo: ");
  REQUIRE(sse.frames[2].data["delta"] == "one ");
  REQUIRE(sse.frames[3].data["delta"] == "two  ");
  REQUIRE(sse.frames[4].data["delta"] == "three");
  REQUIRE(joinedDeltas(sse) == "echo: one two  three");
  REQUIRE(sse.frames[5].data["content"] == "echo: one two  three");
  const Json& done = sse.last().data;
  REQUIRE(done["status"] == "completed");
  REQUIRE(done["result"] == "echo: one two  three");
  REQUIRE(done["iterations"] == 1);
  REQUIRE(done["usage"]["promptTokens"] == 3);
  REQUIRE(done["usage"]["completionTokens"] == 4);
  REQUIRE(done["usage"]["totalTokens"] == 7);

  const Json run = api.get("/v1/run/" + runId).data();
  REQUIRE(run["status"] == "completed");
  REQUIRE(run["threadId"] == threadId);
  REQUIRE(run["result"] == "echo: one two  three");
  // Deltas are not durable.
  const Json events = api.get("/v1/threads/" + threadId).data()["events"];
  REQUIRE(eventTypes(events) == std::vector<std::string>{"run_started", "user_message",
                                                         "assistant_message", "run_completed"});

  // `stream` defaults to true; `true` explicitly is the same. /count streams one number each.
  const SseResponse count =
      postSse(emu.port(), emu.apiKey(), "/v1/run",
              Json{{"agent", "echo"}, {"prompt", "/count 7"}, {"stream", true}});
  requireWellFormed(count);
  std::vector<std::string> deltas;
  for (const SseFrame& f : count.frames) {
    if (f.event == "assistant_message_delta") deltas.push_back(f.data["delta"]);
  }
  REQUIRE(deltas == std::vector<std::string>{"1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "7"});
  REQUIRE(count.last().data["result"] == "1 2 3 4 5 6 7");
  REQUIRE(count.last().data["usage"]["completionTokens"] == 7);
  // Out-of-range counts are plain echoes.
  REQUIRE(runNow(api, Json{{"agent", "echo"}, {"prompt", "/count 1001"}})["result"] ==
          "echo: /count 1001");
  REQUIRE(runNow(api, Json{{"agent", "echo"}, {"prompt", "/count 0"}})["result"] ==
          "echo: /count 0");
  REQUIRE(runNow(api, Json{{"agent", "echo"}, {"prompt", "/count 1"}})["result"] == "1");
  const std::string thousand =
      runNow(api, Json{{"agent", "echo"}, {"prompt", "/count 1000"}})["result"];
  REQUIRE(thousand.size() > 3000);
  REQUIRE(thousand.substr(thousand.size() - 9) == " 999 1000");

  // Errors before the stream starts are plain JSON.
  const SseResponse missing =
      postSse(emu.port(), emu.apiKey(), "/v1/run", Json{{"agent", "nobody"}, {"prompt", "x"}});
  REQUIRE(missing.status == 404);
  REQUIRE(missing.header("Content-Type").rfind("application/json", 0) == 0);
  REQUIRE(missing.frames.empty());
}

TEST_CASE("streamed deltas reach the client while the run is still running") {
  rtemu::Config config = fastConfig();
  config.streamDelay = std::chrono::milliseconds(40);  // /count 50: about 2 s of deltas
  rtemu::Emulator emu(config);
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");

  std::string runId;
  std::string statusAtFirstDelta;
  int deltasBeforeCheck = -1;
  int deltas = 0;
  const SseResponse sse = postSse(
      emu.port(), emu.apiKey(), "/v1/run", Json{{"agent", "echo"}, {"prompt", "/count 50"}},
      [&](const SseFrame& frame) {
        if (frame.event == "run_started") runId = frame.data["runId"];
        if (frame.event != "assistant_message_delta") return true;
        if (++deltas == 1) {
          // Not a Catch2 macro: plain HTTP from the callback.
          httplib::Client client("127.0.0.1", emu.port());
          const auto r = client.Get(("/v1/run/" + runId).c_str(), {{"X-API-Key", emu.apiKey()}});
          if (r) {
            const Json body = Json::parse(r->body, nullptr, false);
            statusAtFirstDelta = body["data"]["status"];
          }
          deltasBeforeCheck = deltas;
        }
        return true;
      });
  requireWellFormed(sse);
  REQUIRE(deltasBeforeCheck == 1);
  REQUIRE(statusAtFirstDelta == "running");
  REQUIRE(deltas == 50);
  REQUIRE(sse.last().event == "run_completed");
  REQUIRE(api.get("/v1/run/" + runId).data()["status"] == "completed");
}

TEST_CASE("/history sees the thread's earlier user messages, across runs and compactions") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");

  const Json first = runNow(api, Json{{"agent", "echo"}, {"prompt", "/history"}});
  REQUIRE(first["result"] == "");
  REQUIRE(first["usage"]["completionTokens"] == 0);
  const std::string thread = first["threadId"];
  const std::string firstRollout = first["rolloutId"];
  runNow(api, Json{{"agent", "echo"}, {"prompt", "alpha beta"}, {"threadId", thread}});
  // A streamed run continues the thread too.
  const SseResponse streamed =
      postSse(emu.port(), emu.apiKey(), "/v1/run",
              Json{{"agent", "echo"}, {"prompt", "gamma"}, {"threadId", thread}});
  requireWellFormed(streamed);
  REQUIRE(streamed.header("X-Thread-ID") == thread);
  const Json third =
      runNow(api, Json{{"agent", "echo"}, {"prompt", "/history"}, {"threadId", thread}});
  REQUIRE(third["threadId"] == thread);
  REQUIRE(third["rolloutId"] == firstRollout);
  REQUIRE(third["result"] == "/history\nalpha beta\ngamma");
  // Another thread has its own history.
  REQUIRE(runNow(api, Json{{"agent", "echo"}, {"prompt", "/history"}})["result"] == "");

  // Compaction: a new active rollout; history still sees everything.
  const Response compacted = api.post("/v1/threads/" + thread + "/compact");
  INFO(compacted.raw);
  REQUIRE(compacted.status == 200);
  REQUIRE(compacted.data()["threadId"] == thread);
  const std::string secondRollout = compacted.data()["rolloutId"];
  REQUIRE(isLowerAlnumId(secondRollout, "rol_", 20));
  REQUIRE(secondRollout != firstRollout);
  REQUIRE(api.get("/v1/threads/" + thread).data()["thread"]["activeRolloutId"] == secondRollout);

  const Json after =
      runNow(api, Json{{"agent", "echo"}, {"prompt", "/history"}, {"threadId", thread}});
  REQUIRE(after["rolloutId"] == secondRollout);
  REQUIRE(after["result"] == "/history\nalpha beta\ngamma\n/history");

  // Events: the active rollout by default, every rollout on request.
  const Json active = api.get("/v1/threads/" + thread).data()["events"];
  REQUIRE(eventTypes(active) == std::vector<std::string>{"compaction_completed", "run_started",
                                                         "user_message", "assistant_message",
                                                         "run_completed"});
  REQUIRE(active[0]["payload"]["summary"] == "8 messages compacted");
  REQUIRE(active[0]["rolloutId"] == secondRollout);
  REQUIRE(active[0]["runId"].is_null());
  const Json all = api.get("/v1/threads/" + thread + "?include=all_rollouts").data()["events"];
  REQUIRE(all.size() == 4 * 4 + 1 + active.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    REQUIRE(all[i]["sequence"] == i + 1);
  REQUIRE(all[16]["type"] == "compaction_started");
  REQUIRE(all[16]["rolloutId"] == firstRollout);
  // At most `limit` events, oldest first.
  const Json limited = api.get("/v1/threads/" + thread + "?include=all_rollouts&limit=3").data();
  REQUIRE(limited["events"].size() == 3);
  REQUIRE(limited["events"][0]["sequence"] == 1);
  REQUIRE(limited["thread"]["id"] == thread);
  requireError(api.get("/v1/threads/" + thread + "?limit=0"), 400, "validation_error");
  requireError(api.get("/v1/threads/" + thread + "?limit=501"), 400, "validation_error");

  // Rollouts.
  const Json rollouts = api.get("/v1/threads/" + thread + "/rollouts").data();
  REQUIRE(rollouts["thread"]["id"] == thread);
  REQUIRE(rollouts["rollouts"].size() == 2);
  REQUIRE(rollouts["rollouts"][0]["rolloutId"] == firstRollout);
  REQUIRE(rollouts["rollouts"][0]["threadId"] == thread);
  REQUIRE(rollouts["rollouts"][0]["startedAt"].is_string());
  REQUIRE(rollouts["rollouts"][0]["completedAt"].is_string());
  REQUIRE(rollouts["rollouts"][0]["eventCount"] == 17);
  REQUIRE(rollouts["rollouts"][1]["rolloutId"] == secondRollout);
  REQUIRE(rollouts["rollouts"][1]["completedAt"].is_null());
  REQUIRE(rollouts["rollouts"][1]["eventCount"] == 5);

  // Events by rollout, paginated.
  const std::string base = "/v1/threads/" + thread + "/events";
  const Response byRollout = api.get(base + "?rollout_id=" + firstRollout + "&limit=10");
  REQUIRE(byRollout.status == 200);
  REQUIRE(byRollout.data()["events"].size() == 10);
  REQUIRE(byRollout.body["hasMore"] == true);
  REQUIRE(byRollout.body["meta"]["hasMore"] == true);
  REQUIRE(byRollout.body["nextCursor"] == byRollout.body["meta"]["nextCursor"]);
  const Response rest = api.get(base + "?rollout_id=" + firstRollout + "&limit=10&cursor=" +
                                byRollout.body["nextCursor"].get<std::string>());
  REQUIRE(rest.data()["events"].size() == 7);
  REQUIRE(rest.body["hasMore"] == false);
  REQUIRE(rest.body["nextCursor"].is_null());
  REQUIRE(rest.data()["events"][0]["sequence"] == 11);
  requireError(api.get(base + "?rollout_id=rol_unknown"), 404, "not_found");
  REQUIRE(api.get(base).data()["events"].size() == 5);  // the active rollout
  REQUIRE(api.get(base + "?include=all_rollouts").data()["events"].size() == 22);
}

TEST_CASE("/exec makes a real tool call in the agent's sandbox") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string box =
      api.runningSandbox(Json{{"template", "base-ubuntu"}, {"name", "box"}})["id"];
  REQUIRE(api.post("/v1/agents", Json{{"slug", "ops"}, {"sandbox", "box"}}).status == 201);

  const SseResponse sse =
      postSse(emu.port(), emu.apiKey(), "/v1/run",
              Json{{"agent", "ops"}, {"prompt", "/exec echo made > f.txt; pwd; cat f.txt"}});
  INFO(sse.body);
  requireWellFormed(sse);
  REQUIRE(sse.frames[1].event == "tool_call");
  REQUIRE(sse.frames[2].event == "tool_result");
  const Json& call = sse.frames[1].data;
  REQUIRE(isLowerAlnumId(call["toolCallId"], "call_", 12));
  REQUIRE(call["name"] == "exec_command");
  REQUIRE(call["input"] == Json{{"command", "echo made > f.txt; pwd; cat f.txt"}});
  const Json& result = sse.frames[2].data;
  REQUIRE(result["toolCallId"] == call["toolCallId"]);
  REQUIRE(result["isError"] == false);
  REQUIRE(result["exitCode"] == 0);
  const std::string out = result["output"];
  REQUIRE(out.size() > 5);
  REQUIRE(out.substr(out.size() - 5) == "made\n");  // pwd is the sandbox's host directory
  REQUIRE(sse.last().data["result"] == out);
  REQUIRE(sse.last().data["iterations"] == 2);
  REQUIRE(joinedDeltas(sse) == out);
  REQUIRE(api.exec(box, "cat f.txt")["stdout"] == "made\n");  // really ran there

  // Durable tool events, as streamed.
  const Json events = api.get("/v1/threads/" + sse.header("X-Thread-ID")).data()["events"];
  REQUIRE(eventTypes(events) == std::vector<std::string>{"run_started", "user_message", "tool_call",
                                                         "tool_result", "assistant_message",
                                                         "run_completed"});
  REQUIRE(events[2]["payload"]["toolCallId"] == call["toolCallId"]);
  REQUIRE(events[3]["payload"]["output"] == out);
  // Recorded in the sandbox's activity like an exec.
  const Json activity = api.get("/v1/sandboxes/box/activity").data()["events"];
  bool seen = false;
  for (const Json& e : activity) {
    if (e["eventType"] == "sandbox.exec" &&
        e["attributes"]["command"] == "echo made > f.txt; pwd; cat f.txt") {
      seen = true;
    }
  }
  REQUIRE(seen);

  // A failing command: isError, stdout + stderr in the output, stdout as the result.
  const Json failing =
      runNow(api, Json{{"agent", "ops"}, {"prompt", "/exec echo partial; echo bad >&2; exit 3"}});
  REQUIRE(failing["status"] == "completed");
  REQUIRE(failing["iterations"] == 2);
  REQUIRE(failing["result"] == "partial\n");
  const Json failingEvents =
      api.get("/v1/threads/" + failing["threadId"].get<std::string>()).data()["events"];
  REQUIRE(failingEvents[3]["payload"]["isError"] == true);
  REQUIRE(failingEvents[3]["payload"]["exitCode"] == 3);
  REQUIRE(failingEvents[3]["payload"]["output"] == "partial\nbad\n");

  // Without a running sandbox: a tool error, and the run still completes.
  REQUIRE(api.post("/v1/sandboxes/box/pause").status == 200);
  api.waitForStatus(box, "paused");
  const SseResponse paused = postSse(emu.port(), emu.apiKey(), "/v1/run",
                                     Json{{"agent", "ops"}, {"prompt", "/exec true"}});
  requireWellFormed(paused);
  REQUIRE(paused.frames[2].event == "tool_result");
  REQUIRE(paused.frames[2].data["isError"] == true);
  const std::string why = paused.frames[2].data["output"];
  REQUIRE_FALSE(why.empty());
  REQUIRE(paused.last().data["status"] == "completed");
  REQUIRE(paused.last().data["result"] == "tool failed: " + why);

  createManagedAgent(api, "nobox");
  const Json noBox = runNow(api, Json{{"agent", "nobox"}, {"prompt", "/exec true"}});
  REQUIRE(noBox["status"] == "completed");
  REQUIRE(noBox["iterations"] == 2);
  REQUIRE(noBox["result"].get<std::string>().rfind("tool failed: ", 0) == 0);
}

TEST_CASE("/fail ends the run with an agent_error") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");

  const SseResponse sse =
      postSse(emu.port(), emu.apiKey(), "/v1/run", Json{{"agent", "echo"}, {"prompt", "/fail"}});
  requireWellFormed(sse);
  REQUIRE(sse.types() == std::vector<std::string>{"run_started", "error"});
  REQUIRE(sse.last().data["code"] == "agent_error");
  REQUIRE(sse.last().data["message"].is_string());
  const Json run = api.get("/v1/run/" + sse.header("X-Run-ID")).data();
  REQUIRE(run["status"] == "failed");
  REQUIRE(run["error"]["code"] == "agent_error");
  REQUIRE(run["result"].is_null());

  const Json now = runNow(api, Json{{"agent", "echo"}, {"prompt", "/fail"}});
  REQUIRE(now["status"] == "failed");
  REQUIRE(now["error"]["code"] == "agent_error");
  REQUIRE(now["error"]["message"].is_string());
  const Json events = api.get("/v1/threads/" + now["threadId"].get<std::string>()).data()["events"];
  REQUIRE(eventTypes(events) == std::vector<std::string>{"run_started", "user_message", "error"});
  REQUIRE(events[2]["payload"]["code"] == "agent_error");
}

TEST_CASE("cancelling a running run stops its stream with a cancelled error frame") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");

  std::mutex mutex;
  std::string runId;
  std::atomic<bool> sawDelta{false};
  SseResponse sse;
  std::thread streamer([&] {
    sse = postSse(emu.port(), emu.apiKey(), "/v1/run",
                  Json{{"agent", "echo"}, {"prompt", "/count 500"}}, [&](const SseFrame& frame) {
                    if (frame.event == "run_started") {
                      std::lock_guard<std::mutex> lock(mutex);
                      runId = frame.data["runId"];
                    }
                    if (frame.event == "assistant_message_delta") sawDelta = true;
                    return true;
                  });
  });
  const bool started = eventually([&] { return sawDelta.load(); }, std::chrono::seconds(30));
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mutex);
    id = runId;
  }
  Response cancelled;
  if (started) cancelled = api.post("/v1/run/" + id + "/cancel");
  streamer.join();
  REQUIRE(started);
  INFO(cancelled.raw);
  REQUIRE(cancelled.status == 200);
  REQUIRE(cancelled.data() == Json{{"id", id}, {"status", "cancelled"}});

  requireWellFormed(sse);
  const Json& last = sse.last().data;
  REQUIRE(sse.last().event == "error");
  REQUIRE(last["code"] == "cancelled");
  REQUIRE(last["message"] == "run cancelled");
  REQUIRE(last["runId"] == id);
  REQUIRE(last["threadId"] == sse.header("X-Thread-ID"));
  REQUIRE(joinedDeltas(sse).size() < std::string("1 2 3").size() * 200);  // stopped early
  for (const SseFrame& f : sse.frames)
    REQUIRE(f.event != "run_completed");

  const Json run = api.get("/v1/run/" + id).data();
  REQUIRE(run["status"] == "cancelled");
  REQUIRE(run["error"]["code"] == "cancelled");
  REQUIRE(run["completedAt"].is_string());
  requireError(api.post("/v1/run/" + id + "/cancel"), 409, "invalid_state_transition");
  requireError(api.post("/v1/run/run_unknown/cancel"), 404, "not_found");
  // One terminal durable event.
  const Json events = api.get("/v1/threads/" + sse.header("X-Thread-ID")).data()["events"];
  REQUIRE(eventTypes(events) == std::vector<std::string>{"run_started", "user_message", "error"});
  REQUIRE(events[2]["payload"]["code"] == "cancelled");

  // A finished run cannot be cancelled.
  const Json done = runNow(api, Json{{"agent", "echo"}, {"prompt", "hi"}});
  requireError(api.post("/v1/run/" + done["runId"].get<std::string>() + "/cancel"), 409,
               "invalid_state_transition");
}

TEST_CASE("a client that disconnects mid-stream cancels the run") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");

  std::string runId;
  const SseResponse sse =
      postSse(emu.port(), emu.apiKey(), "/v1/run",
              Json{{"agent", "echo"}, {"prompt", "/count 1000"}}, [&](const SseFrame& frame) {
                if (frame.event == "run_started") runId = frame.data["runId"];
                return frame.event != "assistant_message_delta";
              });
  REQUIRE(sse.disconnected);
  REQUIRE_FALSE(runId.empty());
  Json run;
  REQUIRE(eventually([&] {
    run = api.get("/v1/run/" + runId).data();
    return run["status"] != "running";
  }));
  REQUIRE(run["status"] == "cancelled");
  const std::string thread = run["threadId"];
  REQUIRE(eventually([&] {
    const Json events = api.get("/v1/threads/" + thread).data()["events"];
    return !events.empty() && events.back()["type"] == "error";
  }));
  const Json events = api.get("/v1/threads/" + thread).data()["events"];
  REQUIRE(eventTypes(events) == std::vector<std::string>{"run_started", "user_message", "error"});
}

TEST_CASE("runs: lookup and list with filters and pagination") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "one");
  createManagedAgent(api, "two");
  const std::string twoId = api.get("/v1/agents/two").data()["id"];

  std::vector<std::string> ids;
  ids.push_back(runNow(api, Json{{"agent", "one"}, {"prompt", "a"}})["runId"]);
  ids.push_back(runNow(api, Json{{"agent", "two"}, {"prompt", "b"}})["runId"]);
  ids.push_back(runNow(api, Json{{"agent", "one"}, {"prompt", "/fail"}})["runId"]);
  ids.push_back(runNow(api, Json{{"agent", "one"}, {"prompt", "d"}})["runId"]);

  const Response page1 = api.get("/v1/run?limit=3");
  REQUIRE(page1.status == 200);
  REQUIRE(page1.data().size() == 3);
  REQUIRE(page1.data()[0]["id"] == ids[3]);  // newest first
  REQUIRE(page1.data()[2]["id"] == ids[1]);
  const Json& item = page1.data()[0];
  for (const char* field :
       {"id", "sandboxId", "agentId", "userId", "status", "threadId", "createdAt"}) {
    INFO(field);
    REQUIRE(item.contains(field));
  }
  REQUIRE(page1.body["hasMore"] == true);
  REQUIRE(page1.body["meta"]["hasMore"] == true);
  REQUIRE(page1.body["nextCursor"].is_string());
  REQUIRE(page1.body["meta"]["nextCursor"] == page1.body["nextCursor"]);
  const Response page2 =
      api.get("/v1/run?limit=3&cursor=" + page1.body["nextCursor"].get<std::string>());
  REQUIRE(page2.data().size() == 1);
  REQUIRE(page2.data()[0]["id"] == ids[0]);
  REQUIRE(page2.body["hasMore"] == false);
  REQUIRE(page2.body["meta"]["nextCursor"].is_null());

  REQUIRE(api.get("/v1/run").data().size() == 4);
  REQUIRE(api.get("/v1/run?agent=one").data().size() == 3);
  REQUIRE(api.get("/v1/run?agent=" + twoId).data().size() == 1);
  REQUIRE(api.get("/v1/run?agent=nobody").data().empty());
  REQUIRE(api.get("/v1/run?status=failed").data().size() == 1);
  REQUIRE(api.get("/v1/run?status=failed").data()[0]["id"] == ids[2]);
  REQUIRE(api.get("/v1/run?status=completed&agent=one").data().size() == 2);
  REQUIRE(api.get("/v1/run?all=true").data().size() == 4);
  requireError(api.get("/v1/run?status=done"), 400, "validation_error", "status");
  requireError(api.get("/v1/run?limit=0"), 400, "validation_error", "limit");
  requireError(api.get("/v1/run?limit=501"), 400, "validation_error", "limit");
  REQUIRE(api.get("/v1/run?limit=500").status == 200);
  requireError(api.get("/v1/run?cursor=%21%21"), 400, "validation_error", "cursor");
  requireError(api.get("/v1/run/run_unknown"), 404, "not_found");

  // Threads of one agent.
  const Response threads = api.get("/v1/run/threads?agent=one&limit=2");
  REQUIRE(threads.status == 200);
  REQUIRE(threads.data().size() == 2);
  REQUIRE(threads.body["hasMore"] == true);
  for (const Json& t : threads.data())
    REQUIRE(t["agentSlug"] == "one");
  const Response more = api.get("/v1/run/threads?agent=one&limit=2&cursor=" +
                                threads.body["nextCursor"].get<std::string>());
  REQUIRE(more.data().size() == 1);
  REQUIRE(api.get("/v1/run/threads?agent=two").data().size() == 1);
  REQUIRE(api.get("/v1/run/threads?agent=" + twoId).data().size() == 1);

  // Other organizations see none of it.
  Api other(emu, emu.mintKey());
  REQUIRE(other.get("/v1/run").data().empty());
  requireError(other.get("/v1/run/" + ids[0]), 404, "not_found");
  requireError(other.post("/v1/run/" + ids[0] + "/cancel"), 404, "not_found");
  REQUIRE(other.get("/v1/run/threads?agent=one").data().empty());
}

TEST_CASE("threads: list, archive, rename, delete, pagination and isolation") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");
  std::vector<std::string> threads;
  for (const char* prompt : {"first", "second", "third"}) {
    threads.push_back(runNow(api, Json{{"agent", "echo"}, {"prompt", prompt}})["threadId"]);
  }
  // A new run on the first thread makes it the most recently updated.
  runNow(api, Json{{"agent", "echo"}, {"prompt", "again"}, {"threadId", threads[0]}});

  const Response list = api.get("/v1/threads");
  REQUIRE(list.status == 200);
  REQUIRE(list.data().size() == 3);
  REQUIRE(list.data()[0]["id"] == threads[0]);
  REQUIRE(list.data()[1]["id"] == threads[2]);
  REQUIRE(list.data()[2]["id"] == threads[1]);
  REQUIRE(list.body["hasMore"] == false);
  REQUIRE(list.body["meta"]["hasMore"] == false);
  const Response page = api.get("/v1/threads?limit=2");
  REQUIRE(page.data().size() == 2);
  REQUIRE(page.body["hasMore"] == true);
  const Response page2 =
      api.get("/v1/threads?limit=2&cursor=" + page.body["meta"]["nextCursor"].get<std::string>());
  REQUIRE(page2.data().size() == 1);
  REQUIRE(page2.data()[0]["id"] == threads[1]);
  requireError(api.get("/v1/threads?limit=101"), 400, "validation_error");
  REQUIRE(api.get("/v1/threads?limit=100").status == 200);
  requireError(api.get("/v1/threads?archived=maybe"), 400, "validation_error");

  // PATCH: title and archived.
  const std::string path = "/v1/threads/" + threads[1];
  Response patched = api.call("PATCH", path, Json{{"title", "Renamed"}});
  REQUIRE(patched.status == 200);
  REQUIRE(patched.data()["id"] == threads[1]);
  REQUIRE(patched.data()["title"] == "Renamed");
  REQUIRE(patched.data()["archived"] == false);
  patched = api.call("PATCH", path, Json{{"archived", true}});
  REQUIRE(patched.data()["archived"] == true);
  REQUIRE(patched.data()["title"] == "Renamed");
  REQUIRE(api.get("/v1/threads").data().size() == 2);
  const Json withArchived = api.get("/v1/threads?archived=true").data();
  REQUIRE(withArchived.size() == 3);
  REQUIRE(withArchived[0]["id"] == threads[1]);  // the PATCH updated it
  REQUIRE(api.get(path).data()["thread"]["archived"] == true);
  requireError(api.call("PATCH", path, Json::object()), 400, "validation_error");
  requireError(api.call("PATCH", path, Json{{"title", ""}}), 400, "validation_error", "title");
  requireError(api.call("PATCH", path, Json{{"title", std::string(201, 'x')}}), 400,
               "validation_error", "title");
  REQUIRE(api.call("PATCH", path, Json{{"title", std::string(200, 'x')}}).status == 200);
  requireError(api.call("PATCH", path, Json{{"title", 5}}), 400, "validation_error", "title");
  requireError(api.call("PATCH", path, Json{{"archived", "yes"}}), 400, "validation_error",
               "archived");
  patched = api.call("PATCH", path, Json{{"archived", false}, {"title", "Back"}});
  REQUIRE(patched.data()["archived"] == false);
  REQUIRE(patched.data()["title"] == "Back");

  // Other organizations.
  Api other(emu, emu.mintKey());
  REQUIRE(other.get("/v1/threads").data().empty());
  requireError(other.get(path), 404, "not_found");
  requireError(other.get(path + "/events"), 404, "not_found");
  requireError(other.get(path + "/rollouts"), 404, "not_found");
  requireError(other.call("PATCH", path, Json{{"title", "x"}}), 404, "not_found");
  requireError(other.call("DELETE", path), 404, "not_found");
  requireError(other.post(path + "/compact"), 404, "not_found");
  createManagedAgent(other, "echo");
  requireError(
      other.post(
          "/v1/run",
          Json{{"agent", "echo"}, {"prompt", "x"}, {"threadId", threads[1]}, {"stream", false}}),
      404, "not_found");

  // DELETE.
  const Response deleted = api.call("DELETE", path);
  REQUIRE(deleted.status == 200);
  REQUIRE(deleted.data() == Json{{"id", threads[1]}, {"deleted", true}});
  requireError(api.get(path), 404, "not_found");
  requireError(api.get(path + "/events"), 404, "not_found");
  requireError(api.call("DELETE", path), 404, "not_found");
  requireError(
      api.post(
          "/v1/run",
          Json{{"agent", "echo"}, {"prompt", "x"}, {"threadId", threads[1]}, {"stream", false}}),
      404, "not_found");
  REQUIRE(api.get("/v1/threads?archived=true").data().size() == 2);
  requireError(api.get("/v1/threads/thr_unknown"), 404, "not_found");
}

TEST_CASE("stopping the emulator ends running streams promptly") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  createManagedAgent(api, "echo");
  const std::string box = api.runningSandbox()["id"];

  std::atomic<int> started{0};
  SseResponse run;
  SseResponse exec;
  std::thread runner([&] {
    run = postSse(emu.port(), emu.apiKey(), "/v1/run",
                  Json{{"agent", "echo"}, {"prompt", "/count 1000"}}, [&](const SseFrame& f) {
                    if (f.event == "assistant_message_delta") ++started;
                    return true;
                  });
  });
  std::thread execer([&] {
    exec = postSse(emu.port(), emu.apiKey(), "/v1/sandboxes/" + box + "/exec/stream",
                   Json{{"command", "echo up; sleep 60"}}, [&](const SseFrame& f) {
                     if (f.event == "stdout") ++started;
                     return true;
                   });
  });
  const bool bothStarted =
      eventually([&] { return started.load() >= 2; }, std::chrono::seconds(30));
  emu.stop();  // returns once the streams have ended (the server joins its workers)
  runner.join();
  execer.join();
  REQUIRE(bothStarted);
  REQUIRE_FALSE(run.frames.empty());
  for (const SseFrame& f : run.frames)
    REQUIRE(f.event != "run_completed");
  REQUIRE_FALSE(exec.frames.empty());
}
