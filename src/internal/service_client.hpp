#pragma once

// One client per platform service (orchestrator, tools, auth, storage): base
// URL + /v1, credential header, User-Agent, JSON bodies, retries with
// backoff, envelope unwrap and error mapping. Resource clients build a path
// and a JSON body, call this, and map `data` to their models.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "internal/clock.hpp"
#include "internal/config.hpp"
#include "internal/engine.hpp"
#include "internal/envelope.hpp"
#include "internal/path.hpp"
#include "internal/redact.hpp"
#include "runtools/http.hpp"
#include "runtools/options.hpp"

namespace runtools::internal {

struct ApiRequest {
  std::string method = "GET";
  /// Encoded path below `/v1`, built with makePath().
  std::string path;
  Query query;
  std::optional<nlohmann::json> body;
  /// Overrides the client's request timeout.
  std::optional<std::chrono::milliseconds> timeout;
  /// Whether repeating the request is harmless; by default true for
  /// idempotent methods only.
  std::optional<bool> idempotent;
  /// A streamed body (instead of `body`), sent with `contentType`.
  std::shared_ptr<BodySource> bodySource;
  std::string contentType;
  /// Receives a 2xx body as it arrives; the response then has no envelope.
  std::shared_ptr<BodySink> bodySink;
  /// Keep a 2xx body as bytes in ApiResponse::body instead of parsing JSON.
  bool rawResponse = false;
  /// Abandons the call (and its retries) with CancelledError.
  std::optional<CancellationToken> cancellation;
  /// Fails the exchange after this long without data (streams); 0 = never.
  std::chrono::milliseconds idleTimeout{0};
  /// Extra request headers (`Accept` for streams, for instance).
  HttpHeaders headers;
  /// Secret values carried by the body, redacted from any error text.
  std::vector<std::string> secrets;
  /// Progress of the request body and of the response body.
  ProgressCallback onUploadProgress;
  ProgressCallback onDownloadProgress;
};

struct ApiResponse {
  int status = 0;
  HttpHeaders headers;
  Envelope envelope;
  /// The raw body, for ApiRequest::rawResponse.
  std::string body;

  const nlohmann::json& data() const noexcept { return envelope.data; }
  /// `data` when it is a JSON object (a resource); InvalidResponseError
  /// naming `what` otherwise (an empty 200, a proxy's stray answer).
  const nlohmann::json& object(const char* what) const;
};

/// The rate-limit figures shared by a client and its copies.
struct RateLimitState {
  std::mutex mutex;
  RateLimitInfo last;
};

struct ServiceSettings {
  /// Short service name used in messages ("api", "tools", "auth", "storage").
  std::string name;
  /// Base URL without `/v1`.
  std::string baseUrl;
  CredentialKind credentialKind = CredentialKind::ApiKey;
  std::string credential;
  AuthHeaderStyle authHeaderStyle = AuthHeaderStyle::XApiKey;
  std::string userAgent;
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds connectTimeout{10000};
  int maxRetries = 2;
  RetryPolicy retryPolicy;
  std::shared_ptr<const Clock> clock;
  /// Uniform random numbers in [0, 1) for jitter; a thread-safe default when empty.
  std::function<double()> random;
  Logger logger;
  LogLevel logLevel = LogLevel::Info;
  /// Extra headers of ClientOptions and CallOptions, already validated.
  HttpHeaders headers;
  /// Overrides set through RunTools::with().
  CallOptions callOptions;
  std::shared_ptr<RateLimitState> rateLimits;
  /// The client's asynchronous engine (owned by its RunTools).
  std::weak_ptr<Engine> engine;
};

struct CallState;

/// @par Thread safety
/// Immutable after construction; safe to share between threads.
class ServiceClient {
 public:
  ServiceClient(ServiceSettings settings, std::shared_ptr<Transport> transport);

  /// Sends the request, retrying transient failures, and returns the
  /// unwrapped 2xx response. Throws the typed errors of runtools/errors.hpp.
  ApiResponse call(const ApiRequest& request) const;

  ApiResponse send(std::string method, std::string path, Query query,
                   std::optional<nlohmann::json> body) const;
  ApiResponse get(std::string path, Query query = {}) const;
  ApiResponse post(std::string path, std::optional<nlohmann::json> body = std::nullopt) const;
  ApiResponse patch(std::string path, nlohmann::json body) const;
  ApiResponse put(std::string path, nlohmann::json body) const;
  ApiResponse del(std::string path, Query query = {}) const;

  const Clock& clock() const noexcept { return *settings_.clock; }
  std::chrono::milliseconds defaultTimeout() const noexcept {
    return settings_.callOptions.timeout.value_or(settings_.timeout);
  }
  /// The request's cancellation token, else the one of the call options.
  std::optional<CancellationToken> cancellation(const ApiRequest& request = {}) const;
  /// When a wait of `waitLimit` must end, also bounded by the call's deadline.
  Clock::TimePoint deadline(std::chrono::milliseconds waitLimit) const;
  /// Sleeps until `wake`; a cancelled token ends the sleep at once with
  /// CancelledError.
  void sleepUntilOrCancel(Clock::TimePoint wake,
                          const std::optional<CancellationToken>& token) const;
  /// The deadline of the call options, for messages.
  std::optional<std::chrono::milliseconds> callDeadline() const {
    return settings_.callOptions.deadline;
  }
  const std::string& baseUrl() const noexcept { return settings_.baseUrl; }
  const std::weak_ptr<Engine>& engine() const noexcept { return settings_.engine; }
  const Redactor& redactor() const noexcept { return redact_; }

  /// The HTTP request an ApiRequest becomes (exposed for tests).
  HttpRequest toHttpRequest(const ApiRequest& request) const;

  /// Sends a request to a URL outside the platform's services (a pre-signed
  /// upload URL): no credential header, no retry; an error status raises the
  /// typed ApiError.
  HttpResponse sendExternal(HttpRequest request) const;

 private:
  // The steps of call(), in the order they happen.
  CallState prepare(const ApiRequest& request) const;
  void startAttempt(CallState& call, int attempt) const;
  /// The response, or nothing when the attempt failed without one and a
  /// retry follows (its backoff already waited); throws when none follows.
  std::optional<HttpResponse> sendAttempt(CallState& call, int attempt) const;
  bool retryOnTransportFailure(CallState& call, int attempt, bool beforeSent) const;
  bool retryOnResponse(CallState& call, int attempt, const HttpResponse& response) const;
  /// Waits the backoff (or the server's hint); false when the deadline
  /// leaves no room for it.
  bool waitBeforeRetry(CallState& call, int attempt,
                       std::optional<std::chrono::milliseconds> hint) const;
  ApiResponse unwrap(HttpResponse response, const CallState& call) const;

  void log(LogRecord record) const;
  void recordRateLimit(const HttpHeaders& headers) const;

  ServiceSettings settings_;
  std::shared_ptr<Transport> transport_;
  Redactor redact_;
};

/// The `User-Agent` of the SDK: `runtools-cpp/<version> (<platform>) <suffix>`.
std::string defaultUserAgent(const std::string& suffix);

/// The URL with the values of secret-bearing query parameters (`api_key`,
/// `token`, `state`, `code`, `sig`, ...) replaced by `[REDACTED]`.
std::string redactUrl(const std::string& url);

}  // namespace runtools::internal
