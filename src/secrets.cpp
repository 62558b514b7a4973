#include "runtools/secrets.hpp"

#include "internal/json_util.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

void from_json(const json& j, SecretInfo& secret) {
  secret.id = js::string(j, {"id"});
  secret.name = js::string(j, {"name"});
  secret.scope = js::string(j, {"scope"});
  secret.category = js::string(j, {"category"});
  secret.description = js::string(j, {"description"});
  secret.orgWide = js::boolean(j, {"orgWide", "org_wide"});
  secret.ownerUserId = js::optString(j, {"ownerUserId", "owner_user_id"});
  secret.createdBy = js::optString(j, {"createdBy", "created_by"});
  secret.createdAt = js::optTimestamp(j, {"createdAt", "created_at"});
  secret.updatedAt = js::optTimestamp(j, {"updatedAt", "updated_at"});
  secret.lastRotatedAt = js::optTimestamp(j, {"lastRotatedAt", "last_rotated_at"});
  // Metadata only: should a server ever include a value, it is not kept.
  secret.raw = j;
  if (secret.raw.is_object()) secret.raw.erase("value");
}

namespace {

void requireName(const std::string& name) {
  if (name.empty()) throw InvalidArgumentError("a secret name must not be empty");
}

internal::Query lookupQuery(const SecretLookupOptions& options) {
  internal::Query query;
  if (options.orgWide) query.emplace_back("orgWide", "true");
  return query;
}

}  // namespace

SecretsClient::SecretsClient(std::shared_ptr<internal::ServiceClient> tools)
    : tools_(std::move(tools)) {}

std::vector<SecretInfo> SecretsClient::list(const ListSecretsOptions& options) const {
  internal::Query query;
  if (options.userOnly) query.emplace_back("userOnly", "true");
  if (options.orgOnly) query.emplace_back("orgOnly", "true");
  if (options.all) query.emplace_back("all", "true");
  if (options.category) query.emplace_back("category", *options.category);
  if (options.scope) query.emplace_back("scope", *options.scope);
  const auto data = tools_->get(makePath({"secrets"}), query).data();
  const json* items = data.is_array() ? &data : js::find(data, {"secrets"});
  return js::list<SecretInfo>(items != nullptr ? *items : json::array());
}

SetSecretResult SecretsClient::set(const std::string& name, const std::string& value,
                                   const SetSecretOptions& options) const {
  requireName(name);
  if (value.empty()) throw InvalidArgumentError("a secret value must not be empty");
  json body = {{"name", name}, {"value", value}};
  if (options.scope) body["scope"] = *options.scope;
  if (options.category) body["category"] = *options.category;
  if (options.description) body["description"] = *options.description;
  if (options.orgWide) body["orgWide"] = true;
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"secrets"});
  request.body = std::move(body);
  request.secrets.push_back(value);
  request.idempotent = true;  // an upsert: setting the same value twice is harmless
  const auto data = tools_->call(request).object("secret");
  SetSecretResult out;
  out.secret = data.get<SecretInfo>();
  if (out.secret.name.empty()) out.secret.name = name;
  out.created = js::boolean(data, {"created"});
  return out;
}

SecretInfo SecretsClient::get(const std::string& name, const SecretLookupOptions& options) const {
  requireName(name);
  return tools_->get(makePath({"secrets", name}), lookupQuery(options))
      .object("secret")
      .get<SecretInfo>();
}

SecretString SecretsClient::reveal(const std::string& name,
                                   const SecretLookupOptions& options) const {
  requireName(name);
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"secrets", name, "reveal"});
  request.query = lookupQuery(options);
  request.idempotent = true;  // a read
  const auto data = tools_->call(request).object("secret");
  const json* value = js::find(data, {"value"});
  if (value == nullptr || !value->is_string()) {
    throw InvalidResponseError(200, "the reveal response carries no value");
  }
  return SecretString(value->get<std::string>());
}

void SecretsClient::remove(const std::string& name, const SecretLookupOptions& options) const {
  requireName(name);
  tools_->del(makePath({"secrets", name}), lookupQuery(options));
}

}  // namespace runtools
