#include <catch2/catch.hpp>

#include "fake_services.hpp"
#include "runtools/errors.hpp"
#include "runtools/sandbox.hpp"

using nlohmann::json;
using namespace runtools;
using std::chrono::milliseconds;

namespace {

json sandboxJson(const std::string& id, const std::string& status, bool sshReady = false,
                 const std::string& templ = "base-ubuntu") {
  return {{"id", id}, {"status", status}, {"sshReady", sshReady}, {"template", templ}};
}

}  // namespace

TEST_CASE("create sends every documented field in its wire unit") {
  test::FakeServices fake;
  SandboxClient sandboxes(fake.api());
  fake.transport->enqueueJson(201, test::envelope(sandboxJson("sandbox-1", "creating")));

  CreateSandboxOptions options;
  options.name = "builder";
  options.tags = {"ci", "linux"};
  options.sshKeys = {"ssh-ed25519 AAAA"};
  options.rootPassword = "pw";
  options.resources = SandboxResources{4, std::string("8GB"), std::nullopt};
  options.env = {{"A", "1"}};
  options.idleTimeout = std::chrono::minutes(15);
  options.mounts = {Mount{"ws-1", "/workspace/data", true}};
  options.metadata = json{{"owner", "team"}};
  options.projectId = "proj-1";
  auto sandbox = sandboxes.create(options);

  CHECK(sandbox.id() == "sandbox-1");
  CHECK(sandbox.status() == "creating");
  const auto body = json::parse(fake.transport->lastRequest().body);
  CHECK(body["template"] == "base-ubuntu");
  CHECK(body["name"] == "builder");
  CHECK(body["tags"] == json::array({"ci", "linux"}));
  CHECK(body["sshKeys"] == json::array({"ssh-ed25519 AAAA"}));
  CHECK(body["rootPassword"] == "pw");
  CHECK(body["resources"] == json{{"vcpus", 4}, {"memory", "8GB"}});
  CHECK(body["env"] == json{{"A", "1"}});
  CHECK(body["idleTimeout"] == 900);
  CHECK(body["mounts"] ==
        json::array({{{"workspaceId", "ws-1"}, {"path", "/workspace/data"}, {"readOnly", true}}}));
  CHECK(body["metadata"] == json{{"owner", "team"}});
  CHECK(body["projectId"] == "proj-1");
}

TEST_CASE("create with defaults sends only the template") {
  test::FakeServices fake;
  fake.transport->enqueueJson(201, test::envelope(sandboxJson("sandbox-2", "creating")));
  SandboxClient(fake.api()).create();
  CHECK(json::parse(fake.transport->lastRequest().body) == json{{"template", "base-ubuntu"}});
}

TEST_CASE("create validates mounts and numbers before sending") {
  test::FakeServices fake;
  SandboxClient sandboxes(fake.api());
  for (const char* bad : {"/", "/work", "/workspacefoo", "/workspace/../etc", "/workspace/./x",
                          "relative", "/workspace//x"}) {
    CreateSandboxOptions options;
    options.mounts = {Mount{"ws", bad, false}};
    INFO(bad);
    CHECK_THROWS_AS(sandboxes.create(options), InvalidArgumentError);
  }
  CreateSandboxOptions noWorkspace;
  noWorkspace.mounts = {Mount{"", "/workspace", false}};
  CHECK_THROWS_AS(sandboxes.create(noWorkspace), InvalidArgumentError);
  CreateSandboxOptions negative;
  negative.idleTimeout = std::chrono::seconds(-1);
  CHECK_THROWS_AS(sandboxes.create(negative), InvalidArgumentError);
  CHECK(fake.transport->requests().empty());

  fake.transport->enqueueJson(201, test::envelope(sandboxJson("sandbox-3", "creating")));
  CreateSandboxOptions good;
  good.mounts = {Mount{"ws", "/workspace/a/b/", false}};
  CHECK_NOTHROW(sandboxes.create(good));
}

TEST_CASE("get returns a handle without any request, ids are encoded as one segment") {
  test::FakeServices fake;
  SandboxClient sandboxes(fake.api());
  auto handle = sandboxes.get("../admin");
  CHECK(fake.transport->requests().empty());
  CHECK(handle.status() == "unknown");
  CHECK_FALSE(handle.state());

  fake.transport->enqueueJson(200, test::envelope(sandboxJson("x", "running", true)));
  handle.refresh();
  CHECK(fake.transport->lastRequest().url == "https://api.example.test/v1/sandboxes/..%2Fadmin");
  CHECK(handle.status() == "running");
  CHECK(handle.sshReady());
  CHECK_THROWS_AS(sandboxes.get(""), InvalidArgumentError);
}

TEST_CASE("list follows cursors across pages, listPage returns one page") {
  test::FakeServices fake;
  SandboxClient sandboxes(fake.api());
  fake.transport->enqueueJson(
      200, {{"data", {sandboxJson("s1", "running"), sandboxJson("s2", "running")}},
            {"meta", {{"hasMore", true}, {"nextCursor", "c1"}}}});
  fake.transport->enqueueJson(
      200, {{"data", {sandboxJson("s3", "paused")}}, {"hasMore", true}, {"nextCursor", "c2"}});
  fake.transport->enqueueJson(200, {{"data", json::array({sandboxJson("s4", "running")})},
                                    {"meta", {{"hasMore", false}, {"nextCursor", nullptr}}}});

  ListSandboxesOptions filters;
  filters.status = "running";
  filters.tags = {"a", "b"};
  filters.limit = 2;
  const auto all = sandboxes.list(filters);
  REQUIRE(all.size() == 4);
  CHECK(all[2].id == "s3");
  const auto requests = fake.transport->requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].url ==
        "https://api.example.test/v1/sandboxes?status=running&tag=a&tag=b&limit=2");
  CHECK(requests[1].url.find("cursor=c1") != std::string::npos);
  CHECK(requests[2].url.find("cursor=c2") != std::string::npos);

  fake.transport->enqueueJson(
      200, {{"data", {sandboxJson("s1", "running")}}, {"hasMore", true}, {"nextCursor", "n"}});
  const auto page = sandboxes.listPage();
  CHECK(page.data.size() == 1);
  CHECK(page.hasMore);
  CHECK(page.nextCursor == std::optional<std::string>("n"));
}

TEST_CASE("list refuses a server that repeats a cursor, and bad limits") {
  test::FakeServices fake;
  SandboxClient sandboxes(fake.api());
  fake.transport->setHandler([](const HttpRequest&) {
    HttpResponse r;
    r.status = 200;
    r.body = R"({"data":[],"hasMore":true,"nextCursor":"same"})";
    return r;
  });
  CHECK_THROWS_AS(sandboxes.list(), InvalidResponseError);
  ListSandboxesOptions bad;
  bad.limit = 501;
  CHECK_THROWS_AS(sandboxes.listPage(bad), InvalidArgumentError);
}

TEST_CASE("exec sends the timeout in milliseconds and extends the HTTP timeout") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(
      200,
      test::envelope({{"stdout", "out"}, {"stderr", "err"}, {"exitCode", 2}, {"durationMs", 15}}));
  ExecOptions options;
  options.cwd = "/workspace/src";
  options.timeout = std::chrono::minutes(2);
  options.env = {{"K", "V"}};
  const auto result = sandbox.exec("make test", options);
  CHECK(result.stdoutText == "out");
  CHECK(result.stderrText == "err");
  CHECK(result.exitCode == 2);
  CHECK_FALSE(result.ok());

  const auto request = fake.transport->lastRequest();
  CHECK(request.url == "https://api.example.test/v1/sandboxes/sandbox-1/exec");
  const auto body = json::parse(request.body);
  CHECK(body == json{{"command", "make test"},
                     {"cwd", "/workspace/src"},
                     {"timeout", 120000},
                     {"env", {{"K", "V"}}}});
  CHECK(request.timeout == milliseconds(150000));

  CHECK_THROWS_AS(sandbox.exec(""), InvalidArgumentError);
}

TEST_CASE("exec is retried only under one idempotency key, so it cannot run twice") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueue(HttpResponse{503, {}, ""});
  fake.transport->enqueueException(std::make_exception_ptr(TimeoutError("answer lost")));
  fake.transport->enqueueJson(200, test::envelope({{"stdout", "once\n"}, {"exitCode", 0}}));
  CHECK(sandbox.exec("echo once").stdoutText == "once\n");
  const auto requests = fake.transport->requests();
  REQUIRE(requests.size() == 3);
  const auto key = requests[0].headers.get("Idempotency-Key");
  REQUIRE(key);
  CHECK(key->size() == 36);
  CHECK(requests[1].headers.get("Idempotency-Key") == key);
  CHECK(requests[2].headers.get("Idempotency-Key") == key);

  // The next call is another logical call: another key.
  fake.transport->enqueueJson(200, test::envelope({{"stdout", ""}, {"exitCode", 0}}));
  sandbox.exec("true");
  CHECK(fake.transport->lastRequest().headers.get("Idempotency-Key") != key);
}

TEST_CASE("without idempotency keys, exec is sent once") {
  ClientOptions options;
  options.retryPolicy.idempotencyKeys = false;
  test::FakeServices fake(options);
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueue(HttpResponse{503, {}, ""});
  CHECK_THROWS_AS(sandbox.exec("echo once"), ServerError);
  CHECK(fake.transport->requests().size() == 1);
  CHECK_FALSE(fake.transport->lastRequest().headers.has("Idempotency-Key"));
}

TEST_CASE("waitForReady polls until running and SSH-ready") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "creating")));
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "running", false)));
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "running", true)));
  const auto info = sandbox.waitForReady(std::chrono::seconds(10), milliseconds(250));
  CHECK(info.status == "running");
  CHECK(fake.transport->requests().size() == 3);
  CHECK(fake.clock->sleeps() == std::vector<milliseconds>{milliseconds(250), milliseconds(250)});
}

TEST_CASE("waitForReady needs VNC for desktop sandboxes") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-d");
  auto desktop = sandboxJson("sandbox-d", "running", true, "desktop-ubuntu");
  fake.transport->enqueueJson(200, test::envelope(desktop));
  desktop["vncReady"] = true;
  fake.transport->enqueueJson(200, test::envelope(desktop));
  sandbox.waitForReady(std::chrono::seconds(5), milliseconds(100));
  CHECK(fake.transport->requests().size() == 2);
}

TEST_CASE("waitForReady times out with a TimeoutError naming the last status") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->setHandler([](const HttpRequest&) {
    HttpResponse r;
    r.status = 200;
    r.body = test::envelope(sandboxJson("sandbox-1", "creating")).dump();
    return r;
  });
  try {
    sandbox.waitForReady(milliseconds(1000), milliseconds(300));
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    CHECK(std::string(e.what()).find("creating") != std::string::npos);
  }
  // 300 + 300 + 300 + 100: the last sleep is cut to the deadline.
  const auto sleeps = fake.clock->sleeps();
  REQUIRE(sleeps.size() == 4);
  CHECK(sleeps.back() == milliseconds(100));
}

TEST_CASE("waitForReady fails fast when the sandbox fails") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "creating")));
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "failed")));
  try {
    sandbox.waitForReady();
    FAIL("expected SandboxFailedError");
  } catch (const SandboxFailedError& e) {
    CHECK(e.sandboxStatus() == "failed");
    CHECK(e.code() == "sandbox_failed");
    CHECK(e.sandboxId() == "sandbox-1");
  }
}

namespace {

// The outcome of a wait on a sandbox that is destroyed meanwhile, whichever
// way the platform says so.
SandboxFailedError waitEndedBy(const HttpResponse& answer, bool forStatus) {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "creating")));
  fake.transport->enqueue(answer);
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "running", true)));
  WaitOptions options;
  options.pollInterval = milliseconds(50);
  try {
    if (forStatus) {
      sandbox.waitForStatus("running", options);
    } else {
      sandbox.waitForReady(options);
    }
  } catch (const SandboxFailedError& e) {
    CHECK(fake.transport->requests().size() == 2);  // ended at once, no further poll
    CHECK(sandbox.status() == "destroyed");
    CHECK_FALSE(sandbox.sshReady());
    return e;
  }
  FAIL("expected SandboxFailedError");
  throw std::logic_error("unreachable");
}

HttpResponse notFound() {
  return HttpResponse{
      404,
      {},
      R"({"error":{"code":"not_found","message":"Sandbox not found","requestId":"req_1"}})"};
}

HttpResponse reportsDestroyed() {
  return HttpResponse{200, {}, test::envelope(sandboxJson("sandbox-1", "destroyed")).dump()};
}

}  // namespace

TEST_CASE("a sandbox destroyed during a wait ends it alike whether reported or answered 404") {
  for (const bool forStatus : {false, true}) {
    INFO((forStatus ? "waitForStatus" : "waitForReady"));
    const auto reported = waitEndedBy(reportsDestroyed(), forStatus);
    const auto gone = waitEndedBy(notFound(), forStatus);
    CHECK(reported.sandboxStatus() == "destroyed");
    CHECK(gone.sandboxStatus() == "destroyed");
    CHECK(gone.sandboxId() == "sandbox-1");
    CHECK(std::string(gone.what()) == reported.what());
  }
}

TEST_CASE("waiting for `destroyed` passes `destroying` and takes a 404 as the status reached") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "running", true)));
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "destroying")));
  fake.transport->enqueue(notFound());
  WaitOptions options;
  options.pollInterval = milliseconds(50);
  const auto info = sandbox.waitForStatus("destroyed", options);
  CHECK(info.status == "destroyed");
  CHECK(info.id == "sandbox-1");
  CHECK(sandbox.status() == "destroyed");
  CHECK(fake.transport->requests().size() == 3);

  // For any other goal, `destroying` ends the wait.
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "destroying")));
  try {
    sandbox.waitForStatus("running", options);
    FAIL("expected SandboxFailedError");
  } catch (const SandboxFailedError& e) {
    CHECK(e.sandboxStatus() == "destroying");
  }
}

TEST_CASE("a wait on a sandbox this handle never saw keeps a 404 as NotFoundError") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-typo");
  fake.transport->enqueue(notFound());
  CHECK_THROWS_AS(sandbox.waitForReady(), NotFoundError);
  CHECK(sandbox.status() == "unknown");
}

TEST_CASE("SandboxFailedError is not an ApiError") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "failed")));
  bool caughtAsApiError = false;
  bool caughtAsError = false;
  try {
    sandbox.waitForReady();
  } catch (const ApiError&) {
    caughtAsApiError = true;
  } catch (const Error&) {
    caughtAsError = true;
  }
  CHECK_FALSE(caughtAsApiError);
  CHECK(caughtAsError);
}

TEST_CASE("pause, resume and destroy update the cached status") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "running", true)));
  sandbox.refresh();
  fake.transport->enqueueJson(200, test::envelope({{"id", "sandbox-1"}, {"status", "pausing"}}));
  CHECK(sandbox.pause() == "pausing");
  CHECK(sandbox.status() == "pausing");
  fake.transport->enqueueJson(200, test::envelope({{"id", "sandbox-1"}, {"status", "resuming"}}));
  CHECK(sandbox.resume() == "resuming");
  fake.transport->enqueueJson(200, test::envelope({{"id", "sandbox-1"}, {"deleted", true}}));
  sandbox.destroy();
  CHECK(sandbox.status() == "destroyed");
  CHECK(fake.transport->lastRequest().method == "DELETE");
}

TEST_CASE("url, ssh and activity map their responses") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(
      200, test::envelope({{"url", "https://3000-sandbox-1.sandboxes.runtools.ai"},
                           {"port", 3000},
                           {"expiresAt", nullptr}}));
  const auto url = sandbox.url(3000);
  CHECK(url.url == "https://3000-sandbox-1.sandboxes.runtools.ai");
  CHECK(url.port == 3000);
  CHECK_FALSE(url.expiresAt);
  CHECK(fake.transport->lastRequest().url.find("/url?port=3000") != std::string::npos);
  CHECK_THROWS_AS(sandbox.url(0), InvalidArgumentError);
  CHECK_THROWS_AS(sandbox.url(70000), InvalidArgumentError);

  fake.transport->enqueueJson(200, test::envelope({{"host", "ssh.runtools.ai"},
                                                   {"port", 22},
                                                   {"user", "sandbox-1"},
                                                   {"command", "ssh sandbox-1@ssh.runtools.ai"},
                                                   {"keyId", nullptr}}));
  const auto ssh = sandbox.ssh();
  CHECK(ssh.user == "sandbox-1");
  CHECK_FALSE(ssh.keyId);

  fake.transport->enqueueJson(200, {{"data",
                                     {{"events",
                                       {{{"id", "act_1"},
                                         {"eventType", "sandbox.created"},
                                         {"occurredAt", "2026-05-06T10:00:00Z"}}}}}},
                                    {"meta", {{"hasMore", false}}}});
  const auto page = sandbox.activityPage();
  REQUIRE(page.data.size() == 1);
  CHECK(page.data[0].eventType == "sandbox.created");
  CHECK(page.data[0].createdAt.has_value());
}

namespace {

json metricsJson(double cpu, std::int64_t memoryUsed) {
  return {{"sandboxId", "sandbox-1"}, {"status", "running"},
          {"cpuPercent", cpu},        {"memoryUsedMb", memoryUsed},
          {"memoryLimitMb", 4096},    {"diskUsedMb", 12},
          {"diskLimitMb", 10240},     {"sampledAt", "2026-05-06T10:00:00.000Z"},
          {"gpuPercent", 3}};
}

json errorJson(const std::string& code) {
  return {{"error", {{"code", code}, {"message", code}, {"requestId", "req_1"}}}};
}

}  // namespace

TEST_CASE("metrics maps every field and keeps unknown ones in raw") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(metricsJson(37.5, 900)));
  const auto sample = sandbox.metrics();
  CHECK(fake.transport->lastRequest().method == "GET");
  CHECK(fake.transport->lastRequest().url.find("/v1/sandboxes/sandbox-1/metrics") !=
        std::string::npos);
  CHECK(sample.sandboxId == "sandbox-1");
  CHECK(sample.status == "running");
  CHECK(sample.cpuPercent == 37.5);
  CHECK(sample.memoryUsedMb == 900);
  CHECK(sample.memoryLimitMb == 4096);
  CHECK(sample.diskUsedMb == 12);
  CHECK(sample.diskLimitMb == 10240);
  CHECK(sample.sampledAt.has_value());
  CHECK(sample.raw.json().at("gpuPercent") == 3);

  fake.transport->enqueueJson(404, errorJson("not_found"));
  CHECK_THROWS_AS(sandbox.metrics(), NotFoundError);
}

TEST_CASE("onMetrics polls at the interval until the callback stops it") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  for (int i = 1; i <= 3; ++i) {
    fake.transport->enqueueJson(200, test::envelope(metricsJson(10.0 * i, 100 * i)));
  }
  std::vector<double> seen;
  MetricsListenOptions options;
  options.pollInterval = milliseconds(250);
  const auto end = sandbox.onMetrics(
      [&](const SandboxMetrics& sample) {
        seen.push_back(sample.cpuPercent);
        return seen.size() < 3;
      },
      options);
  CHECK(end == MetricsEnd::Stopped);
  CHECK(seen == std::vector<double>{10.0, 20.0, 30.0});
  CHECK(fake.clock->sleeps() == std::vector<milliseconds>{milliseconds(250), milliseconds(250)});
  CHECK_THROWS_AS(sandbox.onMetrics(nullptr), InvalidArgumentError);
}

TEST_CASE("onMetrics ends as unavailable on 404 or 501 and throws other errors") {
  for (const auto& [status, code] : {std::pair<int, std::string>{404, "not_found"},
                                     std::pair<int, std::string>{501, "not_implemented"}}) {
    test::FakeServices fake;
    auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
    fake.transport->enqueueJson(200, test::envelope(metricsJson(1, 1)));
    fake.transport->enqueueJson(status, errorJson(code));
    int samples = 0;
    CHECK(sandbox.onMetrics([&](const SandboxMetrics&) { return ++samples < 10; }) ==
          MetricsEnd::Unavailable);
    CHECK(samples == 1);
  }
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(403, errorJson("forbidden"));
  CHECK_THROWS_AS(sandbox.onMetrics([](const SandboxMetrics&) { return true; }),
                  PermissionDeniedError);
}

TEST_CASE("update sends only what is set and can clear the project") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  auto updated = sandboxJson("sandbox-1", "running");
  updated["name"] = "renamed";
  fake.transport->enqueueJson(200, test::envelope(updated));
  UpdateSandboxOptions options;
  options.name = "renamed";
  options.clearProjectId = true;
  CHECK(sandbox.update(options).name == std::optional<std::string>("renamed"));
  CHECK(json::parse(fake.transport->lastRequest().body) ==
        json{{"name", "renamed"}, {"projectId", nullptr}});
  CHECK(fake.transport->lastRequest().method == "PATCH");
  CHECK_THROWS_AS(sandbox.update(UpdateSandboxOptions{}), InvalidArgumentError);
}

TEST_CASE("waitForStatus polls until the status is reached") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "pausing")));
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "paused")));
  WaitOptions options;
  options.pollInterval = milliseconds(50);
  CHECK(sandbox.waitForStatus("paused", options).status == "paused");
  CHECK(fake.clock->sleeps() == std::vector<milliseconds>{milliseconds(50)});
  CHECK(sandbox.status() == "paused");

  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "error")));
  CHECK_THROWS_AS(sandbox.waitForStatus("running", options), SandboxFailedError);
  CHECK_THROWS_AS(sandbox.waitForStatus("", options), InvalidArgumentError);
}

TEST_CASE("an exec answer without an exit code is an InvalidResponseError, not success") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueue(HttpResponse{200, {}, ""});
  CHECK_THROWS_AS(sandbox.exec("true"), InvalidResponseError);
  fake.transport->enqueueJson(200, test::envelope({{"result", "weird"}}));
  CHECK_THROWS_AS(sandbox.exec("true"), InvalidResponseError);
}

TEST_CASE("without idempotency keys, exec is not retried after a timeout or a reset") {
  ClientOptions noKeys;
  noKeys.retryPolicy.idempotencyKeys = false;
  test::FakeServices fake(noKeys);
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueueException(std::make_exception_ptr(TimeoutError("slow")));
  CHECK_THROWS_AS(sandbox.exec("echo once"), TimeoutError);
  fake.transport->enqueueException(
      std::make_exception_ptr(TransportError(TransportError::Kind::Network, "reset")));
  CHECK_THROWS_AS(sandbox.exec("echo once"), TransportError);
  CHECK(fake.transport->requests().size() == 2);
}

TEST_CASE("a pause whose first answer was lost reports the pausing sandbox") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->enqueue(HttpResponse{503, {}, ""});
  fake.transport->enqueueJson(
      409, {{"error", {{"code", "invalid_state_transition"}, {"message", "pausing"}}}});
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "pausing")));
  CHECK(sandbox.pause() == "pausing");
  CHECK(sandbox.status() == "pausing");

  // A refusal for another reason (still creating) stays an error.
  fake.transport->enqueueJson(
      409, {{"error", {{"code", "invalid_state_transition"}, {"message", "creating"}}}});
  fake.transport->enqueueJson(200, test::envelope(sandboxJson("sandbox-1", "creating")));
  CHECK_THROWS_AS(sandbox.pause(), ConflictError);
}

TEST_CASE("waitForReady accepts braced options and any duration without overflow") {
  test::FakeServices fake;
  auto sandbox = SandboxClient(fake.api()).get("sandbox-1");
  fake.transport->setHandler([](const HttpRequest&) {
    return HttpResponse{200, {}, test::envelope(sandboxJson("sandbox-1", "running", true)).dump()};
  });
  CHECK(sandbox.waitForReady({}).status == "running");
  WaitOptions fiveSeconds;
  fiveSeconds.timeout = std::chrono::seconds(5);
  CHECK(sandbox.waitForReady(fiveSeconds).status == "running");
  CHECK(sandbox.waitForReady(std::chrono::hours::max()).status == "running");
  CHECK(sandbox.waitForReady(std::chrono::milliseconds::max()).status == "running");

  // A wait that never succeeds, with an unbounded timeout, keeps polling.
  int polls = 0;
  fake.transport->setHandler([&](const HttpRequest&) {
    const bool ready = ++polls >= 5;
    return HttpResponse{
        200,
        {},
        test::envelope(sandboxJson("sandbox-1", ready ? "running" : "creating", ready)).dump()};
  });
  CHECK(sandbox.waitForReady(std::chrono::milliseconds::max(), milliseconds(10)).status ==
        "running");
  CHECK(polls == 5);
}

TEST_CASE("waitForReady stops at the call's deadline and on cancellation") {
  test::FakeServices fake;
  fake.transport->setHandler([](const HttpRequest&) {
    return HttpResponse{200, {}, test::envelope(sandboxJson("sandbox-1", "creating")).dump()};
  });
  CallOptions call;
  call.deadline = std::chrono::seconds(2);
  auto services = internal::makeServices(fake.services->config, fake.transport, fake.clock, call);
  auto sandbox = SandboxClient(services->api).get("sandbox-1");
  const auto before = fake.clock->now();
  CHECK_THROWS_WITH(sandbox.waitForReady(std::chrono::minutes(5), milliseconds(500)),
                    Catch::Contains("call deadline"));
  CHECK(fake.clock->now() - before <= std::chrono::seconds(2));

  CancellationToken token;
  WaitOptions options;
  options.cancellation = token;
  options.pollInterval = milliseconds(200);
  int polls = 0;
  fake.transport->setHandler([&](const HttpRequest&) {
    if (++polls == 3) token.cancel();
    return HttpResponse{200, {}, test::envelope(sandboxJson("sandbox-1", "creating")).dump()};
  });
  CHECK_THROWS_AS(SandboxClient(fake.api()).get("sandbox-1").waitForReady(options), CancelledError);
  CHECK(polls == 3);
}
