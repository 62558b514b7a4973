#include "routes/tool_routes.hpp"

#include <algorithm>

#include "http/api_error.hpp"

namespace rtemu {
namespace {

constexpr std::size_t kToolListDefaultLimit = 50;
constexpr std::size_t kToolListMaxLimit = 500;

bool oneOf(const std::string& value, const std::vector<std::string>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::optional<bool> optionalFlag(const ApiRequest& request, const char* key) {
  const auto value = request.queryValue(key);
  if (!value || value->empty()) return std::nullopt;
  return request.queryFlag(key);
}

std::optional<std::string> nonEmptyQuery(const ApiRequest& request, const char* key) {
  auto value = request.queryValue(key);
  if (value && value->empty()) return std::nullopt;
  return value;
}

// An object of string values (credentials, credentialOverrides).
std::map<std::string, std::string> readStringMap(const Json& body, const char* field) {
  std::map<std::string, std::string> out;
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object()) throw validationError(field, "must be an object of strings");
  for (const auto& [name, value] : it->items()) {
    if (!value.is_string()) throw validationError(field, "must be an object of strings");
    out.emplace(name, value.get<std::string>());
  }
  return out;
}

void checkEnum(const std::optional<std::string>& value, const char* field,
               const std::vector<std::string>& allowed) {
  if (!value || oneOf(*value, allowed)) return;
  std::string list;
  for (const std::string& a : allowed)
    list += (list.empty() ? "" : ", ") + a;
  throw validationError(field, "must be one of " + list);
}

const std::vector<std::string>& secretScopes() {
  static const std::vector<std::string> kScopes = {"all", "agents", "tools", "sandboxes"};
  return kScopes;
}

const std::vector<std::string>& secretCategories() {
  static const std::vector<std::string> kCategories = {"provider", "tool", "custom"};
  return kCategories;
}

// ---- Tool Hub ------------------------------------------------------------------------------

Reply listTools(ToolHub& hub, ApiRequest& request) {
  const PageRequest page = parsePageRequest(request, kToolListDefaultLimit, kToolListMaxLimit);
  ToolHub::ListFilter filter;
  filter.search = nonEmptyQuery(request, "search");
  filter.category = nonEmptyQuery(request, "category");
  filter.installed = optionalFlag(request, "installed");
  filter.custom = optionalFlag(request, "custom");
  Reply reply;
  Pagination pagination;
  reply.data = slicePage(hub.list(request.principal.orgId, filter), page, pagination);
  reply.page = pagination;
  return reply;
}

Reply executeTool(ToolHub& hub, ApiRequest& request) {
  const std::string& slug = request.param("slug");
  hub.get(request.principal.orgId, slug);  // 404 for an unknown tool first
  const Json body = parseJsonObjectBody(request.bodyText());
  ToolHub::Execution execution;
  const auto action = readString(body, "action");
  if (!action || action->empty()) throw validationError("action", "is required");
  execution.action = *action;
  if (const auto params = readObject(body, "params")) execution.params = *params;
  execution.credentials = readStringMap(body, "credentials");
  execution.credentialOverrides = readStringMap(body, "credentialOverrides");
  return okReply(hub.execute(request.principal, slug, execution));
}

Reply storeCredentials(ToolHub& hub, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  const auto it = body.find("credentials");
  if (it == body.end() || !it->is_object() || it->empty()) {
    throw validationError("credentials", "must be a non-empty object of strings");
  }
  const auto credentials = readStringMap(body, "credentials");
  return okReply(hub.setCredentials(request.principal.orgId, request.param("slug"), credentials));
}

Reply setVisibility(ToolHub& hub, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  const auto visibility = readString(body, "visibility");
  if (!visibility || !oneOf(*visibility, {"private", "org", "public"})) {
    throw validationError("visibility", "must be one of private, org, public");
  }
  return okReply(hub.setVisibility(request.principal.orgId, request.param("slug"), *visibility));
}

// ---- secrets -------------------------------------------------------------------------------

Reply listSecrets(SecretStore& secrets, ApiRequest& request) {
  SecretStore::ListFilter filter;
  filter.scope = nonEmptyQuery(request, "scope");
  filter.category = nonEmptyQuery(request, "category");
  checkEnum(filter.scope, "scope", secretScopes());
  checkEnum(filter.category, "category", secretCategories());
  filter.userOnly = request.queryFlag("userOnly");
  filter.orgOnly = request.queryFlag("orgOnly");
  filter.all = request.queryFlag("all");
  if (filter.userOnly && filter.orgOnly) {
    throw validationError("orgOnly", "userOnly and orgOnly exclude each other");
  }
  return okReply(secrets.list(request.principal, filter));
}

Reply setSecret(SecretStore& secrets, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  SecretStore::Upsert spec;
  const auto name = readString(body, "name");
  if (!name) throw validationError("name", "is required");
  spec.name = SecretStore::normalizeName(*name);
  const auto value = readString(body, "value");
  if (!value || value->empty()) throw validationError("value", "is required");
  spec.value = *value;
  spec.scope = readString(body, "scope");
  checkEnum(spec.scope, "scope", secretScopes());
  spec.category = readString(body, "category");
  checkEnum(spec.category, "category", secretCategories());
  spec.description = readString(body, "description");
  spec.orgWide = readBool(body, "orgWide").value_or(false);
  bool created = false;
  Json data = secrets.set(request.principal, spec, created);
  return okReply(std::move(data), created ? 201 : 200);
}

}  // namespace

void addToolRoutes(Router& router, const ToolRoutesConfig& config) {
  ToolHub* hub = config.tools;
  SecretStore* secrets = config.secrets;

  router.add("GET", "/v1/tools", Access::kTools,
             [hub](ApiRequest& request) { return listTools(*hub, request); });
  router.add("POST", "/v1/tools", Access::kTools, [](ApiRequest&) -> Reply {
    throw ApiError(501, "not_implemented",
                   "Deploying custom tools is not implemented by runtools-emulator");
  });
  router.add("GET", "/v1/tools/:slug", Access::kTools, [hub](ApiRequest& request) {
    return okReply(hub->get(request.principal.orgId, request.param("slug")));
  });
  router.add("POST", "/v1/tools/:slug/install", Access::kTools, [hub](ApiRequest& request) {
    return okReply(hub->install(request.principal.orgId, request.param("slug")));
  });
  router.add("DELETE", "/v1/tools/:slug/install", Access::kTools, [hub](ApiRequest& request) {
    return okReply(hub->uninstall(request.principal.orgId, request.param("slug")));
  });
  router.add("PUT", "/v1/tools/:slug/credentials", Access::kTools,
             [hub](ApiRequest& request) { return storeCredentials(*hub, request); });
  router.add("GET", "/v1/tools/:slug/credentials", Access::kTools, [hub](ApiRequest& request) {
    return okReply(hub->credentialStatus(request.principal.orgId, request.param("slug")));
  });
  router.add("DELETE", "/v1/tools/:slug/credentials", Access::kTools, [hub](ApiRequest& request) {
    return okReply(hub->clearCredentials(request.principal.orgId, request.param("slug")));
  });
  router.add("PATCH", "/v1/tools/:slug/visibility", Access::kTools,
             [hub](ApiRequest& request) { return setVisibility(*hub, request); });
  router.add("POST", "/v1/tools/:slug/execute", Access::kTools,
             [hub](ApiRequest& request) { return executeTool(*hub, request); });

  router.add("GET", "/v1/secrets", Access::kFull,
             [secrets](ApiRequest& request) { return listSecrets(*secrets, request); });
  router.add("POST", "/v1/secrets", Access::kFull,
             [secrets](ApiRequest& request) { return setSecret(*secrets, request); });
  router.add("GET", "/v1/secrets/:name", Access::kFull, [secrets](ApiRequest& request) {
    return okReply(secrets->get(request.principal,
                                SecretStore::normalizeName(request.param("name")),
                                request.queryFlag("orgWide")));
  });
  router.add("POST", "/v1/secrets/:name/reveal", Access::kFull, [secrets](ApiRequest& request) {
    return okReply(secrets->reveal(request.principal,
                                   SecretStore::normalizeName(request.param("name")),
                                   request.queryFlag("orgWide")));
  });
  router.add("DELETE", "/v1/secrets/:name", Access::kFull, [secrets](ApiRequest& request) {
    secrets->remove(request.principal, SecretStore::normalizeName(request.param("name")),
                    request.queryFlag("orgWide"));
    return okReply(Json{{"success", true}});
  });
}

}  // namespace rtemu
