// Every call class (GET, naturally idempotent POST, keyed POST, unkeyed POST,
// upload, download, stream) through every fault the emulator injects
// (/_emu/faults and the X-Emu-Fault header): the call either is retried and
// succeeds, or raises the right typed error within its deadline, and the
// emulator's request log shows no duplicate side effect.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "emulator_env.hpp"
#include "local_server.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using nlohmann::json;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

// What a faulted call must end in.
enum class Outcome {
  Succeeds,
  ServerError,      // a 5xx ApiError
  RateLimited,      // RateLimitError
  InvalidResponse,  // InvalidResponseError
  Transport,        // TransportError (the connection broke)
  BrokenStream,     // StreamError or TransportError: a stream cut short
  Timeout,          // TimeoutError
  Redirect,         // an ApiError with the 3xx status
};

const char* name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Succeeds:
      return "succeeds";
    case Outcome::ServerError:
      return "ServerError";
    case Outcome::RateLimited:
      return "RateLimitError";
    case Outcome::InvalidResponse:
      return "InvalidResponseError";
    case Outcome::Transport:
      return "TransportError";
    case Outcome::BrokenStream:
      return "StreamError or TransportError";
    case Outcome::Timeout:
      return "TimeoutError";
    case Outcome::Redirect:
      return "a 3xx ApiError";
  }
  return "?";
}

// Runs `call` and reports which outcome it ended in (and the attempts an
// ApiError counted).
struct Observed {
  Outcome outcome = Outcome::Succeeds;
  std::string detail;
  int attempts = 0;
};

Observed observe(const std::function<void()>& call) {
  Observed seen;
  try {
    call();
  } catch (const RateLimitError& e) {
    seen = {Outcome::RateLimited, e.what(), e.attempts()};
  } catch (const ServerError& e) {
    seen = {Outcome::ServerError, e.what(), e.attempts()};
  } catch (const ApiError& e) {
    seen = {e.status() >= 300 && e.status() < 400 ? Outcome::Redirect : Outcome::ServerError,
            e.what(), e.attempts()};
    if (e.status() < 300 || e.status() >= 600) seen.detail = "unexpected status: " + seen.detail;
  } catch (const InvalidResponseError& e) {
    seen = {Outcome::InvalidResponse, e.what(), 1};
  } catch (const TimeoutError& e) {
    seen = {Outcome::Timeout, e.what(), 0};
  } catch (const StreamError& e) {
    seen = {Outcome::BrokenStream, e.what(), 0};
  } catch (const TransportError& e) {
    seen = {Outcome::Transport, e.what(), 0};
  }
  return seen;
}

bool matches(Outcome expected, const Observed& seen) {
  if (expected == Outcome::BrokenStream) {
    return seen.outcome == Outcome::BrokenStream || seen.outcome == Outcome::Transport;
  }
  return expected == seen.outcome;
}

// An emulator, a client with quick retries, and the request log.
class Bench {
 public:
  Bench() : rt_(RunTools(options(true))) {}

  ClientOptions options(bool idempotencyKeys) const {
    ClientOptions o = env_.options();
    o.maxRetries = 3;
    o.timeout = milliseconds(5000);
    o.retryPolicy.initialDelay = milliseconds(1);
    o.retryPolicy.maxDelay = milliseconds(20);
    o.retryPolicy.idempotencyKeys = idempotencyKeys;
    return o;
  }

  RunTools& rt() { return rt_; }
  test::EmulatorEnv& env() { return env_; }

  // A client whose requests all carry `fault` (an X-Emu-Fault header with a
  // key of its own), with or without generated idempotency keys.
  RunTools faulted(const std::string& fault, bool idempotencyKeys = true) {
    CallOptions call;
    call.headers.set("X-Emu-Fault", fault + ";key=fault-" + std::to_string(++faults_));
    return RunTools(options(idempotencyKeys)).with(call);
  }

  void clearLog() { REQUIRE(env_.raw("DELETE", "/_emu/requests").status == 200); }

  // The logged requests for `method` and `path` since the last clearLog().
  json requests(const std::string& method, const std::string& path) {
    const auto response = env_.raw("GET", "/_emu/requests?method=" + method + "&path=" + path);
    REQUIRE(response.status == 200);
    return json::parse(response.body).at("data");
  }
  int count(const std::string& method, const std::string& path) {
    return static_cast<int>(requests(method, path).size());
  }
  // The count once it reaches `expected` (a request is logged when its answer
  // is complete, which may be after the client gave up on it).
  int countReaching(const std::string& method, const std::string& path, int expected) {
    const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    int n = count(method, path);
    while (n < expected && std::chrono::steady_clock::now() < giveUp) {
      std::this_thread::sleep_for(milliseconds(20));
      n = count(method, path);
    }
    return n;
  }

  std::size_t sandboxCount() { return rt_.sandbox.list().size(); }

 private:
  test::EmulatorEnv env_;
  RunTools rt_;
  int faults_ = 0;
};

struct Case {
  std::string fault;
  Outcome outcome;
  int requests;  // how many reached the emulator
};

void checkCase(const Case& c, const Observed& seen, int requests) {
  INFO("fault " << c.fault << ": expected " << name(c.outcome) << ", got " << name(seen.outcome)
                << (seen.detail.empty() ? "" : " (" + seen.detail + ")"));
  CHECK(matches(c.outcome, seen));
  CHECK(requests == c.requests);
  if (seen.outcome == Outcome::ServerError || seen.outcome == Outcome::RateLimited) {
    CHECK(seen.attempts == c.requests);  // the error says how many attempts were made
  }
}

SandboxInfo runningSandbox(RunTools& rt) {
  auto handle = rt.sandbox.create();
  WaitOptions wait;
  wait.pollInterval = milliseconds(20);
  handle.waitForReady(wait);
  return handle.refresh();
}

}  // namespace

TEST_CASE("fault matrix: GET is retried through transient faults, other faults are typed") {
  Bench bench;
  const std::string id = runningSandbox(bench.rt()).id;
  const std::string path = "/v1/sandboxes/" + id;
  const std::vector<Case> cases = {
      {"status=503;count=2", Outcome::Succeeds, 3},
      {"status=502", Outcome::Succeeds, 2},
      {"status=504", Outcome::Succeeds, 2},
      {"status=408", Outcome::Succeeds, 2},
      {"status=429;retryAfterMs=30", Outcome::Succeeds, 2},
      {"action=reset-before", Outcome::Succeeds, 2},
      {"action=reset-mid-body", Outcome::Succeeds, 2},
      {"action=truncate", Outcome::Succeeds, 2},
      {"action=html", Outcome::Succeeds, 2},
      {"status=503;count=9", Outcome::ServerError, 4},  // 1 attempt + 3 retries
      {"status=429;count=9", Outcome::RateLimited, 4},
      {"status=500", Outcome::ServerError, 1},  // not transient: not repeated
      {"action=malformed-json", Outcome::InvalidResponse, 1},
      {"action=empty", Outcome::InvalidResponse, 1},
  };
  for (const auto& c : cases) {
    bench.clearLog();
    RunTools faulted = bench.faulted(c.fault);
    std::string got;
    const auto seen = observe([&] { got = faulted.sandbox.get(id).refresh().id; });
    checkCase(c, seen, bench.count("GET", path));
    if (seen.outcome == Outcome::Succeeds) CHECK(got == id);
  }
}

TEST_CASE("fault matrix: a keyed POST create is retried and creates exactly one sandbox") {
  Bench bench;
  const std::vector<Case> cases = {
      {"status=503;count=2", Outcome::Succeeds, 3},
      {"status=429;retryAfterMs=30", Outcome::Succeeds, 2},
      {"action=reset-before", Outcome::Succeeds, 2},
      {"action=reset-mid-body", Outcome::Succeeds, 2},  // created, answer lost, replayed
      {"action=truncate", Outcome::Succeeds, 2},
      {"action=html", Outcome::Succeeds, 2},
      {"status=500", Outcome::ServerError, 1},
      {"action=malformed-json", Outcome::InvalidResponse, 1},
      {"action=empty", Outcome::InvalidResponse, 1},
  };
  for (const auto& c : cases) {
    bench.clearLog();
    const std::size_t before = bench.sandboxCount();
    RunTools faulted = bench.faulted(c.fault);
    std::string created;
    const auto seen = observe([&] { created = faulted.sandbox.create().id(); });
    checkCase(c, seen, bench.count("POST", "/v1/sandboxes"));
    const auto logged = bench.requests("POST", "/v1/sandboxes");
    // Every attempt of the one logical call carried the same key.
    for (const auto& entry : logged) {
      CHECK(entry.at("idempotencyKey") == logged.front().at("idempotencyKey"));
    }
    // Faults that strike after the handler ran leave one sandbox behind even
    // when the call failed; faults before it leave none.
    const bool handlerRan = c.outcome == Outcome::Succeeds || c.fault == "action=malformed-json" ||
                            c.fault == "action=empty";
    INFO("fault " << c.fault);
    CHECK(bench.sandboxCount() == before + (handlerRan ? 1 : 0));
    if (c.fault == "action=reset-mid-body") {
      REQUIRE(logged.size() == 2);
      CHECK(logged[1].at("replayed") == true);
    }
  }
}

TEST_CASE("fault matrix: an unkeyed POST is never repeated, a natural action is") {
  Bench bench;
  const std::vector<Case> cases = {
      {"status=503", Outcome::ServerError, 1},
      {"status=429", Outcome::RateLimited, 1},
      {"action=reset-before", Outcome::Transport, 1},
      {"action=reset-mid-body", Outcome::Transport, 1},
      {"action=html", Outcome::ServerError, 1},
  };
  for (const auto& c : cases) {
    bench.clearLog();
    const std::size_t before = bench.sandboxCount();
    RunTools faulted = bench.faulted(c.fault, /*idempotencyKeys=*/false);
    const auto seen = observe([&] { faulted.sandbox.create(); });
    checkCase(c, seen, bench.count("POST", "/v1/sandboxes"));
    CHECK(bench.requests("POST", "/v1/sandboxes").front().at("idempotencyKey").is_null());
    INFO("fault " << c.fault);
    CHECK(bench.sandboxCount() == before + (c.fault == "action=reset-mid-body" ? 1 : 0));
  }

  // pause is naturally idempotent: retried without a key.
  const std::string id = runningSandbox(bench.rt()).id;
  bench.clearLog();
  RunTools faulted = bench.faulted("status=503;count=2", false);
  const auto seen = observe([&] { faulted.sandbox.get(id).pause(); });
  checkCase({"status=503;count=2", Outcome::Succeeds, 3}, seen,
            bench.count("POST", "/v1/sandboxes/" + id + "/pause"));
}

TEST_CASE(
    "fault matrix: uploads are repeated from the first byte, downloads never leave a partial "
    "file") {
  Bench bench;
  CreateWorkspaceOptions create;
  create.name = "faults";
  const std::string ws = bench.rt().workspace.create(create).id;
  std::string payload(3 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>((i * 131) % 251);

  const std::vector<Case> uploads = {
      {"status=503", Outcome::Succeeds, 2},
      {"action=reset-before", Outcome::Succeeds, 2},
      {"action=reset-mid-body", Outcome::Succeeds, 2},
      {"action=html", Outcome::Succeeds, 2},
      {"status=503;count=9", Outcome::ServerError, 4},
  };
  int n = 0;
  for (const auto& c : uploads) {
    bench.clearLog();
    const std::string file = "/blob-" + std::to_string(++n) + ".bin";
    RunTools faulted = bench.faulted(c.fault);
    const auto seen = observe([&] { faulted.workspace.files(ws).upload(file, payload); });
    checkCase(c, seen, bench.count("POST", "/v1/workspaces/" + ws + "/upload*"));
    if (c.outcome == Outcome::Succeeds) {
      CHECK(bench.rt().workspace.files(ws).download(file) == payload);
    }
  }

  const std::string source = "/source.bin";
  bench.rt().workspace.files(ws).upload(source, payload);
  const fs::path dir =
      fs::temp_directory_path() /
      ("rt-faults-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(dir);
  const std::vector<Case> downloads = {
      {"status=503;count=2", Outcome::Succeeds, 3},
      {"action=reset-before", Outcome::Succeeds, 2},
      {"action=reset-mid-body", Outcome::Succeeds, 2},
      {"action=truncate", Outcome::Succeeds, 2},
      {"action=html", Outcome::Succeeds, 2},
      {"status=503;count=9", Outcome::ServerError, 4},
      {"status=500", Outcome::ServerError, 1},
  };
  for (const auto& c : downloads) {
    bench.clearLog();
    const fs::path local = dir / ("copy-" + std::to_string(++n));
    RunTools faulted = bench.faulted(c.fault);
    const auto seen =
        observe([&] { faulted.workspace.files(ws).downloadTo(source, local.string()); });
    checkCase(c, seen, bench.count("GET", "/v1/workspaces/" + ws + "/direct"));
    INFO("fault " << c.fault);
    if (c.outcome == Outcome::Succeeds) {
      std::ifstream in(local, std::ios::binary);
      const std::string got((std::istreambuf_iterator<char>(in)), {});
      CHECK(got == payload);
    } else {
      CHECK_FALSE(fs::exists(local));  // nothing under the real name
    }
    // No temporary file is left behind either way.
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      (void)entry;
      ++files;
    }
    CHECK(files == static_cast<std::size_t>(c.outcome == Outcome::Succeeds ? 1 : 0));
    fs::remove(local);

    // The in-memory download takes the same path through the retries.
    bench.clearLog();
    RunTools again = bench.faulted(c.fault);
    std::string bytes;
    const auto inMemory = observe([&] { bytes = again.workspace.files(ws).download(source); });
    checkCase(c, inMemory, bench.count("GET", "/v1/workspaces/" + ws + "/direct"));
    if (inMemory.outcome == Outcome::Succeeds) CHECK(bytes == payload);
  }
  fs::remove_all(dir);
}

TEST_CASE("fault matrix: streams are never repeated, and a cut stream is a typed error") {
  Bench bench;
  AgentDefinition agent;
  agent.slug = "echo";
  agent.executionMode = "managed";
  bench.rt().agent.upsert(agent);
  const std::string sandbox = runningSandbox(bench.rt()).id;

  const std::vector<Case> cases = {
      {"status=503", Outcome::ServerError, 1},
      {"status=429", Outcome::RateLimited, 1},
      {"action=html", Outcome::ServerError, 1},
      {"action=reset-before", Outcome::Transport, 1},
      {"action=reset-mid-body", Outcome::BrokenStream, 1},
  };
  for (const auto& c : cases) {
    bench.clearLog();
    RunTools faulted = bench.faulted(c.fault);
    const auto run = observe([&] {
      faulted.agent.run("echo", "a reply long enough to be cut in the middle of its stream",
                        [](const RunEvent&) { return true; });
    });
    checkCase(c, run, bench.count("POST", "/v1/run"));

    bench.clearLog();
    RunTools again = bench.faulted(c.fault);
    const auto exec = observe([&] {
      ExecOptions options;
      options.onStdout = [](std::string_view) { return true; };
      again.sandbox.get(sandbox).exec("for i in 1 2 3 4 5 6 7 8; do echo line $i; done", options);
    });
    checkCase(c, exec, bench.count("POST", "/v1/sandboxes/" + sandbox + "/exec/stream"));
  }
}

TEST_CASE("fault matrix: a hung server is cut off by the request timeout, then retried") {
  Bench bench;
  const std::string id = runningSandbox(bench.rt()).id;
  bench.clearLog();
  CallOptions quick;
  quick.timeout = milliseconds(300);
  RunTools faulted = bench.faulted("delayMs=3000").with(quick);
  const auto seen = observe([&] { faulted.sandbox.get(id).refresh(); });
  checkCase({"delayMs=3000", Outcome::Succeeds, 2}, seen,
            bench.countReaching("GET", "/v1/sandboxes/" + id, 2));

  // With no retries left the call ends with TimeoutError.
  CallOptions once = quick;
  once.maxRetries = 0;
  RunTools hung = bench.faulted("delayMs=3000").with(once);
  CHECK(observe([&] { hung.sandbox.get(id).refresh(); }).outcome == Outcome::Timeout);
}

TEST_CASE("fault matrix: the deadline covers every attempt and every Retry-After wait") {
  Bench bench;
  const std::string id = runningSandbox(bench.rt()).id;
  CallOptions bounded;
  bounded.deadline = milliseconds(1500);
  bounded.maxRetries = 50;
  RunTools faulted = bench.faulted("status=503;retryAfter=1;count=50").with(bounded);
  const auto start = std::chrono::steady_clock::now();
  const auto seen = observe([&] { faulted.sandbox.get(id).refresh(); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // It gives up by the deadline (with slack for a loaded machine), having
  // made only the attempts that fit, and says how many.
  CHECK(elapsed < std::chrono::seconds(6));
  CHECK((seen.outcome == Outcome::ServerError || seen.outcome == Outcome::Timeout));
  CHECK(seen.detail.find("attempt") != std::string::npos);
}

TEST_CASE(
    "fault matrix: Retry-After as seconds, as an HTTP date and X-RateLimit-Reset are honoured") {
  Bench bench;
  const std::string id = runningSandbox(bench.rt()).id;
  for (const std::string fault :
       {"status=429;retryAfter=1", "status=503;retryAfterDate=1", "status=429;rateLimitReset=1"}) {
    bench.clearLog();
    RunTools faulted = bench.faulted(fault);
    const auto seen = observe([&] { faulted.sandbox.get(id).refresh(); });
    checkCase({fault, Outcome::Succeeds, 2}, seen, bench.count("GET", "/v1/sandboxes/" + id));
    const auto logged = bench.requests("GET", "/v1/sandboxes/" + id);
    REQUIRE(logged.size() == 2);
  }
}

TEST_CASE("a redirect from the emulator never carries the credential to another port") {
  Bench bench;
  test::LocalServer listener;
  std::atomic<int> hits{0};
  std::string received;
  listener.server().Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits;
    for (const auto& [name, value] : req.headers)
      received += name + ": " + value + "\n";
    res.set_content("{}", "application/json");
  });
  const std::string id = runningSandbox(bench.rt()).id;
  RunTools faulted = bench.faulted("status=307;location=" + listener.url() + "/steal");
  const auto seen = observe([&] { faulted.sandbox.get(id).refresh(); });
  CHECK(seen.outcome == Outcome::Redirect);
  CHECK(hits == 0);
  CHECK(received.find(bench.env().apiKey()) == std::string::npos);
}
