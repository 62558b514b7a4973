// Cancellation is prompt in every state a call can be caught in while
// nothing flows, and an idle timeout fires close to its bound. Each case
// cancels from another thread and measures the time from cancel() until the
// call has returned; the bound is generous so that a loaded machine does
// not fail it (the benchmark prints the real distribution).

#include <catch2/catch.hpp>

#include <httplib.h>

#include <chrono>
#include <functional>
#include <thread>

#include "local_server.hpp"
#include "runtools/client.hpp"
#include "runtools/errors.hpp"
#include "silent_peer.hpp"
#include "stalling_routes.hpp"

using namespace runtools;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Stage = test::SilentPeer::Stage;

namespace {

constexpr auto kBound = milliseconds(250);

ClientOptions optionsFor(const std::string& url) {
  ClientOptions options;
  options.apiKey = "rt_test_LatencyLatencyLatencyLatency0";
  options.apiUrl = url;
  options.toolsUrl = url;
  options.authUrl = url;
  options.storageUrl = url;
  options.maxRetries = 0;
  options.connectTimeout = seconds(30);
  options.timeout = seconds(30);
  return options;
}

// Runs `call`, cancels `token` from another thread after `after`, and
// returns the time from cancel() until `call` had thrown CancelledError.
milliseconds latencyOf(const CancellationToken& token, const std::function<void()>& call,
                       milliseconds after = milliseconds(150)) {
  std::chrono::steady_clock::time_point cancelledAt;
  std::thread canceller([&] {
    std::this_thread::sleep_for(after);
    cancelledAt = std::chrono::steady_clock::now();
    token.cancel();
  });
  bool cancelled = false;
  try {
    call();
  } catch (const CancelledError&) {
    cancelled = true;
  } catch (...) {
    canceller.join();
    throw;
  }
  const auto returnedAt = std::chrono::steady_clock::now();
  canceller.join();
  CHECK(cancelled);
  return std::chrono::duration_cast<milliseconds>(returnedAt - cancelledAt);
}

}  // namespace

TEST_CASE("cancelling a request is prompt while connecting, waiting and mid-body") {
  for (const Stage stage : {Stage::Connecting, Stage::FirstByte, Stage::MidBody}) {
    test::SilentPeer peer(stage);
    CancellationToken token;
    CallOptions call;
    call.cancellation = token;
    RunTools rt = RunTools(optionsFor(peer.url())).with(call);
    INFO(test::SilentPeer::name(stage));
    CHECK(latencyOf(token, [&] { rt.sandbox.get("s").refresh(); }) < kBound);
  }
}

TEST_CASE("cancelling a silent stream is prompt, for agent runs and streamed exec") {
  test::SilentPeer peer(Stage::QuietStream);
  RunTools rt(optionsFor(peer.url()));
  {
    CancellationToken token;
    RunOptions options;
    options.cancellation = token;
    auto onEvent = [](const RunEvent&) { return true; };
    CHECK(latencyOf(token, [&] { rt.agent.run("helper", "hi", onEvent, options); }) < kBound);
  }
  {
    CancellationToken token;
    ExecOptions options;
    options.cancellation = token;
    options.onStdout = [](std::string_view) { return true; };
    CHECK(latencyOf(token, [&] { rt.sandbox.get("s").exec("sleep 60", options); }) < kBound);
  }
}

TEST_CASE("cancelling a backoff or a poll is prompt") {
  test::LocalServer server;
  test::serveBusyAndCreating(server.server());
  {
    CancellationToken token;
    CallOptions call;
    call.cancellation = token;
    call.maxRetries = 3;
    RunTools rt = RunTools(optionsFor(server.url())).with(call);
    INFO("backoff");
    CHECK(latencyOf(token, [&] { rt.sandbox.get("busy").refresh(); }) < kBound);
  }
  {
    RunTools rt(optionsFor(server.url()));
    CancellationToken token;
    WaitOptions wait;
    wait.cancellation = token;
    wait.pollInterval = seconds(10);
    INFO("polling");
    CHECK(latencyOf(token, [&] { rt.sandbox.get("slow").waitForReady(wait); }) < kBound);
  }
}

TEST_CASE("a cancellation that comes first stops the call before anything is sent") {
  test::SilentPeer peer(Stage::FirstByte);
  CancellationToken token;
  token.cancel();
  CallOptions call;
  call.cancellation = token;
  RunTools rt = RunTools(optionsFor(peer.url())).with(call);
  CHECK(latencyOf(
            token, [&] { rt.sandbox.get("s").refresh(); }, milliseconds(0)) < kBound);
}

TEST_CASE("an idle timeout fires close to its bound on a silent stream") {
  test::SilentPeer peer(Stage::QuietStream);
  RunTools rt(optionsFor(peer.url()));
  RunOptions options;
  options.idleTimeout = milliseconds(500);
  auto onEvent = [](const RunEvent&) { return true; };
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(rt.agent.run("helper", "hi", onEvent, options), TimeoutError);
  const auto elapsed =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  CHECK(elapsed >= milliseconds(500));
  CHECK(elapsed < milliseconds(500) + kBound);
}

TEST_CASE("a token's callbacks run once on cancel and never after their registration ends") {
  CancellationToken token;
  int first = 0;
  int second = 0;
  auto keep = token.onCancel([&] { ++first; });
  {
    auto dropped = token.onCancel([&] { ++second; });
  }
  token.cancel();
  token.cancel();
  CHECK(first == 1);
  CHECK(second == 0);
  int late = 0;
  auto immediate = token.onCancel([&] { ++late; });  // already cancelled: runs at once
  CHECK(late == 1);
}
