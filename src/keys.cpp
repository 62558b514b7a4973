// API keys and SSH keys.

#include "internal/json_util.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "runtools/auth.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

void from_json(const json& j, ApiKey& key) {
  key.id = js::string(j, {"id"});
  key.name = js::string(j, {"name"});
  key.keyPrefix = js::string(j, {"keyPrefix", "key_prefix"});
  key.scopes = js::stringList(j, {"scopes"});
  key.projectId = js::optString(j, {"projectId", "project_id"});
  key.expiresAt = js::optTimestamp(j, {"expiresAt", "expires_at"});
  key.lastUsedAt = js::optTimestamp(j, {"lastUsedAt", "last_used_at"});
  key.revokedAt = js::optTimestamp(j, {"revokedAt", "revoked_at"});
  key.createdAt = js::optTimestamp(j, {"createdAt", "created_at"});
  key.status = js::string(j, {"status"}, key.revokedAt ? "revoked" : "active");
  key.raw = j;
  if (key.raw.is_object()) key.raw.erase("key");  // the full key lives only in CreatedApiKey
}

void from_json(const json& j, SshKey& key) {
  key.id = js::string(j, {"id"});
  key.name = js::string(j, {"name"});
  key.fingerprint = js::string(j, {"fingerprint"});
  key.keyType = js::string(j, {"keyType", "key_type"});
  key.createdAt = js::optTimestamp(j, {"createdAt", "created_at"});
  key.lastUsedAt = js::optTimestamp(j, {"lastUsedAt", "last_used_at"});
  key.raw = j;
}

namespace {

CreatedApiKey toCreated(const internal::ApiResponse& response) {
  const json& data = response.object("API key");
  const json* key = js::find(data, {"key"});
  if (key == nullptr || !key->is_string()) {
    throw InvalidResponseError(response.status, "the new API key is missing from the response");
  }
  CreatedApiKey out;
  out.key = SecretString(key->get<std::string>());
  out.apiKey = data.get<ApiKey>();
  out.message = js::string(response.envelope.body, {"message"});
  return out;
}

}  // namespace

ApiKeyClient::ApiKeyClient(std::shared_ptr<internal::ServiceClient> api) : api_(std::move(api)) {}

CreatedApiKey ApiKeyClient::create(const CreateApiKeyOptions& options) const {
  if (options.name.empty()) throw InvalidArgumentError("an API key needs a name");
  json body = {{"name", options.name}, {"scopes", options.scopes}};
  if (options.expiresIn) body["expiresIn"] = *options.expiresIn;
  if (options.isTest) body["isTest"] = true;
  if (options.projectId) body["projectId"] = *options.projectId;
  return toCreated(api_->post(makePath({"api-keys"}), std::move(body)));
}

std::vector<ApiKey> ApiKeyClient::list() const {
  const auto data = api_->get(makePath({"api-keys"})).data();
  const json* items = data.is_array() ? &data : js::find(data, {"apiKeys", "keys"});
  return js::list<ApiKey>(items != nullptr ? *items : json::array());
}

ApiKey ApiKeyClient::get(const std::string& id) const {
  return api_->get(makePath({"api-keys", id})).object("API key").get<ApiKey>();
}

ApiKey ApiKeyClient::update(const std::string& id, const UpdateApiKeyOptions& options) const {
  json body = json::object();
  if (options.name) {
    if (options.name->empty()) throw InvalidArgumentError("an API key name must not be empty");
    body["name"] = *options.name;
  }
  if (options.scopes) body["scopes"] = *options.scopes;
  if (body.empty()) throw InvalidArgumentError("UpdateApiKeyOptions sets no field");
  const auto data = api_->patch(makePath({"api-keys", id}), std::move(body)).data();
  if (data.is_object() && data.contains("id")) return data.get<ApiKey>();
  return get(id);
}

void ApiKeyClient::revoke(const std::string& id) const {
  api_->del(makePath({"api-keys", id}));
}

CreatedApiKey ApiKeyClient::rotate(const std::string& id,
                                   const std::optional<std::string>& name) const {
  json body = json::object();
  if (name) body["name"] = *name;
  return toCreated(api_->post(makePath({"api-keys", id, "rotate"}), std::move(body)));
}

SshKeyClient::SshKeyClient(std::shared_ptr<internal::ServiceClient> api) : api_(std::move(api)) {}

SshKey SshKeyClient::add(const std::string& name, const std::string& publicKey) const {
  if (name.empty()) throw InvalidArgumentError("an SSH key needs a name");
  std::string key = publicKey;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
    key.pop_back();
  }
  if (key.empty() || key.find('\n') != std::string::npos) {
    throw InvalidArgumentError("publicKey must be one OpenSSH public key line");
  }
  return api_->post(makePath({"ssh-keys"}), json{{"name", name}, {"public_key", key}})
      .data()
      .get<SshKey>();
}

std::vector<SshKey> SshKeyClient::list() const {
  const auto data = api_->get(makePath({"ssh-keys"})).data();
  const json* items = data.is_array() ? &data : js::find(data, {"sshKeys", "keys"});
  return js::list<SshKey>(items != nullptr ? *items : json::array());
}

void SshKeyClient::remove(const std::string& id) const {
  api_->del(makePath({"ssh-keys", id}));
}

}  // namespace runtools
