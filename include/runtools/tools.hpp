#pragma once

/// @file
/// Tool Hub: find, install and run tools (`rt.tools`; docs/wire-contract.md §4.8).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/export.h"
#include "runtools/page.hpp"
#include "runtools/raw_json.hpp"

namespace runtools::internal {
class ServiceClient;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

struct ToolAction {
  std::string name;
  std::string description;
  /// JSON Schema of the action's parameters.
  nlohmann::json parameters;
};

struct Tool {
  std::string slug;
  std::string name;
  std::string description;
  std::string category;
  std::string visibility;
  bool installed = false;
  /// oauth, secret, none or tool-specific.
  std::string credentialMode;
  std::vector<std::string> requiredCredentialFields;
  bool custom = false;
  std::vector<ToolAction> actions;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, Tool& tool);

struct ToolListOptions {
  std::optional<std::string> search;
  std::optional<std::string> category;
  /// Only installed (true) or only not installed (false) tools.
  std::optional<bool> installed;
  /// Only custom (true) or only marketplace (false) tools.
  std::optional<bool> custom;
  std::optional<int> limit;
  std::optional<std::string> cursor;
};

/// The answer to ToolsClient::install.
struct ToolInstallation {
  std::string slug;
  bool installed = false;
  bool credentialsRequired = false;
  std::string credentialMode;
  std::vector<std::string> requiredCredentialFields;
};

/// Options of ToolsClient::execute.
struct ExecuteToolOptions {
  std::string action;
  nlohmann::json params = nlohmann::json::object();
  /// Credentials for this call only (field -> value). Never logged.
  std::map<std::string, std::string> credentials;
  /// Credential field -> the NAME of a stored secret to use for it.
  std::map<std::string, std::string> credentialOverrides;
};

/// An error that happened inside a tool.
struct ToolError {
  std::string code;
  std::string message;
  int statusCode = 0;
};

/// The outcome of a tool call. A failure inside the tool (missing
/// credentials, unknown action, a provider error) is a value: `success` is
/// false and `error` says why. An unknown tool or a refused credential is an
/// exception instead.
struct ToolExecution {
  bool success = false;
  nlohmann::json result;
  std::optional<std::chrono::milliseconds> durationMs;
  std::optional<ToolError> error;
  RawJson raw;
};

/// Whether credentials are stored for a tool (never their values).
struct ToolCredentialsStatus {
  std::string slug;
  bool configured = false;
  std::vector<std::string> fields;
  std::string credentialMode;
};

/// Tool Hub (`rt.tools`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class ToolsClient {
 public:
  explicit ToolsClient(std::shared_ptr<internal::ServiceClient> tools);

  /// Tools matching `query` (and the other filters), across all pages.
  std::vector<Tool> search(const std::string& query, ToolListOptions options = {}) const;
  std::vector<Tool> list(const ToolListOptions& options = {}) const;
  Page<Tool> listPage(const ToolListOptions& options = {}) const;
  /// Every tool matching `options` as a lazy range, one page at a time.
  PageRange<Tool> iterate(const ToolListOptions& options = {}) const;
  Tool get(const std::string& slug) const;
  ToolInstallation install(const std::string& slug) const;
  void uninstall(const std::string& slug) const;
  ToolExecution execute(const std::string& slug, const ExecuteToolOptions& options) const;
  /// Stores credentials for the installed tool (field -> value).
  ToolCredentialsStatus storeCredentials(
      const std::string& slug, const std::map<std::string, std::string>& credentials) const;
  ToolCredentialsStatus credentials(const std::string& slug) const;
  void clearCredentials(const std::string& slug) const;
  /// `private`, `org` or `public`.
  Tool setVisibility(const std::string& slug, const std::string& visibility) const;

 private:
  std::shared_ptr<internal::ServiceClient> tools_;
};

}  // namespace runtools
