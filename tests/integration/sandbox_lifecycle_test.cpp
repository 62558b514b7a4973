#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;

namespace {

WaitOptions fastWait() {
  WaitOptions wait;
  wait.timeout = std::chrono::seconds(20);
  wait.pollInterval = milliseconds(20);
  return wait;
}
const WaitOptions kWait = fastWait();

bool listed(const std::vector<SandboxInfo>& all, const std::string& id) {
  return std::any_of(all.begin(), all.end(), [&](const SandboxInfo& s) { return s.id == id; });
}

}  // namespace

TEST_CASE("a sandbox goes through its whole lifecycle") {
  test::EmulatorEnv env;
  RunTools rt = env.client();

  CreateSandboxOptions options;
  options.name = "lifecycle";
  options.tags = {"it"};
  options.env = {{"GREETING", "hello"}};
  options.idleTimeout = std::chrono::seconds(120);
  options.metadata = nlohmann::json{{"purpose", "test"}};
  auto sandbox = rt.sandbox.create(options);
  CHECK(sandbox.id().rfind("sandbox-", 0) == 0);
  CHECK((sandbox.status() == "creating" || sandbox.status() == "pending"));
  REQUIRE(sandbox.state());
  CHECK(sandbox.state()->name == std::optional<std::string>("lifecycle"));
  CHECK(sandbox.state()->templateName == "base-ubuntu");
  CHECK_FALSE(sandbox.state()->raw.contains("env"));

  const auto ready = sandbox.waitForReady(kWait);
  CHECK(ready.status == "running");
  CHECK(ready.sshReady);
  CHECK(ready.metadata["purpose"] == "test");

  const auto hello = sandbox.exec("echo \"$GREETING world\"");
  CHECK(hello.stdoutText == "hello world\n");
  CHECK(hello.exitCode == 0);
  CHECK(hello.durationMs.has_value());

  // Another handle on the same sandbox, by name.
  CHECK(rt.sandbox.get("lifecycle").refresh().id == sandbox.id());

  const auto pausing = sandbox.pause();
  CHECK((pausing == "pausing" || pausing == "paused"));
  CHECK(sandbox.waitForStatus("paused", kWait).status == "paused");
  CHECK(sandbox.pause() == "paused");  // documented no-op
  try {
    sandbox.exec("true");
    FAIL("exec on a paused sandbox must fail");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("sandbox_not_running"));
    CHECK_FALSE(e.requestId().empty());
  }

  const auto resuming = sandbox.resume();
  CHECK((resuming == "resuming" || resuming == "running"));
  sandbox.waitForReady(kWait);
  CHECK(sandbox.resume() == "running");  // documented no-op
  CHECK(sandbox.exec("echo again").stdoutText == "again\n");

  sandbox.destroy();
  CHECK(sandbox.status() == "destroyed");
  CHECK_THROWS_AS(sandbox.refresh(), NotFoundError);
  CHECK_THROWS_AS(sandbox.destroy(), NotFoundError);
  CHECK_FALSE(listed(rt.sandbox.list(), sandbox.id()));
  ListSandboxesOptions destroyed;
  destroyed.status = "destroyed";
  CHECK(listed(rt.sandbox.list(destroyed), sandbox.id()));
}

TEST_CASE("a transitional sandbox refuses pause and resume") {
  rtemu::Config config = test::fastEmulatorConfig();
  config.createDelay = std::chrono::seconds(30);
  test::EmulatorEnv env(config);
  RunTools rt = env.client();
  auto sandbox = rt.sandbox.create();
  try {
    sandbox.pause();
    FAIL("pause while creating must fail");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("invalid_state_transition"));
  }
  CHECK_THROWS_AS(sandbox.exec("true"), ConflictError);
  CHECK_THROWS_AS(sandbox.waitForReady(milliseconds(200), milliseconds(20)), TimeoutError);
  sandbox.destroy();
}

TEST_CASE("waitForReady reports a sandbox that failed to start") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  CreateSandboxOptions options;
  options.tags = {"emu:fail-create"};
  auto sandbox = rt.sandbox.create(options);
  try {
    sandbox.waitForReady(kWait);
    FAIL("expected SandboxFailedError");
  } catch (const SandboxFailedError& e) {
    CHECK(e.sandboxStatus() == "failed");
    CHECK(e.code() == "sandbox_failed");
    CHECK(e.sandboxId() == sandbox.id());
  }
}

TEST_CASE("a sandbox destroyed from elsewhere ends a wait on it with SandboxFailedError") {
  rtemu::Config config = test::fastEmulatorConfig();
  config.createDelay = std::chrono::seconds(60);  // never ready during the test
  test::EmulatorEnv env(config);
  RunTools rt = env.client();
  WaitOptions wait;
  wait.timeout = std::chrono::seconds(30);
  wait.pollInterval = milliseconds(20);

  for (const bool forStatus : {false, true}) {
    INFO((forStatus ? "waitForStatus" : "waitForReady"));
    auto sandbox = rt.sandbox.create();
    const auto started = std::chrono::steady_clock::now();
    auto outcome = std::async(std::launch::async, [&]() -> std::string {
      try {
        if (forStatus) {
          sandbox.waitForStatus("running", wait);
        } else {
          sandbox.waitForReady(wait);
        }
        return "returned";
      } catch (const SandboxFailedError& e) {
        return "SandboxFailedError:" + e.sandboxStatus();
      } catch (const std::exception& e) {
        return std::string("other:") + e.what();
      }
    });
    // Let it poll a few times, then destroy through another client and handle.
    std::this_thread::sleep_for(milliseconds(150));
    RunTools other = env.client();
    other.sandbox.get(sandbox.id()).destroy();
    REQUIRE(outcome.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(outcome.get() == "SandboxFailedError:destroyed");
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    CHECK(sandbox.status() == "destroyed");
  }

  // A handle that knows the sandbox waits for its destruction successfully.
  auto sandbox = rt.sandbox.create();
  auto done =
      std::async(std::launch::async, [&] { return sandbox.waitForStatus("destroyed", wait); });
  std::this_thread::sleep_for(milliseconds(100));
  rt.sandbox.get(sandbox.id()).destroy();
  REQUIRE(done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(done.get().status == "destroyed");
}

TEST_CASE("names are unique among live sandboxes, update renames") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  CreateSandboxOptions options;
  options.name = "unique-name";
  auto first = rt.sandbox.create(options);
  try {
    rt.sandbox.create(options);
    FAIL("duplicate name must be refused");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("already_exists"));
  }

  UpdateSandboxOptions rename;
  rename.name = "renamed";
  CHECK(first.update(rename).name == std::optional<std::string>("renamed"));
  CHECK(rt.sandbox.get("renamed").refresh().id == first.id());
  CHECK_NOTHROW(rt.sandbox.create(options));  // the old name is free again

  first.destroy();
  options.name = "renamed";
  CHECK_NOTHROW(rt.sandbox.create(options));  // destroyed sandboxes release their name
}

TEST_CASE("bad input is refused by the server with a typed error") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  CreateSandboxOptions options;
  options.templateName = "windows-xp";
  try {
    rt.sandbox.create(options);
    FAIL("unknown template must be refused");
  } catch (const BadRequestError& e) {
    CHECK(e.status() == 400);
    CHECK(e.hasCode("validation_error"));
  }
  CHECK_THROWS_AS(rt.sandbox.get("sandbox-000000000000").refresh(), NotFoundError);
}

TEST_CASE("url, ssh and the activity feed of a running sandbox") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady(kWait);
  sandbox.exec("echo one");
  sandbox.exec("exit 4");

  const auto url = sandbox.url(3000);
  CHECK(url.port == 3000);
  CHECK(url.url.find(sandbox.id()) != std::string::npos);

  const auto ssh = sandbox.ssh();
  CHECK(ssh.user == sandbox.id());
  CHECK(ssh.port == 22);
  CHECK(ssh.command.find(sandbox.id()) != std::string::npos);

  const auto events = sandbox.activity();
  CHECK(events.size() >= 3);
  const auto created = std::find_if(events.begin(), events.end(), [](const ActivityEvent& e) {
    return e.eventType == "sandbox.created";
  });
  REQUIRE(created != events.end());
  CHECK(created->resourceId == sandbox.id());
  CHECK(created->createdAt.has_value());

  ActivityListOptions small;
  small.limit = 1;
  const auto page = sandbox.activityPage(small);
  CHECK(page.data.size() == 1);
  CHECK(page.hasMore);
  CHECK(sandbox.activity(small).size() == events.size());
}

TEST_CASE("metrics of a sandbox, its polling listener and the answer once it is gone") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  CreateSandboxOptions options;
  options.resources = SandboxResources{2, std::string("512MB"), std::nullopt};
  auto sandbox = rt.sandbox.create(options);
  sandbox.waitForReady(kWait);

  const auto sample = sandbox.metrics();
  CHECK(sample.sandboxId == sandbox.id());
  CHECK(sample.status == "running");
  CHECK(sample.memoryLimitMb == 512);
  CHECK(sample.diskLimitMb == 10240);  // the default disk
  CHECK(sample.cpuPercent == 0);
  CHECK(sample.sampledAt.has_value());

  MetricsListenOptions listen;
  listen.pollInterval = milliseconds(10);
  int samples = 0;
  CHECK(sandbox.onMetrics(
            [&](const SandboxMetrics& s) { return s.status == "running" && ++samples < 3; },
            listen) == MetricsEnd::Stopped);
  CHECK(samples == 3);

  sandbox.pause();
  sandbox.waitForStatus("paused", kWait);
  CHECK(sandbox.metrics().status == "paused");

  // The listener in its non-blocking form outlives the sandbox: it ends as unavailable.
  std::atomic<int> asyncSamples{0};
  auto listener = sandbox.onMetricsAsync(
      [&](const SandboxMetrics&) {
        ++asyncSamples;
        return true;
      },
      listen);
  while (asyncSamples.load() == 0)
    std::this_thread::sleep_for(milliseconds(5));
  sandbox.destroy();
  CHECK(listener.get() == MetricsEnd::Unavailable);
  CHECK_THROWS_AS(sandbox.metrics(), NotFoundError);
}
