#include "routes/oauth_routes.hpp"

#include "http/api_error.hpp"
#include "util/encoding.hpp"
#include "util/ids.hpp"

namespace rtemu {
namespace {

ApiError providerNotFound(const std::string& provider) {
  return ApiError(404, "provider_not_found", "Unknown OAuth provider '" + provider + "'");
}

std::vector<std::string> splitScopes(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string scope = text.substr(start, comma - start);
    const auto first = scope.find_first_not_of(" \t");
    const auto last = scope.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(scope.substr(first, last - first + 1));
    start = comma + 1;
  }
  return out;
}

bool localRedirect(const std::string& uri) {
  return uri.rfind("http://localhost:", 0) == 0 || uri.rfind("http://127.0.0.1:", 0) == 0;
}

std::string withQuery(const std::string& url, const std::string& query) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

class Handlers {
 public:
  explicit Handlers(OAuthRoutesConfig config) : c_(std::move(config)) {}

  Reply start(ApiRequest& request) {
    const std::string& provider = request.param("provider");
    if (!OAuthStore::isRedirectProvider(provider)) throw providerNotFound(provider);
    std::optional<std::string> redirectUri = request.queryValue("redirect_uri");
    if (redirectUri && redirectUri->empty()) redirectUri.reset();
    if (redirectUri && !localRedirect(*redirectUri)) {
      throw ApiError(400, "bad_request",
                     "redirect_uri must start with http://localhost: or http://127.0.0.1:")
          .withDetails("redirect_uri", "must be a local http URL");
    }
    const auto started = c_.store->startRedirect(
        request.principal, provider, splitScopes(request.queryValue("scopes").value_or("")),
        std::move(redirectUri));
    const std::string authUrl =
        c_.baseUrl() + "/_emu/oauth/authorize?state=" + percentEncode(started.state);
    Json data{{"authUrl", authUrl},
              {"state", started.state},
              {"expiresAt", isoTimestamp(started.expiresAtMs)}};
    if (request.header("Accept").find("application/json") != std::string::npos) {
      return okReply(std::move(data));
    }
    return redirectReply(authUrl, std::move(data));
  }

  // The emulator's stand-in for a provider's consent page: approves at once (or, with
  // deny=true, refuses) and sends the browser to the callback.
  Reply authorize(ApiRequest& request) {
    const std::string state = request.queryValue("state").value_or("");
    const std::string provider = c_.store->authorize(state);
    std::string query = request.queryFlag("deny") ? "error=access_denied&error_description=" +
                                                        percentEncode("The user denied access")
                                                  : "code=" + randomAlnum(24);
    query += "&state=" + percentEncode(state);
    return redirectReply(c_.baseUrl() + "/v1/oauth/callback/" + provider + "?" + query);
  }

  Reply callback(ApiRequest& request) {
    const std::string& provider = request.param("provider");
    const auto result = c_.store->callback(provider, request.queryValue("state"),
                                           request.queryValue("code"), request.queryValue("error"));
    std::string query;
    if (result.success) {
      query = "status=success&provider=" + percentEncode(provider) +
              "&connection_id=" + percentEncode(result.connectionId);
    } else {
      if (!result.redirectUri && result.error == "bad_request") {
        throw ApiError(400, "bad_request",
                       "Invalid OAuth callback: the state is expired, already used, or for "
                       "another provider, or the code is missing");
      }
      query = "status=error&error=" + percentEncode(result.error) +
              "&provider=" + percentEncode(provider);
    }
    const std::string target =
        result.redirectUri ? *result.redirectUri : c_.baseUrl() + "/_emu/oauth/done";
    Json data{{"status", result.success ? "success" : "error"}, {"provider", provider}};
    if (result.success) data["connectionId"] = result.connectionId;
    if (!result.success) data["error"] = result.error;
    return redirectReply(withQuery(target, query), std::move(data));
  }

  Reply done(ApiRequest& request) {
    Json data{{"status", request.queryValue("status").value_or("")},
              {"provider", request.queryValue("provider").value_or("")}};
    const auto connection = request.queryValue("connection_id");
    data["connectionId"] = connection ? Json(*connection) : Json(nullptr);
    if (const auto error = request.queryValue("error")) data["error"] = *error;
    return okReply(std::move(data));
  }

  Reply status(ApiRequest& request) {
    const std::string& provider = request.param("provider");
    if (!OAuthStore::isRedirectProvider(provider) && !OAuthStore::isDeviceProvider(provider)) {
      throw providerNotFound(provider);
    }
    return okReply(Json{{"connected", c_.store->connected(request.principal, provider)},
                        {"provider", provider}});
  }

  Reply deviceStart(ApiRequest& request) {
    const std::string& provider = request.param("provider");
    if (!OAuthStore::isDeviceProvider(provider)) throw providerNotFound(provider);
    return okReply(c_.store->deviceStart(request.principal, provider, c_.baseUrl(),
                                         c_.deviceInterval.count()));
  }

  Reply deviceStatus(ApiRequest& request) {
    const std::string& provider = request.param("provider");
    if (!OAuthStore::isDeviceProvider(provider)) throw providerNotFound(provider);
    const Json body = parseJsonObjectBody(request.bodyText());
    const auto token = readString(body, "attemptToken");
    if (!token || token->empty()) throw validationError("attemptToken", "is required");
    return okReply(
        c_.store->deviceStatus(request.principal, provider, *token, c_.deviceInterval.count()));
  }

  Reply approve(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const auto userCode = readString(body, "userCode");
    const auto token = readString(body, "attemptToken");
    const bool deny = readBool(body, "deny").value_or(false);
    if ((!userCode || userCode->empty()) && (!token || token->empty())) {
      throw validationError("userCode", "userCode or attemptToken is required");
    }
    return okReply(c_.store->approve(userCode && !userCode->empty() ? userCode : std::nullopt,
                                     token && !token->empty() ? token : std::nullopt, deny));
  }

  Reply upsertConfig(ApiRequest& request) {
    const Json body = parseJsonObjectBody(request.bodyText());
    const auto provider = readString(body, "provider");
    if (!provider || provider->empty()) throw validationError("provider", "is required");
    if (!OAuthStore::isRedirectProvider(*provider)) {
      throw validationError("provider", "must be one of the OAuth providers");
    }
    if (*provider == "telegram") {
      throw validationError("provider", "telegram does not support custom OAuth apps");
    }
    const char* idField = body.contains("client_id") ? "client_id" : "clientId";
    const auto clientId = readString(body, idField);
    if (!clientId || clientId->empty()) throw validationError("client_id", "is required");
    const char* secretField = body.contains("client_secret") ? "client_secret" : "clientSecret";
    const auto clientSecret = readString(body, secretField);
    std::string scopes;
    const auto it = body.find("scopes");
    if (it != body.end() && it->is_array()) {
      for (const std::string& s :
           readStringArray(body, "scopes").value_or(std::vector<std::string>{}))
        scopes += (scopes.empty() ? "" : ",") + s;
    } else {
      scopes = readString(body, "scopes").value_or("");
    }
    return okReply(c_.store->upsertConfig(request.principal.orgId, *provider, *clientId,
                                          clientSecret.value_or(""), scopes));
  }

 private:
  OAuthRoutesConfig c_;
};

}  // namespace

void addOAuthRoutes(Router& router, const OAuthRoutesConfig& config) {
  auto h = std::make_shared<Handlers>(config);
  OAuthStore* store = config.store;

  router.add("GET", "/v1/oauth/providers", Access::kFull,
             [](ApiRequest&) { return okReply(Json(OAuthStore::redirectProviders())); });
  router.add("GET", "/v1/oauth/start/:provider", Access::kFull,
             withBadRequestErrors([h](ApiRequest& request) { return h->start(request); }));
  // What a browser opens: no key (the state identifies organization and user).
  router.add("GET", "/_emu/oauth/authorize", Access::kPublic,
             withBadRequestErrors([h](ApiRequest& request) { return h->authorize(request); }));
  router.add("GET", "/v1/oauth/callback/:provider", Access::kPublic,
             [h](ApiRequest& request) { return h->callback(request); });
  router.add("GET", "/_emu/oauth/done", Access::kPublic,
             [h](ApiRequest& request) { return h->done(request); });

  router.add("GET", "/v1/oauth/connections", Access::kFull, [store](ApiRequest& request) {
    return okReply(store->connections(request.principal, request.queryFlag("all")));
  });
  router.add("DELETE", "/v1/oauth/connections/:id", Access::kFull, [store](ApiRequest& request) {
    store->disconnect(request.principal, request.param("id"));
    return okReply(Json{{"success", true}});
  });
  router.add("POST", "/v1/oauth/connections/:id/default", Access::kFull,
             [store](ApiRequest& request) {
               return okReply(store->makeDefault(request.principal, request.param("id")));
             });
  router.add("GET", "/v1/oauth/status/:provider", Access::kFull,
             [h](ApiRequest& request) { return h->status(request); });

  router.add("POST", "/v1/oauth/device/start/:provider", Access::kFull,
             [h](ApiRequest& request) { return h->deviceStart(request); });
  router.add("POST", "/v1/oauth/device/status/:provider", Access::kFull,
             withBadRequestErrors([h](ApiRequest& request) { return h->deviceStatus(request); }));
  // The verification page a user would open: approval goes through /_emu/oauth/approve.
  router.add("GET", "/_emu/oauth/device", Access::kPublic, [](ApiRequest& request) {
    return okReply(Json{{"userCode", request.queryValue("user_code").value_or("")},
                        {"approve", "POST /_emu/oauth/approve {\"userCode\": \"...\"}"}});
  });
  router.add("POST", "/_emu/oauth/approve", Access::kControl,
             [h](ApiRequest& request) { return h->approve(request); });

  router.add("POST", "/v1/oauth/configs", Access::kFull,
             withBadRequestErrors([h](ApiRequest& request) { return h->upsertConfig(request); }));
  router.add("GET", "/v1/oauth/configs", Access::kFull, [store](ApiRequest& request) {
    return okReply(store->listConfigs(request.principal.orgId));
  });
  router.add("DELETE", "/v1/oauth/configs/:provider", Access::kFull, [store](ApiRequest& request) {
    store->deleteConfig(request.principal.orgId, request.param("provider"));
    return okReply(Json{{"success", true}});
  });
}

}  // namespace rtemu
