// Fixed-window (per Unix minute) request counter per credential, feeding the
// X-RateLimit-* headers and, when a limit is configured, 429 rate_limited.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "util/time_util.hpp"

namespace rtemu {

struct RateDecision {
  bool allowed = true;
  int limit = 0;
  int remaining = 0;
  std::int64_t resetUnixSeconds = 0;  // start of the next minute
  int retryAfterSeconds = 0;          // when !allowed
};

class RateLimiter {
 public:
  // rpm <= 0: never refuse; the headers then report a nominal limit of 1000.
  RateLimiter(int rpm, const Clock& clock);

  // Counts one request for `bucket` (a credential or a client address) and decides.
  RateDecision consume(const std::string& bucket);
  // The current numbers for `bucket` without counting a request.
  RateDecision peek(const std::string& bucket);

 private:
  struct Window {
    std::int64_t minute = 0;
    int used = 0;
  };
  RateDecision decide(const Window& window, std::int64_t nowSeconds, bool counted) const;
  void pruneLocked(std::int64_t minute);

  const int rpm_;
  const Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace rtemu
