// runtools agent run|list, thread list|events: streamed answers, threads,
// Ctrl-C cancelling the run on the platform.

#include <catch2/catch.hpp>

#include <runtools/runtools.hpp>

#include "cli_harness.hpp"

using namespace rtcli_test;

namespace {

runtools::RunTools sdk(const CliFixture& cli) {
  runtools::ClientOptions options;
  options.apiKey = CliFixture::kKey;
  options.apiUrl = cli.baseUrl();
  return runtools::RunTools(options);
}

void defineAgent(const CliFixture& cli, const std::string& slug) {
  runtools::AgentDefinition agent;
  agent.slug = slug;
  agent.name = "CLI helper";
  agent.executionMode = "managed";
  sdk(cli).agent.upsert(agent);
}

}  // namespace

TEST_CASE("agent run streams the answer, continues threads then agent and thread listings") {
  CliFixture cli;
  defineAgent(cli, "helper");
  CHECK(cli.json({"agent", "list"})[0]["slug"] == "helper");
  CHECK(cli.run({"agent", "list"}).out.find("helper") != std::string::npos);

  Child child = cli.start({"agent", "run", "helper", "/count 40"});
  child.closeStdin();
  REQUIRE(child.waitForStdout("1 2 ", 10s));
  // Streamed: the first numbers are printed long before the last.
  CHECK(child.stdoutText().find("40") == std::string::npos);
  REQUIRE(child.wait() == 0);
  CHECK(child.stdoutText().find("38 39 40") != std::string::npos);
  const std::string err = child.stderrText();
  const auto at = err.find("thread ");
  REQUIRE(at != std::string::npos);
  const std::string thread = err.substr(at + 7, err.find('\n', at) - at - 7);

  const Result echo = cli.run({"agent", "run", "helper", "hello there", "--thread", thread});
  CHECK(echo.exitCode == 0);
  CHECK(echo.out == "echo: hello there\n");
  const auto history = cli.json({"agent", "run", "helper", "/history", "--thread", thread});
  CHECK(history["threadId"] == thread);
  CHECK(history["result"].get<std::string>().find("hello there") != std::string::npos);

  const auto fresh = cli.json({"agent", "run", "helper", "again", "--new-thread"});
  CHECK(fresh["threadId"] != thread);

  const auto threads = cli.json({"thread", "list"});
  CHECK(threads.size() == 2);
  const auto events = cli.json({"thread", "events", thread});
  REQUIRE(events.is_array());
  CHECK(std::any_of(events.begin(), events.end(),
                    [](const auto& e) { return e["type"] == "user_message"; }));
  const Result table = cli.run({"thread", "events", thread});
  CHECK(table.out.find("hello there") != std::string::npos);
  CHECK(cli.run({"thread", "list"}).out.find(thread) != std::string::npos);

  const Result failed = cli.run({"agent", "run", "helper", "/fail"});
  CHECK(failed.exitCode == 1);
  CHECK(failed.err.find("error: agent_error: ") != std::string::npos);
  CHECK(cli.run({"agent", "run", "nobody", "hi"}).exitCode == 4);
}

TEST_CASE("Ctrl-C during agent run exits 130 and cancels the run") {
  CliFixture cli;
  defineAgent(cli, "counter");
  Child child = cli.start({"agent", "run", "counter", "/count 1000"});
  child.closeStdin();
  REQUIRE(child.waitForStdout("1 2 3 ", 10s));
  const auto sent = Clock::now();
  child.signal(SIGINT);
  const auto code = child.wait(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 130);
  CHECK(Clock::now() - sent < 3s);
  const auto runs = sdk(cli).agent.runs();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].status == "cancelled");
}
