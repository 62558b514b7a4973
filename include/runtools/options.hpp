#pragma once

/// @file
/// Options of the RunTools client.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "runtools/cancellation.hpp"
#include "runtools/export.h"
#include "runtools/http.hpp"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// How an API key is presented to the platform. Access tokens always travel
/// as `Authorization: Bearer`.
enum class AuthHeaderStyle {
  XApiKey,  ///< `X-API-Key: <key>` (the documented default)
  Bearer,   ///< `Authorization: Bearer <key>`
  Both,     ///< both headers
};

/// How failed requests are retried.
///
/// Retried: a connection that failed before anything was sent, and — for
/// requests safe to repeat — a dropped connection, a timeout, 408, 429, 502,
/// 503 and 504. Safe to repeat are GETs (downloads included), DELETEs, PUT
/// writes (not the PUTs that rename, move or copy files), the naturally
/// idempotent actions (pause, resume, install, secret upserts, ...), and
/// every POST that carries an `Idempotency-Key`: by default all the others,
/// uploads included. Never repeated: PATCH updates, streams (runs with a
/// callback, streamed exec), keyless POSTs, and the attachment upload to a
/// pre-signed URL (which is not retried even when its connection is
/// refused). README.md has the table, call by call.
///
/// A retry waits `min(maxDelay, initialDelay * 2^retry)` scaled down by a
/// random factor in `[1 - jitter, 1]` (full jitter by default), or the wait
/// the server asked for (`Retry-After` in seconds or as an HTTP date,
/// `retry-after-ms`, `X-RateLimit-Reset` on a 429). A server-requested wait
/// longer than `maxRetryAfter` is not waited for: the error is raised instead.
struct RetryPolicy {
  std::chrono::milliseconds initialDelay{500};
  std::chrono::milliseconds maxDelay{8000};
  /// 1 = full jitter, 0 = none.
  double jitter = 1.0;
  std::chrono::milliseconds maxRetryAfter{60000};
  /// Send a generated `Idempotency-Key` with every POST that is not
  /// naturally idempotent (reused on each attempt), which makes it safe to
  /// retry. Turn off for servers that ignore the header: such POSTs are then
  /// never retried after anything may have reached the server.
  bool idempotencyKeys = true;
};

/// Severity of a log record.
enum class LogLevel { Debug, Info, Warning, Error };

/// One exchange (or one retry decision) reported to ClientOptions::logger.
/// Credential headers and secret-bearing query parameters are redacted.
struct LogRecord {
  LogLevel level = LogLevel::Info;
  std::string message;
  std::string method;
  /// The URL with secret-bearing query parameters redacted.
  std::string url;
  /// 0 when no response arrived.
  int status = 0;
  std::chrono::milliseconds duration{0};
  std::string requestId;
  /// 1 for the first attempt.
  int attempt = 1;
  /// The request's headers, credentials redacted.
  HttpHeaders headers;
};

using Logger = std::function<void(const LogRecord&)>;

/// Overrides for the calls made through RunTools::with(): a per-call
/// timeout, an overall deadline, retries, an idempotency key, cancellation.
/// RunTools::with() validates them with the checks ClientOptions gets (a
/// positive timeout, 0..20 retries, a consistent retry policy, sendable
/// headers) and throws ConfigurationError for an invalid one.
struct CallOptions {
  /// Limit for each attempt (exec adds the command's own timeout).
  std::optional<std::chrono::milliseconds> timeout;
  /// Limit for the whole call: every attempt, every backoff and every wait
  /// (waitForReady, device-flow polling) ends by then with TimeoutError.
  std::optional<std::chrono::milliseconds> deadline;
  std::optional<int> maxRetries;
  std::optional<RetryPolicy> retryPolicy;
  /// The `Idempotency-Key` to send with POSTs (instead of a generated one).
  std::optional<std::string> idempotencyKey;
  /// Stops calls (and their waits and retries) with CancelledError.
  std::optional<CancellationToken> cancellation;
  /// Extra headers for these calls, added to (or replacing) the client's
  /// ClientOptions::headers. Same rules as those, checked by the same code:
  /// RunTools::with throws ConfigurationError for a header it cannot send.
  HttpHeaders headers;
};

/// The `X-RateLimit-*` figures of the last response that carried them.
struct RateLimitInfo {
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> remaining;
  /// When the window resets.
  std::optional<std::chrono::system_clock::time_point> reset;
};

/// Where asynchronous operations and their continuations run.
enum class CompletionMode {
  /// On the SDK's own I/O thread (one per client, started by the first
  /// asynchronous operation): for servers and tools.
  IoThread,
  /// On the thread that calls RunTools::poll(), inside that call: the
  /// game-loop mode, in which no callback ever runs on another thread.
  Poll,
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
///
/// Everything is validated by the RunTools constructor, which throws
/// ConfigurationError naming the option or variable: a base URL must be
/// http(s), have a host and a port in 1..65535, carry no user information,
/// query or fragment, and pass libcurl's own URL parser (so `http://[::1`
/// is refused up front rather than on the first request); `timeout` must
/// be positive, `maxRetries` within 0..20, `retryPolicy` consistent, and
/// `headers` sendable. The settings CallOptions shares with these
/// (`timeout`, `maxRetries`, `retryPolicy`, `headers`) go through the same
/// check in RunTools::with.
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
  /// Extra headers sent with every request (tracing ids, a gateway's
  /// routing header). Credentials (`X-API-Key`, `Authorization`), `Host`,
  /// `Content-Length`, `Content-Type`, `Transfer-Encoding` and
  /// `Idempotency-Key` (see CallOptions::idempotencyKey) are set by the SDK
  /// and cannot be given here; neither can an invalid name or a value with
  /// CR, LF or other control characters. Such headers make the RunTools
  /// constructor throw ConfigurationError — the same type RunTools::with
  /// throws for CallOptions::headers.
  HttpHeaders headers;
  /// Receives a record per exchange at `logLevel` or above (none when empty).
  Logger logger;
  LogLevel logLevel = LogLevel::Info;
  /// CA certificates for TLS verification (a PEM bundle file and/or a
  /// directory); the system's store when unset.
  std::optional<std::string> caBundlePath;
  std::optional<std::string> caDirectory;
  /// A proxy URL (`http://proxy:3128`); libcurl's proxy environment
  /// variables apply when unset.
  std::optional<std::string> proxy;
  /// Turns TLS certificate and host verification OFF. Only for local
  /// experiments against self-signed endpoints; never in production.
  bool insecureSkipTlsVerification = false;
  AuthHeaderStyle authHeaderStyle = AuthHeaderStyle::XApiKey;
  /// The HTTP transport; a shared libcurl transport when null.
  std::shared_ptr<Transport> transport;
  /// Where the asynchronous operations (the `...Async` methods,
  /// RunTools::async) run, their continuations and their callbacks included.
  CompletionMode completions = CompletionMode::IoThread;
};

}  // namespace runtools
