#include "routes/identity_routes.hpp"

#include <algorithm>

#include "http/api_error.hpp"
#include "stores/thread_store.hpp"

namespace rtemu {
namespace {

constexpr std::size_t kMaxKeyName = 200;
constexpr std::int64_t kMaxAdvanceMs = 100LL * 365 * 86'400'000;
constexpr char kStoreKeyMessage[] =
    "Store this key securely. You will not be able to see it again.";

// The first of `names` present (and not null) in `body`, or the first name.
const char* pick(const Json& body, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const auto it = body.find(name);
    if (it != body.end() && !it->is_null()) return name;
  }
  return *names.begin();
}

std::string requireKeyName(const Json& body) {
  const auto name = readString(body, "name");
  if (!name || name->empty()) throw validationError("name", "is required");
  if (ThreadStore::countCharacters(*name) > kMaxKeyName) {
    throw validationError("name", "must be at most 200 characters");
  }
  return *name;
}

std::optional<std::string> optionalKeyName(const Json& body) {
  if (!body.contains("name") || body["name"].is_null()) return std::nullopt;
  return requireKeyName(body);
}

// Validated scopes; empty -> ["*"]; duplicates dropped.
std::vector<std::string> keyScopes(const std::vector<std::string>& scopes) {
  std::vector<std::string> out;
  for (const std::string& scope : scopes) {
    if (!knownScope(scope)) throw validationError("scopes", "unknown scope '" + scope + "'");
    if (std::find(out.begin(), out.end(), scope) == out.end()) out.push_back(scope);
  }
  if (out.empty()) out.push_back("*");
  return out;
}

Reply keyReply(Json data) {
  Reply reply = okReply(std::move(data), 201);
  reply.extras = Json{{"message", kStoreKeyMessage}};
  return reply;
}

Reply createApiKey(KeyStore& keys, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  KeyStore::NewKey spec;
  spec.name = requireKeyName(body);
  spec.scopes = keyScopes(readStringArray(body, "scopes").value_or(std::vector<std::string>{}));
  const char* expiresField = pick(body, {"expiresIn", "expires_in"});
  if (const auto expiresIn = readString(body, expiresField)) {
    if (!parseApiKeyExpiresIn(*expiresIn, spec.lifetime)) {
      throw validationError(expiresField, "must be <N>d, <N>m (months), <N>y or never");
    }
  }
  spec.isTest = readBool(body, pick(body, {"isTest", "is_test"})).value_or(false);
  const char* projectField = pick(body, {"projectId", "project_id"});
  if (const auto projectId = readString(body, projectField)) spec.projectId = *projectId;
  return keyReply(keys.createApiKey(request.principal, spec));
}

Reply updateApiKey(KeyStore& keys, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  const auto name = optionalKeyName(body);
  std::optional<std::vector<std::string>> scopes;
  if (const auto given = readStringArray(body, "scopes")) scopes = keyScopes(*given);
  keys.updateApiKey(request.principal.orgId, request.param("id"), name, scopes);
  return okReply(Json{{"success", true}});
}

Reply mintKey(KeyStore& keys, const Clock& clock, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  const auto org = readString(body, "org");
  if (org && org->empty()) throw validationError("org", "must not be empty");
  const auto user = readString(body, "user");
  if (user && user->empty()) throw validationError("user", "must not be empty");
  const auto role = readString(body, "role");
  auto scopes = readStringArray(body, "scopes").value_or(std::vector<std::string>{});
  for (const std::string& scope : scopes) {
    if (scope.empty()) throw validationError("scopes", "must not contain empty strings");
  }
  std::optional<std::int64_t> expiresAtMs;
  if (const auto expiresIn = readString(body, "expiresIn")) {
    const auto duration = parseExpiresIn(*expiresIn);
    if (!duration) {
      throw validationError("expiresIn", "must look like 30d, 12h, 90m or 45s");
    }
    expiresAtMs = clock.nowMs() + *duration;
  }
  const KeyStore::Minted minted =
      keys.mint(org.value_or(""), user.value_or(""), role, scopes, expiresAtMs);
  return okReply(Json{{"key", minted.key},
                      {"orgId", minted.orgId},
                      {"userId", minted.userId},
                      {"role", minted.role},
                      {"scopes", scopes.empty() ? std::vector<std::string>{"*"} : scopes},
                      {"expiresAt", expiresAtMs ? Json(isoTimestamp(*expiresAtMs)) : Json()}},
                 201);
}

Json clockJson(const Clock& clock) {
  const std::int64_t now = clock.nowMs();
  return Json{{"now", isoTimestamp(now)}, {"nowMs", now}, {"offsetMs", clock.offsetMs()}};
}

}  // namespace

void addIdentityRoutes(Router& router, const IdentityRoutesConfig& config) {
  KeyStore* keys = config.keys;
  SshKeyStore* sshKeys = config.sshKeys;
  Clock* clock = config.clock;

  router.add("GET", "/v1/me", Access::kOrgRead, [keys](ApiRequest& request) {
    return okReply(keys->userJson(request.principal.orgId, request.principal.userId));
  });
  router.add("GET", "/v1/organizations/current", Access::kOrgRead, [keys](ApiRequest& request) {
    return okReply(keys->organizationJson(request.principal.orgId, request.principal.userId));
  });

  // API keys (auth-service style errors: 400 bad_request).
  router.add("GET", "/v1/api-keys", Access::kOrgRead, [keys](ApiRequest& request) {
    return okReply(keys->listApiKeys(request.principal.orgId));
  });
  router.add(
      "POST", "/v1/api-keys", Access::kFull,
      withBadRequestErrors([keys](ApiRequest& request) { return createApiKey(*keys, request); }));
  router.add("GET", "/v1/api-keys/:id", Access::kOrgRead, [keys](ApiRequest& request) {
    return okReply(keys->getApiKey(request.principal.orgId, request.param("id")));
  });
  router.add(
      "PATCH", "/v1/api-keys/:id", Access::kFull,
      withBadRequestErrors([keys](ApiRequest& request) { return updateApiKey(*keys, request); }));
  router.add("DELETE", "/v1/api-keys/:id", Access::kFull, [keys](ApiRequest& request) {
    keys->revokeApiKey(request.principal.orgId, request.param("id"));
    return okReply(Json{{"success", true}});
  });
  router.add("POST", "/v1/api-keys/:id/rotate", Access::kFull,
             withBadRequestErrors([keys](ApiRequest& request) {
               const Json body = parseJsonObjectBody(request.bodyText());
               const auto name = optionalKeyName(body);
               return keyReply(keys->rotateApiKey(request.principal, request.param("id"), name));
             }));

  // SSH keys.
  router.add("POST", "/v1/ssh-keys", Access::kSshKeys,
             withBadRequestErrors([sshKeys](ApiRequest& request) {
               const Json body = parseJsonObjectBody(request.bodyText());
               const auto name = readString(body, "name");
               if (!name || name->empty()) throw validationError("name", "is required");
               const char* field = pick(body, {"public_key", "publicKey"});
               const auto publicKey = readString(body, field);
               if (!publicKey || publicKey->empty()) throw validationError(field, "is required");
               const ParsedSshKey parsed = parseSshPublicKey(*publicKey, field);
               return okReply(sshKeys->add(request.principal, *name, parsed), 201);
             }));
  router.add("GET", "/v1/ssh-keys", Access::kSshKeys, [sshKeys](ApiRequest& request) {
    return okReply(sshKeys->list(request.principal.orgId));
  });
  router.add("DELETE", "/v1/ssh-keys/:id", Access::kSshKeys, [sshKeys](ApiRequest& request) {
    sshKeys->remove(request.principal.orgId, request.param("id"));
    return okReply(Json{{"success", true}});
  });

  // Control plane.
  router.add("POST", "/_emu/keys", Access::kControl,
             [keys, clock](ApiRequest& request) { return mintKey(*keys, *clock, request); });
  const std::function<void()> clockAdvanced = config.clockAdvanced;
  router.add("POST", "/_emu/clock", Access::kControl, [clock, clockAdvanced](ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const auto advance = readInteger(body, "advanceMs");
    if (advance && (*advance < 0 || *advance > kMaxAdvanceMs)) {
      throw validationError("advanceMs", "must be between 0 and 100 years in milliseconds");
    }
    if (advance && *advance > 0) {
      clock->advance(*advance);
      if (clockAdvanced) clockAdvanced();
    }
    return okReply(clockJson(*clock));
  });
  router.add("GET", "/_emu/clock", Access::kControl,
             [clock](ApiRequest&) { return okReply(clockJson(*clock)); });
}

}  // namespace rtemu
