// Real command execution: output, exit codes, env, cwd, timeouts, odd bytes, process groups.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

namespace {

std::size_t lineCount(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("exec runs real commands and reports output and exit codes") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];

  const Json ok = api.exec(id, "echo hello; echo oops >&2");
  REQUIRE(ok["stdout"] == "hello\n");
  REQUIRE(ok["stderr"] == "oops\n");
  REQUIRE(ok["exitCode"] == 0);
  REQUIRE(ok["timedOut"] == false);
  REQUIRE(ok["durationMs"].is_number_integer());
  REQUIRE(ok["durationMs"] == ok["executionTime"]);

  REQUIRE(api.exec(id, "exit 3")["exitCode"] == 3);
  REQUIRE(api.exec(id, "kill -9 $$")["exitCode"] == 128 + 9);
  REQUIRE(api.exec(id, "definitely-not-a-command-xyz")["exitCode"] == 127);

  // Files persist in the sandbox's private directory between commands.
  api.exec(id, "echo persisted > note.txt");
  REQUIRE(api.exec(id, "cat note.txt")["stdout"] == "persisted\n");
  REQUIRE(std::filesystem::exists(workspaceOf(emu, id) / "note.txt"));

  // Large output is captured in full.
  const Json big = api.exec(id, "head -c 3000000 /dev/zero | tr '\\000' a");
  REQUIRE(big["stdout"].get<std::string>().size() == 3000000);

  // Validation of the exec body.
  const std::string path = "/v1/sandboxes/" + id + "/exec";
  for (const Json& bad :
       {Json::object(), Json{{"command", ""}}, Json{{"command", 5}},
        Json{{"command", "true"}, {"timeout", 0}}, Json{{"command", "true"}, {"timeout", "5"}},
        Json{{"command", "true"}, {"env", {{"A", 1}}}}, Json{{"command", "true"}, {"cwd", "/etc"}},
        Json{{"command", "true"}, {"cwd", "/workspace/../etc"}},
        Json{{"command", "true"}, {"cwd", "relative"}}}) {
    INFO(bad.dump());
    const Response r = api.post(path, bad);
    REQUIRE(r.status == 400);
    REQUIRE(r.errorCode() == "validation_error");
  }
  REQUIRE(api.callRaw("POST", path, "{not json").status == 400);
  REQUIRE(api.post("/v1/sandboxes/sandbox-000000000000/exec", Json{{"command", "true"}}).status ==
          404);
}

TEST_CASE("exec environment: minimal base, then sandbox env, then request env") {
  ::setenv("RTEMU_TEST_SECRET", "must-not-leak", 1);  // before any emulator thread exists
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox(
      Json{{"template", "base-ubuntu"}, {"env", {{"A", "sandbox"}, {"B", "sandbox"}}}})["id"];

  const Json merged =
      api.exec(id, "echo \"$A $B $C\"", Json{{"env", {{"B", "request"}, {"C", "c"}}}});
  REQUIRE(merged["stdout"] == "sandbox request c\n");

  const Json base = api.exec(
      id,
      "echo \"$RUNTOOLS_SANDBOX_ID|$LANG|$TERM|$SHELL|${RTEMU_TEST_SECRET:-unset}\"; "
      "test \"$HOME\" = \"$(pwd)\" && echo home-is-workspace; test -n \"$PATH\" && echo path");
  REQUIRE(base["stdout"] == id + "|C.UTF-8|dumb|/bin/sh|unset\nhome-is-workspace\npath\n");
  ::unsetenv("RTEMU_TEST_SECRET");

  // Request env can override the base too.
  REQUIRE(api.exec(id, "echo $TERM", Json{{"env", {{"TERM", "xterm"}}}})["stdout"] == "xterm\n");
}

TEST_CASE("exec cwd maps /workspace into the sandbox's directory") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const std::filesystem::path workspace = workspaceOf(emu, id);

  api.exec(id, "mkdir -p sub/dir && echo inside > sub/dir/f.txt");
  const Json inSub = api.exec(id, "cat f.txt; pwd", Json{{"cwd", "/workspace/sub/dir/"}});
  REQUIRE(inSub["exitCode"] == 0);
  const std::string out = inSub["stdout"];
  REQUIRE(out.rfind("inside\n", 0) == 0);
  REQUIRE(std::filesystem::equivalent(out.substr(7, out.size() - 8), workspace / "sub" / "dir"));

  const Json missing = api.exec(id, "echo should-not-run", Json{{"cwd", "/workspace/nope"}});
  REQUIRE(missing["exitCode"] == 1);
  REQUIRE(missing["stdout"] == "");
  REQUIRE(missing["stderr"].get<std::string>().find("/workspace/nope: No such file or directory") !=
          std::string::npos);

  // Two sandboxes never share a directory.
  const std::string other = api.runningSandbox()["id"];
  REQUIRE(api.exec(other, "test -e sub && echo shared || echo private")["stdout"] == "private\n");
}

TEST_CASE("exec timeout kills the process group and keeps partial output") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];

  const Json r =
      api.exec(id, "echo partial; sleep 30 & echo $! > bg.pid; sleep 30", Json{{"timeout", 300}});
  REQUIRE(r["exitCode"] == 124);
  REQUIRE(r["timedOut"] == true);
  REQUIRE(r["stdout"] == "partial\n");
  REQUIRE(r["stderr"].get<std::string>().find("timed out") != std::string::npos);

  // The background child of the timed-out command was in the same group and died with it.
  std::ifstream pidFile(workspaceOf(emu, id) / "bg.pid");
  int bgPid = 0;
  pidFile >> bgPid;
  REQUIRE(bgPid > 0);
  REQUIRE(eventually([&] { return processGone(bgPid); }));
}

TEST_CASE("exec output with NUL bytes and invalid UTF-8 does not break the response") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];

  const Json r = api.exec(id, "printf 'a\\000b\\377c\\n'; printf '\\300\\200' >&2");
  REQUIRE(r["exitCode"] == 0);
  const std::string out = r["stdout"];
  REQUIRE(out.size() >= 4);
  REQUIRE(out.substr(0, 3) == std::string("a\0b", 3));
  REQUIRE(out.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD replaced the bad byte
  REQUIRE(out.back() == '\n');
  REQUIRE(r["stderr"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos);
}

TEST_CASE("commands of one sandbox run concurrently and background processes do not block exec") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];

  // The second command releases the first: they can only both finish if they overlap.
  Json first;
  std::thread waiter([&] {
    first =
        execUnchecked(emu.port(), emu.apiKey(), id,
                      "i=0; while [ ! -e go ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; "
                      "test -e go && echo released",
                      Json{{"timeout", 60000}});
  });
  api.exec(id, "sleep 0.2; touch go");
  waiter.join();
  REQUIRE(first["stdout"] == "released\n");

  // A background process holding stdout open does not keep exec waiting until the timeout.
  const Json bg = api.exec(id, "sleep 60 & echo started", Json{{"timeout", 30000}});
  REQUIRE(bg["stdout"] == "started\n");
  REQUIRE(bg["timedOut"] == false);
}

TEST_CASE("pause stops running commands and resume continues them") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const std::filesystem::path ticks = workspaceOf(emu, id) / "ticks.txt";

  Json result;
  std::thread runner([&] {
    result =
        execUnchecked(emu.port(), emu.apiKey(), id,
                      "for i in $(seq 1 40); do echo $i >> ticks.txt; sleep 0.05; done; echo done",
                      Json{{"timeout", 120000}});
  });
  REQUIRE(eventually([&] { return lineCount(ticks) >= 2; }));
  REQUIRE(api.post("/v1/sandboxes/" + id + "/pause").status == 200);
  api.waitForStatus(id, "paused");
  const std::size_t atPause = lineCount(ticks);
  std::this_thread::sleep_for(300ms);
  REQUIRE(lineCount(ticks) == atPause);  // stopped processes write nothing
  REQUIRE(atPause < 40);

  REQUIRE(api.post("/v1/sandboxes/" + id + "/resume").status == 200);
  runner.join();
  REQUIRE(result["exitCode"] == 0);
  REQUIRE(result["stdout"] == "done\n");
  REQUIRE(lineCount(ticks) == 40);
}

TEST_CASE("destroy, reset and stop kill background processes") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  SECTION("destroy") {
    const std::string id = api.runningSandbox()["id"];
    const int pid =
        std::stoi(api.exec(id, "sleep 300 >/dev/null 2>&1 & echo $!")["stdout"].get<std::string>());
    REQUIRE_FALSE(processGone(pid));
    const std::filesystem::path dir = workspaceOf(emu, id);
    REQUIRE(std::filesystem::exists(dir));
    REQUIRE(api.call("DELETE", "/v1/sandboxes/" + id).status == 200);
    REQUIRE(eventually([&] { return processGone(pid); }));
    REQUIRE_FALSE(std::filesystem::exists(dir));
  }
  SECTION("reset") {
    const std::string id = api.runningSandbox()["id"];
    const int pid =
        std::stoi(api.exec(id, "sleep 300 >/dev/null 2>&1 & echo $!")["stdout"].get<std::string>());
    REQUIRE(api.post("/_emu/reset").status == 200);
    REQUIRE(eventually([&] { return processGone(pid); }));
  }
  SECTION("stop") {
    const std::string id = api.runningSandbox()["id"];
    const int pid =
        std::stoi(api.exec(id, "sleep 300 >/dev/null 2>&1 & echo $!")["stdout"].get<std::string>());
    const std::string stateDir = emu.stateDir();
    REQUIRE(std::filesystem::exists(stateDir));
    emu.stop();
    emu.stop();  // idempotent
    REQUIRE(eventually([&] { return processGone(pid); }));
    REQUIRE_FALSE(std::filesystem::exists(stateDir));
  }
}

TEST_CASE("stop interrupts a command that is still running") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const std::filesystem::path marker = workspaceOf(emu, id) / "started";

  std::thread runner([&] {
    // The response may or may not arrive; the point is that stop() returns promptly.
    httplib::Client client("127.0.0.1", emu.port());
    client.set_read_timeout(120, 0);
    client.Post("/v1/sandboxes/" + id + "/exec", {{"X-API-Key", emu.apiKey()}},
                Json{{"command", "touch started; sleep 300"}, {"timeout", 600000}}.dump(),
                "application/json");
  });
  REQUIRE(eventually([&] { return std::filesystem::exists(marker); }));
  emu.stop();
  runner.join();
}
