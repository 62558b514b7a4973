// The retry table of README.md ("Reliability"), row by row: each call class
// meets one transient failure (a 503 injected with the X-Emu-Fault header),
// and the emulator's request log must show 2 requests for a class the table
// says is retried and 1 for one it says is not (which then raises the 503).

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"
#include "runtools/runtools.hpp"

using namespace runtools;
using nlohmann::json;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// An emulator, clients with quick retries, and its request log.
class Bench {
 public:
  explicit Bench(rtemu::Config config = test::fastEmulatorConfig(),
                 std::shared_ptr<Transport> transport = nullptr)
      : env_(std::move(config)), transport_(std::move(transport)), rt_(options(true)) {}

  ClientOptions options(bool idempotencyKeys) const {
    ClientOptions o = env_.options();
    o.maxRetries = 2;  // the default
    o.retryPolicy.initialDelay = milliseconds(1);
    o.retryPolicy.maxDelay = milliseconds(10);
    o.retryPolicy.idempotencyKeys = idempotencyKeys;
    o.transport = transport_;
    return o;
  }

  RunTools& rt() { return rt_; }

  // A client whose requests carry a 503 for the first request of a fresh
  // fault key.
  RunTools faulted(bool idempotencyKeys = true) {
    CallOptions call;
    call.headers.set("X-Emu-Fault", "status=503;key=row-" + std::to_string(++faults_));
    return RunTools(options(idempotencyKeys)).with(call);
  }

  void clearLog() { REQUIRE(env_.raw("DELETE", "/_emu/requests").status == 200); }

  json requests(const std::string& method, const std::string& path) {
    const auto response = env_.raw("GET", "/_emu/requests?method=" + method + "&path=" + path);
    REQUIRE(response.status == 200);
    return json::parse(response.body).at("data");
  }

  Sandbox runningSandbox() {
    auto sandbox = rt_.sandbox.create();
    WaitOptions wait;
    wait.pollInterval = milliseconds(20);
    sandbox.waitForReady(wait);
    return sandbox;
  }

 private:
  test::EmulatorEnv env_;
  std::shared_ptr<Transport> transport_;
  RunTools rt_;
  int faults_ = 0;
};

enum class Key { Same, None, Any };

// One row of the table: what to call and which request of it to count.
struct Row {
  std::string name;
  std::string method;
  std::string path;  // exact, or a prefix ending in '*'
  bool retried;
  std::function<void(RunTools&)> call;
  bool idempotencyKeys = true;  // RetryPolicy::idempotencyKeys of the faulted client
  Key key = Key::Any;           // what the logged requests carry
};

void checkRow(Bench& bench, const Row& row) {
  INFO("row: " << row.name);
  bench.clearLog();
  RunTools faulted = bench.faulted(row.idempotencyKeys);
  if (row.retried) {
    CHECK_NOTHROW(row.call(faulted));
  } else {
    try {
      row.call(faulted);
      FAIL_CHECK("the injected 503 was not raised");
    } catch (const ServerError& e) {
      CHECK(e.status() == 503);
      CHECK(e.attempts() == 1);
    }
  }
  const json logged = bench.requests(row.method, row.path);
  CHECK(logged.size() == (row.retried ? 2u : 1u));
  if (logged.empty()) return;
  CHECK(logged.front().at("status") == 503);
  for (const auto& entry : logged) {
    if (row.key == Key::Same) {
      CHECK(entry.at("idempotencyKey").is_string());
      CHECK(entry.at("idempotencyKey") == logged.front().at("idempotencyKey"));
    } else if (row.key == Key::None) {
      CHECK(entry.at("idempotencyKey").is_null());
    }
  }
}

// Answers the first request to a pre-signed upload URL with a 503 itself,
// passing everything else to libcurl.
class FailFirstUpload : public Transport {
 public:
  HttpResponse send(const HttpRequest& request) override {
    if (request.url.find("/_emu/uploads/") != std::string::npos && uploads_++ == 0) {
      HttpResponse response;
      response.status = 503;
      response.headers.add("Content-Type", "application/json");
      response.body = R"({"error":{"code":"service_unavailable","message":"try again"}})";
      return response;
    }
    return real_->send(request);
  }
  int uploads() const { return uploads_; }

 private:
  std::shared_ptr<Transport> real_ = makeCurlTransport();
  std::atomic<int> uploads_{0};
};

}  // namespace

TEST_CASE("retry table: reads, downloads, writes, renames, moves, copies and deletes") {
  Bench bench;
  CreateWorkspaceOptions create;
  create.name = "retry-table";
  const std::string ws = bench.rt().workspace.create(create).id;
  auto files = bench.rt().workspace.files(ws);
  for (const char* name : {"/a.txt", "/b.txt", "/c.txt", "/d.txt", "/e.txt", "/f.txt"})
    files.createFile(name, "contents");
  files.createFolder("/dest");
  const std::string base = "/v1/workspaces/" + ws;
  const fs::path local =
      fs::temp_directory_path() /
      ("rt-retry-table-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".txt");

  const std::vector<Row> rows = {
      {"GET read", "GET", base + "/files", true,
       [&](RunTools& rt) { CHECK(rt.workspace.files(ws).list().size() == 7); }},
      {"download to memory", "GET", base + "/direct", true,
       [&](RunTools& rt) { CHECK(rt.workspace.files(ws).download("/a.txt") == "contents"); }},
      {"download to a file", "GET", base + "/direct", true,
       [&](RunTools& rt) {
         rt.workspace.files(ws).downloadTo("/a.txt", local.string());
         std::ifstream in(local, std::ios::binary);
         CHECK(std::string((std::istreambuf_iterator<char>(in)), {}) == "contents");
       }},
      {"PUT write", "PUT", base + "/files/a.txt", true,
       [&](RunTools& rt) { rt.workspace.files(ws).write("/a.txt", "rewritten"); }},
      {"PUT rename", "PUT", base + "/files/b.txt", false,
       [&](RunTools& rt) { rt.workspace.files(ws).rename("/b.txt", "b2.txt"); }},
      {"PUT move", "PUT", base + "/files/c.txt", false,
       [&](RunTools& rt) { rt.workspace.files(ws).move("/c.txt", "/dest"); }},
      {"PUT copy", "PUT", base + "/files/d.txt", false,
       [&](RunTools& rt) { rt.workspace.files(ws).copy("/d.txt", "/dest"); }},
      {"PUT batch copy", "PUT", base + "/files", false,
       [&](RunTools& rt) { rt.workspace.files(ws).copyMany({"/e.txt"}, "/dest"); }},
      {"PUT batch move", "PUT", base + "/files", false,
       [&](RunTools& rt) { rt.workspace.files(ws).moveMany({"/e.txt"}, "/dest"); }},
      {"PATCH update", "PATCH", base, false,
       [&](RunTools& rt) { rt.workspace.rename(ws, "Renamed"); }},
      {"DELETE", "DELETE", base + "/files", true,
       [&](RunTools& rt) { rt.workspace.files(ws).remove("/f.txt"); }},
  };
  for (const auto& row : rows)
    checkRow(bench, row);
  fs::remove(local);

  // What the calls that succeeded did, and that the refused ones did nothing.
  CHECK(files.download("/a.txt") == "rewritten");
  CHECK_THROWS_AS(files.download("/f.txt"), NotFoundError);
  for (const char* kept : {"/b.txt", "/c.txt", "/d.txt", "/e.txt"})
    CHECK(files.download(kept) == "contents");
  CHECK(files.list("/dest").empty());
  CHECK(bench.rt().workspace.get(ws).name == "retry-table");
}

TEST_CASE("retry table: keyed POSTs (creates, exec, a plain run, uploads) and keyless ones") {
  Bench bench;
  CreateWorkspaceOptions create;
  create.name = "keyed";
  const std::string ws = bench.rt().workspace.create(create).id;
  const std::string sandbox = bench.runningSandbox().id();
  AgentDefinition agent;
  agent.slug = "echo";
  agent.executionMode = "managed";
  bench.rt().agent.upsert(agent);
  const std::size_t workspacesBefore = bench.rt().workspace.list().workspaces.size();

  const std::vector<Row> rows = {
      {"keyed create", "POST", "/v1/workspaces", true,
       [&](RunTools& rt) {
         CreateWorkspaceOptions options;
         options.name = "created once";
         rt.workspace.create(options);
       },
       true, Key::Same},
      {"keyed file create", "POST", "/v1/workspaces/" + ws + "/files*", true,
       [&](RunTools& rt) { rt.workspace.files(ws).createFile("/new/x.txt", "x"); }, true,
       Key::Same},
      {"keyed exec", "POST", "/v1/sandboxes/" + sandbox + "/exec", true,
       [&](RunTools& rt) { CHECK(rt.sandbox.get(sandbox).exec("echo hi").stdoutText == "hi\n"); },
       true, Key::Same},
      {"keyed plain run", "POST", "/v1/run", true,
       [&](RunTools& rt) { CHECK(rt.agent.run("echo", "hello").result == "echo: hello"); }, true,
       Key::Same},
      {"upload", "POST", "/v1/workspaces/" + ws + "/upload*", true,
       [&](RunTools& rt) { rt.workspace.files(ws).upload("/up/blob.bin", std::string(4096, 'u')); },
       true, Key::Same},
      {"keyless POST", "POST", "/v1/workspaces", false,
       [&](RunTools& rt) {
         CreateWorkspaceOptions options;
         options.name = "never created";
         rt.workspace.create(options);
       },
       false, Key::None},
  };
  for (const auto& row : rows)
    checkRow(bench, row);

  // The retried create made one workspace, the refused keyless one none.
  CHECK(bench.rt().workspace.list().workspaces.size() == workspacesBefore + 1);
  auto files = bench.rt().workspace.files(ws);
  CHECK(files.download("/new/x.txt") == "x");
  CHECK(files.download("/up/blob.bin") == std::string(4096, 'u'));
}

TEST_CASE("retry table: naturally idempotent actions are retried without a key, streams never") {
  Bench bench;
  const std::string sandbox = bench.runningSandbox().id();
  AgentDefinition agent;
  agent.slug = "echo";
  agent.executionMode = "managed";
  bench.rt().agent.upsert(agent);

  const std::vector<Row> rows = {
      {"stream: run with a callback", "POST", "/v1/run", false,
       [&](RunTools& rt) {
         rt.agent.run("echo", "streamed", [](const RunEvent&) { return true; });
       },
       true, Key::None},
      {"stream: exec with onStdout", "POST", "/v1/sandboxes/" + sandbox + "/exec/stream", false,
       [&](RunTools& rt) {
         ExecOptions options;
         options.onStdout = [](std::string_view) { return true; };
         rt.sandbox.get(sandbox).exec("echo streamed", options);
       },
       true, Key::None},
      {"natural: secret upsert", "POST", "/v1/secrets", true,
       [&](RunTools& rt) { rt.secrets.set("RETRY_TABLE", "value-1"); }, false, Key::None},
      {"natural: tool install", "POST", "/v1/tools/github/install", true,
       [&](RunTools& rt) { rt.tools.install("github"); }, false, Key::None},
      {"natural: pause", "POST", "/v1/sandboxes/" + sandbox + "/pause", true,
       [&](RunTools& rt) { rt.sandbox.get(sandbox).pause(); }, false, Key::None},
  };
  for (const auto& row : rows)
    checkRow(bench, row);
  CHECK(bench.rt().secrets.reveal("RETRY_TABLE").reveal() == "value-1");
}

TEST_CASE("retry table: device-flow polling retries each status check") {
  rtemu::Config config = test::fastEmulatorConfig();
  config.deviceAutoApprove = milliseconds(1);
  Bench bench(config);
  const auto flow = bench.rt().auth.startDeviceFlow("openai-codex");
  const Row row{"device-flow status check",
                "POST",
                "/v1/oauth/device/status/openai-codex",
                true,
                [&](RunTools& rt) { CHECK(rt.auth.pollDeviceFlow(flow).status == "connected"); },
                false,
                Key::None};
  checkRow(bench, row);
}

TEST_CASE("retry table: the attachment upload to a pre-signed URL is not retried") {
  auto transport = std::make_shared<FailFirstUpload>();
  Bench bench(test::fastEmulatorConfig(), transport);
  AgentDefinition agent;
  agent.slug = "echo";
  agent.executionMode = "managed";
  bench.rt().agent.upsert(agent);
  RunOptions options;
  options.thread = true;
  const auto run = bench.rt().agent.run("echo", "a thread", options);
  REQUIRE(run.threadId);
  CreateAttachmentOptions attach;
  attach.threadId = *run.threadId;
  attach.filename = "notes.txt";
  attach.contentType = "text/plain";

  // The 503 of the upload itself ends the call: the transfer is not repeated,
  // and the attachment is never completed.
  bench.clearLog();
  try {
    bench.rt().agent.createAttachment(attach, "bytes");
    FAIL_CHECK("the upload's 503 was not raised");
  } catch (const ServerError& e) {
    CHECK(e.status() == 503);
  }
  CHECK(transport->uploads() == 1);
  CHECK(bench.requests("PUT", "/_emu/uploads/*").empty());  // never reached the emulator
  CHECK(bench.requests("POST", "/v1/agent-attachments").size() == 1);
  CHECK(bench.requests("POST", "/v1/agent-attachments/*").empty());

  // The create around it is a keyed POST: retried; then the upload and the
  // completion go through once each.
  checkRow(bench, {"attachment create", "POST", "/v1/agent-attachments", true,
                   [&](RunTools& rt) {
                     CHECK(rt.agent.createAttachment(attach, "bytes").filename == "notes.txt");
                   },
                   true, Key::Same});
  CHECK(transport->uploads() == 2);
  CHECK(bench.requests("PUT", "/_emu/uploads/*").size() == 1);
}
