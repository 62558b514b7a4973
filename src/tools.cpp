#include "runtools/tools.hpp"

#include "internal/json_util.hpp"
#include "internal/pagination.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

void from_json(const json& j, Tool& tool) {
  tool.slug = js::string(j, {"slug"});
  tool.name = js::string(j, {"name"});
  tool.description = js::string(j, {"description"});
  tool.category = js::string(j, {"category"});
  tool.visibility = js::string(j, {"visibility"});
  tool.installed = js::boolean(j, {"installed"});
  tool.credentialMode = js::string(j, {"credentialMode"});
  tool.requiredCredentialFields = js::stringList(j, {"requiredCredentialFields"});
  tool.custom = js::boolean(j, {"custom"});
  tool.actions.clear();
  if (const json* actions = js::find(j, {"actions"})) {
    if (actions->is_array()) {
      for (const auto& a : *actions) {
        ToolAction action;
        action.name = js::string(a, {"name"});
        action.description = js::string(a, {"description"});
        if (const json* p = js::find(a, {"parameters"})) action.parameters = *p;
        tool.actions.push_back(std::move(action));
      }
    } else if (actions->is_object()) {  // the definition's map form: {name: {...}}
      for (const auto& [name, a] : actions->items()) {
        ToolAction action;
        action.name = name;
        action.description = js::string(a, {"description"});
        if (const json* p = js::find(a, {"parameters"})) action.parameters = *p;
        tool.actions.push_back(std::move(action));
      }
    }
  }
  tool.raw = j;
}

namespace {

ToolCredentialsStatus toStatus(const json& data, const std::string& slug) {
  ToolCredentialsStatus status;
  status.slug = js::string(data, {"slug"}, slug);
  status.configured = js::boolean(data, {"configured"});
  status.fields = js::stringList(data, {"fields"});
  status.credentialMode = js::string(data, {"credentialMode"});
  return status;
}

}  // namespace

ToolsClient::ToolsClient(std::shared_ptr<internal::ServiceClient> tools)
    : tools_(std::move(tools)) {}

Page<Tool> ToolsClient::listPage(const ToolListOptions& options) const {
  internal::Query query;
  if (options.search) query.emplace_back("search", *options.search);
  if (options.category) query.emplace_back("category", *options.category);
  if (options.installed) query.emplace_back("installed", *options.installed ? "true" : "false");
  if (options.custom) query.emplace_back("custom", *options.custom ? "true" : "false");
  internal::addLimit(query, options.limit, 500, "ToolListOptions::limit");
  if (options.cursor) query.emplace_back("cursor", *options.cursor);
  const auto response = tools_->get(makePath({"tools"}), query);
  const json& data = response.data();
  const json* items = data.is_array() ? &data : js::find(data, {"tools"});
  return internal::makePage<Tool>(response.envelope, items != nullptr ? *items : json::array());
}

std::vector<Tool> ToolsClient::list(const ToolListOptions& options) const {
  return internal::collectAll(iterate(options));
}

PageRange<Tool> ToolsClient::iterate(const ToolListOptions& options) const {
  return internal::pagesOf<Tool>(
      options, [self = *this](const ToolListOptions& page) { return self.listPage(page); });
}

std::vector<Tool> ToolsClient::search(const std::string& query, ToolListOptions options) const {
  options.search = query;
  return list(options);
}

Tool ToolsClient::get(const std::string& slug) const {
  return tools_->get(makePath({"tools", slug})).object("tool").get<Tool>();
}

ToolInstallation ToolsClient::install(const std::string& slug) const {
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"tools", slug, "install"});
  request.idempotent = true;  // installing an installed tool changes nothing
  const auto data = tools_->call(request).object("installation");
  ToolInstallation out;
  out.slug = js::string(data, {"slug"}, slug);
  out.installed = js::boolean(data, {"installed"}, true);
  out.credentialsRequired = js::boolean(data, {"credentialsRequired"});
  out.credentialMode = js::string(data, {"credentialMode"});
  out.requiredCredentialFields = js::stringList(data, {"requiredCredentialFields"});
  return out;
}

void ToolsClient::uninstall(const std::string& slug) const {
  tools_->del(makePath({"tools", slug, "install"}));
}

ToolExecution ToolsClient::execute(const std::string& slug,
                                   const ExecuteToolOptions& options) const {
  if (options.action.empty()) throw InvalidArgumentError("execute: the action must not be empty");
  if (!options.params.is_object()) {
    throw InvalidArgumentError("execute: params must be a JSON object");
  }
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"tools", slug, "execute"});
  json body = {{"action", options.action}, {"params", options.params}};
  if (!options.credentials.empty()) {
    body["credentials"] = js::stringMap(options.credentials);
    for (const auto& [field, value] : options.credentials)
      request.secrets.push_back(value);
  }
  if (!options.credentialOverrides.empty()) {
    body["credentialOverrides"] = js::stringMap(options.credentialOverrides);
  }
  request.body = std::move(body);
  const auto data = tools_->call(request).object("tool result");
  ToolExecution out;
  out.success = js::boolean(data, {"success"});
  if (const json* result = js::find(data, {"result"})) out.result = *result;
  if (auto ms = js::optInt(data, {"durationMs"})) out.durationMs = std::chrono::milliseconds(*ms);
  if (const json* error = js::find(data, {"error"}); error != nullptr && error->is_object()) {
    out.error = ToolError{js::string(*error, {"code"}), js::string(*error, {"message"}),
                          static_cast<int>(js::optInt(*error, {"statusCode"}).value_or(0))};
  }
  out.raw = data;
  return out;
}

ToolCredentialsStatus ToolsClient::storeCredentials(
    const std::string& slug, const std::map<std::string, std::string>& credentials) const {
  if (credentials.empty()) throw InvalidArgumentError("storeCredentials: no credential given");
  internal::ApiRequest request;
  request.method = "PUT";
  request.path = makePath({"tools", slug, "credentials"});
  request.body = json{{"credentials", js::stringMap(credentials)}};
  for (const auto& [field, value] : credentials)
    request.secrets.push_back(value);
  return toStatus(tools_->call(request).data(), slug);
}

ToolCredentialsStatus ToolsClient::credentials(const std::string& slug) const {
  return toStatus(tools_->get(makePath({"tools", slug, "credentials"})).data(), slug);
}

void ToolsClient::clearCredentials(const std::string& slug) const {
  tools_->del(makePath({"tools", slug, "credentials"}));
}

Tool ToolsClient::setVisibility(const std::string& slug, const std::string& visibility) const {
  if (visibility != "private" && visibility != "org" && visibility != "public") {
    throw InvalidArgumentError("visibility must be private, org or public");
  }
  const auto data =
      tools_->patch(makePath({"tools", slug, "visibility"}), json{{"visibility", visibility}})
          .data();
  if (data.is_object() && data.contains("slug")) return data.get<Tool>();
  return get(slug);
}

}  // namespace runtools
