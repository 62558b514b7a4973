#include "runtools/client.hpp"

#include <algorithm>

#include "internal/operation.hpp"
#include "internal/path.hpp"
#include "internal/services.hpp"
#include "runtools/errors.hpp"

namespace runtools {
namespace internal {

std::shared_ptr<const Services> makeServices(ResolvedConfig config,
                                             std::shared_ptr<Transport> transport,
                                             std::shared_ptr<const Clock> clock,
                                             CallOptions callOptions,
                                             std::shared_ptr<RateLimitState> rateLimits,
                                             std::shared_ptr<EngineOwner> engine) {
  if (!transport) transport = makeCurlTransport(config.transportOptions);
  if (!clock) clock = systemClock();
  if (!rateLimits) rateLimits = std::make_shared<RateLimitState>();
  if (!engine) engine = std::make_shared<EngineOwner>(config.completions);
  auto services = std::make_shared<Services>();
  const std::string userAgent = defaultUserAgent(config.userAgentSuffix);
  auto make = [&](const char* name, const std::string& baseUrl) {
    ServiceSettings settings;
    settings.name = name;
    settings.baseUrl = baseUrl;
    settings.credentialKind = config.credentialKind;
    settings.credential = config.credential;
    settings.authHeaderStyle = config.authHeaderStyle;
    settings.userAgent = userAgent;
    settings.timeout = callOptions.timeout.value_or(config.timeout);
    settings.connectTimeout = config.connectTimeout;
    settings.maxRetries = config.maxRetries;
    settings.retryPolicy = config.retryPolicy;
    settings.clock = clock;
    settings.logger = config.logger;
    settings.logLevel = config.logLevel;
    settings.headers = config.headers;
    for (const auto& [field, value] : callOptions.headers)
      settings.headers.set(field, value);
    settings.callOptions = callOptions;
    settings.rateLimits = rateLimits;
    settings.engine = engine->engine;
    return std::make_shared<ServiceClient>(std::move(settings), transport);
  };
  services->api = make("api", config.apiUrl);
  services->tools = make("tools", config.toolsUrl);
  services->auth = make("auth", config.authUrl);
  services->storage = make("storage", config.storageUrl);
  services->config = std::move(config);
  services->transport = std::move(transport);
  services->clock = std::move(clock);
  services->rateLimits = std::move(rateLimits);
  services->callOptions = std::move(callOptions);
  services->engine = std::move(engine);
  return services;
}

}  // namespace internal

RunTools::RunTools(ClientOptions options)
    : RunTools(
          internal::makeServices(internal::resolveConfig(options), std::move(options.transport))) {}

RunTools::RunTools(std::shared_ptr<const internal::Services> services)
    : services_(std::move(services)),
      sandbox(services_->api),
      workspace(services_->api, services_->storage),
      workspaces(workspace),
      agent(services_->api),
      threads(services_->api),
      tools(services_->tools),
      secrets(services_->tools),
      auth(services_->api, services_->auth),
      sshKeys(services_->api) {}

RunTools RunTools::with(const CallOptions& options) const {
  // The settings ClientOptions also has: the very check the constructor makes.
  internal::SharedSettings shared;
  shared.timeout = options.timeout;
  shared.maxRetries = options.maxRetries;
  shared.retryPolicy = options.retryPolicy ? &*options.retryPolicy : nullptr;
  shared.headers = &options.headers;
  internal::validateSharedSettings("CallOptions", shared);
  if (options.deadline && options.deadline->count() < 0) {
    throw ConfigurationError("CallOptions::deadline must not be negative");
  }
  if (options.idempotencyKey) {
    const auto& key = *options.idempotencyKey;
    if (key.empty() || key.size() > 255 || std::any_of(key.begin(), key.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) == 0x7F;
        })) {
      throw ConfigurationError("CallOptions::idempotencyKey must be 1..255 visible characters");
    }
  }
  // Settings given here win; the others keep what this client had.
  CallOptions merged = services_->callOptions;
  if (options.timeout) merged.timeout = options.timeout;
  if (options.deadline) merged.deadline = options.deadline;
  if (options.maxRetries) merged.maxRetries = options.maxRetries;
  if (options.retryPolicy) merged.retryPolicy = options.retryPolicy;
  if (options.idempotencyKey) merged.idempotencyKey = options.idempotencyKey;
  if (options.cancellation) merged.cancellation = options.cancellation;
  for (const auto& [name, value] : options.headers)
    merged.headers.set(name, value);
  return RunTools(internal::makeServices(services_->config, services_->transport, services_->clock,
                                         std::move(merged), services_->rateLimits,
                                         services_->engine));
}

std::shared_ptr<internal::OperationCore> RunTools::startAsync(std::function<void()> step) const {
  return internal::startOperationCore(services_->engine->engine, std::move(step),
                                      services_->callOptions.cancellation);
}

RawResponse RunTools::request(const RawRequest& call) const {
  const bool methodOk =
      !call.method.empty() && std::all_of(call.method.begin(), call.method.end(),
                                          [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!methodOk)
    throw InvalidArgumentError("RawRequest::method must be an HTTP method in capitals");
  const internal::ServiceClient* service = nullptr;
  switch (call.service) {
    case Service::Api:
      service = services_->api.get();
      break;
    case Service::Tools:
      service = services_->tools.get();
      break;
    case Service::Auth:
      service = services_->auth.get();
      break;
    case Service::Storage:
      service = services_->storage.get();
      break;
  }
  if (service == nullptr) throw InvalidArgumentError("RawRequest::service is not a service");
  if ((call.method == "GET" || call.method == "HEAD") && call.body) {
    throw InvalidArgumentError("RawRequest: " + call.method + " requests cannot carry a body");
  }
  internal::ApiRequest request;
  request.method = call.method;
  request.path = internal::makePathFrom(call.path);
  request.query = call.query;
  request.body = call.body;
  request.idempotent = call.idempotent;
  auto response = service->call(request);
  RawResponse out;
  out.status = response.status;
  out.data = std::move(response.envelope.data);
  const auto& body = response.envelope.body;
  if (body.is_object() && body.contains("meta")) out.meta = body.at("meta");
  out.requestId = response.envelope.requestId;
  out.headers = std::move(response.headers);
  return out;
}

Operation<RawResponse> RunTools::requestAsync(RawRequest call) const {
  return async([self = *this, call = std::move(call)] { return self.request(call); });
}

std::size_t RunTools::poll() const {
  return services_->engine->engine->poll();
}

RateLimitInfo RunTools::rateLimit() const {
  std::lock_guard<std::mutex> lock(services_->rateLimits->mutex);
  return services_->rateLimits->last;
}

const std::string& RunTools::apiUrl() const noexcept {
  return services_->config.apiUrl;
}
const std::string& RunTools::toolsUrl() const noexcept {
  return services_->config.toolsUrl;
}
const std::string& RunTools::authUrl() const noexcept {
  return services_->config.authUrl;
}
const std::string& RunTools::storageUrl() const noexcept {
  return services_->config.storageUrl;
}

}  // namespace runtools
