// POST /v1/sandboxes/{id}/exec/stream: output frames as the command produces them, UTF-8
// cleaning across chunks, errors before the stream, timeouts, and the command killed when the
// client goes away.
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;
namespace fs = std::filesystem;

namespace {

std::string collected(const SseResponse& sse, const std::string& event) {
  std::string out;
  for (const SseFrame& f : sse.frames) {
    if (f.event == event) out += f.data["data"].get<std::string>();
  }
  return out;
}

}  // namespace

TEST_CASE("exec/stream sends output while the command runs, then its exit") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const std::string target = "/v1/sandboxes/" + id + "/exec/stream";

  // The command waits for a file that the test creates only once it has seen the first chunk:
  // if output were held back until the end, the command would time out instead.
  const fs::path go = workspaceOf(emu, id) / "go";
  bool created = false;
  const SseResponse sse =
      postSse(emu.port(), emu.apiKey(), target,
              Json{{"command",
                    "printf first; while [ ! -f go ]; do sleep 0.02; done; printf second >&2; "
                    "exit 3"},
                   {"timeout", 20000}},
              [&](const SseFrame& frame) {
                if (frame.event == "stdout" && !created) {
                  std::ofstream(go) << "go";
                  created = true;
                }
                return true;
              });
  INFO(sse.body);
  REQUIRE(sse.status == 200);
  REQUIRE(sse.header("Content-Type").rfind("text/event-stream", 0) == 0);
  REQUIRE(sse.header("Content-Encoding").empty());
  REQUIRE(created);
  REQUIRE(sse.frames.size() >= 3);
  REQUIRE(sse.frames.front().event == "stdout");
  REQUIRE(sse.frames.front().data == Json{{"data", "first"}});
  REQUIRE(collected(sse, "stdout") == "first");
  REQUIRE(collected(sse, "stderr") == "second");
  REQUIRE(sse.last().event == "exit");
  REQUIRE(sse.last().data["exitCode"] == 3);
  REQUIRE(sse.last().data["timedOut"] == false);
  REQUIRE(sse.last().data["durationMs"].is_number_integer());
  // Recorded like exec.
  const Json activity = api.get("/v1/sandboxes/" + id + "/activity").data()["events"];
  REQUIRE(activity[0]["eventType"] == "sandbox.exec");
  REQUIRE(activity[0]["attributes"]["exitCode"] == 3);

  // UTF-8: a character split across two writes arrives whole; invalid bytes become U+FFFD.
  const SseResponse utf8 =
      postSse(emu.port(), emu.apiKey(), target,
              Json{{"command", "printf 'a\\303'; sleep 0.2; printf '\\251b\\377c\\342\\202'"}});
  INFO(utf8.body);
  REQUIRE(utf8.status == 200);
  REQUIRE(collected(utf8, "stdout") ==
          "a\xc3\xa9"
          "b\xef\xbf\xbd"
          "c\xef\xbf\xbd");
  for (const SseFrame& f : utf8.frames)
    REQUIRE_FALSE(f.data.is_null());

  // Timeout: 124 + timedOut, with a note on stderr.
  const SseResponse slow = postSse(emu.port(), emu.apiKey(), target,
                                   Json{{"command", "echo before; sleep 5"}, {"timeout", 200}});
  REQUIRE(slow.last().event == "exit");
  REQUIRE(slow.last().data["exitCode"] == 124);
  REQUIRE(slow.last().data["timedOut"] == true);
  REQUIRE(collected(slow, "stdout") == "before\n");
  REQUIRE(collected(slow, "stderr").find("timed out") != std::string::npos);

  // cwd and env as exec.
  api.exec(id, "mkdir -p sub");
  const SseResponse cwd = postSse(emu.port(), emu.apiKey(), target,
                                  Json{{"command", "basename \"$PWD\"; echo $X"},
                                       {"cwd", "/workspace/sub"},
                                       {"env", {{"X", "y"}}}});
  REQUIRE(collected(cwd, "stdout") == "sub\ny\n");
  REQUIRE(cwd.last().data["exitCode"] == 0);
}

TEST_CASE("exec/stream errors are JSON answers before any event") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const std::string target = "/v1/sandboxes/" + id + "/exec/stream";

  for (const Json& bad :
       {Json::object(), Json{{"command", ""}}, Json{{"command", 5}},
        Json{{"command", "true"}, {"timeout", 0}}, Json{{"command", "true"}, {"cwd", "/etc"}}}) {
    INFO(bad.dump());
    const Response r = api.post(target, bad);
    REQUIRE(r.status == 400);
    REQUIRE(r.errorCode() == "validation_error");
  }
  const Response missing =
      api.post("/v1/sandboxes/sandbox-000000000000/exec/stream", Json{{"command", "true"}});
  REQUIRE(missing.status == 404);
  REQUIRE(missing.errorCode() == "not_found");
  Api other(emu, emu.mintKey());
  REQUIRE(other.post(target, Json{{"command", "true"}}).status == 404);
  Api reader(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:read"}));
  const Response forbidden = reader.post(target, Json{{"command", "true"}});
  REQUIRE(forbidden.status == 403);
  REQUIRE(forbidden.errorCode() == "forbidden");

  REQUIRE(api.post("/v1/sandboxes/" + id + "/pause").status == 200);
  const Response paused = api.post(target, Json{{"command", "true"}});
  REQUIRE(paused.status == 409);
  REQUIRE(paused.errorCode() == "sandbox_not_running");
  REQUIRE(paused.header("Content-Type").rfind("application/json", 0) == 0);
}

TEST_CASE("exec/stream kills the command's process group when the client disconnects") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const fs::path marker = workspaceOf(emu, id) / "marker";

  const SseResponse sse =
      postSse(emu.port(), emu.apiKey(), "/v1/sandboxes/" + id + "/exec/stream",
              Json{{"command", "echo started; sleep 2; touch marker"}},
              [](const SseFrame& frame) { return frame.event != "stdout"; });  // hang up
  REQUIRE(sse.disconnected);
  // The exec is recorded once the command has ended: killed (SIGKILL), before `touch`.
  Json exec;
  REQUIRE(eventually([&] {
    const Json activity = api.get("/v1/sandboxes/" + id + "/activity").data()["events"];
    for (const Json& e : activity) {
      if (e["eventType"] == "sandbox.exec") {
        exec = e;
        return true;
      }
    }
    return false;
  }));
  REQUIRE(exec["attributes"]["exitCode"] == 128 + 9);
  REQUIRE_FALSE(fs::exists(marker));
}
