// The runtools-emulator executable: stdout contract, signals, exit codes.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace rtemu_test;

TEST_CASE("the binary prints its address and key, serves, and exits 0 on SIGTERM") {
  Child child({RTEMU_BINARY, "--port", "0", "--create-delay-ms", "10"});
  const auto first = child.readLine();
  REQUIRE(first);
  std::smatch match;
  REQUIRE(std::regex_match(*first, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))")));
  const int port = std::stoi(match[1]);
  REQUIRE(port > 0);
  const auto second = child.readLine();
  REQUIRE(second);
  REQUIRE(std::regex_match(*second, std::regex("api key: rt_test_[A-Za-z0-9]{32}")));
  const std::string key = second->substr(std::string("api key: ").size());

  Api anonymous(port, "", Auth::kNone);
  REQUIRE(anonymous.get("/health").status == 200);
  Api api(port, key);
  const std::string id = api.runningSandbox()["id"];
  REQUIRE(api.exec(id, "echo hi")["stdout"] == "hi\n");

  REQUIRE(::kill(child.pid(), SIGTERM) == 0);
  const int status = child.wait();
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE_FALSE(child.readLine());  // nothing else was printed on stdout
}

TEST_CASE("the binary uses a given key, prints only the address, and stops on SIGINT") {
  Child child({RTEMU_BINARY, "--port=0", "--api-key", "rt_test_givengivengivengivengivengiven12"});
  const auto first = child.readLine();
  REQUIRE(first);
  std::smatch match;
  REQUIRE(std::regex_match(*first, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))")));
  Api api(std::stoi(match[1]), "rt_test_givengivengivengivengivengiven12");
  REQUIRE(api.get("/v1/sandboxes").status == 200);
  REQUIRE(::kill(child.pid(), SIGINT) == 0);
  const int status = child.wait();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE_FALSE(child.readLine());
}

TEST_CASE("the binary rejects bad flags with exit status 2") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{RTEMU_BINARY, "--bogus"},
        std::vector<std::string>{RTEMU_BINARY, "--port", "70000"},
        std::vector<std::string>{RTEMU_BINARY, "--port"},
        std::vector<std::string>{RTEMU_BINARY, "--rate-limit-rpm", "-1"}}) {
    Child child(args);
    const int status = child.wait();
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 2);
    REQUIRE_FALSE(child.readLine());  // the message went to stderr
  }
}

namespace {

// Every file of a workspace (recursive listing with hidden files), with its bytes.
Json snapshot(Api& api, const std::string& workspace, const std::string& dir = "") {
  Json out = Json::object();
  const Response listing =
      api.get("/v1/workspaces/" + workspace + "/files" + dir + "?showHidden=true");
  REQUIRE(listing.status == 200);
  for (Json entry : listing.body) {
    const std::string id = entry["id"];
    if (entry["type"] == "folder") {
      out[id] = entry;
      out.update(snapshot(api, workspace, id));
    } else {
      const Response content = api.get("/v1/workspaces/" + workspace + "/direct?id=" + id);
      REQUIRE(content.status == 200);
      entry["content"] = content.raw;
      out[id] = entry;
    }
  }
  return out;
}

int startedPort(Child& child) {
  const auto line = child.readLine();
  REQUIRE(line);
  std::smatch match;
  REQUIRE(std::regex_match(*line, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))")));
  return std::stoi(match[1]);
}

}  // namespace

TEST_CASE("files written through the API survive SIGKILL and a restart on the same state dir") {
  TempDir state;
  const std::string key = "rt_test_persistpersistpersistpersist12";
  const std::vector<std::string> args = {
      RTEMU_BINARY,        "--port", "0", "--state-dir", state.path().string(), "--api-key", key,
      "--create-delay-ms", "10"};
  Json workspaceBefore;
  Json filesBefore;
  Json sandboxBefore;
  std::string id;
  std::string sandboxId;
  std::string large;
  {
    Child child(args);
    Api api(startedPort(child), key);
    id = api.createWorkspace("Survivor");
    const std::string base = "/v1/workspaces/" + id;
    REQUIRE(api.post(base + "/files", Json{{"name", "docs"}, {"type", "folder"}}).status == 201);
    REQUIRE(api.post(base + "/files/docs", Json{{"name", "a.md"}, {"contents", "# A\n"}}).status ==
            201);
    REQUIRE(api.post(base + "/files", Json{{"name", ".hidden"}, {"contents", "h"}}).status == 201);
    REQUIRE(api.call("PUT", base + "/files/docs/b.txt",
                     Json{{"operation", "write"}, {"contents", std::string("bin\0ary\xc3\xa9", 9)}})
                .status == 200);
    large.resize(3u << 20);
    for (std::size_t i = 0; i < large.size(); ++i)
      large[i] = static_cast<char>((i * 7919u) >> 3);
    httplib::Client client("127.0.0.1", api.port());
    client.set_write_timeout(60, 0);
    client.set_read_timeout(60, 0);
    const auto up = client.Post((base + "/upload/docs").c_str(), {{"X-API-Key", key}},
                                httplib::MultipartFormDataItems{{"file", large, "large.bin", ""}});
    REQUIRE(up);
    REQUIRE(up->status == 201);
    REQUIRE(api.call("PUT", base + "/files",
                     Json{{"operation", "copy"}, {"ids", {"/docs"}}, {"target", "/"}})
                .status == 409);  // /docs exists in /
    REQUIRE(api.post(base + "/files", Json{{"name", "copies"}, {"type", "folder"}}).status == 201);
    REQUIRE(api.call("PUT", base + "/files",
                     Json{{"operation", "copy"}, {"ids", {"/docs"}}, {"target", "/copies"}})
                .status == 200);
    REQUIRE(api.call("PUT", base + "/files/docs/a.md",
                     Json{{"operation", "rename"}, {"target", "A.md"}})
                .status == 200);
    sandboxId = api.runningSandbox(
        Json{{"template", "base-ubuntu"},
             {"name", "mounter"},
             {"mounts", {{{"workspaceId", id}, {"path", "/workspace/ws"}}}}})["id"];
    REQUIRE(api.exec(sandboxId, "echo from-exec > exec.txt",
                     Json{{"cwd", "/workspace/ws"}})["exitCode"] == 0);
    workspaceBefore = api.get(base).data();
    filesBefore = snapshot(api, id);
    sandboxBefore = api.get("/v1/sandboxes/" + sandboxId).data();
    REQUIRE(filesBefore["/docs/large.bin"]["content"] == large);
    REQUIRE(filesBefore.size() == 11);

    REQUIRE(::kill(child.pid(), SIGKILL) == 0);
    const int status = child.wait();
    REQUIRE(WIFSIGNALED(status));
  }
  {
    Child child(args);
    Api api(startedPort(child), key);
    const Json workspaceAfter = api.get("/v1/workspaces/" + id).data();
    for (const char* field : {"id", "slug", "name", "createdAt", "updatedAt", "sizeBytes",
                              "quotaBytes", "ownerUserId"}) {
      INFO(field);
      REQUIRE(workspaceAfter[field] == workspaceBefore[field]);
    }
    const Json filesAfter = snapshot(api, id);
    REQUIRE(filesAfter == filesBefore);
    const Json sandboxAfter = api.get("/v1/sandboxes/mounter").data();
    REQUIRE(sandboxAfter["mounts"] == sandboxBefore["mounts"]);
    REQUIRE(api.exec(sandboxId, "cat exec.txt docs/A.md",
                     Json{{"cwd", "/workspace/ws"}})["stdout"] == "from-exec\n# A\n");
  }
}

TEST_CASE("agents, threads and their events survive SIGKILL and a restart") {
  TempDir state;
  const std::string key = "rt_test_threadsthreadsthreadsthreads12";
  const std::vector<std::string> args = {
      RTEMU_BINARY,        "--port", "0", "--state-dir", state.path().string(), "--api-key", key,
      "--stream-delay-ms", "1"};
  Json agentBefore;
  Json threadBefore;
  Json eventsBefore;
  Json rolloutsBefore;
  Json listBefore;
  std::string thread;
  std::string attachment;
  {
    Child child(args);
    Api api(startedPort(child), key);
    REQUIRE(api.post("/v1/agents", Json{{"slug", "keeper"},
                                        {"executionMode", "managed"},
                                        {"env", {{"SECRET", "s"}}},
                                        {"maxTokens", 99}})
                .status == 201);
    REQUIRE(api.call("PATCH", "/v1/agents/keeper", Json{{"description", "kept"}}).status == 200);
    const Response first = api.post(
        "/v1/run", Json{{"agent", "keeper"}, {"prompt", "remember me"}, {"stream", false}});
    REQUIRE(first.status == 200);
    thread = first.data()["threadId"];
    const SseResponse second =
        postSse(api.port(), key, "/v1/run",
                Json{{"agent", "keeper"}, {"prompt", "/count 3"}, {"threadId", thread}});
    REQUIRE(second.status == 200);
    REQUIRE(second.last().event == "run_completed");
    REQUIRE(api.post("/v1/threads/" + thread + "/compact").status == 200);
    REQUIRE(api.call("PATCH", "/v1/threads/" + thread, Json{{"title", "Kept thread"}}).status ==
            200);
    const Response created =
        api.post("/v1/agent-attachments",
                 Json{{"threadId", thread}, {"filename", "k.txt"}, {"contentType", "text/plain"}});
    REQUIRE(created.status == 201);
    attachment = created.data()["id"];
    Api anonymous(api.port(), "", Auth::kNone);
    REQUIRE(anonymous.callRaw("PUT", "/_emu/uploads/" + attachment, "kept bytes").status == 200);
    REQUIRE(api.post("/v1/agent-attachments/" + attachment + "/complete").status == 200);

    agentBefore = api.get("/v1/agents/keeper").data();
    const Json snapshot = api.get("/v1/threads/" + thread + "?include=all_rollouts").data();
    threadBefore = snapshot["thread"];
    eventsBefore = snapshot["events"];
    rolloutsBefore = api.get("/v1/threads/" + thread + "/rollouts").data();
    listBefore = api.get("/v1/threads").data();
    REQUIRE(eventsBefore.size() == 10);

    REQUIRE(::kill(child.pid(), SIGKILL) == 0);
    const int status = child.wait();
    REQUIRE(WIFSIGNALED(status));
  }
  {
    Child child(args);
    Api api(startedPort(child), key);
    REQUIRE(api.get("/v1/agents/keeper").data() == agentBefore);
    const Json snapshot = api.get("/v1/threads/" + thread + "?include=all_rollouts").data();
    REQUIRE(snapshot["thread"] == threadBefore);
    REQUIRE(snapshot["events"] == eventsBefore);
    REQUIRE(api.get("/v1/threads/" + thread + "/rollouts").data() == rolloutsBefore);
    REQUIRE(api.get("/v1/threads").data() == listBefore);
    // The thread goes on: new events continue the sequence; history spans the restart.
    const Response next = api.post(
        "/v1/run",
        Json{{"agent", "keeper"}, {"prompt", "/history"}, {"threadId", thread}, {"stream", false}});
    REQUIRE(next.status == 200);
    REQUIRE(next.data()["result"] == "remember me\n/count 3");
    REQUIRE(next.data()["rolloutId"] == threadBefore["activeRolloutId"]);
    const Json events = api.get("/v1/threads/" + thread + "?include=all_rollouts").data()["events"];
    REQUIRE(events.size() == 14);
    REQUIRE(events[10]["sequence"] == 11);
    // The completed attachment is still usable.
    const Response withFile = api.post(
        "/v1/run", Json{{"agent", "keeper"},
                        {"stream", false},
                        {"messages",
                         {{{"role", "user"},
                           {"content", "file"},
                           {"parts", {{{"type", "attachment"}, {"attachmentId", attachment}}}}}}}});
    REQUIRE(withFile.status == 200);
    REQUIRE(withFile.data()["result"] == "echo: file [attachments: k.txt]");
    const Json resolved =
        api.post("/v1/agent-attachments/" + attachment + "/resolve", Json{{"model", "m"}}).data();
    REQUIRE(resolved["text"] == "kept bytes");
  }
}
