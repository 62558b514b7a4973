// The Tool Hub (docs/wire-contract.md §4.8, §7 G17/G18): the built-in tools (echo, math, github,
// weather), per-organization install state, stored credentials and visibility (persisted in
// "tools.json", written atomically, owner-only), and execution with the documented credential
// resolution order.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "stores/oauth_store.hpp"
#include "stores/secret_store.hpp"
#include "util/json_util.hpp"

namespace rtemu {

class ToolHub {
 public:
  ToolHub(std::optional<std::filesystem::path> stateFile, SecretStore& secrets, OAuthStore& oauth);
  void restore();

  struct ListFilter {
    std::optional<std::string> search;    // case-insensitive substring of slug, name, description
    std::optional<std::string> category;  // case-insensitive
    std::optional<bool> installed;
    std::optional<bool> custom;
  };
  Json list(const std::string& orgId, const ListFilter& filter);  // ordered by slug
  Json get(const std::string& orgId, const std::string& slug);    // 404 not_found

  Json install(const std::string& orgId, const std::string& slug);
  Json uninstall(const std::string& orgId, const std::string& slug);

  Json setCredentials(const std::string& orgId, const std::string& slug,
                      const std::map<std::string, std::string>& credentials);
  Json credentialStatus(const std::string& orgId, const std::string& slug);
  Json clearCredentials(const std::string& orgId, const std::string& slug);

  Json setVisibility(const std::string& orgId, const std::string& slug,
                     const std::string& visibility);

  struct Execution {
    std::string action;
    Json params = Json::object();
    std::map<std::string, std::string> credentials;          // per request
    std::map<std::string, std::string> credentialOverrides;  // field -> secret name
  };
  // {success, result, durationMs, error?}: HTTP 200 for everything but an unknown slug (404).
  Json execute(const Principal& caller, const std::string& slug, const Execution& execution);

  void reset();

 private:
  struct Action {
    std::string name;
    std::string description;
    Json parameters;
  };
  struct Tool {
    std::string slug;
    std::string name;
    std::string description;
    std::string category;
    std::string credentialMode;  // none | secret | oauth
    std::vector<std::string> requiredFields;
    std::string oauthProvider;  // oauth tools
    std::vector<Action> actions;
  };
  struct OrgState {
    std::set<std::string> installed;
    std::map<std::string, std::map<std::string, std::string>> credentials;  // slug -> fields
    std::map<std::string, std::string> visibility;                          // slug -> value

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(OrgState, installed, credentials, visibility)
  };

  // A credential value and where it came from (request, override, stored, secret, oauth).
  struct Credential {
    std::string value;
    std::string from;
  };

  static const std::vector<Tool>& builtins();
  static const Tool& require(const std::string& slug);
  Json toJsonLocked(const std::string& orgId, const Tool& tool);
  Json statusLocked(const std::string& orgId, const Tool& tool);
  void persistLocked();
  // Execution steps; a failure throws the answer's error (caught by execute()).
  std::optional<Credential> findCredential(const Principal& caller, const Tool& tool,
                                           const Execution& execution,
                                           const std::map<std::string, std::string>& stored,
                                           const std::string& field);
  // Every required field resolved; returns where the first one came from.
  std::string resolveCredentials(const Principal& caller, const Tool& tool,
                                 const Execution& execution,
                                 const std::map<std::string, std::string>& stored);

  const std::optional<std::filesystem::path> stateFile_;
  SecretStore& secrets_;
  OAuthStore& oauth_;
  std::mutex mutex_;
  std::map<std::string, OrgState> orgs_;
};

}  // namespace rtemu
