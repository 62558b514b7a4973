// A CancellationToken stops long calls from another thread with
// CancelledError: waiting for a sandbox, a streamed command, transfers in
// the middle of their bytes, a request stuck on a silent server, backoff.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "emulator_env.hpp"
#include "local_server.hpp"
#include "runtools/errors.hpp"
#include "stalling_routes.hpp"

using namespace runtools;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

namespace {

// Cancels `token` once `ready` holds (or after a short while), from a thread
// of its own, and reports how long the cancelled call then took to return.
class Canceller {
 public:
  explicit Canceller(CancellationToken token, std::function<bool()> ready = nullptr)
      : thread_([this, token, ready] {
          const auto giveUp = std::chrono::steady_clock::now() + seconds(20);
          while (ready && !ready() && std::chrono::steady_clock::now() < giveUp)
            std::this_thread::sleep_for(milliseconds(5));
          if (!ready) std::this_thread::sleep_for(milliseconds(150));
          cancelledAt_ = std::chrono::steady_clock::now();
          token.cancel();
        }) {}
  ~Canceller() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  // Time from cancel() until now.
  std::chrono::steady_clock::duration sinceCancel() {
    join();
    return std::chrono::steady_clock::now() - cancelledAt_;
  }

 private:
  std::chrono::steady_clock::time_point cancelledAt_;
  std::thread thread_;
};

// Promptly: well under the seconds the call would otherwise have taken.
constexpr auto kPrompt = seconds(3);

ClientOptions localOptions(const std::string& url) {
  ClientOptions options;
  options.apiKey = "rt_test_cancelcancelcancelcancel00";
  options.apiUrl = url;
  options.storageUrl = url;
  options.maxRetries = 0;
  return options;
}

}  // namespace

TEST_CASE("cancelling waitForReady stops the polling") {
  rtemu::Config config = test::fastEmulatorConfig();
  config.createDelay = seconds(60);
  test::EmulatorEnv env(config);
  RunTools rt = env.client();
  auto sandbox = rt.sandbox.create();
  CancellationToken token;
  WaitOptions wait;
  wait.cancellation = token;
  wait.pollInterval = milliseconds(50);
  Canceller canceller(token);
  CHECK_THROWS_AS(sandbox.waitForReady(wait), CancelledError);
  CHECK(canceller.sinceCancel() < kPrompt);
}

TEST_CASE("cancelling a streamed command stops it") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto sandbox = rt.sandbox.create();
  WaitOptions wait;
  wait.pollInterval = milliseconds(20);
  sandbox.waitForReady(wait);
  CancellationToken token;
  std::atomic<bool> started{false};
  ExecOptions options;
  options.cancellation = token;
  options.onStdout = [&](std::string_view) {
    started = true;
    return true;
  };
  Canceller canceller(token, [&] { return started.load(); });
  CHECK_THROWS_AS(sandbox.exec("echo started; sleep 60", options), CancelledError);
  CHECK(canceller.sinceCancel() < kPrompt);
}

TEST_CASE("cancelling a download stops it mid-body and leaves no file") {
  test::LocalServer server;
  std::atomic<std::size_t> sent{0};
  test::serveEndlessSlowDownload(server.server(), sent);
  const fs::path dir = fs::temp_directory_path() / "rt-cancel-download";
  fs::remove_all(dir);
  fs::create_directories(dir);
  CancellationToken token;
  CallOptions call;
  call.cancellation = token;
  RunTools rt = RunTools(localOptions(server.url())).with(call);
  Canceller canceller(token, [&] { return sent > 1024 * 1024; });
  CHECK_THROWS_AS(rt.workspace.files("ws").downloadTo("/big.bin", (dir / "big.bin").string()),
                  CancelledError);
  CHECK(canceller.sinceCancel() < kPrompt);
  CHECK(fs::is_empty(dir));  // neither the file nor its temporary
  fs::remove_all(dir);
}

TEST_CASE("cancelling an upload stops it mid-body") {
  test::LocalServer server;
  std::atomic<std::size_t> received{0};
  server.server().Post(
      "/v1/workspaces/ws/upload",
      [&](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
        // Reads slowly, so the client is still sending when it is cancelled.
        reader([](const httplib::MultipartFormData&) { return true; },
               [&](const char*, std::size_t length) {
                 received += length;
                 std::this_thread::sleep_for(milliseconds(5));
                 return true;
               });
        res.set_content(R"({"data":{"name":"big.bin"}})", "application/json");
      });
  const fs::path file = fs::temp_directory_path() / "rt-cancel-upload.bin";
  {
    std::ofstream out(file, std::ios::binary);
    const std::string block(1024 * 1024, 'y');
    for (int i = 0; i < 64; ++i)
      out << block;
  }
  CancellationToken token;
  CallOptions call;
  call.cancellation = token;
  RunTools rt = RunTools(localOptions(server.url())).with(call);
  Canceller canceller(token, [&] { return received > 256 * 1024; });
  CHECK_THROWS_AS(rt.workspace.files("ws").uploadFile(file.string(), "/big.bin"), CancelledError);
  CHECK(canceller.sinceCancel() < kPrompt);
  CHECK(received < 64u * 1024 * 1024);
  fs::remove(file);
}

TEST_CASE("cancelling a request stuck on a silent server, or a backoff, is prompt") {
  test::LocalServer server;
  server.server().Get("/v1/sandboxes/silent", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(seconds(4));
    res.set_content(R"({"data":{"id":"silent"}})", "application/json");
  });
  server.server().Get("/v1/sandboxes/busy", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "30");
    res.set_content(R"({"error":{"code":"service_unavailable","message":"busy"}})",
                    "application/json");
  });
  for (const char* id : {"silent", "busy"}) {
    CancellationToken token;
    CallOptions call;
    call.cancellation = token;
    call.maxRetries = 3;
    RunTools rt = RunTools(localOptions(server.url())).with(call);
    Canceller canceller(token);
    INFO(id);
    CHECK_THROWS_AS(rt.sandbox.get(id).refresh(), CancelledError);
    CHECK(canceller.sinceCancel() < kPrompt);
  }
}
