#include "runtools/auth.hpp"

#include <algorithm>

#include "internal/json_util.hpp"
#include "internal/operation.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

void from_json(const json& j, Connection& connection) {
  connection.id = js::string(j, {"id"});
  connection.provider = js::string(j, {"provider"});
  connection.displayName = js::string(j, {"displayName", "platform_username"});
  connection.status = js::string(j, {"status"});
  connection.scopes = js::stringList(j, {"scopes"});
  connection.connectedAt = js::optTimestamp(j, {"connectedAt", "connected_at"});
  connection.lastUsedAt = js::optTimestamp(j, {"lastUsedAt", "last_used_at"});
  connection.expiresAt = js::optTimestamp(j, {"expiresAt", "expires_at"});
  connection.authType = js::string(j, {"authType", "auth_type"});
  connection.userId = js::string(j, {"userId", "user_id"});
  connection.isDefault = js::boolean(j, {"isDefault", "is_default"});
  connection.raw = j;
}

namespace {

DeviceFlowStatus toDeviceStatus(const json& data, const DeviceFlow& flow) {
  DeviceFlowStatus status;
  status.provider = js::string(data, {"provider"}, flow.provider);
  status.status = js::string(data, {"status"}, "pending");
  status.displayName = js::string(data, {"displayName"});
  status.interval = std::chrono::seconds(
      js::optInt(data, {"interval"})
          .value_or(std::chrono::duration_cast<std::chrono::seconds>(flow.interval).count()));
  status.expiresAt = js::optTimestamp(data, {"expiresAt"});
  if (!status.expiresAt) status.expiresAt = flow.expiresAt;
  status.connectionId = js::optString(data, {"connectionId"});
  return status;
}

ProviderConfigInfo toProviderConfig(const json& j) {
  ProviderConfigInfo info;
  info.id = js::string(j, {"id"});
  info.provider = js::string(j, {"provider"});
  info.clientId = js::string(j, {"clientId", "client_id"});
  if (const json* scopes = js::find(j, {"scopes"}); scopes && scopes->is_array()) {
    for (const auto& s : *scopes) {
      if (s.is_string()) info.scopes += (info.scopes.empty() ? "" : ",") + s.get<std::string>();
    }
  } else {
    info.scopes = js::string(j, {"scopes"});
  }
  info.enabled = js::boolean(j, {"enabled"}, true);
  info.createdAt = js::optTimestamp(j, {"createdAt", "created_at"});
  info.updatedAt = js::optTimestamp(j, {"updatedAt", "updated_at"});
  info.raw = j;
  if (info.raw.is_object()) {
    info.raw.erase("client_secret");
    info.raw.erase("clientSecret");
  }
  return info;
}

void requireProvider(const std::string& provider) {
  if (provider.empty()) throw InvalidArgumentError("the provider must not be empty");
}

}  // namespace

AuthClient::AuthClient(std::shared_ptr<internal::ServiceClient> api,
                       std::shared_ptr<internal::ServiceClient> auth)
    : api_(api), auth_(std::move(auth)), apiKeys(api), sshKeys(api) {}

ConnectResult AuthClient::connect(const std::string& provider,
                                  const ConnectOptions& options) const {
  requireProvider(provider);
  internal::ApiRequest request;
  request.method = "GET";
  request.path = makePath({"oauth", "start", provider});
  if (!options.scopes.empty()) {
    std::string scopes;
    for (const auto& s : options.scopes)
      scopes += (scopes.empty() ? "" : ",") + s;
    request.query.emplace_back("scopes", scopes);
  }
  if (options.redirectUri) {
    const auto& uri = *options.redirectUri;
    if (uri.rfind("http://localhost:", 0) != 0 && uri.rfind("http://127.0.0.1:", 0) != 0) {
      throw InvalidArgumentError(
          "redirectUri must start with http://localhost:<port> or http://127.0.0.1:<port>");
    }
    request.query.emplace_back("redirect_uri", uri);
  }
  const auto data = auth_->call(request).data();
  ConnectResult out;
  out.authUrl = js::string(data, {"authUrl", "url"});
  out.state = js::string(data, {"state"});
  out.expiresAt = js::optTimestamp(data, {"expiresAt"});
  if (out.authUrl.empty()) throw InvalidResponseError(200, "the connect response has no authUrl");
  return out;
}

bool AuthClient::isConnected(const std::string& provider) const {
  requireProvider(provider);
  return js::boolean(auth_->get(makePath({"oauth", "status", provider})).data(), {"connected"});
}

std::vector<Connection> AuthClient::listConnections() const {
  const auto data = auth_->get(makePath({"oauth", "connections"})).data();
  const json* items = data.is_array() ? &data : js::find(data, {"connections"});
  return js::list<Connection>(items != nullptr ? *items : json::array());
}

Connection AuthClient::setDefault(const std::string& connectionId) const {
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"oauth", "connections", connectionId, "default"});
  request.idempotent = true;  // making the default the default changes nothing
  const auto data = auth_->call(request).data();
  if (data.is_object() && data.contains("id")) return data.get<Connection>();
  const auto all = listConnections();
  const auto it = std::find_if(all.begin(), all.end(),
                               [&](const Connection& c) { return c.id == connectionId; });
  if (it == all.end()) throw InvalidResponseError(200, "the connection is not listed");
  return *it;
}

void AuthClient::disconnect(const std::string& connectionId) const {
  auth_->del(makePath({"oauth", "connections", connectionId}));
}

std::vector<std::string> AuthClient::providers() const {
  const auto data = auth_->get(makePath({"oauth", "providers"})).data();
  std::vector<std::string> out;
  const json* items = data.is_array() ? &data : js::find(data, {"providers"});
  if (items == nullptr || !items->is_array()) return out;
  for (const auto& p : *items) {
    if (p.is_string()) {
      out.push_back(p.get<std::string>());
    } else if (auto id = js::optString(p, {"id", "provider"})) {
      out.push_back(*id);
    }
  }
  return out;
}

DeviceFlow AuthClient::startDeviceFlow(const std::string& provider) const {
  requireProvider(provider);
  const auto data =
      auth_->post(makePath({"oauth", "device", "start", provider})).object("device flow");
  DeviceFlow flow;
  flow.provider = js::string(data, {"provider"}, provider);
  flow.attemptToken = SecretString(js::string(data, {"attemptToken"}));
  flow.verificationUri = js::string(data, {"verificationUri"});
  flow.verificationUriComplete = js::string(data, {"verificationUriComplete"});
  flow.userCode = js::string(data, {"userCode"});
  flow.interval =
      std::chrono::seconds(std::max<std::int64_t>(1, js::optInt(data, {"interval"}).value_or(5)));
  flow.expiresAt = js::optTimestamp(data, {"expiresAt"});
  if (flow.attemptToken.empty()) {
    throw InvalidResponseError(200, "the device flow response has no attemptToken");
  }
  return flow;
}

DeviceFlowStatus AuthClient::deviceFlowStatus(const DeviceFlow& flow) const {
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"oauth", "device", "status", flow.provider});
  request.body = json{{"attemptToken", flow.attemptToken.reveal()}};
  request.secrets.push_back(flow.attemptToken.reveal());
  request.idempotent = true;  // a status check
  return toDeviceStatus(auth_->call(request).data(), flow);
}

Operation<DeviceFlowStatus> AuthClient::pollDeviceFlowAsync(
    const DeviceFlow& flow, const PollDeviceFlowOptions& options) const {
  return internal::startOn<DeviceFlowStatus>(
      *auth_, [self = *this, flow, options] { return self.pollDeviceFlow(flow, options); });
}

DeviceFlowStatus AuthClient::pollDeviceFlow(const DeviceFlow& flow,
                                            const PollDeviceFlowOptions& options) const {
  const auto& clock = auth_->clock();
  const auto token = options.cancellation ? options.cancellation : auth_->cancellation();
  // Bounded by the flow's own expiry (checked below) and the call's deadline.
  const auto deadline = auth_->deadline(std::chrono::milliseconds::max());
  auto interval = std::max(flow.interval, std::chrono::seconds(1));
  for (;;) {
    if (token && token->isCancelled()) throw CancelledError("device flow polling cancelled");
    DeviceFlowStatus status = deviceFlowStatus(flow);
    if (status.status == "connected" || status.status == "expired" || status.status == "denied") {
      return status;
    }
    if (status.status == "slow_down") {
      interval += std::chrono::seconds(5);  // RFC 8628 §3.5
    } else {
      interval = std::max(interval, status.interval);
    }
    if (options.onPending) options.onPending(status);
    // Past the expiry there is nothing left to wait for.
    if (status.expiresAt && clock.wallNow() >= *status.expiresAt) {
      status.status = "expired";
      return status;
    }
    const auto wake = internal::deadlineAfter(clock.now(), interval);
    if (wake > deadline) {
      throw TimeoutError("device flow of " + flow.provider + " still " + status.status +
                         " at the call's deadline");
    }
    auth_->sleepUntilOrCancel(wake, token);
  }
}

ProviderConfigInfo AuthClient::setProviderConfig(const std::string& provider,
                                                 const ProviderConfig& config) const {
  requireProvider(provider);
  if (config.clientId.empty()) throw InvalidArgumentError("ProviderConfig::clientId is required");
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"oauth", "configs"});
  json body = {{"provider", provider}, {"client_id", config.clientId}, {"scopes", config.scopes}};
  body["client_secret"] = config.clientSecret.reveal();
  request.secrets.push_back(config.clientSecret.reveal());
  request.body = std::move(body);
  request.idempotent = true;  // an upsert
  const auto data = auth_->call(request).data();
  ProviderConfigInfo info = toProviderConfig(data);
  if (info.provider.empty()) info.provider = provider;
  if (info.clientId.empty()) info.clientId = config.clientId;
  if (info.scopes.empty()) info.scopes = config.scopes;
  return info;
}

std::vector<ProviderConfigInfo> AuthClient::listProviderConfigs() const {
  const auto data = auth_->get(makePath({"oauth", "configs"})).data();
  std::vector<ProviderConfigInfo> out;
  const json* items = data.is_array() ? &data : js::find(data, {"configs"});
  if (items == nullptr || !items->is_array()) return out;
  for (const auto& item : *items)
    out.push_back(toProviderConfig(item));
  return out;
}

void AuthClient::deleteProviderConfig(const std::string& provider) const {
  requireProvider(provider);
  auth_->del(makePath({"oauth", "configs", provider}));
}

User AuthClient::me() const {
  const auto data = api_->get(makePath({"me"})).object("user");
  User user;
  user.id = js::string(data, {"id"});
  user.email = js::string(data, {"email"});
  user.firstName = js::string(data, {"firstName"});
  user.lastName = js::string(data, {"lastName"});
  user.profilePictureUrl = js::optString(data, {"profilePictureUrl"});
  user.isAdmin = js::boolean(data, {"isAdmin"});
  user.accessGranted = js::boolean(data, {"accessGranted"});
  user.tutorialCompleted = js::boolean(data, {"tutorialCompleted"});
  user.raw = data;
  return user;
}

Organization AuthClient::organization() const {
  const auto data = api_->get(makePath({"organizations", "current"})).object("organization");
  Organization org;
  org.id = js::string(data, {"id"});
  org.workosOrgId = js::string(data, {"workosOrgId"});
  org.name = js::string(data, {"name"});
  org.slug = js::string(data, {"slug"});
  org.plan = js::string(data, {"plan"});
  org.enterprise = js::boolean(data, {"enterprise"});
  org.role = js::string(data, {"role"});
  org.orgRole = js::string(data, {"orgRole"});
  org.settings = js::objectOrEmpty(data, {"settings"});
  org.createdAt = js::optTimestamp(data, {"createdAt"});
  org.raw = data;
  return org;
}

}  // namespace runtools
