#include "stores/tool_hub.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "http/api_error.hpp"
#include "util/fs_util.hpp"

namespace rtemu {
namespace {

std::string lower(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return lower(haystack).find(lower(needle)) != std::string::npos;
}

// "accessToken" -> "access_Token" (then upper-cased by the secret-name normalisation).
std::string snakeCase(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    const bool upper = c >= 'A' && c <= 'Z';
    if (upper && i > 0 &&
        (std::islower(static_cast<unsigned char>(field[i - 1])) ||
         std::isdigit(static_cast<unsigned char>(field[i - 1])))) {
      out.push_back('_');
    }
    out.push_back(c);
  }
  return out;
}

Json toolError(const std::string& code, const std::string& message, int statusCode) {
  return Json{{"code", code}, {"message", message}, {"statusCode", statusCode}};
}

}  // namespace

ToolHub::ToolHub(std::optional<std::filesystem::path> stateFile, SecretStore& secrets,
                 OAuthStore& oauth)
    : stateFile_(std::move(stateFile)), secrets_(secrets), oauth_(oauth) {}

const std::vector<ToolHub::Tool>& ToolHub::builtins() {
  static const std::vector<Tool> kTools = [] {
    std::vector<Tool> tools;
    tools.push_back(Tool{"echo",
                         "Echo",
                         "Returns the parameters it is given (a test tool)",
                         "utility",
                         "none",
                         {},
                         "",
                         {Action{"echo", "Returns the parameters unchanged",
                                 Json{{"type", "object"}, {"additionalProperties", true}}}}});
    tools.push_back(
        Tool{"github",
             "GitHub",
             "Repositories, issues and pull requests on GitHub",
             "developer",
             "oauth",
             {"accessToken"},
             "github",
             {Action{"list_repos", "Lists the repositories of the connected account",
                     Json{{"type", "object"},
                          {"properties",
                           {{"visibility",
                             {{"type", "string"}, {"enum", {"all", "public", "private"}}}}}}}}}});
    tools.push_back(Tool{
        "math",
        "Math",
        "Basic arithmetic",
        "utility",
        "none",
        {},
        "",
        {Action{"add", "Adds two numbers",
                Json{{"type", "object"},
                     {"properties", {{"a", {{"type", "number"}}}, {"b", {{"type", "number"}}}}},
                     {"required", {"a", "b"}}}}}});
    tools.push_back(Tool{"weather",
                         "Weather",
                         "Weather forecasts for a city",
                         "data",
                         "secret",
                         {"apiKey"},
                         "",
                         {Action{"forecast", "The forecast for a city",
                                 Json{{"type", "object"},
                                      {"properties", {{"city", {{"type", "string"}}}}},
                                      {"required", {"city"}}}}}});
    return tools;  // ordered by slug
  }();
  return kTools;
}

const ToolHub::Tool& ToolHub::require(const std::string& slug) {
  for (const Tool& tool : builtins()) {
    if (tool.slug == slug) return tool;
  }
  throw notFound("Tool " + slug + " not found");
}

Json ToolHub::toJsonLocked(const std::string& orgId, const Tool& tool) {
  const OrgState& org = orgs_[orgId];
  Json actions = Json::array();
  for (const Action& a : tool.actions) {
    actions.push_back(
        Json{{"name", a.name}, {"description", a.description}, {"parameters", a.parameters}});
  }
  const auto visibility = org.visibility.find(tool.slug);
  return Json{{"slug", tool.slug},
              {"name", tool.name},
              {"description", tool.description},
              {"category", tool.category},
              {"visibility", visibility == org.visibility.end() ? "public" : visibility->second},
              {"installed", org.installed.count(tool.slug) > 0},
              {"credentialMode", tool.credentialMode},
              {"requiredCredentialFields", tool.requiredFields},
              {"custom", false},
              {"actions", std::move(actions)}};
}

Json ToolHub::list(const std::string& orgId, const ListFilter& filter) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::array();
  const OrgState& org = orgs_[orgId];
  for (const Tool& tool : builtins()) {
    if (filter.search && !contains(tool.slug, *filter.search) &&
        !contains(tool.name, *filter.search) && !contains(tool.description, *filter.search)) {
      continue;
    }
    if (filter.category && lower(tool.category) != lower(*filter.category)) continue;
    if (filter.installed && (org.installed.count(tool.slug) > 0) != *filter.installed) continue;
    if (filter.custom && *filter.custom) continue;  // every built-in tool is custom: false
    out.push_back(toJsonLocked(orgId, tool));
  }
  return out;
}

Json ToolHub::get(const std::string& orgId, const std::string& slug) {
  const Tool& tool = require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  return toJsonLocked(orgId, tool);
}

Json ToolHub::install(const std::string& orgId, const std::string& slug) {
  const Tool& tool = require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  orgs_[orgId].installed.insert(slug);
  persistLocked();
  return Json{{"slug", slug},
              {"installed", true},
              {"credentialsRequired", tool.credentialMode != "none"},
              {"credentialMode", tool.credentialMode},
              {"requiredCredentialFields", tool.requiredFields}};
}

Json ToolHub::uninstall(const std::string& orgId, const std::string& slug) {
  require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  orgs_[orgId].installed.erase(slug);
  persistLocked();
  return Json{{"slug", slug}, {"installed", false}};
}

Json ToolHub::statusLocked(const std::string& orgId, const Tool& tool) {
  Json fields = Json::array();
  const OrgState& org = orgs_[orgId];
  const auto it = org.credentials.find(tool.slug);
  if (it != org.credentials.end()) {
    for (const auto& [name, value] : it->second)
      fields.push_back(name);  // never the value
  }
  const bool configured = !fields.empty();
  return Json{{"slug", tool.slug},
              {"configured", configured},
              {"fields", std::move(fields)},
              {"credentialMode", tool.credentialMode}};
}

Json ToolHub::setCredentials(const std::string& orgId, const std::string& slug,
                             const std::map<std::string, std::string>& credentials) {
  const Tool& tool = require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  orgs_[orgId].credentials[slug] = credentials;
  persistLocked();
  return statusLocked(orgId, tool);
}

Json ToolHub::credentialStatus(const std::string& orgId, const std::string& slug) {
  const Tool& tool = require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  return statusLocked(orgId, tool);
}

Json ToolHub::clearCredentials(const std::string& orgId, const std::string& slug) {
  const Tool& tool = require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  orgs_[orgId].credentials.erase(slug);
  persistLocked();
  return statusLocked(orgId, tool);
}

Json ToolHub::setVisibility(const std::string& orgId, const std::string& slug,
                            const std::string& visibility) {
  const Tool& tool = require(slug);
  std::lock_guard<std::mutex> lock(mutex_);
  orgs_[orgId].visibility[slug] = visibility;
  persistLocked();
  return toJsonLocked(orgId, tool);
}

namespace {

// A failed execution: the {code, message, statusCode} of the answer's `error`.
struct ToolFailure {
  Json error;
};

// The built-in tools' behaviour; `source` is where their first credential came from.
Json runBuiltin(const std::string& slug, const Json& params, const std::string& source) {
  if (slug == "echo") return params;
  if (slug == "math") {
    const auto a = params.find("a");
    const auto b = params.find("b");
    if (a == params.end() || b == params.end() || !a->is_number() || !b->is_number()) {
      throw ToolFailure{toolError("invalid_params", "add needs numbers a and b", 400)};
    }
    if (a->is_number_float() || b->is_number_float()) {
      return Json{{"sum", a->get<double>() + b->get<double>()}};
    }
    return Json{{"sum", a->get<std::int64_t>() + b->get<std::int64_t>()}};
  }
  if (slug == "github") return Json{{"repos", Json::array()}, {"credentialSource", source}};
  if (slug == "weather") {
    const auto city = params.find("city");
    if (city == params.end() || !city->is_string() || city->get<std::string>().empty()) {
      throw ToolFailure{toolError("invalid_params", "forecast needs a city", 400)};
    }
    return Json{{"city", *city}, {"forecast", "sunny"}, {"credentialSource", source}};
  }
  return Json();
}

}  // namespace

std::optional<ToolHub::Credential> ToolHub::findCredential(
    const Principal& caller, const Tool& tool, const Execution& execution,
    const std::map<std::string, std::string>& stored, const std::string& field) {
  if (const auto it = execution.credentials.find(field);
      it != execution.credentials.end() && !it->second.empty()) {
    return Credential{it->second, "request"};
  }
  if (const auto it = execution.credentialOverrides.find(field);
      it != execution.credentialOverrides.end()) {
    const auto name = SecretStore::tryNormalizeName(it->second);
    std::optional<std::string> value;
    if (name) value = secrets_.lookupValue(caller.orgId, caller.userId, *name);
    if (!value) {
      throw ToolFailure{toolError("secret_not_found",
                                  "Secret " + name.value_or(it->second) +
                                      " named by credentialOverrides." + field + " does not exist",
                                  404)};
    }
    return Credential{*value, "override"};
  }
  if (const auto it = stored.find(field); it != stored.end() && !it->second.empty()) {
    return Credential{it->second, "stored"};
  }
  if (const auto name = SecretStore::tryNormalizeName(tool.slug + "_" + snakeCase(field))) {
    if (auto value = secrets_.lookupValue(caller.orgId, caller.userId, *name)) {
      return Credential{*value, "secret"};
    }
  }
  if (!tool.oauthProvider.empty()) {
    if (const auto connection =
            oauth_.defaultConnection(caller.orgId, caller.userId, tool.oauthProvider)) {
      return Credential{"oauth-access-token-" + *connection, "oauth"};
    }
  }
  return std::nullopt;
}

std::string ToolHub::resolveCredentials(const Principal& caller, const Tool& tool,
                                        const Execution& execution,
                                        const std::map<std::string, std::string>& stored) {
  // Field by field, in the documented order. Values stay here: they are never echoed.
  std::string source;
  for (const std::string& field : tool.requiredFields) {
    const auto credential = findCredential(caller, tool, execution, stored, field);
    if (!credential) {
      throw ToolFailure{toolError("missing_credentials",
                                  "No credential resolves " + field + " for tool " + tool.slug,
                                  401)};
    }
    if (source.empty()) source = credential->from;
  }
  return source;
}

Json ToolHub::execute(const Principal& caller, const std::string& slug,
                      const Execution& execution) {
  const Tool& tool = require(slug);  // the only HTTP error
  const auto started = std::chrono::steady_clock::now();
  bool installed = false;
  std::map<std::string, std::string> stored;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const OrgState& org = orgs_[caller.orgId];
    installed = org.installed.count(slug) > 0;
    const auto it = org.credentials.find(slug);
    if (it != org.credentials.end()) stored = it->second;
  }

  Json result;
  Json error;
  try {
    if (!installed) {
      throw ToolFailure{toolError("not_installed",
                                  "Tool " + slug + " is not installed in this organization", 400)};
    }
    const bool known = std::any_of(tool.actions.begin(), tool.actions.end(),
                                   [&](const Action& a) { return a.name == execution.action; });
    if (!known) {
      throw ToolFailure{toolError(
          "unknown_action", "Tool " + slug + " has no action '" + execution.action + "'", 400)};
    }
    // `source`: where the first required field came from.
    const std::string source = resolveCredentials(caller, tool, execution, stored);
    result = runBuiltin(slug, execution.params, source);
  } catch (const ToolFailure& failure) {
    error = failure.error;
  }

  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  Json out{{"success", error.is_null()},
           {"result", error.is_null() ? result : Json(nullptr)},
           {"durationMs", static_cast<std::int64_t>(elapsed.count())}};
  if (!error.is_null()) out["error"] = error;
  return out;
}

void ToolHub::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  orgs_.clear();
  persistLocked();
}

void ToolHub::persistLocked() {
  if (!stateFile_) return;
  Json orgs = Json::object();
  for (const auto& [orgId, org] : orgs_) {
    if (org.installed.empty() && org.credentials.empty() && org.visibility.empty()) continue;
    orgs[orgId] = org;
  }
  writeStateFile(*stateFile_, Json{{"orgs", orgs}});
}

void ToolHub::restore() {
  if (!stateFile_) return;
  const Json state = readStateFile(*stateFile_);
  if (!state.is_object() || !state.contains("orgs") || !state["orgs"].is_object()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [orgId, entry] : state["orgs"].items()) {
    try {
      orgs_[orgId] = entry.get<OrgState>();
    } catch (const Json::exception&) {
      // A damaged entry is skipped; the rest still loads.
    }
  }
}

}  // namespace rtemu
