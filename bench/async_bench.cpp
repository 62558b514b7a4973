// The asynchronous engine under load: thread count and wall time of 1,000
// concurrent calls, and what a poll() costs a game loop's frame.

#include "async_bench.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "process_memory.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kCalls = 1000;

double millisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void printAsync1000(const runtools::ClientOptions& options, const std::string& sandboxId) {
  runtools::RunTools rt(options);
  const auto sandbox = rt.sandbox.get(sandboxId);
  sandbox.refreshAsync().get();  // the engine's thread and first connection are up

  auto start = Clock::now();
  std::vector<runtools::Operation<runtools::SandboxInfo>> ops;
  ops.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i)
    ops.push_back(sandbox.refreshAsync());
  const long threads = runtools::test::statusKb("Threads");
  for (const auto& op : ops)
    op.get();
  const double asyncMs = millisSince(start);

  start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < kCalls / 8; ++i)
        sandbox.refresh();
    });
  }
  for (auto& worker : workers)
    worker.join();
  const double blockingMs = millisSince(start);
  std::printf("async-1000: threads=%ld wall_ms=%.1f blocking8_wall_ms=%.1f\n", threads, asyncMs,
              blockingMs);
}

void printPollCost(runtools::ClientOptions options, const std::string& sandboxId) {
  options.completions = runtools::CompletionMode::Poll;
  runtools::RunTools rt(options);
  // 100 waits that do not end, at the default poll interval (1 s): the
  // engine always has timers and transfers in flight, as a game waiting for
  // its sandboxes would.
  runtools::WaitOptions wait;
  wait.timeout = std::chrono::minutes(5);
  std::vector<runtools::Operation<runtools::SandboxInfo>> ops;
  for (int i = 0; i < 100; ++i)
    ops.push_back(rt.sandbox.get(sandboxId).waitForStatusAsync("paused", wait));
  std::vector<double> costs;
  const auto until = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < until) {
    const auto start = Clock::now();
    rt.poll();
    costs.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::sort(costs.begin(), costs.end());
  const double p50 = costs[costs.size() / 2];
  const double p99 = costs[static_cast<std::size_t>(0.99 * static_cast<double>(costs.size() - 1))];
  std::printf("poll-cost: inflight=100 p99_us=%.0f p50_us=%.0f max_us=%.0f (polls=%zu)\n", p99, p50,
              costs.back(), costs.size());
  for (const auto& op : ops)
    op.cancel();
  for (const auto& op : ops)
    op.wait();
}

}  // namespace

void printAsyncFigures(const runtools::ClientOptions& options, const std::string& sandboxId) {
  printAsync1000(options, sandboxId);
  printPollCost(options, sandboxId);
}
