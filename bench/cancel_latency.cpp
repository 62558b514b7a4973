// Cancellation latency in every state a call can be caught in while nothing
// flows (connecting, waiting for the first byte, mid-body, a silent stream,
// a backoff, a poll), for blocking calls (a token cancelled from another
// thread) and asynchronous ones (Operation::cancel), and how far past its
// bound an idle timeout fires.

#include "cancel_latency.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "local_server.hpp"
#include "runtools/runtools.hpp"
#include "silent_peer.hpp"
#include "stalling_routes.hpp"

namespace {

using std::chrono::milliseconds;
using Stage = runtools::test::SilentPeer::Stage;
using Clock = std::chrono::steady_clock;

runtools::ClientOptions optionsFor(const std::string& url) {
  runtools::ClientOptions options;
  options.apiKey = "rt_test_BenchLatencyBenchLatencyBench0";
  options.apiUrl = url;
  options.toolsUrl = url;
  options.authUrl = url;
  options.storageUrl = url;
  options.maxRetries = 0;
  options.connectTimeout = std::chrono::seconds(30);
  return options;
}

// Milliseconds from cancel() until `call` returned.
double measure(const std::function<void(const runtools::CancellationToken&)>& call, int delayMs) {
  runtools::CancellationToken token;
  Clock::time_point cancelledAt;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(delayMs));
    cancelledAt = Clock::now();
    token.cancel();
  });
  try {
    call(token);
  } catch (const runtools::CancelledError&) {
  }
  const auto returnedAt = Clock::now();
  canceller.join();
  return std::chrono::duration<double, std::milli>(returnedAt - cancelledAt).count();
}

// Milliseconds from cancel() on the operation `start` returns until it ended.
double measureOperation(const std::function<runtools::OperationBase()>& start, int delayMs) {
  const runtools::OperationBase op = start();
  std::this_thread::sleep_for(milliseconds(delayMs));
  const auto cancelledAt = Clock::now();
  op.cancel();
  op.wait();
  return std::chrono::duration<double, std::milli>(Clock::now() - cancelledAt).count();
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void requestStages(std::vector<double>& samples, int rounds) {
  for (const Stage stage : {Stage::Connecting, Stage::FirstByte, Stage::MidBody}) {
    runtools::test::SilentPeer peer(stage);
    runtools::RunTools rt(optionsFor(peer.url()));
    for (int i = 0; i < rounds; ++i) {
      samples.push_back(
          measureOperation([&] { return rt.sandbox.get("s").refreshAsync(); }, 20 + (i * 5) % 60));
      samples.push_back(measure(
          [&](const runtools::CancellationToken& token) {
            runtools::CallOptions call;
            call.cancellation = token;
            runtools::RunTools(optionsFor(peer.url())).with(call).sandbox.get("s").refresh();
          },
          20 + (i * 7) % 60));
    }
  }
}

void streamStages(std::vector<double>& samples, int rounds) {
  runtools::test::SilentPeer peer(Stage::QuietStream);
  runtools::RunTools rt(optionsFor(peer.url()));
  const auto ignore = [](const auto&) { return true; };
  for (int i = 0; i < rounds; ++i) {
    samples.push_back(
        measureOperation([&] { return rt.agent.runAsync("helper", "hi", ignore); }, 20 + i % 60));
    samples.push_back(measureOperation(
        [&] {
          runtools::ExecOptions options;
          options.onStdout = ignore;
          return rt.sandbox.get("s").execAsync("sleep 60", options);
        },
        20 + (i * 3) % 60));
    samples.push_back(measure(
        [&](const runtools::CancellationToken& token) {
          runtools::RunOptions options;
          options.cancellation = token;
          rt.agent.run(
              "helper", "hi", [](const runtools::RunEvent&) { return true; }, options);
        },
        20 + (i * 7) % 60));
    samples.push_back(measure(
        [&](const runtools::CancellationToken& token) {
          runtools::ExecOptions options;
          options.cancellation = token;
          options.onStdout = [](std::string_view) { return true; };
          rt.sandbox.get("s").exec("sleep 60", options);
        },
        20 + (i * 11) % 60));
  }
}

void waitStages(std::vector<double>& samples, int rounds) {
  runtools::test::LocalServer server;
  runtools::test::serveBusyAndCreating(server.server());
  runtools::RunTools rt(optionsFor(server.url()));
  runtools::CallOptions retrying;
  retrying.maxRetries = 3;
  for (int i = 0; i < rounds; ++i) {
    samples.push_back(measureOperation(
        [&] { return rt.with(retrying).sandbox.get("busy").refreshAsync(); }, 20 + i % 60));
    samples.push_back(measureOperation(
        [&] {
          runtools::WaitOptions wait;
          wait.pollInterval = std::chrono::seconds(10);
          return rt.sandbox.get("slow").waitForReadyAsync(wait);
        },
        20 + (i * 3) % 60));
    samples.push_back(measure(
        [&](const runtools::CancellationToken& token) {
          runtools::CallOptions call;
          call.cancellation = token;
          call.maxRetries = 3;
          rt.with(call).sandbox.get("busy").refresh();
        },
        20 + (i * 7) % 60));
    samples.push_back(measure(
        [&](const runtools::CancellationToken& token) {
          runtools::WaitOptions wait;
          wait.cancellation = token;
          wait.pollInterval = std::chrono::seconds(10);
          rt.sandbox.get("slow").waitForReady(wait);
        },
        20 + (i * 11) % 60));
  }
}

}  // namespace

void printCancelLatency(int rounds) {
  std::vector<double> samples;
  requestStages(samples, rounds);
  streamStages(samples, rounds);
  waitStages(samples, rounds);
  std::printf(
      "cancel-latency: p50_ms=%.2f p99_ms=%.2f max_ms=%.2f (n=%zu, 7 states, "
      "blocking and asynchronous)\n",
      percentile(samples, 0.5), percentile(samples, 0.99),
      *std::max_element(samples.begin(), samples.end()), samples.size());

  runtools::test::SilentPeer peer(Stage::QuietStream);
  runtools::RunTools rt(optionsFor(peer.url()));
  std::vector<double> overshoot;
  const int boundMs = 200;
  for (int i = 0; i < std::max(3, rounds / 4); ++i) {
    runtools::RunOptions options;
    options.idleTimeout = milliseconds(boundMs);
    const auto start = Clock::now();
    try {
      rt.agent.run(
          "helper", "hi", [](const runtools::RunEvent&) { return true; }, options);
    } catch (const runtools::TimeoutError&) {
    }
    overshoot.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count() -
                        boundMs);
  }
  std::printf("idle-timeout: bound_ms=%d p50_over_ms=%.2f max_over_ms=%.2f (n=%zu)\n", boundMs,
              percentile(overshoot, 0.5), *std::max_element(overshoot.begin(), overshoot.end()),
              overshoot.size());
}
