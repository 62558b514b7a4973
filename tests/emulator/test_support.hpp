// Helpers for the emulator's raw-HTTP tests: an in-process emulator with short lifecycle
// delays, a tiny JSON-over-HTTP client, and polling with generous deadlines (never fixed
// sleeps, never timing assertions).
#pragma once

#include <httplib.h>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rtemu/emulator.hpp"

namespace rtemu_test {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// Lifecycle delays short enough to observe transitions quickly.
rtemu::Config fastConfig();  // also: 5 ms between streamed deltas

struct Response {
  int status = 0;
  Json body;        // parsed JSON body (null when empty or not application/json)
  std::string raw;  // raw body
  httplib::Headers headers;

  std::string header(const std::string& name) const;
  const Json& data() const { return body.at("data"); }
  std::string errorCode() const;
};

enum class Auth { kApiKeyHeader, kBearer, kNone };

class Api {
 public:
  Api(const rtemu::Emulator& emu, std::string key, Auth auth = Auth::kApiKeyHeader);
  Api(int port, std::string key, Auth auth = Auth::kApiKeyHeader);

  Response call(const std::string& method, const std::string& target,
                const std::optional<Json>& body = std::nullopt, const httplib::Headers& extra = {});
  Response callRaw(const std::string& method, const std::string& target, const std::string& body,
                   const httplib::Headers& extra = {});

  Response get(const std::string& target) { return call("GET", target); }
  Response post(const std::string& target, const Json& body = Json::object()) {
    return call("POST", target, body);
  }

  // Creates a sandbox (201 expected) and returns its JSON.
  Json createSandbox(Json body = Json{{"template", "base-ubuntu"}});
  // Polls GET /v1/sandboxes/{id} until `status` (fails the test after `timeout`).
  Json waitForStatus(const std::string& id, const std::string& status,
                     std::chrono::milliseconds timeout = 15s);
  // Creates a sandbox and waits for it to be running.
  Json runningSandbox(Json body = Json{{"template", "base-ubuntu"}});
  // POST .../exec with {command, ...extra}; expects 200 and returns data.
  Json exec(const std::string& id, const std::string& command, Json extra = Json::object());
  // Creates a workspace (201 expected) and returns its id.
  std::string createWorkspace(const std::string& name, const std::string& slug = "");

  int port() const { return port_; }
  const std::string& key() const { return key_; }

 private:
  int port_;
  std::string key_;
  Auth auth_;
};

// POST .../exec from a helper thread: no Catch2 macros inside (they are not thread-safe).
// Returns the response's `data`, or null when the request failed.
Json execUnchecked(int port, const std::string& key, const std::string& id,
                   const std::string& command, Json extra = Json::object());

// One server-sent event.
struct SseFrame {
  std::string event;
  Json data;  // parsed `data:` (null when absent or not JSON)
};

struct SseResponse {
  int status = 0;
  httplib::Headers headers;
  std::string body;  // everything received
  std::vector<SseFrame> frames;
  std::vector<std::string> comments;  // ": ..." lines, without the colon and space
  bool disconnected = false;          // `onFrame` asked to hang up

  std::string header(const std::string& name) const;
  const SseFrame& last() const { return frames.back(); }
  std::vector<std::string> types() const;
};

// POSTs `body` to `target` and reads the answer as server-sent events while they arrive:
// `onFrame` runs for each complete frame (on the calling thread) and may return false to
// disconnect at once. Sends `Accept-Encoding: gzip` (events must still arrive one by one).
// No Catch2 macros inside: usable from helper threads.
SseResponse postSse(int port, const std::string& key, const std::string& target, const Json& body,
                    const std::function<bool(const SseFrame&)>& onFrame = nullptr);

// REQUIREs status `status` and error code `code` (with a message and a request id).
void expectError(const Response& r, int status, const std::string& code);

// Milliseconds since the epoch of an ISO-8601 UTC timestamp "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::int64_t parseIsoMs(const std::string& text);
// The (percent-decoded) value of query parameter `key` of `url`; empty when absent.
std::string queryParam(const std::string& url, const std::string& key);
// GETs an absolute "http://127.0.0.1:PORT/..." URL without credentials (a browser following a
// redirect); `extra` headers are sent as given.
Response getUrl(const std::string& url, const httplib::Headers& extra = {});
// Runs the whole OAuth redirect flow for `api`'s user (start -> authorize -> callback -> done)
// and returns the new connection's id.
std::string connectOAuth(Api& api, const std::string& provider, const std::string& scopes = "");

// Polls `condition` every 10 ms until it holds or `timeout` passes; returns the last result.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 15s);

// True when process `pid` no longer runs (gone, or a zombie nobody reaps).
bool processGone(int pid);

// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Sends `request` (raw bytes) on a new loopback connection and returns everything the server
// answers until it closes the connection, it stops sending for 10 s, or `stopAfter` returns
// true for what has arrived so far.
std::string rawExchange(int port, const std::string& request,
                        const std::function<bool(const std::string&)>& stopAfter = nullptr);

// What a raw connection received.
struct RawAnswer {
  std::string bytes;    // everything received
  bool closed = false;  // the server ended the connection (EOF or reset), not a timeout
  bool reset = false;   // ... with a reset (ECONNRESET)
};

enum class RawRead {
  kUntilClose,   // until the server ends the connection
  kUntilAnswer,  // until one complete answer arrived (by Content-Length or chunked framing),
                 // or the server ends the connection
  kHangUp,       // nothing: the connection is closed right after sending
};

// Sends `request` (raw bytes) on a new loopback connection, then reads as `read` says (giving up
// after 15 s without data).
RawAnswer rawRequest(int port, const std::string& request, RawRead read = RawRead::kUntilClose);

// An HTTP/1.1 answer split into its parts (headers keyed case-insensitively).
struct ParsedAnswer {
  int status = 0;  // 0 when there was no complete status line and header block
  httplib::Headers headers;
  std::string body;       // the bytes after the header block, as received (chunk framing kept)
  bool complete = false;  // the body is as long as its framing says
};
ParsedAnswer parseAnswer(const std::string& bytes);

// A child process with its stdout on a pipe (the runtools-emulator binary).
class Child {
 public:
  explicit Child(const std::vector<std::string>& args);
  ~Child();  // SIGKILL + reap when still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads one line from stdout (without '\n'); empty optional on EOF or after 30 s.
  std::optional<std::string> readLine();
  // Waits up to 30 s for the exit; returns the raw wait status, or -1 on timeout.
  int wait();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

}  // namespace rtemu_test
