#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;

namespace {

struct RunningSandbox {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  Sandbox sandbox;

  explicit RunningSandbox(CreateSandboxOptions options = {}) : sandbox(rt.sandbox.create(options)) {
    sandbox.waitForReady(std::chrono::seconds(20), milliseconds(20));
  }
};

}  // namespace

TEST_CASE("exec captures stdout, stderr and the exit code separately") {
  RunningSandbox s;
  const auto result = s.sandbox.exec("echo out; echo err >&2; exit 3");
  CHECK(result.stdoutText == "out\n");
  CHECK(result.stderrText == "err\n");
  CHECK(result.exitCode == 3);
  CHECK_FALSE(result.timedOut);
  CHECK_FALSE(result.ok());
}

TEST_CASE("a command killed by a signal reports 128 + the signal") {
  RunningSandbox s;
  CHECK(s.sandbox.exec("kill -TERM $$").exitCode == 128 + 15);
}

TEST_CASE("multi-megabyte output arrives complete") {
  RunningSandbox s;
  const auto result = s.sandbox.exec(
      "head -c 6000000 /dev/zero | tr '\\000' 'x'; head -c 1500000 /dev/zero | "
      "tr '\\000' 'y' >&2");
  CHECK(result.exitCode == 0);
  CHECK(result.stdoutText.size() == 6000000);
  CHECK(result.stderrText.size() == 1500000);
  CHECK(result.stdoutText.find_first_not_of('x') == std::string::npos);
  CHECK(result.stderrText.find_first_not_of('y') == std::string::npos);
}

TEST_CASE("binary-unsafe characters survive the round trip") {
  RunningSandbox s;
  const auto result = s.sandbox.exec(R"(printf 'a\000b\001c\t"q\\ \033[0m')");
  CHECK(result.stdoutText == std::string("a\0b\001c\t\"q\\ \033[0m", 14));

  // Bytes that are not UTF-8 cannot travel in JSON: they arrive as U+FFFD.
  const auto invalid = s.sandbox.exec(R"(printf 'ok\377\376end')");
  CHECK(invalid.exitCode == 0);
  CHECK(invalid.stdoutText.rfind("ok", 0) == 0);
  CHECK(invalid.stdoutText.find("end") != std::string::npos);
  CHECK(invalid.stdoutText.find("\xEF\xBF\xBD") != std::string::npos);

  const auto utf8 = s.sandbox.exec("printf 'caf\\303\\251 \\360\\237\\232\\200'");
  CHECK(utf8.stdoutText == "caf\xC3\xA9 \xF0\x9F\x9A\x80");
}

TEST_CASE("the command's timeout kills it and keeps partial output") {
  RunningSandbox s;
  ExecOptions options;
  options.timeout = milliseconds(300);
  const auto result = s.sandbox.exec("echo started; sleep 30; echo never", options);
  CHECK(result.timedOut);
  CHECK(result.exitCode == 124);
  CHECK(result.stdoutText == "started\n");
  REQUIRE(result.durationMs);
  CHECK(result.durationMs->count() < 20000);
}

TEST_CASE("background children do not hold exec open after the command ends") {
  RunningSandbox s;
  const auto start = std::chrono::steady_clock::now();
  const auto result = s.sandbox.exec("sleep 30 & echo detached");
  CHECK(result.exitCode == 0);
  CHECK(result.stdoutText == "detached\n");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(25));
}

TEST_CASE("env is merged over the sandbox's env, cwd maps below /workspace") {
  CreateSandboxOptions options;
  options.env = {{"FROM_SANDBOX", "s"}, {"OVERRIDE", "sandbox"}};
  RunningSandbox s(options);

  ExecOptions exec;
  exec.env = {{"OVERRIDE", "request"}, {"ONLY_REQUEST", "r"}};
  CHECK(s.sandbox.exec("echo $FROM_SANDBOX $OVERRIDE $ONLY_REQUEST", exec).stdoutText ==
        "s request r\n");
  CHECK(s.sandbox.exec("echo ${RUNTOOLS_API_KEY:-unset}").stdoutText == "unset\n");

  CHECK(s.sandbox.exec("mkdir -p src/lib && echo data > src/lib/file.txt").exitCode == 0);
  ExecOptions inSub;
  inSub.cwd = "/workspace/src/lib";
  CHECK(s.sandbox.exec("cat file.txt", inSub).stdoutText == "data\n");
  CHECK(s.sandbox.exec("echo more > second.txt", inSub).exitCode == 0);
  CHECK(s.sandbox.exec("cat src/lib/second.txt").stdoutText == "more\n");

  ExecOptions missing;
  missing.cwd = "/workspace/does/not/exist";
  const auto noDir = s.sandbox.exec("true", missing);
  CHECK(noDir.exitCode != 0);
  CHECK_FALSE(noDir.stderrText.empty());

  ExecOptions outside;
  outside.cwd = "/etc";
  CHECK_THROWS_AS(s.sandbox.exec("true", outside), BadRequestError);
}

TEST_CASE("sandboxes do not share files") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto a = rt.sandbox.create();
  auto b = rt.sandbox.create();
  a.waitForReady(std::chrono::seconds(20), milliseconds(20));
  b.waitForReady(std::chrono::seconds(20), milliseconds(20));
  a.exec("echo mine > private.txt");
  CHECK(b.exec("test -e private.txt").exitCode != 0);
  CHECK(a.exec("cat private.txt").stdoutText == "mine\n");
}

TEST_CASE("one client serves concurrent exec calls from several threads") {
  RunningSandbox s;
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 5;
  std::atomic<int> correct{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share one handle; the others use their own copies
      // of the client and of the handle.
      const Sandbox mine = t % 2 == 0 ? s.sandbox : RunTools(s.rt).sandbox.get(s.sandbox.id());
      for (int i = 0; i < kCallsPerThread; ++i) {
        const std::string token = std::to_string(t) + "-" + std::to_string(i);
        try {
          if (mine.exec("echo " + token).stdoutText == token + "\n") ++correct;
          mine.refresh();
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back(e.what());
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  for (const auto& failure : failures)
    UNSCOPED_INFO(failure);
  CHECK(failures.empty());
  CHECK(correct == kThreads * kCallsPerThread);
}
