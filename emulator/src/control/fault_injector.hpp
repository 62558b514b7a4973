// Fault injection (docs/wire-contract.md §8.2): scheduled faults (POST /_emu/faults) and
// per-request faults (the X-Emu-Fault header, scoped by a caller-chosen key), what each fault
// answers, and the /_emu/faults routes. The HTTP layer asks take() once per request and applies the
// result on the wire; nothing here knows about sockets.
//
// Two families, so that a client can tell "failed before the server acted" from "the server
// acted but the answer was lost":
//   before the handler (the route never runs): a status alone (JSON error envelope, or a
//     redirect for 3xx), "html" (an HTML error page), "reset-before" (the connection is closed
//     without any answer);
//   after the handler (the route runs, then its answer is damaged): "reset-mid-body",
//     "truncate", "malformed-json", "empty".
// `delayMs` sleeps before either; alone, it delays a normal answer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/router.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

enum class FaultAction {
  kNone,           // `status` (and/or `delayMs`) only
  kResetBefore,    // close the connection without answering; the handler does not run
  kResetMidBody,   // the true status and headers, about half of the body, then close
  kTruncate,       // the true status and headers, all but the last byte, then close
  kMalformedJson,  // the true status, a body that is not valid JSON
  kHtml,           // an HTML error page (default status 502); the handler does not run
  kEmpty,          // status 200 with an empty body
};

enum class FaultStage {
  kDelayOnly,  // sleep, then serve normally
  kBefore,     // answer instead of running the handler
  kAfter,      // run the handler, then damage its answer
};

struct FaultSpec {
  std::optional<std::string> method;  // upper case; nullopt = any method
  std::string path;                   // exact, or a prefix ending in '*'; empty = any path
  std::int64_t count = 1;
  std::optional<int> status;
  std::optional<std::int64_t> retryAfter;      // seconds: "Retry-After: N"
  std::optional<std::int64_t> retryAfterDate;  // seconds: "Retry-After: <IMF-fixdate>"
  std::optional<std::int64_t> retryAfterMs;    // "retry-after-ms: N"
  std::optional<std::int64_t> rateLimitReset;  // seconds: X-RateLimit-Reset / Remaining: 0
  std::int64_t delayMs = 0;
  FaultAction action = FaultAction::kNone;
  std::optional<std::string> location;  // 3xx: the Location header

  FaultStage stage() const;
  bool matches(const std::string& method, const std::string& rawPath) const;
  Json toJson() const;
};

// A fault chosen for one request.
struct AppliedFault {
  std::string id;
  std::optional<std::string> key;  // X-Emu-Fault faults
  FaultSpec spec;

  Json toJson() const;  // for the request log
};

// An answer built by a fault (transport-independent).
struct FaultAnswer {
  int status = 0;
  std::string contentType;  // empty: no body
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Parses a POST /_emu/faults body; 400 validation_error naming the field.
FaultSpec parseFaultBody(const Json& body);
// Parses an X-Emu-Fault header value ("status=503;retryAfter=1;count=2;key=k"); `key` gets the
// required key. 400 validation_error (field "X-Emu-Fault") when malformed.
FaultSpec parseFaultHeader(const std::string& value, std::string& key);

class FaultInjector {
 public:
  explicit FaultInjector(const Clock& clock);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // Schedules `spec` for the next `spec.count` matching requests; returns its id.
  std::string add(FaultSpec spec);
  // Pending faults (scheduled ones, then header-scoped ones with a remaining count).
  Json list() const;
  // Forgets fault `id` (a header-scoped fault is marked used up, so that its key then serves
  // normally). False when unknown.
  bool remove(const std::string& id);
  // Forgets every fault and every header key; returns how many faults were pending.
  std::size_t clear();

  // The fault for one request, consuming one of its count: the request's X-Emu-Fault fault
  // when `faultHeader` is given and it matches, else the first matching scheduled fault.
  // Requests to /_emu/* and /health never get one (their X-Emu-Fault header is ignored).
  // Throws 400 validation_error when `faultHeader` is malformed.
  std::optional<AppliedFault> take(const std::string& method, const std::string& rawPath,
                                   const std::vector<std::string>& segments,
                                   const std::optional<std::string>& faultHeader);

  // Sleeps `spec.delayMs` (returns early once shutdown() ran).
  void delay(const FaultSpec& spec);
  // Ends every delay in progress and makes later ones return at once.
  void shutdown();

  // The retry hints of `spec` (Retry-After, retry-after-ms, X-RateLimit-Reset/-Remaining),
  // with times taken from the emulator's clock.
  std::vector<std::pair<std::string, std::string>> retryHeaders(const FaultSpec& spec) const;
  // The answer of a before-the-handler fault other than reset-before.
  FaultAnswer beforeAnswer(const FaultSpec& spec, const std::string& requestId) const;

  // True for paths that faults never apply to.
  static bool exempt(const std::vector<std::string>& segments);

 private:
  struct Entry {
    std::string id;
    std::optional<std::string> key;
    FaultSpec spec;
    std::int64_t remaining = 0;
  };
  static Json entryJson(const Entry& entry);

  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<Entry> scheduled_;                  // in the order they were added
  std::unordered_map<std::string, Entry> keyed_;  // by X-Emu-Fault key, kept once used up
  std::condition_variable wake_;
  bool stopping_ = false;
};

// POST/GET/DELETE /_emu/faults and DELETE /_emu/faults/{id}.
void addFaultRoutes(Router& router, FaultInjector& faults);

}  // namespace rtemu
