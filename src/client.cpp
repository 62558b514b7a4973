#include "runtools/client.hpp"

#include "internal/services.hpp"

namespace runtools {
namespace internal {

std::shared_ptr<const Services> makeServices(ResolvedConfig config,
                                             std::shared_ptr<Transport> transport,
                                             std::shared_ptr<const Clock> clock) {
  if (!transport) transport = makeCurlTransport();
  if (!clock) clock = systemClock();
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
    settings.timeout = config.timeout;
    settings.connectTimeout = config.connectTimeout;
    settings.maxRetries = config.maxRetries;
    settings.retryPolicy = config.retryPolicy;
    settings.clock = clock;
    return std::make_shared<ServiceClient>(std::move(settings), transport);
  };
  services->api = make("api", config.apiUrl);
  services->tools = make("tools", config.toolsUrl);
  services->auth = make("auth", config.authUrl);
  services->storage = make("storage", config.storageUrl);
  services->config = std::move(config);
  return services;
}

}  // namespace internal

RunTools::RunTools(ClientOptions options)
    : services_(
          internal::makeServices(internal::resolveConfig(options), std::move(options.transport))),
      sandbox(services_->api),
      workspace(services_->api, services_->storage),
      workspaces(workspace),
      agent(services_->api),
      threads(services_->api),
      tools(services_->tools),
      secrets(services_->tools),
      auth(services_->api, services_->auth),
      sshKeys(services_->api) {}

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
