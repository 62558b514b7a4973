// Every call class (GET, naturally idempotent POST, keyed POST, unkeyed POST,
// upload, download, stream) through every fault the emulator injects
// (/_emu/faults and the X-Emu-Fault header): the call either is retried and
// succeeds, or raises the right typed error within its deadline, and the
// emulator's request log shows no duplicate side effect. Streams cut in ways
// the emulator cannot inject (a short Content-Length, a reset) are served by
// a canned loopback peer.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "emulator_env.hpp"
#include "local_server.hpp"
#include "runtools/errors.hpp"
#include "stalling_routes.hpp"

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
  Stream,           // StreamError (a stream cut short)
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
    case Outcome::Stream:
      return "StreamError";
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
    seen = {Outcome::Stream, e.what(), 0};
  } catch (const TransportError& e) {
    seen = {Outcome::Transport, e.what(), 0};
  }
  return seen;
}

// Each call class runs in both forms: blocking, and through its non-blocking
// form on the asynchronous engine, with the same expected outcomes.
enum class Form { Blocking, Async };

const char* name(Form form) {
  return form == Form::Blocking ? "blocking" : "async";
}

bool matches(Outcome expected, const Observed& seen) {
  return expected == seen.outcome;
}

// Runs `call`, which must throw exactly an E (not a subclass); returns what
// it threw.
template <typename E>
E thrown(const std::function<void()>& call) {
  std::optional<E> caught;
  bool exact = false;
  const auto capture = [&] {
    try {
      call();
    } catch (const E& e) {
      caught = e;
      exact = typeid(e) == typeid(E);
      throw;
    }
  };
  REQUIRE_THROWS_AS(capture(), E);
  REQUIRE(caught.has_value());
  CHECK(exact);
  return *caught;
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
  const Form form = GENERATE(Form::Blocking, Form::Async);
  INFO("form: " << name(form));
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
    const auto seen = observe([&] {
      const auto sandbox = faulted.sandbox.get(id);
      got = form == Form::Async ? sandbox.refreshAsync().get().id : sandbox.refresh().id;
    });
    checkCase(c, seen, bench.count("GET", path));
    if (seen.outcome == Outcome::Succeeds) CHECK(got == id);
  }
}

TEST_CASE("fault matrix: a keyed POST create is retried and creates exactly one sandbox") {
  const Form form = GENERATE(Form::Blocking, Form::Async);
  INFO("form: " << name(form));
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
    const auto seen = observe([&] {
      created = form == Form::Async ? faulted.sandbox.createAsync().get().id()
                                    : faulted.sandbox.create().id();
    });
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
  const Form form = GENERATE(Form::Blocking, Form::Async);
  INFO("form: " << name(form));
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
    const auto seen = observe([&] {
      if (form == Form::Async) {
        faulted.sandbox.createAsync().get();
      } else {
        faulted.sandbox.create();
      }
    });
    checkCase(c, seen, bench.count("POST", "/v1/sandboxes"));
    CHECK(bench.requests("POST", "/v1/sandboxes").front().at("idempotencyKey").is_null());
    INFO("fault " << c.fault);
    CHECK(bench.sandboxCount() == before + (c.fault == "action=reset-mid-body" ? 1 : 0));
  }

  // pause is naturally idempotent: retried without a key.
  const std::string id = runningSandbox(bench.rt()).id;
  bench.clearLog();
  RunTools faulted = bench.faulted("status=503;count=2", false);
  const auto seen = observe([&] {
    const auto sandbox = faulted.sandbox.get(id);
    form == Form::Async ? sandbox.pauseAsync().get() : sandbox.pause();
  });
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

namespace {

// A streamed call as the tests drive it, and what its callbacks saw.
struct Seen {
  std::size_t events = 0;
  std::string text;  // run: text deltas; exec: stdout
  std::string stderrText;
};

const char kLongPrompt[] = "a reply long enough to be cut in the middle of its stream";
const char kCommand[] = "for i in 1 2 3 4 5 6 7 8; do echo line $i; done";

void streamRun(RunTools& rt, Seen& seen, const RunOptions& options = {},
               Form form = Form::Blocking) {
  const RunEventHandler onEvent = [&](const RunEvent& event) {
    ++seen.events;
    seen.text += event.textDelta();
    return true;
  };
  if (form == Form::Async) {
    rt.agent.runAsync("echo", kLongPrompt, onEvent, options).get();
  } else {
    rt.agent.run("echo", kLongPrompt, onEvent, options);
  }
}

void streamExec(RunTools& rt, const std::string& sandbox, Seen& seen,
                const std::string& command = kCommand, Form form = Form::Blocking) {
  ExecOptions options;
  options.onStdout = [&](std::string_view text) {
    ++seen.events;
    seen.text += text;
    return true;
  };
  options.onStderr = [&](std::string_view text) {
    ++seen.events;
    seen.stderrText += text;
    return true;
  };
  if (form == Form::Async) {
    rt.sandbox.get(sandbox).execAsync(command, options).get();
  } else {
    rt.sandbox.get(sandbox).exec(command, options);
  }
}

// The two streams of the SDK against one emulator: an agent run and a
// streamed exec.
struct StreamBench {
  Bench bench;
  std::string sandbox;

  StreamBench() {
    AgentDefinition agent;
    agent.slug = "echo";
    agent.executionMode = "managed";
    bench.rt().agent.upsert(agent);
    sandbox = runningSandbox(bench.rt()).id;
  }
  std::string execPath() const { return "/v1/sandboxes/" + sandbox + "/exec/stream"; }
};

}  // namespace

TEST_CASE("fault matrix: a stream cut after it began is a StreamError whatever the cut",
          "[streams]") {
  const Form form = GENERATE(Form::Blocking, Form::Async);
  INFO("form: " << name(form));
  StreamBench s;
  // reset-mid-body and truncate cut the chunked encoding after the first
  // chunk; malformed-json and empty replace the stream's 2xx body with one
  // that holds no event.
  for (const std::string fault :
       {"action=reset-mid-body", "action=truncate", "action=malformed-json", "action=empty"}) {
    const bool cut = fault == "action=reset-mid-body" || fault == "action=truncate";
    {
      INFO("run stream, fault " << fault);
      s.bench.clearLog();
      RunTools faulted = s.bench.faulted(fault);
      Seen seen;
      const auto e = thrown<StreamError>([&] { streamRun(faulted, seen, {}, form); });
      CHECK(s.bench.count("POST", "/v1/run") == 1);  // a stream is never repeated
      // The error carries exactly what the callback was handed.
      CHECK(e.eventsReceived() == seen.events);
      CHECK(e.partialText() == seen.text);
      CHECK(e.partialStdout().empty());
      const std::string message = e.what();
      CHECK(message.find("run stream of agent \"echo\"") != std::string::npos);
      CHECK(message.find(cut ? "broke off before its run_completed or error event"
                             : "ended before its run_completed or error event") !=
            std::string::npos);
      CHECK(message.find(s.bench.env().apiKey()) == std::string::npos);
      if (!cut) CHECK(e.eventsReceived() == 0);
    }
    {
      INFO("exec stream, fault " << fault);
      s.bench.clearLog();
      RunTools faulted = s.bench.faulted(fault);
      Seen seen;
      const auto e =
          thrown<StreamError>([&] { streamExec(faulted, s.sandbox, seen, kCommand, form); });
      CHECK(s.bench.count("POST", s.execPath()) == 1);
      CHECK(e.eventsReceived() == seen.events);
      CHECK(e.partialStdout() == seen.text);
      CHECK(e.partialStderr() == seen.stderrText);
      CHECK(e.partialText().empty());
      const std::string message = e.what();
      CHECK(message.find("before the command's exit") != std::string::npos);
      CHECK(message.find(kCommand) == std::string::npos);  // the command stays out
      CHECK(message.find(s.bench.env().apiKey()) == std::string::npos);
      if (cut) {
        // The first chunk, the command's first output, got through.
        const std::string whole =
            "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n";
        CHECK(e.eventsReceived() >= 1);
        CHECK(e.partialStdout().rfind("line 1\n", 0) == 0);
        CHECK(whole.rfind(e.partialStdout(), 0) == 0);  // a prefix of the output
      } else {
        CHECK(e.eventsReceived() == 0);
        CHECK(e.partialStdout().empty());
      }
    }
  }
}

TEST_CASE("fault matrix: a stream that never began keeps the type of its failure", "[streams]") {
  StreamBench s;
  const std::vector<Case> cases = {
      {"status=503", Outcome::ServerError, 1},
      {"status=429", Outcome::RateLimited, 1},
      {"action=html", Outcome::ServerError, 1},
      {"action=reset-before", Outcome::Transport, 1},  // reset before any answer
  };
  for (const auto& c : cases) {
    s.bench.clearLog();
    RunTools faulted = s.bench.faulted(c.fault);
    Seen seen;
    // (The call runs before the log is read: arguments are evaluated in any order.)
    const auto run = observe([&] { streamRun(faulted, seen); });
    checkCase(c, run, s.bench.count("POST", "/v1/run"));
    s.bench.clearLog();
    RunTools again = s.bench.faulted(c.fault);
    const auto exec = observe([&] { streamExec(again, s.sandbox, seen); });
    checkCase(c, exec, s.bench.count("POST", s.execPath()));
    CHECK(seen.events == 0);
  }

  // Nothing listens: the connection is refused.
  ClientOptions refused = s.bench.options(false);
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    ::close(fd);
    refused.apiUrl = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  refused.maxRetries = 0;
  RunTools nowhere(refused);
  Seen seen;
  CHECK(thrown<TransportError>([&] { streamRun(nowhere, seen); }).kind() ==
        TransportError::Kind::ConnectionFailed);
  CHECK(thrown<TransportError>([&] { streamExec(nowhere, s.sandbox, seen); }).kind() ==
        TransportError::Kind::ConnectionFailed);
}

TEST_CASE("fault matrix: timeouts and cancellation keep their types before or mid-stream",
          "[streams]") {
  StreamBench s;
  // A server that holds its answer back: the run's idle timeout, the exec
  // call's deadline.
  RunOptions quiet;
  quiet.idleTimeout = milliseconds(300);
  Seen seen;
  RunTools held = s.bench.faulted("delayMs=3000");
  thrown<TimeoutError>([&] { streamRun(held, seen, quiet); });
  CallOptions bounded;
  bounded.deadline = milliseconds(500);
  RunTools heldExec = s.bench.faulted("delayMs=3000").with(bounded);
  thrown<TimeoutError>([&] { streamExec(heldExec, s.sandbox, seen); });

  // A command that goes quiet after its first line runs into the deadline
  // mid-stream.
  Seen midway;
  RunTools boundedRt = s.bench.rt().with(bounded);
  thrown<TimeoutError>([&] { streamExec(boundedRt, s.sandbox, midway, "echo first; sleep 5"); });
  CHECK(midway.text == "first\n");

  // Cancelled from the callback once the stream is flowing.
  CancellationToken token;
  RunOptions cancellable;
  cancellable.cancellation = token;
  thrown<CancelledError>([&] {
    s.bench.rt().agent.run(
        "echo", kLongPrompt,
        [&](const RunEvent&) {
          token.cancel();
          return true;
        },
        cancellable);
  });
  CancellationToken execToken;
  ExecOptions options;
  options.cancellation = execToken;
  options.onStdout = [&](std::string_view) {
    execToken.cancel();
    return true;
  };
  thrown<CancelledError>(
      [&] { s.bench.rt().sandbox.get(s.sandbox).exec("echo first; sleep 5", options); });
}

namespace {

// A loopback peer that answers every request with the same raw bytes (a
// status line, headers and part of a body), then closes the connection:
// gracefully, or with a reset (RST).
class CannedPeer {
 public:
  enum class Close { Graceful, Reset };

  CannedPeer(std::string reply, Close close) : reply_(std::move(reply)), close_(close) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t length = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedPeer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  CannedPeer(const CannedPeer&) = delete;
  CannedPeer& operator=(const CannedPeer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  // Reads one request: headers and a Content-Length body.
  static bool readRequest(int fd) {
    std::string data;
    char buffer[4096];
    std::size_t headerEnd;
    while ((headerEnd = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    std::size_t length = 0;
    const auto at = data.find("Content-Length: ");
    if (at != std::string::npos && at < headerEnd) length = std::stoul(data.substr(at + 16));
    while (data.size() < headerEnd + 4 + length) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }

  void serve() {
    while (!stop_) {
      pollfd waiting{listener_, POLLIN, 0};
      if (::poll(&waiting, 1, 20) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      if (readRequest(fd)) {
        ++requests_;
        ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
        // Lets the client read what was sent before the connection goes (a
        // reset may discard data the peer has not read yet).
        std::this_thread::sleep_for(milliseconds(150));
        if (close_ == Close::Reset) {
          const linger now{1, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
        } else {
          ::shutdown(fd, SHUT_WR);
        }
      }
      ::close(fd);
    }
  }

  std::string reply_;
  Close close_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string sseFrame(const std::string& type, const json& data) {
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

std::string chunk(const std::string& bytes) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", bytes.size());
  return std::string(size) + "\r\n" + bytes + "\r\n";
}

const char kStreamHead[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n";

// The events sent in a chunked body whose end never comes.
std::string chunkedCut(const std::string& events) {
  return std::string(kStreamHead) + "Transfer-Encoding: chunked\r\n\r\n" + chunk(events);
}

// The events sent in a body shorter than its Content-Length.
std::string shortBody(const std::string& events) {
  return std::string(kStreamHead) + "Content-Length: " + std::to_string(events.size() + 4096) +
         "\r\n\r\n" + events;
}

ClientOptions cannedOptions(const std::string& url) {
  ClientOptions options;
  options.apiKey = "rt_test_CannedCannedCannedCanned0000";
  options.apiUrl = url;
  options.maxRetries = 0;
  options.timeout = milliseconds(5000);
  return options;
}

const std::string kRunEvents =
    sseFrame(
        "run_started",
        {{"type", "run_started"}, {"runId", "run_1"}, {"threadId", "thr_1"}, {"sequence", 1}}) +
    sseFrame("assistant_message_delta", {{"delta", "Hel"}, {"runId", "run_1"}, {"sequence", 2}}) +
    sseFrame("assistant_message_delta", {{"delta", "lo"}, {"runId", "run_1"}, {"sequence", 3}}) +
    "event: assistant_message_delta\ndata: {\"delta\": \"cut";  // an event cut in the middle
const std::string kExecEvents = sseFrame("stdout", {{"data", "out 1\n"}}) +
                                sseFrame("stderr", {{"data", "err 1\n"}}) +
                                sseFrame("stdout", {{"data", "out 2\n"}}) + "event: stdout\nda";

}  // namespace

TEST_CASE("a stream cut by a short body or a reset is a StreamError carrying what arrived",
          "[streams]") {
  struct Cut {
    const char* name;
    std::string (*reply)(const std::string&);
    CannedPeer::Close close;
  };
  const std::vector<Cut> cuts = {
      {"chunked encoding cut, then closed", chunkedCut, CannedPeer::Close::Graceful},
      {"chunked encoding cut, then reset", chunkedCut, CannedPeer::Close::Reset},
      {"short of its Content-Length, then closed", shortBody, CannedPeer::Close::Graceful},
      {"short of its Content-Length, then reset", shortBody, CannedPeer::Close::Reset},
  };
  for (const auto& cut : cuts) {
    INFO(cut.name);
    {
      CannedPeer peer(cut.reply(kRunEvents), cut.close);
      RunTools rt(cannedOptions(peer.url()));
      Seen seen;
      const auto e = thrown<StreamError>([&] {
        rt.agent.run("echo", "hi", [&](const RunEvent& event) {
          ++seen.events;
          seen.text += event.textDelta();
          return true;
        });
      });
      CHECK(peer.requests() == 1);
      CHECK(e.eventsReceived() == 3);  // the half event is not counted
      CHECK(seen.events == 3);
      CHECK(e.partialText() == "Hello");
      CHECK(e.received().runId == "run_1");
      CHECK(e.received().threadId == "thr_1");
      CHECK(e.received().lastSequence == std::optional<std::int64_t>(3));
      // The message keeps the transport's description of the break.
      const std::string message = e.what();
      const std::string lead =
          "broke off before its run_completed or error event (3 events "
          "received): ";
      const auto at = message.find(lead);
      REQUIRE(at != std::string::npos);
      CHECK(message.size() > at + lead.size());
      CHECK(message.find("rt_test_Canned") == std::string::npos);
    }
    {
      CannedPeer peer(cut.reply(kExecEvents), cut.close);
      RunTools rt(cannedOptions(peer.url()));
      Seen seen;
      const auto e = thrown<StreamError>([&] { streamExec(rt, "sbx", seen, "make"); });
      CHECK(e.eventsReceived() == 3);
      CHECK(e.partialStdout() == "out 1\nout 2\n");
      CHECK(e.partialStderr() == "err 1\n");
      CHECK(e.partialText().empty());
      CHECK_FALSE(e.received().lastSequence.has_value());
      CHECK(std::string(e.what()).find("before the command's exit") != std::string::npos);
    }
  }
}

TEST_CASE("a stream whose headers arrived and nothing after them is a StreamError", "[streams]") {
  for (const auto close : {CannedPeer::Close::Graceful, CannedPeer::Close::Reset}) {
    CannedPeer peer(shortBody(""), close);
    RunTools rt(cannedOptions(peer.url()));
    Seen seen;
    const auto run = thrown<StreamError>([&] { streamRun(rt, seen); });
    CHECK(run.eventsReceived() == 0);
    const auto exec = thrown<StreamError>([&] { streamExec(rt, "sbx", seen, "make"); });
    CHECK(exec.eventsReceived() == 0);
    CHECK(seen.events == 0);
  }
}

TEST_CASE(
    "a reset before the status line is a TransportError and a cut after the final frame no "
    "error",
    "[streams]") {
  {
    CannedPeer peer("", CannedPeer::Close::Reset);
    RunTools rt(cannedOptions(peer.url()));
    Seen seen;
    thrown<TransportError>([&] { streamRun(rt, seen); });
    thrown<TransportError>([&] { streamExec(rt, "sbx", seen, "make"); });
    CHECK(seen.events == 0);
  }
  // The final frame arrived: the result is complete, however the body ends.
  const std::string run =
      kRunEvents.substr(0, kRunEvents.rfind("event:")) +
      sseFrame("run_completed", {{"status", "completed"}, {"result", "Hello"}, {"sequence", 4}});
  const std::string exec = sseFrame("stdout", {{"data", "out 1\n"}}) +
                           sseFrame("exit", {{"exitCode", 0}, {"durationMs", 5}});
  for (const auto close : {CannedPeer::Close::Graceful, CannedPeer::Close::Reset}) {
    {
      CannedPeer peer(chunkedCut(run), close);
      RunTools rt(cannedOptions(peer.url()));
      const auto result = rt.agent.stream("echo", "hi");
      CHECK(result.completed());
      CHECK(result.result == "Hello");
      CHECK(result.runId == "run_1");
    }
    {
      CannedPeer peer(shortBody(exec), close);
      RunTools rt(cannedOptions(peer.url()));
      ExecOptions options;
      options.onStdout = [](std::string_view) { return true; };
      const auto result = rt.sandbox.get("sbx").exec("make", options);
      CHECK(result.exitCode == 0);
      CHECK(result.stdoutText == "out 1\n");
    }
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
  bounded.maxRetries = 20;  // the cap: the deadline, not the count, must end it
  RunTools faulted = bench.faulted("status=503;retryAfter=1;count=30").with(bounded);
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

namespace {

// Bytes already under the download's target name, with a NUL and a non-UTF-8
// byte so that "untouched" means byte for byte.
const std::string kOriginal("original contents\0\xff\n", 20);

// A fresh directory holding one file, `target.bin`, with kOriginal in it.
class DownloadDir {
 public:
  DownloadDir() {
    static std::atomic<int> made{0};
    path_ = fs::temp_directory_path() /
            ("rt-download-" + std::to_string(::getpid()) + "-" + std::to_string(++made));
    fs::remove_all(path_);
    fs::create_directories(path_);
    std::ofstream(target(), std::ios::binary) << kOriginal;
  }
  ~DownloadDir() { fs::remove_all(path_); }
  DownloadDir(const DownloadDir&) = delete;
  DownloadDir& operator=(const DownloadDir&) = delete;

  fs::path target() const { return path_ / "target.bin"; }

  // Nothing beside the target (no `.rtpart-*` temporary), and the target as
  // it was.
  void checkUntouched() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_))
      names.push_back(entry.path().filename().string());
    CHECK(names == std::vector<std::string>{"target.bin"});
    std::ifstream in(target(), std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == kOriginal);
  }

 private:
  fs::path path_;
};

// A transport that keeps every request it sent, and with it the download's
// sink, alive after the call (as a recording or queueing transport may).
class KeepingTransport : public Transport {
 public:
  HttpResponse send(const HttpRequest& request) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      kept_.push_back(request);
    }
    return inner_->send(request);
  }
  std::size_t kept() {
    std::lock_guard<std::mutex> lock(mutex_);
    return kept_.size();
  }

 private:
  std::shared_ptr<Transport> inner_ = makeCurlTransport();
  std::mutex mutex_;
  std::vector<HttpRequest> kept_;
};

}  // namespace

TEST_CASE("a failed downloadTo leaves no temporary file and never touches an existing one",
          "[downloads]") {
  Bench bench;
  CreateWorkspaceOptions create;
  create.name = "downloads";
  const std::string ws = bench.rt().workspace.create(create).id;
  const std::string direct = "/v1/workspaces/" + ws + "/direct";
  bench.rt().workspace.files(ws).upload("/source.bin", std::string(3 * 1024 * 1024, 's'));

  using Raises = std::function<void(const std::function<void()>&)>;
  const Raises transport = [](const std::function<void()>& call) { thrown<TransportError>(call); };
  const Raises server = [](const std::function<void()>& call) { thrown<ServerError>(call); };
  struct Ending {
    std::string fault;
    Raises raises;
    int requests;
  };
  const std::vector<Ending> endings = {
      // Every attempt cut mid-body after writing part of the file, so each
      // retry starts the temporary file over.
      {"action=reset-mid-body;count=9", transport, 4},
      {"action=truncate;count=9", transport, 4},
      {"action=reset-before;count=9", transport, 4},
      {"status=503;count=9", server, 4},
      {"status=500", server, 1},
      {"status=404", [](const std::function<void()>& call) { thrown<NotFoundError>(call); }, 1},
  };
  for (const auto& ending : endings) {
    INFO("fault " << ending.fault);
    DownloadDir dir;
    bench.clearLog();
    RunTools faulted = bench.faulted(ending.fault);
    ending.raises(
        [&] { faulted.workspace.files(ws).downloadTo("/source.bin", dir.target().string()); });
    CHECK(bench.count("GET", direct) == ending.requests);
    dir.checkUntouched();
  }

  {
    INFO("a file that does not exist");
    DownloadDir dir;
    thrown<NotFoundError>(
        [&] { bench.rt().workspace.files(ws).downloadTo("/missing.bin", dir.target().string()); });
    dir.checkUntouched();
  }
  {
    INFO("the call's deadline passes while the server holds its answer back");
    DownloadDir dir;
    CallOptions bounded;
    bounded.deadline = milliseconds(500);
    RunTools held = bench.faulted("delayMs=3000;count=9").with(bounded);
    thrown<TimeoutError>(
        [&] { held.workspace.files(ws).downloadTo("/source.bin", dir.target().string()); });
    dir.checkUntouched();
  }
  {
    INFO("the transport still holds the request, and its sink, after the call");
    auto keeping = std::make_shared<KeepingTransport>();
    ClientOptions options = bench.options(true);
    options.transport = keeping;
    for (const std::string fault : {"action=reset-mid-body;count=9", "status=500"}) {
      INFO("fault " << fault);
      DownloadDir dir;
      CallOptions call;
      call.headers.set("X-Emu-Fault", fault + ";key=keeping-" + fault);
      RunTools rt = RunTools(options).with(call);
      CHECK_THROWS(rt.workspace.files(ws).downloadTo("/source.bin", dir.target().string()));
      CHECK(keeping->kept() > 0);
      dir.checkUntouched();  // while the transport still keeps the sink
    }
  }
}

TEST_CASE("a downloadTo ended mid-body by its deadline or a cancellation leaves nothing behind",
          "[downloads]") {
  test::LocalServer server;
  std::atomic<std::size_t> sent{0};
  test::serveEndlessSlowDownload(server.server(), sent);
  ClientOptions options = cannedOptions(server.url());
  options.storageUrl = server.url();
  options.maxRetries = 1;

  {
    INFO("the deadline passes mid-body");
    DownloadDir dir;
    CallOptions bounded;
    bounded.deadline = milliseconds(600);
    RunTools rt = RunTools(options).with(bounded);
    thrown<TimeoutError>(
        [&] { rt.workspace.files("ws").downloadTo("/big.bin", dir.target().string()); });
    CHECK(sent > 0);
    dir.checkUntouched();
  }
  {
    INFO("cancelled mid-body");
    DownloadDir dir;
    sent = 0;
    CancellationToken token;
    CallOptions call;
    call.cancellation = token;
    RunTools rt = RunTools(options).with(call);
    struct Canceller {
      std::thread thread;
      ~Canceller() { thread.join(); }
    } canceller{std::thread([&] {
      const auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (sent < 512 * 1024 && std::chrono::steady_clock::now() < giveUp)
        std::this_thread::sleep_for(milliseconds(5));
      token.cancel();
    })};
    thrown<CancelledError>(
        [&] { rt.workspace.files("ws").downloadTo("/big.bin", dir.target().string()); });
    CHECK(sent >= 512 * 1024);
    dir.checkUntouched();
  }
}
