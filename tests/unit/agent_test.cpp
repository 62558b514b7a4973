#include <catch2/catch.hpp>

#include "fake_services.hpp"
#include "runtools/agent.hpp"
#include "runtools/errors.hpp"
#include "runtools/sandbox.hpp"

using nlohmann::json;
using namespace runtools;

namespace {

AgentDefinition managed(const std::string& slug) {
  AgentDefinition d;
  d.slug = slug;
  d.executionMode = "managed";
  return d;
}

HttpResponse sse(const std::string& body, HttpHeaders headers = {}) {
  headers.add("Content-Type", "text/event-stream");
  return HttpResponse{200, std::move(headers), body};
}

std::string frame(const std::string& type, json data) {
  data["type"] = type;
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

}  // namespace

TEST_CASE("agent definitions are validated against the documented ranges") {
  CHECK_NOTHROW(validateAgentDefinition(managed("a"), true));
  CHECK_NOTHROW(validateAgentDefinition(managed("a-1-b"), true));
  for (const char* slug : {"", "-a", "a-", "A", "a_b", "a b", "é"}) {
    INFO(slug);
    CHECK_THROWS_AS(validateAgentDefinition(managed(slug), true), InvalidArgumentError);
  }
  CHECK_THROWS_AS(validateAgentDefinition(managed(std::string(64, 'a')), true),
                  InvalidArgumentError);

  auto check = [](auto set, bool ok) {
    AgentDefinition d = managed("agent");
    set(d);
    if (ok) {
      CHECK_NOTHROW(validateAgentDefinition(d, true));
    } else {
      CHECK_THROWS_AS(validateAgentDefinition(d, true), InvalidArgumentError);
    }
  };
  check([](AgentDefinition& d) { d.maxIterations = 1; }, true);
  check([](AgentDefinition& d) { d.maxIterations = 100; }, true);
  check([](AgentDefinition& d) { d.maxIterations = 0; }, false);
  check([](AgentDefinition& d) { d.maxIterations = 101; }, false);
  check([](AgentDefinition& d) { d.maxTokens = 128000; }, true);
  check([](AgentDefinition& d) { d.maxTokens = 128001; }, false);
  check([](AgentDefinition& d) { d.maxTokens = 0; }, false);
  check([](AgentDefinition& d) { d.temperature = 0.0; }, true);
  check([](AgentDefinition& d) { d.temperature = 2.0; }, true);
  check([](AgentDefinition& d) { d.temperature = 2.01; }, false);
  check([](AgentDefinition& d) { d.temperature = -0.1; }, false);
  check([](AgentDefinition& d) { d.temperature = std::nan(""); }, false);
  check([](AgentDefinition& d) { d.topP = 1.0; }, true);
  check([](AgentDefinition& d) { d.topP = 1.5; }, false);
  check([](AgentDefinition& d) { d.topK = 1; }, true);
  check([](AgentDefinition& d) { d.topK = 0; }, false);
  check([](AgentDefinition& d) { d.presencePenalty = -2.0; }, true);
  check([](AgentDefinition& d) { d.presencePenalty = -2.5; }, false);
  check([](AgentDefinition& d) { d.frequencyPenalty = 2.0; }, true);
  check([](AgentDefinition& d) { d.frequencyPenalty = 3.0; }, false);
  check([](AgentDefinition& d) { d.executionMode = "cloud"; }, false);
  check([](AgentDefinition& d) { d.tools = std::vector<json>{"exec_command", {{"n", 1}}}; }, true);
  check([](AgentDefinition& d) { d.tools = std::vector<json>{42}; }, false);
}

TEST_CASE("execution modes need their sandbox or device") {
  AgentDefinition d;
  d.slug = "builder";
  CHECK_THROWS_WITH(validateAgentDefinition(d, true), Catch::Contains("sandbox"));
  d.sandbox = "sandbox-1";
  CHECK_NOTHROW(validateAgentDefinition(d, true));
  d.executionMode = "local-mac";
  CHECK_THROWS_AS(validateAgentDefinition(d, true), InvalidArgumentError);
  d.sandbox.reset();
  CHECK_THROWS_WITH(validateAgentDefinition(d, true), Catch::Contains("targetDeviceId"));
  d.targetDeviceId = "device-1";
  CHECK_NOTHROW(validateAgentDefinition(d, true));
}

TEST_CASE("upsert sends every field set, and nothing is sent when validation fails") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  AgentDefinition d = managed("writer");
  d.maxTokens = 200000;
  CHECK_THROWS_AS(agents.upsert(d), InvalidArgumentError);
  CHECK(fake.transport->requests().empty());

  d.maxTokens = 4096;
  d.name = "Writer";
  d.model = "claude-sonnet-4";
  d.systemPrompt = "Be brief.";
  d.tools = std::vector<json>{"exec_command"};
  d.env = std::map<std::string, std::string>{{"A", "1"}};
  d.resources = std::vector<AgentResource>{{"workspace", "ws-1", std::string("data"), nullptr}};
  d.maxIterations = 10;
  d.temperature = 0.5;
  fake.transport->enqueueJson(
      201,
      test::envelope({{"id", "agt_1"}, {"slug", "writer"}, {"action", "created"}, {"version", 1}}));
  const auto result = agents.upsert(d);
  CHECK(result.action == "created");
  CHECK(result.version == 1);
  const auto body = json::parse(fake.transport->lastRequest().body);
  CHECK(body ==
        json{{"slug", "writer"},
             {"name", "Writer"},
             {"model", "claude-sonnet-4"},
             {"systemPrompt", "Be brief."},
             {"tools", {"exec_command"}},
             {"executionMode", "managed"},
             {"resources", {{{"type", "workspace"}, {"resourceId", "ws-1"}, {"alias", "data"}}}},
             {"env", {{"A", "1"}}},
             {"maxIterations", 10},
             {"maxTokens", 4096},
             {"temperature", 0.5}});
}

TEST_CASE("update refuses a slug change and an empty patch") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  AgentDefinition patch;
  patch.slug = "other";
  CHECK_THROWS_AS(agents.update("writer", patch), InvalidArgumentError);
  CHECK_THROWS_AS(agents.update("writer", AgentDefinition{}), InvalidArgumentError);
  patch.slug.clear();
  patch.temperature = 1.0;
  fake.transport->enqueueJson(
      200,
      test::envelope({{"slug", "writer"}, {"version", 3}, {"configJson", {{"temperature", 1.0}}}}));
  const auto agent = agents.update("writer", patch);
  CHECK(agent.version == 3);
  CHECK(agent.config["temperature"] == 1.0);
  CHECK(json::parse(fake.transport->lastRequest().body) == json{{"temperature", 1.0}});
  CHECK(fake.transport->lastRequest().method == "PATCH");
  CHECK_THROWS_AS(agents.setVisibility("writer", "everyone"), InvalidArgumentError);
}

TEST_CASE("a non-streamed run sends stream:false with its options") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  fake.transport->enqueue(HttpResponse{
      200,
      {{"X-Run-ID", "run_h"}, {"X-Thread-ID", "thr_h"}},
      test::envelope(
          {{"status", "completed"},
           {"result", "echo: hi"},
           {"iterations", 1},
           {"usage", {{"promptTokens", 1}, {"completionTokens", 2}, {"totalTokens", 3}}}})
          .dump()});
  RunOptions options;
  options.thread = true;
  options.maxTokens = 100;
  options.temperature = 0.2;
  options.metadata = json{{"k", "v"}};
  const auto result = agents.run("echo", "hi", options);
  CHECK(result.runId == "run_h");
  CHECK(result.threadId == std::optional<std::string>("thr_h"));
  CHECK(result.result == "echo: hi");
  CHECK(result.usage.totalTokens == 3);
  CHECK(result.completed());
  CHECK(json::parse(fake.transport->lastRequest().body) ==
        json{{"agent", "echo"},
             {"stream", false},
             {"prompt", "hi"},
             {"thread", true},
             {"config", {{"maxTokens", 100}, {"temperature", 0.2}}},
             {"metadata", {{"k", "v"}}}});

  RunOptions bad;
  bad.maxTurns = 0;
  CHECK_THROWS_AS(agents.run("echo", "hi", bad), InvalidArgumentError);
  CHECK_THROWS_AS(agents.run("echo", ""), InvalidArgumentError);
  CHECK_THROWS_AS(agents.run("echo", std::vector<Message>{}), InvalidArgumentError);
}

TEST_CASE("a streamed run delivers typed events and folds them into the result") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  const std::string body =
      ": connected\n\n" +
      frame("run_started", {{"runId", "run_1"}, {"threadId", "thr_1"}, {"sequence", 1}}) +
      frame("tool_call", {{"toolCallId", "c1"},
                          {"name", "exec_command"},
                          {"input", {{"command", "ls"}}},
                          {"sequence", 2}}) +
      frame("tool_result",
            {{"toolCallId", "c1"}, {"output", "a\n"}, {"isError", false}, {"sequence", 3}}) +
      frame("assistant_message_delta", {{"delta", "Hel"}, {"sequence", 4}}) +
      frame("assistant_message_delta", {{"delta", "lo"}, {"sequence", 5}}) +
      frame("future_event", {{"sequence", 6}}) +
      frame("run_completed",
            {{"status", "completed"}, {"result", "Hello"}, {"iterations", 2}, {"sequence", 7}});
  fake.transport->enqueue(sse(body));
  std::vector<RunEvent> events;
  const auto result = agents.run(
      "echo", std::vector<Message>{Message::user("hi", {MessagePart::fromAttachment("att-1")})},
      [&](const RunEvent& e) {
        events.push_back(e);
        return true;
      });
  REQUIRE(events.size() == 7);
  CHECK(events[1].isToolCall());
  CHECK(events[1].toolCall().name == "exec_command");
  CHECK(events[1].toolCall().input["command"] == "ls");
  CHECK(events[2].toolResult().output == "a\n");
  CHECK(events[3].textDelta() == "Hel");
  CHECK(events[5].type == "future_event");
  CHECK(events[6].isTerminal());
  CHECK(result.runId == "run_1");
  CHECK(result.threadId == std::optional<std::string>("thr_1"));
  CHECK(result.result == "Hello");
  CHECK(result.iterations == 2);
  CHECK_FALSE(result.stoppedEarly);
  const auto request = fake.transport->lastRequest();
  CHECK(request.headers.get("Accept") == "text/event-stream");
  const auto sent = json::parse(request.body);
  CHECK(sent["stream"] == true);
  CHECK(sent["messages"][0]["parts"][0] == json{{"type", "attachment"}, {"attachmentId", "att-1"}});
}

TEST_CASE("a stream that breaks off before its final event is a StreamError") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  fake.transport->enqueue(sse(frame("run_started", {{"runId", "run_1"}}) +
                              frame("assistant_message_delta", {{"delta", "par"}}) +
                              "event: assistant_message_delta\ndata: {\"delta\":"));
  CHECK_THROWS_AS(agents.stream("echo", "hi"), StreamError);
}

TEST_CASE("an error frame ends the run as failed or cancelled, not as an exception") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  fake.transport->enqueue(
      sse(frame("run_started", {{"runId", "run_1"}}) +
          frame("error", {{"code", "cancelled"}, {"message", "run cancelled"}})));
  auto result = agents.stream("echo", "hi");
  CHECK(result.status == "cancelled");
  REQUIRE(result.error);
  CHECK(result.error->code == "cancelled");

  fake.transport->enqueue(sse(frame("error", {{"code", "agent_error"}, {"message", "boom"}})));
  result = agents.stream("echo", "hi");
  CHECK(result.status == "failed");
}

TEST_CASE("a callback returning false stops the stream early") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  std::string stream;
  for (int i = 1; i <= 50; ++i) {
    stream += frame("assistant_message_delta", {{"delta", std::to_string(i) + " "}});
  }
  stream += frame("run_completed", {{"result", "all"}});
  fake.transport->enqueue(sse(stream));
  int seen = 0;
  const auto result = agents.run(
      "counter", "/count 50", [&](const RunEvent& e) { return !(e.isTextDelta() && ++seen == 3); });
  CHECK(seen == 3);
  CHECK(result.stoppedEarly);
  CHECK(result.status == "stopped");
  CHECK(result.result == "1 2 3 ");
}

TEST_CASE("a cancelled token stops a run before it is sent") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  CancellationToken token;
  token.cancel();
  RunOptions options;
  options.cancellation = token;
  CHECK_THROWS_AS(agents.run("echo", "hi", RunEventHandler(), options), CancelledError);
  CHECK(fake.transport->requests().empty());
}

TEST_CASE("streamed exec hands output to the callbacks and returns the whole result") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueue(
      sse("event: stdout\ndata: {\"data\":\"line 1\\n\"}\n\n"
          "event: stderr\ndata: {\"data\":\"warn\\n\"}\n\n"
          "event: stdout\ndata: {\"data\":\"line 2\\n\"}\n\n"
          "event: exit\ndata: {\"exitCode\":3,\"durationMs\":12,"
          "\"timedOut\":false}\n\n"));
  std::vector<std::string> out;
  std::vector<std::string> err;
  ExecOptions options;
  options.onStdout = [&](std::string_view s) {
    out.emplace_back(s);
    return true;
  };
  options.onStderr = [&](std::string_view s) {
    err.emplace_back(s);
    return true;
  };
  const auto result = sandbox.exec("make", options);
  CHECK(out == std::vector<std::string>{"line 1\n", "line 2\n"});
  CHECK(err == std::vector<std::string>{"warn\n"});
  CHECK(result.stdoutText == "line 1\nline 2\n");
  CHECK(result.stderrText == "warn\n");
  CHECK(result.exitCode == 3);
  CHECK(result.durationMs == std::chrono::milliseconds(12));
  CHECK(fake.transport->lastRequest().url ==
        "https://api.example.test/v1/sandboxes/sandbox-1/exec/stream");

  fake.transport->enqueue(
      sse("event: stdout\ndata: {\"data\":\"1\\n\"}\n\n"
          "event: stdout\ndata: {\"data\":\"2\\n\"}\n\n"));
  ExecOptions stopper;
  stopper.onStdout = [](std::string_view) { return false; };
  const auto stopped = sandbox.exec("yes", stopper);
  CHECK(stopped.stopped);
  CHECK(stopped.exitCode == -1);
  CHECK_FALSE(stopped.ok());

  fake.transport->enqueue(sse("event: stdout\ndata: {\"data\":\"1\\n\"}\n\n"));
  CHECK_THROWS_AS(sandbox.exec("yes", options), StreamError);
}

TEST_CASE("attachments upload to the returned URL without the API key") {
  test::FakeServices fake;
  AgentClient agents(fake.api());
  fake.transport->enqueueJson(
      201,
      test::envelope({{"id", "att-1"},
                      {"uploadUrl", "https://uploads.example.test/put/att-1?sig=abc"},
                      {"method", "PUT"},
                      {"headers", {{"Content-Type", "text/plain"}, {"x-amz-acl", "private"}}}}));
  fake.transport->enqueue(HttpResponse{200, {}, ""});
  fake.transport->enqueueJson(
      200,
      test::envelope(
          {{"attachment",
            {{"id", "att-1"}, {"filename", "notes.txt"}, {"sizeBytes", 5}, {"status", "ready"}}}}));
  CreateAttachmentOptions options;
  options.threadId = "thr_1";
  options.filename = "notes.txt";
  options.contentType = "text/plain";
  const auto attachment = agents.createAttachment(options, "hello");
  CHECK(attachment.id == "att-1");
  CHECK(attachment.status == "ready");
  CHECK(attachment.part().attachmentId == "att-1");

  const auto requests = fake.transport->requests();
  REQUIRE(requests.size() == 3);
  CHECK(json::parse(requests[0].body) == json{{"threadId", "thr_1"},
                                              {"filename", "notes.txt"},
                                              {"contentType", "text/plain"},
                                              {"sizeBytes", 5}});
  CHECK(requests[1].method == "PUT");
  CHECK(requests[1].url == "https://uploads.example.test/put/att-1?sig=abc");
  CHECK(requests[1].body == "hello");
  CHECK(requests[1].headers.get("x-amz-acl") == "private");
  CHECK_FALSE(requests[1].headers.has("X-API-Key"));
  CHECK_FALSE(requests[1].headers.has("Authorization"));
  CHECK(requests[2].url == "https://api.example.test/v1/agent-attachments/att-1/complete");
}

TEST_CASE("threads: list, get, events pages, rename, archive, compact") {
  test::FakeServices fake;
  ThreadClient threads(fake.api());
  fake.transport->enqueueJson(200, {{"data", {{{"id", "thr_1"}, {"title", "t"}}}},
                                    {"meta", {{"hasMore", true}, {"nextCursor", "c"}}}});
  fake.transport->enqueueJson(200, {{"data", {{{"id", "thr_2"}}}}, {"meta", {{"hasMore", false}}}});
  const auto all = threads.list(ThreadListOptions{50, std::nullopt, true});
  REQUIRE(all.size() == 2);
  CHECK(fake.transport->requests()[0].url ==
        "https://api.example.test/v1/threads?limit=50&archived=true");
  CHECK_THROWS_AS(threads.listPage(ThreadListOptions{101, std::nullopt, false}),
                  InvalidArgumentError);

  fake.transport->enqueueJson(
      200,
      test::envelope(
          {{"thread", {{"id", "thr_1"}, {"activeRolloutId", "rol_1"}}},
           {"events",
            {{{"sequence", 1}, {"type", "user_message"}, {"payload", {{"content", "hi"}}}}}}}));
  const auto snapshot = threads.get("thr_1", 10, true);
  CHECK(snapshot.thread.activeRolloutId == std::optional<std::string>("rol_1"));
  REQUIRE(snapshot.events.size() == 1);
  CHECK(snapshot.events[0].payload["content"] == "hi");
  CHECK(fake.transport->lastRequest().url ==
        "https://api.example.test/v1/threads/thr_1?limit=10&include=all_rollouts");

  fake.transport->enqueueJson(
      200, {{"data",
             {{"thread", {{"id", "thr_1"}}}, {"events", {{{"sequence", 1}}, {{"sequence", 2}}}}}},
            {"hasMore", true},
            {"nextCursor", "e2"}});
  fake.transport->enqueueJson(
      200,
      {{"data", {{"events", {{{"sequence", 3}}}}}}, {"hasMore", false}, {"nextCursor", nullptr}});
  ThreadEventsOptions eventOptions;
  eventOptions.limit = 2;
  const auto events = threads.events("thr_1", eventOptions);
  REQUIRE(events.size() == 3);
  CHECK(events[2].sequence == 3);

  fake.transport->enqueueJson(200, test::envelope({{"id", "thr_1"}, {"title", "renamed"}}));
  CHECK(threads.rename("thr_1", "renamed").title == "renamed");
  CHECK(json::parse(fake.transport->lastRequest().body) == json{{"title", "renamed"}});
  fake.transport->enqueueJson(200, test::envelope({{"id", "thr_1"}, {"archived", true}}));
  CHECK(threads.archive("thr_1").archived);
  fake.transport->enqueueJson(200, test::envelope({{"threadId", "thr_1"}, {"rolloutId", "rol_2"}}));
  CHECK(threads.compact("thr_1").rolloutId == "rol_2");
}
