#include "internal/service_client.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <string_view>

#include "internal/random.hpp"
#include "internal/retry.hpp"
#include "runtools/errors.hpp"
#include "runtools/version.hpp"

namespace runtools::internal {
namespace {

double defaultRandom() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

const char* platformName() {
#if defined(_WIN32)
  return "windows";
#elif defined(__APPLE__)
  return "macos";
#elif defined(__ANDROID__)
  return "android";
#elif defined(__linux__)
  return "linux";
#elif defined(__FreeBSD__)
  return "freebsd";
#else
  return "unknown";
#endif
}

std::string attemptsNote(int attempts) {
  return attempts > 1 ? " (gave up after " + std::to_string(attempts) + " attempts)" : "";
}

}  // namespace

std::string defaultUserAgent(const std::string& suffix) {
  std::string agent = std::string("runtools-cpp/") + RUNTOOLS_VERSION_STRING + " (" +
                      platformName() + "; C++" + std::to_string(__cplusplus / 100 % 100) + ")";
  if (!suffix.empty()) agent += " " + suffix;
  return agent;
}

ServiceClient::ServiceClient(ServiceSettings settings, std::shared_ptr<Transport> transport)
    : settings_(std::move(settings)),
      transport_(std::move(transport)),
      redact_(std::vector<std::string>{settings_.credential}) {
  if (!settings_.clock) settings_.clock = systemClock();
  if (!settings_.random) settings_.random = defaultRandom;
  if (settings_.userAgent.empty()) settings_.userAgent = defaultUserAgent({});
}

const nlohmann::json& ApiResponse::object(const char* what) const {
  if (!envelope.data.is_object()) {
    throw InvalidResponseError(
        status,
        "HTTP " + std::to_string(status) + " response carries no " + what + " object (got " +
            (body.empty() && envelope.data.is_null() ? std::string("an empty body")
                                                     : std::string(envelope.data.type_name())) +
            ")");
  }
  return envelope.data;
}

HttpRequest ServiceClient::toHttpRequest(const ApiRequest& request) const {
  HttpRequest http;
  http.method = request.method;
  http.url = settings_.baseUrl + "/v1" + request.path;
  if (!request.query.empty()) http.url += "?" + encodeQuery(request.query);
  http.timeout = request.timeout.value_or(settings_.timeout);
  http.connectTimeout = settings_.connectTimeout;
  const bool rawBody = request.rawResponse || request.bodySink;
  http.headers.add("Accept", rawBody ? "*/*" : "application/json");
  http.headers.add("User-Agent", settings_.userAgent);
  for (const auto& [name, value] : settings_.headers)
    http.headers.set(name, value);
  for (const auto& [name, value] : request.headers)
    http.headers.set(name, value);
  http.bodySink = request.bodySink;
  http.cancellation = request.cancellation;
  http.idleTimeout = request.idleTimeout;
  http.onUploadProgress = request.onUploadProgress;
  http.onDownloadProgress = request.onDownloadProgress;
  if (settings_.credentialKind == CredentialKind::AccessToken) {
    http.headers.add("Authorization", "Bearer " + settings_.credential);
  } else {
    if (settings_.authHeaderStyle != AuthHeaderStyle::Bearer) {
      http.headers.add("X-API-Key", settings_.credential);
    }
    if (settings_.authHeaderStyle != AuthHeaderStyle::XApiKey) {
      http.headers.add("Authorization", "Bearer " + settings_.credential);
    }
  }
  if (request.bodySource) {
    http.bodySource = request.bodySource;
    http.headers.add("Content-Type", request.contentType.empty() ? "application/octet-stream"
                                                                 : request.contentType);
  } else if (request.body) {
    try {
      http.body = request.body->dump();
    } catch (const nlohmann::json::type_error&) {
      throw InvalidArgumentError("request body contains a string that is not valid UTF-8");
    }
    http.headers.add("Content-Type", "application/json");
  }
  return http;
}

namespace {

// Query parameters whose values are credentials or one-time secrets.
bool isSecretParameter(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "api_key",       "apikey", "key",       "token",       "access_token",
      "refresh_token", "state",  "code",      "secret",      "client_secret",
      "password",      "sig",    "signature", "attempttoken"};
  std::string lower(name);
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto candidate : kNames) {
    if (lower == candidate) return true;
  }
  return false;
}

}  // namespace

std::string redactUrl(const std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos) return url;
  std::string out = url.substr(0, query + 1);
  std::size_t start = query + 1;
  while (start <= url.size()) {
    const std::size_t end = std::min(url.find('&', start), url.size());
    const std::string pair = url.substr(start, end - start);
    const auto eq = pair.find('=');
    const std::string name = pair.substr(0, eq);
    if (start > query + 1) out += '&';
    out += (eq != std::string::npos && isSecretParameter(name)) ? name + "=[REDACTED]" : pair;
    start = end + 1;
  }
  return out;
}

void ServiceClient::log(LogRecord record) const {
  if (!settings_.logger || record.level < settings_.logLevel) return;
  record.url = redactUrl(record.url);
  for (const char* name : {"X-API-Key", "Authorization", "Cookie", "Proxy-Authorization"}) {
    if (record.headers.has(name)) record.headers.set(name, "[REDACTED]");
  }
  record.message = redact_(std::move(record.message));
  try {
    settings_.logger(record);
  } catch (...) {
    // A failing logger must not fail the call it reports on.
  }
}

void ServiceClient::recordRateLimit(const HttpHeaders& headers) const {
  if (!settings_.rateLimits) return;
  auto number = [&](const char* name) -> std::optional<std::int64_t> {
    const auto value = headers.get(name);
    if (!value) return std::nullopt;
    try {
      std::size_t used = 0;
      const long long n = std::stoll(*value, &used);
      if (used != value->size()) return std::nullopt;
      return n;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  const auto limit = number("X-RateLimit-Limit");
  const auto remaining = number("X-RateLimit-Remaining");
  const auto reset = number("X-RateLimit-Reset");
  if (!limit && !remaining && !reset) return;
  RateLimitInfo info;
  info.limit = limit;
  info.remaining = remaining;
  if (reset && *reset >= 0 && *reset < 100'000'000'000LL) {
    info.reset = std::chrono::system_clock::time_point(std::chrono::seconds(*reset));
  }
  std::lock_guard<std::mutex> lock(settings_.rateLimits->mutex);
  settings_.rateLimits->last = info;
}

std::optional<CancellationToken> ServiceClient::cancellation(const ApiRequest& request) const {
  if (request.cancellation) return request.cancellation;
  return settings_.callOptions.cancellation;
}

Clock::TimePoint ServiceClient::deadline(std::chrono::milliseconds waitLimit) const {
  const auto now = settings_.clock->now();
  auto at = deadlineAfter(now, waitLimit);
  if (settings_.callOptions.deadline) {
    at = std::min(at, deadlineAfter(now, *settings_.callOptions.deadline));
  }
  return at;
}

void ServiceClient::sleepUntilOrCancel(Clock::TimePoint wake,
                                       const std::optional<CancellationToken>& token) const {
  const auto& clock = *settings_.clock;
  for (;;) {
    if (token && token->isCancelled()) throw CancelledError("call cancelled while waiting");
    const auto now = clock.now();
    if (now >= wake) return;
    const auto left = std::max(std::chrono::ceil<std::chrono::milliseconds>(wake - now),
                               std::chrono::milliseconds(1));
    if (token) {
      clock.sleepForUnlessCancelled(left, *token);  // a cancel() ends the sleep at once
    } else {
      clock.sleepFor(left);
    }
  }
}

// What one call keeps from its first attempt to its last.
struct CallState {
  CallState(const ApiRequest& apiRequest, HttpRequest httpRequest, Redactor redactor,
            const RetryPolicy& retryPolicy)
      : request(apiRequest),
        http(std::move(httpRequest)),
        redact(std::move(redactor)),
        policy(retryPolicy) {}

  const ApiRequest& request;
  HttpRequest http;
  // Secrets this request carries (a secret's value, tool credentials) are
  // kept out of any error it raises, as the credential always is.
  Redactor redact;
  const RetryPolicy& policy;
  int maxRetries = 0;
  std::optional<CancellationToken> token;
  std::optional<Clock::TimePoint> deadlineAt;
  std::chrono::milliseconds requestTimeout{0};
  bool idempotent = false;
  // Whether an earlier attempt may have been carried out by the server
  // although its answer was lost (a timeout, a dropped connection, a gateway
  // error).
  bool mayHaveTakenEffect = false;
  int attempts = 0;
};

CallState ServiceClient::prepare(const ApiRequest& request) const {
  const CallOptions& options = settings_.callOptions;
  CallState call(request, toHttpRequest(request),
                 request.secrets.empty() ? redact_ : redact_.with(request.secrets),
                 options.retryPolicy ? *options.retryPolicy : settings_.retryPolicy);
  call.maxRetries = std::max(0, options.maxRetries.value_or(settings_.maxRetries));
  call.token = cancellation(request);
  call.http.cancellation = call.token;
  if (options.deadline) call.deadlineAt = deadlineAfter(settings_.clock->now(), *options.deadline);
  call.requestTimeout = call.http.timeout;
  call.idempotent = request.idempotent.value_or(isIdempotentMethod(request.method));
  // A POST that is not naturally idempotent becomes safe to repeat with an
  // Idempotency-Key, the same on every attempt. Streams are never repeated.
  if (!request.idempotent && request.method == "POST" && !request.bodySink &&
      (call.policy.idempotencyKeys || options.idempotencyKey)) {
    call.http.headers.set("Idempotency-Key", options.idempotencyKey.value_or(uuid4()));
    call.idempotent = true;
  }
  call.http.idempotent = call.idempotent;
  return call;
}

void ServiceClient::startAttempt(CallState& call, int attempt) const {
  call.attempts = attempt + 1;
  const ApiRequest& request = call.request;
  if (call.token && call.token->isCancelled()) {
    throw CancelledError(request.method + " " + request.path + " cancelled");
  }
  if (call.deadlineAt) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*call.deadlineAt -
                                                                            settings_.clock->now());
    if (left.count() <= 0) {
      throw TimeoutError(request.method + " " + request.path + ": the call's deadline of " +
                         std::to_string(settings_.callOptions.deadline->count()) + " ms passed" +
                         attemptsNote(attempt));
    }
    call.http.timeout = std::min(call.requestTimeout, left);
  }
  if (attempt > 0) {
    if (call.http.bodySource) call.http.bodySource->rewind();
    if (call.http.bodySink) call.http.bodySink->reset();
  }
}

bool ServiceClient::waitBeforeRetry(CallState& call, int attempt,
                                    std::optional<std::chrono::milliseconds> hint) const {
  const auto delay = hint ? *hint : backoffDelay(attempt, call.policy, settings_.random());
  const auto wake = deadlineAfter(settings_.clock->now(), delay);
  if (call.deadlineAt && wake >= *call.deadlineAt) return false;
  sleepUntilOrCancel(wake, call.token);
  return true;
}

bool ServiceClient::retryOnTransportFailure(CallState& call, int attempt, bool beforeSent) const {
  if (attempt >= call.maxRetries || !(call.idempotent || beforeSent)) return false;
  if (!waitBeforeRetry(call, attempt, std::nullopt)) return false;
  call.mayHaveTakenEffect = call.mayHaveTakenEffect || !beforeSent;
  return true;
}

bool ServiceClient::retryOnResponse(CallState& call, int attempt,
                                    const HttpResponse& response) const {
  if (!isRetryableStatus(response.status) || !call.idempotent || attempt >= call.maxRetries) {
    return false;
  }
  const auto hint = serverRetryAfter(response.status, response.headers, settings_.clock->wallNow());
  if (hint && *hint > call.policy.maxRetryAfter) return false;  // raised, not waited for
  if (!waitBeforeRetry(call, attempt, hint)) return false;
  call.mayHaveTakenEffect =
      call.mayHaveTakenEffect || response.status == 502 || response.status == 504;
  return true;
}

std::optional<HttpResponse> ServiceClient::sendAttempt(CallState& call, int attempt) const {
  LogRecord record;
  record.method = call.request.method;
  record.url = call.http.url;
  record.attempt = call.attempts;
  record.headers = call.http.headers;
  const auto sentAt = settings_.clock->now();
  auto logFailure = [&](const Error& error) {
    record.level = LogLevel::Warning;
    record.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(settings_.clock->now() - sentAt);
    record.message = error.what();
    log(record);
  };
  HttpResponse response;
  try {
    response = transport_->send(call.http);
  } catch (const TransportError& error) {
    logFailure(error);
    if (retryOnTransportFailure(call, attempt, error.beforeRequestSent())) return std::nullopt;
    throw TransportError(error.kind(), call.redact(error.what()) + attemptsNote(call.attempts));
  } catch (const TimeoutError& error) {
    logFailure(error);
    if (retryOnTransportFailure(call, attempt, false)) return std::nullopt;
    throw TimeoutError(call.redact(error.what()) + attemptsNote(call.attempts));
  }
  recordRateLimit(response.headers);
  record.status = response.status;
  record.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.clock->now() - sentAt);
  record.requestId = response.headers.get("X-Request-ID").value_or("");
  const bool success = response.status >= 200 && response.status < 300;
  record.level = success ? LogLevel::Info : LogLevel::Warning;
  record.message = success ? "ok" : "HTTP " + std::to_string(response.status);
  log(record);
  return response;
}

ApiResponse ServiceClient::unwrap(HttpResponse response, const CallState& call) const {
  ApiResponse out;
  out.status = response.status;
  if (call.request.rawResponse || call.request.bodySink) {
    out.body = std::move(response.body);
  } else {
    out.envelope = parseSuccess(response, call.redact);
  }
  out.headers = std::move(response.headers);
  return out;
}

ApiResponse ServiceClient::call(const ApiRequest& request) const {
  CallState call = prepare(request);
  for (int attempt = 0;; ++attempt) {
    startAttempt(call, attempt);
    std::optional<HttpResponse> response = sendAttempt(call, attempt);
    if (!response) continue;  // a transport failure, retried after its backoff
    if (response->status >= 200 && response->status < 300) {
      return unwrap(std::move(*response), call);
    }
    // A DELETE whose earlier attempt may have taken effect finds nothing left
    // to delete: that is the outcome asked for, not an error.
    if (response->status == 404 && request.method == "DELETE" && call.mayHaveTakenEffect) {
      ApiResponse out;
      out.status = response->status;
      out.headers = std::move(response->headers);
      return out;
    }
    if (!retryOnResponse(call, attempt, *response)) {
      throwApiError(*response, call.redact, call.attempts);
    }
  }
}

HttpResponse ServiceClient::sendExternal(HttpRequest request) const {
  request.headers.set("User-Agent", settings_.userAgent);
  request.idempotent = false;
  HttpResponse response = transport_->send(request);
  if (response.status < 200 || response.status >= 300) throwApiError(response, redact_);
  return response;
}

ApiResponse ServiceClient::send(std::string method, std::string path, Query query,
                                std::optional<nlohmann::json> body) const {
  ApiRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.query = std::move(query);
  request.body = std::move(body);
  return call(request);
}

ApiResponse ServiceClient::get(std::string path, Query query) const {
  return send("GET", std::move(path), std::move(query), std::nullopt);
}

ApiResponse ServiceClient::post(std::string path, std::optional<nlohmann::json> body) const {
  return send("POST", std::move(path), {}, std::move(body));
}

ApiResponse ServiceClient::patch(std::string path, nlohmann::json body) const {
  return send("PATCH", std::move(path), {}, std::move(body));
}

ApiResponse ServiceClient::put(std::string path, nlohmann::json body) const {
  return send("PUT", std::move(path), {}, std::move(body));
}

ApiResponse ServiceClient::del(std::string path, Query query) const {
  return send("DELETE", std::move(path), std::move(query), std::nullopt);
}

}  // namespace runtools::internal
