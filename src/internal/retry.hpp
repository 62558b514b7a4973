#pragma once

// Pure pieces of the retry policy (docs/wire-contract.md §6.5): which outcomes are retried,
// how long to wait.

#include <chrono>
#include <optional>

#include "runtools/http.hpp"
#include "runtools/options.hpp"

namespace runtools::internal {

/// 408, 429, 502, 503, 504.
bool isRetryableStatus(int status) noexcept;

/// GET, HEAD, PUT, DELETE, OPTIONS.
bool isIdempotentMethod(std::string_view method) noexcept;

/// The wait the server asked for: `retry-after-ms`, then `Retry-After`
/// (delta-seconds or an HTTP date), then `X-RateLimit-Reset` (Unix seconds,
/// only for 429). Never negative.
std::optional<std::chrono::milliseconds> serverRetryAfter(
    int status, const HttpHeaders& headers, std::chrono::system_clock::time_point now);

/// Exponential backoff for retry number `attempt` (0 = first retry):
/// min(maxDelay, initialDelay * 2^attempt), scaled by (1 - jitter * unit)
/// where `unit` is uniform in [0, 1): full jitter when `jitter` is 1.
std::chrono::milliseconds backoffDelay(int attempt, const RetryPolicy& policy, double unit);

/// Parses an IMF-fixdate / RFC 850 / asctime HTTP date.
std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text);

}  // namespace runtools::internal
