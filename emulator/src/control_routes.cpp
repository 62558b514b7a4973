#include "control_routes.hpp"

#include "api_error.hpp"
#include "time_util.hpp"

namespace rtemu {
namespace {

constexpr char kVersion[] = "0.1.0";

Json templates() {
  return Json::array({
      Json{{"id", "tpl_base_ubuntu"},
           {"slug", "base-ubuntu"},
           {"name", "Base Ubuntu"},
           {"description", "Ubuntu with Bun, Node.js and common developer tools"},
           {"sizeBytes", 400ll * 1024 * 1024},
           {"public", true},
           {"status", "ready"}},
      Json{{"id", "tpl_desktop_ubuntu"},
           {"slug", "desktop-ubuntu"},
           {"name", "Desktop Ubuntu"},
           {"description", "Ubuntu desktop with XFCE4, KasmVNC and Firefox ESR"},
           {"sizeBytes", 1024ll * 1024 * 1024},
           {"public", true},
           {"status", "ready"}},
  });
}

Reply notImplemented(ApiRequest& request) {
  throw ApiError(
      501, "not_implemented",
      request.method + " " + request.rawPath + " is not implemented by runtools-emulator");
}

Reply mintKey(KeyStore& keys, ApiRequest& request) {
  const Json body = parseJsonObjectBody(request.bodyText());
  const auto org = readString(body, "org");
  if (org && org->empty()) throw validationError("org", "must not be empty");
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
    expiresAtMs = nowUnixMillis() + *duration;
  }
  const auto [key, orgId] = keys.mint(org.value_or(""), scopes, expiresAtMs);
  return okReply(Json{{"key", key},
                      {"orgId", orgId},
                      {"scopes", scopes.empty() ? std::vector<std::string>{"*"} : scopes},
                      {"expiresAt", expiresAtMs ? Json(isoTimestamp(*expiresAtMs)) : Json()}},
                 201);
}

}  // namespace

void addControlRoutes(Router& router, const ControlRoutesConfig& config) {
  router.add("GET", "/health", Access::kPublic, [](ApiRequest&) {
    Reply reply = okReply(Json{{"status", "ok"}});
    reply.bare = true;
    return reply;
  });
  router.add("GET", "/v1/status", Access::kPublic, [](ApiRequest&) {
    Reply reply =
        okReply(Json{{"status", "ok"}, {"service", "runtools-emulator"}, {"version", kVersion}});
    reply.bare = true;
    return reply;
  });

  router.add("GET", "/v1/templates", Access::kAuthenticated,
             [](ApiRequest&) { return okReply(templates()); });
  router.add("GET", "/v1/templates/:slug", Access::kAuthenticated, [](ApiRequest& request) {
    for (const Json& t : templates()) {
      if (t["slug"] == request.param("slug")) return okReply(t);
    }
    throw notFound("Template not found");
  });
  router.add("POST", "/v1/templates", Access::kAuthenticated, notImplemented);
  for (const char* surface : {"/v1/workflows/*", "/v1/devices/*", "/v1/aip/*"}) {
    router.add("*", surface, Access::kAuthenticated, notImplemented);
  }

  KeyStore* keys = config.keys;
  SandboxStore* store = config.store;
  router.add("POST", "/_emu/keys", Access::kControl,
             [keys](ApiRequest& request) { return mintKey(*keys, request); });
  WorkspaceStore* workspaces = config.workspaces;
  const std::function<void()> resetAgents = config.resetAgents;
  router.add("POST", "/_emu/reset", Access::kControl,
             [store, workspaces, resetAgents](ApiRequest&) {
               if (resetAgents) resetAgents();
               store->reset();  // removes the mount symlinks, never their targets
               if (workspaces) workspaces->reset();
               return okReply(Json{{"reset", true}});
             });
}

}  // namespace rtemu
