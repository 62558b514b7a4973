// runtools-emulator: a local stand-in for the RunTools cloud API, served over HTTP on
// loopback, with real command execution for sandboxes.
//
// Tests start it in-process on an ephemeral port:
//
//   rtemu::Emulator emu;            // fresh temp state dir, generated key
//   emu.start();                    // listening once this returns
//   client.setBaseUrl(emu.baseUrl()); client.setApiKey(emu.apiKey());
//
// It is an independent reading of docs/wire-contract.md and shares no code with the SDK.
//
// @par Thread safety
// All HTTP handling is internally synchronised. start() and stop() must not race each other;
// mintKey(), mintKeyFor(), advanceClock(), port(), baseUrl(), apiKey(), stateDir() and
// defaultOrgId() may be called from any thread once start() has returned.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rtemu {

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;                                // 0 = pick a free port
  std::string stateDir;                        // empty = fresh temp dir, removed on stop()
  std::string apiKey;                          // empty = generated "rt_test_" + 32 alnum
  std::chrono::milliseconds createDelay{300};  // creating -> running
  std::chrono::milliseconds pauseDelay{200};   // pausing -> paused
  std::chrono::milliseconds resumeDelay{200};  // resuming -> running
  std::chrono::milliseconds streamDelay{20};   // between streamed agent-run deltas
  std::chrono::seconds deviceInterval{1};      // OAuth device flow: advertised poll interval
  // OAuth device flow: a pending attempt approves itself this long after it started, as if
  // the user had entered the code (unset = only POST /_emu/oauth/approve approves).
  std::optional<std::chrono::milliseconds> deviceAutoApprove;
  int rateLimitRpm = 0;  // 0 = no limit (headers still sent)
  bool quiet = true;     // no request logging on stderr
};

class Emulator {
 public:
  explicit Emulator(Config config = {});
  ~Emulator();  // calls stop()
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Binds and serves on a background thread; returns once connections are accepted. Sets
  // SIGPIPE to ignored when it is at its default disposition (a client hanging up must not
  // kill the process).
  // Throws std::runtime_error when the address cannot be bound or the state directory cannot
  // be created, std::logic_error when called twice.
  void start();
  // Idempotent: stops serving, kills every command still running (whole process groups) and
  // removes a temporary state directory.
  void stop();

  int port() const;
  std::string baseUrl() const;        // "http://127.0.0.1:PORT"
  const std::string& apiKey() const;  // key of the default organization
  const std::string& stateDir() const;

  // Mints an API key for organization `org` (a new organization when empty) with `scopes`
  // (empty = ["*"]) for the organization's default user (an admin); returns the key.
  std::string mintKey(const std::string& org = "", const std::vector<std::string>& scopes = {});
  // The same for user `user` of `org` (an existing or new user id; empty = the default user,
  // or a new user when `role` is "member") with `role` ("admin", "member", or empty = keep /
  // admin for a new user), like POST /_emu/keys. Throws when the combination is invalid.
  std::string mintKeyFor(const std::string& org, const std::string& user, const std::string& role,
                         const std::vector<std::string>& scopes = {});
  // Moves the emulator's clock forward (like POST /_emu/clock): every expiry and timestamp
  // follows it.
  void advanceClock(std::chrono::milliseconds by);
  std::string defaultOrgId() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtemu
