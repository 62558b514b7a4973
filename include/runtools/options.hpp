#pragma once

/// @file
/// Options of the RunTools client.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "runtools/http.hpp"

namespace runtools {

/// How an API key is presented to the platform. Access tokens always travel
/// as `Authorization: Bearer`.
enum class AuthHeaderStyle {
  XApiKey,  ///< `X-API-Key: <key>` (the documented default)
  Bearer,   ///< `Authorization: Bearer <key>`
  Both,     ///< both headers
};

/// Backoff between automatic retries.
///
/// A retry waits `min(maxDelay, initialDelay * 2^attempt)` varied by
/// ±`jitter`, or the wait the server asked for (`Retry-After`,
/// `retry-after-ms`, `X-RateLimit-Reset` on a 429). A server-requested wait
/// longer than `maxRetryAfter` is not waited for: the error is raised instead.
struct RetryPolicy {
  std::chrono::milliseconds initialDelay{500};
  std::chrono::milliseconds maxDelay{8000};
  double jitter = 0.2;
  std::chrono::milliseconds maxRetryAfter{60000};
};

/// Construction options of RunTools. Every unset option falls back to its
/// environment variable, then to the public default:
///
/// | option        | environment variable      | default                       |
/// |---------------|---------------------------|-------------------------------|
/// | apiKey        | RUNTOOLS_API_KEY          | (one credential is required)  |
/// | accessToken   | RUNTOOLS_ACCESS_TOKEN     |                               |
/// | apiUrl        | RUNTOOLS_API_URL          | https://api.runtools.ai       |
/// | toolsUrl      | RUNTOOLS_TOOLS_URL        | https://tools.runtools.ai     |
/// | authUrl       | RUNTOOLS_AUTH_URL         | https://auth.runtools.ai      |
/// | storageUrl    | RUNTOOLS_STORAGE_URL      | https://storage.runtools.ai   |
/// | timeout       | RUNTOOLS_TIMEOUT_MS       | 60 s                          |
/// | maxRetries    | RUNTOOLS_MAX_RETRIES      | 2                             |
///
/// Base URLs are given without `/v1`. When both an API key and an access
/// token are configured, the API key is used.
struct ClientOptions {
  std::optional<std::string> apiKey;
  std::optional<std::string> accessToken;
  std::optional<std::string> apiUrl;
  std::optional<std::string> toolsUrl;
  std::optional<std::string> authUrl;
  std::optional<std::string> storageUrl;
  /// Per-request timeout (exec requests add the command's own timeout).
  std::optional<std::chrono::milliseconds> timeout;
  /// Automatic retries after the first attempt; 0 disables retries.
  std::optional<int> maxRetries;
  std::chrono::milliseconds connectTimeout{10000};
  RetryPolicy retryPolicy;
  /// Appended to the `User-Agent` header (e.g. "my-engine/2.1").
  std::string userAgentSuffix;
  AuthHeaderStyle authHeaderStyle = AuthHeaderStyle::XApiKey;
  /// The HTTP transport; a shared libcurl transport when null.
  std::shared_ptr<Transport> transport;
};

}  // namespace runtools
