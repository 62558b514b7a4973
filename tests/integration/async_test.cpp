// The non-blocking forms against the emulator: the same values and typed
// errors as the blocking calls, continuations, the two completion modes,
// cancellation and destruction with operations in flight.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "emulator_env.hpp"
#include "runtools/client.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;

namespace {

ClientOptions inMode(const test::EmulatorEnv& env, CompletionMode mode) {
  auto options = env.options();
  options.completions = mode;
  return options;
}

// Polls `rt` until `op` is done, as a game loop would, for at most 20 s.
template <class T>
int pollUntilDone(const RunTools& rt, const Operation<T>& op) {
  int frames = 0;
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!op.done() && std::chrono::steady_clock::now() < giveUp) {
    rt.poll();
    ++frames;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return frames;
}

}  // namespace

TEST_CASE("asynchronous sandbox calls return what the blocking ones return", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto sandbox = rt.sandbox.createAsync().get();
  const auto ready = sandbox.waitForReadyAsync().get();
  CHECK(ready.status == "running");
  const auto result = sandbox.execAsync("echo async && exit 3").get();
  CHECK(result.stdoutText == "async\n");
  CHECK(result.exitCode == 3);
  const auto page = rt.sandbox.listPageAsync().get();
  REQUIRE(page.data.size() == 1);
  CHECK(page.data[0].id == sandbox.id());
  sandbox.destroyAsync().get();
  CHECK_THROWS_AS(rt.sandbox.get(sandbox.id()).refresh(), NotFoundError);  // gone
}

TEST_CASE("an asynchronous call ends with the typed error of its blocking form", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto op = rt.sandbox.get("sb_missing").refreshAsync();
  op.wait();
  CHECK(op.done());
  CHECK_THROWS_AS(op.get(), NotFoundError);
  CHECK_THROWS_AS(rt.sandbox.get("sb_missing").execAsync("true").get(), NotFoundError);
}

TEST_CASE("a continuation runs on the I/O thread and its blocking calls do not block it",
          "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> otherThread{false};
  auto op = rt.sandbox.createAsync().then([&](Operation<Sandbox> created) {
    otherThread = std::this_thread::get_id() != caller;
    auto sandbox = created.get();
    sandbox.waitForReady();  // inside the engine: suspends, does not block
    return sandbox.exec("printf chained").stdoutText;
  });
  // Meanwhile other operations make progress on the same engine.
  const auto listed = rt.sandbox.listAsync().get();
  CHECK(op.get() == "chained");
  CHECK(otherThread);
  CHECK(listed.size() <= 1);
}

TEST_CASE("RunTools::async runs any sequence of calls as one operation", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto op = rt.async([rt] {
    auto sandbox = rt.sandbox.create();
    sandbox.waitForReady();
    const int code = sandbox.exec("exit 7").exitCode;
    sandbox.destroy();
    return code;
  });
  CHECK(op.get() == 7);
  auto failing = rt.async([]() -> int { throw InvalidArgumentError("from the body"); });
  CHECK_THROWS_AS(failing.get(), InvalidArgumentError);
}

TEST_CASE("in game-loop mode nothing runs outside poll(), and all of it on the polling thread",
          "[async]") {
  test::EmulatorEnv env;
  RunTools rt(inMode(env, CompletionMode::Poll));
  const auto caller = std::this_thread::get_id();
  std::vector<std::thread::id> callbackThreads;
  auto created = rt.sandbox.createAsync();
  std::this_thread::sleep_for(milliseconds(200));
  CHECK_FALSE(created.done());  // nobody polled: the request has not even been sent

  auto op = created.then([&](Operation<Sandbox> done) {
    callbackThreads.push_back(std::this_thread::get_id());
    auto sandbox = done.get();
    sandbox.waitForReady();
    ExecOptions options;
    options.onStdout = [&](std::string_view) {
      callbackThreads.push_back(std::this_thread::get_id());
      return true;
    };
    return sandbox.exec("echo one; sleep 0.05; echo two", options).stdoutText;
  });
  const int frames = pollUntilDone(rt, op);
  REQUIRE(op.done());
  CHECK(op.get() == "one\ntwo\n");
  CHECK(frames > 1);
  REQUIRE(callbackThreads.size() >= 2);
  for (const auto id : callbackThreads)
    CHECK(id == caller);
}

TEST_CASE("a wait on the polling thread drives the engine itself", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(inMode(env, CompletionMode::Poll));
  auto sandbox = rt.sandbox.createAsync().get();  // get() polls while it waits
  CHECK_FALSE(sandbox.id().empty());
  CHECK_THROWS_AS(RunTools(env.options()).poll(), InvalidArgumentError);  // not in Poll mode
}

TEST_CASE("cancelling an operation stops its command promptly with CancelledError", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady();
  auto op = sandbox.execAsync("sleep 30");
  std::this_thread::sleep_for(milliseconds(150));
  const auto cancelledAt = std::chrono::steady_clock::now();
  op.cancel();
  CHECK_THROWS_AS(op.get(), CancelledError);
  CHECK(std::chrono::steady_clock::now() - cancelledAt < milliseconds(250));

  // A wait's poll interval is a timer: cancelling ends it at once too.
  WaitOptions slow;
  slow.pollInterval = std::chrono::seconds(10);
  auto waiting = sandbox.waitForStatusAsync("paused", slow);
  std::this_thread::sleep_for(milliseconds(100));
  const auto waitCancelledAt = std::chrono::steady_clock::now();
  waiting.cancel();
  CHECK_THROWS_AS(waiting.get(), CancelledError);
  CHECK(std::chrono::steady_clock::now() - waitCancelledAt < milliseconds(250));
}

TEST_CASE("the client's cancellation token cancels its asynchronous operations", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady();
  CancellationToken token;
  CallOptions call;
  call.cancellation = token;
  auto op = rt.with(call).async([rt = rt.with(call), id = sandbox.id()] {
    return rt.sandbox.get(id).exec("sleep 30").exitCode;
  });
  std::this_thread::sleep_for(milliseconds(100));
  token.cancel();
  CHECK_THROWS_AS(op.get(), CancelledError);
}

TEST_CASE("destroying the client cancels its operations and runs no callback afterwards",
          "[async]") {
  test::EmulatorEnv env;
  std::atomic<int> continuations{0};
  Operation<ExecResult> op;
  Operation<int> next;
  {
    RunTools rt(env.options());
    auto sandbox = rt.sandbox.create();
    sandbox.waitForReady();
    op = sandbox.execAsync("sleep 30");
    next = op.then([&](Operation<ExecResult>) { return ++continuations; });
    std::this_thread::sleep_for(milliseconds(100));
  }  // the last copy of the client goes: its operations end before this line
  CHECK(op.done());
  CHECK_THROWS_AS(op.get(), CancelledError);
  CHECK(next.done());
  CHECK_THROWS_AS(next.get(), CancelledError);
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(continuations == 0);
}

TEST_CASE("a wait inside a stream callback is refused instead of deadlocking", "[async]") {
  test::EmulatorEnv env;
  for (const auto mode : {CompletionMode::IoThread, CompletionMode::Poll}) {
    RunTools rt(inMode(env, mode));
    auto sandbox = rt.sandbox.create();
    sandbox.waitForReady();
    ExecOptions options;
    options.onStdout = [&](std::string_view) {
      sandbox.refreshAsync().wait();  // on the engine's thread, outside any operation
      return true;
    };
    CHECK_THROWS_AS(sandbox.execAsync("echo hi", options).get(), InvalidArgumentError);
  }
}

TEST_CASE("many operations started from one thread all complete", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto sandbox = rt.sandbox.create();
  std::vector<Operation<SandboxInfo>> ops;
  for (int i = 0; i < 200; ++i)
    ops.push_back(sandbox.refreshAsync());
  for (auto& op : ops)
    CHECK(op.get().id == sandbox.id());
  const auto log = env.raw("GET", "/_emu/requests?method=GET&path=/v1/sandboxes/" + sandbox.id());
  REQUIRE(log.status == 200);
  CHECK(nlohmann::json::parse(log.body).at("data").size() == 200);
}

TEST_CASE("eight threads start operations while one thread polls", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(inMode(env, CompletionMode::Poll));
  auto sandbox = rt.sandbox.create();
  std::atomic<bool> stop{false};
  std::atomic<int> completed{0};
  const auto poller = std::this_thread::get_id();
  std::atomic<bool> elsewhere{false};
  std::vector<std::thread> starters;
  std::mutex opsMutex;
  std::vector<Operation<void>> ops;
  for (int t = 0; t < 8; ++t) {
    starters.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto op = sandbox.refreshAsync().then([&](Operation<SandboxInfo> done) {
          if (std::this_thread::get_id() != poller) elsewhere = true;
          if (done.get().id == sandbox.id()) ++completed;
        });
        std::lock_guard<std::mutex> lock(opsMutex);
        ops.push_back(std::move(op));
      }
    });
  }
  std::thread joiner([&] {
    for (auto& starter : starters)
      starter.join();
    stop = true;
  });
  const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((!stop || completed < 80) && std::chrono::steady_clock::now() < giveUp) {
    rt.poll();
    std::this_thread::sleep_for(milliseconds(1));
  }
  joiner.join();
  CHECK(completed == 80);
  CHECK_FALSE(elsewhere);
  for (const auto& op : ops)
    CHECK(op.done());
}

TEST_CASE("the escape hatch reaches the emulator like a typed call, in both forms", "[async]") {
  test::EmulatorEnv env;
  RunTools rt(env.options());
  auto sandbox = rt.sandbox.create();
  RawRequest call;
  call.path = "/sandboxes/" + sandbox.id();
  const auto blocking = rt.request(call);
  CHECK(blocking.status == 200);
  CHECK(blocking.data["id"] == sandbox.id());
  CHECK_FALSE(blocking.requestId.empty());
  const auto async = rt.requestAsync(call).get();
  CHECK(async.data["id"] == sandbox.id());
  call.path = "/sandboxes/sb_missing";
  CHECK_THROWS_AS(rt.requestAsync(call).get(), NotFoundError);
}

namespace {

// The progress reports of one transfer, and the threads they came from.
struct ProgressLog {
  std::vector<TransferProgress> reports;
  std::vector<std::thread::id> threads;

  TransferOptions options() {
    TransferOptions transfer;
    transfer.onProgress = [this](const TransferProgress& progress) {
      reports.push_back(progress);
      threads.push_back(std::this_thread::get_id());
    };
    return transfer;
  }

  // Reports grow, and the last one covers the whole body of known size.
  void checkComplete(std::uint64_t atLeast) const {
    REQUIRE_FALSE(reports.empty());
    for (std::size_t i = 1; i < reports.size(); ++i)
      CHECK(reports[i].bytesDone > reports[i - 1].bytesDone);
    const auto& last = reports.back();
    REQUIRE(last.bytesTotal.has_value());
    CHECK(last.bytesDone == *last.bytesTotal);
    CHECK(last.bytesDone >= atLeast);
  }
};

}  // namespace

TEST_CASE("transfers report progress in both forms, on the polling thread in game-loop mode",
          "[async]") {
  test::EmulatorEnv env;
  const std::string payload(3 << 20, 'p');
  for (const auto mode : {CompletionMode::IoThread, CompletionMode::Poll}) {
    RunTools rt(inMode(env, mode));
    CreateWorkspaceOptions create;
    create.name = mode == CompletionMode::Poll ? "progress-poll" : "progress-io";
    const auto files = rt.workspace.files(rt.workspace.create(create).id);

    ProgressLog blockingUp;
    files.upload("/blocking.bin", payload, blockingUp.options());
    blockingUp.checkComplete(payload.size());
    ProgressLog blockingDown;
    CHECK(files.download("/blocking.bin", blockingDown.options()) == payload);
    blockingDown.checkComplete(payload.size());

    ProgressLog asyncUp;
    auto uploaded = files.uploadAsync("/async.bin", payload, asyncUp.options());
    if (mode == CompletionMode::Poll) {
      pollUntilDone(rt, uploaded);
      for (const auto id : asyncUp.threads)
        CHECK(id == std::this_thread::get_id());
    }
    CHECK(uploaded.get().size == static_cast<std::int64_t>(payload.size()));
    asyncUp.checkComplete(payload.size());
    ProgressLog asyncDown;
    CHECK(files.downloadAsync("/async.bin", asyncDown.options()).get() == payload);
    asyncDown.checkComplete(payload.size());
  }
}
