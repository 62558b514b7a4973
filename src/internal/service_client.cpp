#include "internal/service_client.hpp"

#include <random>

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

std::chrono::milliseconds ServiceClient::retryDelay(
    int retryIndex, std::optional<std::chrono::milliseconds> serverHint) const {
  if (serverHint) return *serverHint;
  return backoffDelay(retryIndex, settings_.retryPolicy, settings_.random());
}

ApiResponse ServiceClient::call(const ApiRequest& request) const {
  HttpRequest http = toHttpRequest(request);
  // Secrets this request carries (a secret's value, tool credentials) are
  // kept out of any error it raises, as the credential always is.
  const Redactor redact = request.secrets.empty() ? redact_ : redact_.with(request.secrets);
  const bool idempotent = request.idempotent.value_or(isIdempotentMethod(request.method));
  http.idempotent = idempotent;
  const int maxRetries = settings_.maxRetries;
  // Whether an earlier attempt may have been carried out by the server
  // although its answer was lost (a timeout, a dropped connection, a gateway
  // error).
  bool mayHaveTakenEffect = false;

  for (int attempt = 0;; ++attempt) {
    const int attemptsSoFar = attempt + 1;
    if (request.cancellation && request.cancellation->isCancelled()) {
      throw CancelledError(request.method + " " + request.path + " cancelled");
    }
    if (attempt > 0) {
      if (http.bodySource) http.bodySource->rewind();
      if (http.bodySink) http.bodySink->reset();
    }
    HttpResponse response;
    try {
      response = transport_->send(http);
    } catch (const TransportError& error) {
      if (attempt < maxRetries && (idempotent || error.beforeRequestSent())) {
        mayHaveTakenEffect = mayHaveTakenEffect || !error.beforeRequestSent();
        settings_.clock->sleepFor(retryDelay(attempt, std::nullopt));
        continue;
      }
      throw TransportError(error.kind(), redact(error.what()) + attemptsNote(attemptsSoFar));
    } catch (const TimeoutError& error) {
      if (attempt < maxRetries && idempotent) {
        mayHaveTakenEffect = true;
        settings_.clock->sleepFor(retryDelay(attempt, std::nullopt));
        continue;
      }
      throw TimeoutError(redact(error.what()) + attemptsNote(attemptsSoFar));
    }

    if (response.status >= 200 && response.status < 300) {
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
      const auto hint =
          serverRetryAfter(response.status, response.headers, settings_.clock->wallNow());
      if (!hint || *hint <= settings_.retryPolicy.maxRetryAfter) {
        mayHaveTakenEffect = mayHaveTakenEffect || response.status == 502 || response.status == 504;
        settings_.clock->sleepFor(retryDelay(attempt, hint));
        continue;
      }
    }
    throwApiError(response, redact);
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
