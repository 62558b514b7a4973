// Eight threads share one RunTools client for a mix of operations. Run it
// under ThreadSanitizer (scripts/sanitize.sh tsan) to check the SDK's
// thread-safety claims; here it checks that every operation still succeeds.

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;

TEST_CASE("eight threads share one client for mixed operations") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  AgentDefinition agent;
  agent.slug = "stress";
  agent.executionMode = "managed";
  rt.agent.upsert(agent);
  CreateWorkspaceOptions create;
  create.name = "shared";
  const auto workspace = rt.workspace.create(create);
  const auto shared = rt.sandbox.create();
  shared.waitForReady(std::chrono::seconds(30), milliseconds(20));

  constexpr int kThreads = 8;
  constexpr int kRounds = 3;
  std::atomic<int> done{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Some threads use the shared client, some a copy, some with() options.
      CallOptions call;
      call.deadline = std::chrono::seconds(60);
      const RunTools mine = t % 3 == 0 ? rt : (t % 3 == 1 ? RunTools(rt) : rt.with(call));
      auto files = mine.workspace.files(workspace.id);
      // Catch2's assertions are not thread-safe: collect, then check on the main thread.
      auto expect = [&](bool ok, const std::string& what) {
        if (ok) return;
        std::lock_guard<std::mutex> lock(mutex);
        failures.push_back(what);
      };
      for (int round = 0; round < kRounds; ++round) {
        const std::string tag = std::to_string(t) + "-" + std::to_string(round);
        try {
          switch ((t + round) % 4) {
            case 0: {
              expect(shared.exec("echo " + tag).stdoutText == tag + "\n", tag + ": exec output");
              break;
            }
            case 1: {
              files.upload("/t" + tag + ".txt", tag);
              expect(files.download("/t" + tag + ".txt") == tag, tag + ": file contents");
              break;
            }
            case 2: {
              const auto result = mine.agent.stream("stress", "hello " + tag);
              expect(result.result == "echo: hello " + tag, tag + ": agent answer");
              break;
            }
            default: {
              auto sandbox = mine.sandbox.create();
              sandbox.waitForReady(std::chrono::seconds(30), milliseconds(20));
              expect(sandbox.exec("pwd").exitCode == 0, tag + ": exec in a new sandbox");
              sandbox.destroy();
              break;
            }
          }
          mine.sandbox.listPage();
          mine.secrets.set("STRESS_" + std::to_string(t), tag);
          ++done;
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back(tag + ": " + e.what());
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  for (const auto& failure : failures)
    UNSCOPED_INFO(failure);
  CHECK(failures.empty());
  CHECK(done == kThreads * kRounds);
  CHECK(rt.secrets.list().size() == kThreads);
  CHECK(rt.rateLimit().limit.has_value());
}
