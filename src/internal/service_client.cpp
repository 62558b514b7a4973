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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
    // Short steps keep cancellation prompt.
    clock.sleepFor(token ? std::min(left, std::chrono::milliseconds(50))
                         : std::max(left, std::chrono::milliseconds(1)));
  }
}

ApiResponse ServiceClient::call(const ApiRequest& request) const {
  HttpRequest http = toHttpRequest(request);
  // Secrets this request carries (a secret's value, tool credentials) are
  // kept out of any error it raises, as the credential always is.
  const Redactor redact = request.secrets.empty() ? redact_ : redact_.with(request.secrets);
  const CallOptions& call = settings_.callOptions;
  const RetryPolicy& policy = call.retryPolicy ? *call.retryPolicy : settings_.retryPolicy;
  const int maxRetries = std::max(0, call.maxRetries.value_or(settings_.maxRetries));
  const auto token = cancellation(request);
  const auto& clock = *settings_.clock;
  const auto start = clock.now();
  const auto deadlineAt =
      call.deadline ? std::optional<Clock::TimePoint>(deadlineAfter(start, *call.deadline))
                    : std::nullopt;
  http.cancellation = token;

  bool idempotent = request.idempotent.value_or(isIdempotentMethod(request.method));
  // A POST that is not naturally idempotent becomes safe to repeat with an
  // Idempotency-Key, the same on every attempt. Streams are never repeated.
  if (!request.idempotent && request.method == "POST" && !request.bodySink &&
      (policy.idempotencyKeys || call.idempotencyKey)) {
    http.headers.set("Idempotency-Key", call.idempotencyKey.value_or(uuid4()));
    idempotent = true;
  }
  http.idempotent = idempotent;
  // Whether an earlier attempt may have been carried out by the server
  // although its answer was lost (a timeout, a dropped connection, a gateway
  // error).
  bool mayHaveTakenEffect = false;
  const auto requestTimeout = http.timeout;

  // Waits before the next attempt; false when the deadline leaves no room.
  auto backoff = [&](int attempt, std::optional<std::chrono::milliseconds> hint) {
    const auto delay = hint ? *hint : backoffDelay(attempt, policy, settings_.random());
    const auto wake = deadlineAfter(clock.now(), delay);
    if (deadlineAt && wake >= *deadlineAt) return false;
    sleepUntilOrCancel(wake, token);
    return true;
  };

  for (int attempt = 0;; ++attempt) {
    const int attemptsSoFar = attempt + 1;
    if (token && token->isCancelled()) {
      throw CancelledError(request.method + " " + request.path + " cancelled");
    }
    if (deadlineAt) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadlineAt - clock.now());
      if (left.count() <= 0) {
        throw TimeoutError(request.method + " " + request.path + ": the call's deadline of " +
                           std::to_string(call.deadline->count()) + " ms passed" +
                           attemptsNote(attempt));
      }
      http.timeout = std::min(requestTimeout, left);
    }
    if (attempt > 0) {
      if (http.bodySource) http.bodySource->rewind();
      if (http.bodySink) http.bodySink->reset();
    }
    LogRecord record;
    record.method = request.method;
    record.url = http.url;
    record.attempt = attemptsSoFar;
    record.headers = http.headers;
    const auto sentAt = clock.now();
    auto elapsed = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - sentAt);
    };

    HttpResponse response;
    try {
      response = transport_->send(http);
    } catch (const TransportError& error) {
      record.level = LogLevel::Warning;
      record.duration = elapsed();
      record.message = error.what();
      log(record);
      if (attempt < maxRetries && (idempotent || error.beforeRequestSent()) &&
          backoff(attempt, std::nullopt)) {
        mayHaveTakenEffect = mayHaveTakenEffect || !error.beforeRequestSent();
        continue;
      }
      throw TransportError(error.kind(), redact(error.what()) + attemptsNote(attemptsSoFar));
    } catch (const TimeoutError& error) {
      record.level = LogLevel::Warning;
      record.duration = elapsed();
      record.message = error.what();
      log(record);
      if (attempt < maxRetries && idempotent && backoff(attempt, std::nullopt)) {
        mayHaveTakenEffect = true;
        continue;
      }
      throw TimeoutError(redact(error.what()) + attemptsNote(attemptsSoFar));
    }

    recordRateLimit(response.headers);
    record.status = response.status;
    record.duration = elapsed();
    record.requestId = response.headers.get("X-Request-ID").value_or("");
    const bool success = response.status >= 200 && response.status < 300;
    record.level = success ? LogLevel::Info : LogLevel::Warning;
    record.message = success ? "ok" : "HTTP " + std::to_string(response.status);
    log(record);

    if (success) {
      ApiResponse out;
      out.status = response.status;
      if (request.rawResponse || request.bodySink) {
        out.body = std::move(response.body);
      } else {
        out.envelope = parseSuccess(response, redact);
      }
      out.headers = std::move(response.headers);
      return out;
    }

    // A DELETE whose earlier attempt may have taken effect finds nothing left
    // to delete: that is the outcome asked for, not an error.
    if (response.status == 404 && request.method == "DELETE" && mayHaveTakenEffect) {
      ApiResponse out;
      out.status = response.status;
      out.headers = std::move(response.headers);
      return out;
    }

    if (isRetryableStatus(response.status) && idempotent && attempt < maxRetries) {
      const auto hint = serverRetryAfter(response.status, response.headers, clock.wallNow());
      if ((!hint || *hint <= policy.maxRetryAfter) && backoff(attempt, hint)) {
        mayHaveTakenEffect = mayHaveTakenEffect || response.status == 502 || response.status == 504;
        continue;
      }
    }
    throwApiError(response, redact, attemptsSoFar);
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
