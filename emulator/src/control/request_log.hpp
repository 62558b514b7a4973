// The request log (docs/wire-contract.md §8.2, GET /_emu/requests): the last requests the emulator
// answered, for assertions such as "exactly one POST /v1/sandboxes reached the server".
// Credentials never enter it: X-API-Key, Authorization, Proxy-Authorization and Cookie header
// values, and api_key/token/access_token query values, are replaced by "[redacted]" as each
// request is recorded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/router.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

struct RequestRecord {
  std::string requestId;
  std::string method;
  std::string path;           // raw (as received), before '?'
  std::string query;          // raw, after '?' (empty when none)
  std::optional<int> status;  // nullopt: no answer was sent (reset-before)
  Json fault;                 // the fault applied, or null
  std::optional<std::string> idempotencyKey;
  bool replayed = false;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
};

class RequestLog {
 public:
  RequestLog(const Clock& clock, std::size_t capacity = 2000);
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  // Records `record` (redacted and stamped with the emulator's clock), dropping the oldest
  // entry when full.
  void add(RequestRecord record);
  // Entries, oldest first, whose path matches `path` (exact, or a prefix ending in '*') and
  // whose method is `method` (case-insensitive); an empty filter matches everything.
  Json query(const std::string& path, const std::string& method) const;
  void clear();

  // True for the requests the log leaves out (those that read or clear it).
  static bool excluded(const std::vector<std::string>& segments);

 private:
  const Clock& clock_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Json> entries_;
};

// GET and DELETE /_emu/requests.
void addRequestLogRoutes(Router& router, RequestLog& log);

}  // namespace rtemu
