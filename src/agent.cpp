#include "runtools/agent.hpp"

#include <cmath>

#include "internal/json_util.hpp"
#include "internal/operation.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

void from_json(const json& j, Agent& agent) {
  agent.id = js::string(j, {"id"});
  agent.orgId = js::string(j, {"orgId"});
  agent.slug = js::string(j, {"slug"});
  agent.name = js::string(j, {"name"});
  agent.description = js::string(j, {"description"});
  agent.model = js::string(j, {"model"});
  agent.executionMode = js::string(j, {"executionMode"});
  agent.visibility = js::string(j, {"visibility"});
  agent.systemPrompt = js::string(j, {"systemPrompt"});
  agent.tools.clear();
  if (const json* tools = js::find(j, {"toolsJson", "tools"}); tools && tools->is_array()) {
    agent.tools.assign(tools->begin(), tools->end());
  }
  agent.sandboxId = js::optString(j, {"sandboxId"});
  agent.sandboxSlug = js::optString(j, {"sandboxSlug"});
  agent.targetDeviceId = js::optString(j, {"targetDeviceId"});
  agent.status = js::string(j, {"status"});
  agent.config = js::objectOrEmpty(j, {"configJson", "config"});
  agent.providerOptions = js::objectOrEmpty(j, {"providerOptions"});
  agent.env.clear();
  const json env = js::objectOrEmpty(j, {"envJson", "env"});
  for (const auto& [key, value] : env.items()) {
    if (value.is_string()) agent.env[key] = value.get<std::string>();
  }
  agent.resources.clear();
  if (const json* resources = js::find(j, {"attachedResources", "resources"});
      resources && resources->is_array()) {
    for (const auto& r : *resources) {
      AgentResource resource;
      resource.type = js::string(r, {"type"});
      resource.resourceId = js::string(r, {"resourceId"});
      resource.alias = js::optString(r, {"alias"});
      if (const json* config = js::find(r, {"config"})) resource.config = *config;
      agent.resources.push_back(std::move(resource));
    }
  }
  agent.version = static_cast<int>(js::optInt(j, {"version"}).value_or(0));
  agent.createdAt = js::optTimestamp(j, {"createdAt"});
  agent.updatedAt = js::optTimestamp(j, {"updatedAt"});
  agent.raw = j;
}

namespace {

bool isValidSlug(const std::string& slug) {
  if (slug.empty() || slug.size() > 63) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : slug) {
    if (!ok(c) && c != '-') return false;
  }
  return ok(slug.front()) && ok(slug.back());
}

template <class T>
void requireRange(const std::optional<T>& value, double low, double high, const char* field) {
  if (!value) return;
  const auto v = static_cast<double>(*value);
  if (!std::isfinite(v) || v < low || v > high) {
    throw InvalidArgumentError(std::string("AgentDefinition::") + field + " must be between " +
                               json(low).dump() + " and " + json(high).dump());
  }
}

void requireOneOf(const std::optional<std::string>& value,
                  std::initializer_list<const char*> choices, const char* field) {
  if (!value) return;
  for (const char* choice : choices) {
    if (*value == choice) return;
  }
  std::string list;
  for (const char* choice : choices)
    list += (list.empty() ? "" : ", ") + std::string(choice);
  throw InvalidArgumentError(std::string("AgentDefinition::") + field + " must be one of " + list);
}

json toJson(const AgentDefinition& d) {
  json body = json::object();
  if (!d.slug.empty()) body["slug"] = d.slug;
  auto put = [&](const char* key, const auto& value) {
    if (value) body[key] = *value;
  };
  put("name", d.name);
  put("description", d.description);
  put("model", d.model);
  put("systemPrompt", d.systemPrompt);
  put("tools", d.tools);
  put("sandbox", d.sandbox);
  put("executionMode", d.executionMode);
  put("targetDeviceId", d.targetDeviceId);
  if (d.resources) {
    json resources = json::array();
    for (const auto& r : *d.resources) {
      json item = {{"type", r.type}, {"resourceId", r.resourceId}};
      if (r.alias) item["alias"] = *r.alias;
      if (!r.config.is_null()) item["config"] = r.config;
      resources.push_back(std::move(item));
    }
    body["resources"] = std::move(resources);
  }
  if (d.env) body["env"] = js::stringMap(*d.env);
  put("maxIterations", d.maxIterations);
  put("maxTokens", d.maxTokens);
  put("temperature", d.temperature);
  put("topP", d.topP);
  put("topK", d.topK);
  put("presencePenalty", d.presencePenalty);
  put("frequencyPenalty", d.frequencyPenalty);
  put("seed", d.seed);
  put("stopSequences", d.stopSequences);
  put("toolChoice", d.toolChoice);
  put("providerOptions", d.providerOptions);
  put("color", d.color);
  put("avatarSeed", d.avatarSeed);
  put("tier", d.tier);
  put("projectId", d.projectId);
  put("defaultFolderHint", d.defaultFolderHint);
  return body;
}

}  // namespace

void validateAgentDefinition(const AgentDefinition& d, bool complete) {
  if (complete || !d.slug.empty()) {
    if (!isValidSlug(d.slug)) {
      throw InvalidArgumentError(
          "AgentDefinition::slug \"" + d.slug +
          "\" must be lower-case letters, digits and inner hyphens (at most 63 characters)");
    }
  }
  requireRange(d.maxIterations, 1, 100, "maxIterations");
  requireRange(d.maxTokens, 1, 128000, "maxTokens");
  requireRange(d.temperature, 0, 2, "temperature");
  requireRange(d.topP, 0, 1, "topP");
  requireRange(d.topK, 1, 2147483647.0, "topK");
  requireRange(d.presencePenalty, -2, 2, "presencePenalty");
  requireRange(d.frequencyPenalty, -2, 2, "frequencyPenalty");
  requireOneOf(d.executionMode, {"in_sandbox", "managed", "local-mac"}, "executionMode");
  requireOneOf(d.tier, {"platform", "byok"}, "tier");
  if (d.tools) {
    for (const auto& tool : *d.tools) {
      if (!tool.is_string() && !tool.is_object()) {
        throw InvalidArgumentError("AgentDefinition::tools items must be names or objects");
      }
    }
  }
  if (d.resources) {
    for (const auto& r : *d.resources) {
      if ((r.type != "workspace" && r.type != "sandbox") || r.resourceId.empty()) {
        throw InvalidArgumentError(
            "AgentDefinition::resources items need type workspace or sandbox and a resourceId");
      }
    }
  }
  const std::string mode = d.executionMode.value_or(complete ? "in_sandbox" : "");
  if (mode == "local-mac") {
    if (!d.targetDeviceId && complete) {
      throw InvalidArgumentError("an agent in local-mac mode needs a targetDeviceId");
    }
    if (d.sandbox) throw InvalidArgumentError("an agent in local-mac mode cannot have a sandbox");
  }
  if (mode == "in_sandbox" && complete && !d.sandbox) {
    throw InvalidArgumentError(
        "an agent in in_sandbox mode (the default) needs a sandbox; set "
        "AgentDefinition::sandbox or executionMode \"managed\"");
  }
}

AgentClient::AgentClient(std::shared_ptr<internal::ServiceClient> api) : api_(std::move(api)) {}

std::vector<Agent> AgentClient::list() const {
  const auto data = api_->get(makePath({"agents"})).data();
  const json* items = data.is_array() ? &data : js::find(data, {"agents"});
  return js::list<Agent>(items != nullptr ? *items : json::array());
}

UpsertAgentResult AgentClient::upsert(const AgentDefinition& definition) const {
  validateAgentDefinition(definition, true);
  const auto data = api_->post(makePath({"agents"}), toJson(definition)).data();
  UpsertAgentResult out;
  out.id = js::string(data, {"id"});
  out.slug = js::string(data, {"slug"}, definition.slug);
  out.action = js::string(data, {"action"});
  out.version = static_cast<int>(js::optInt(data, {"version"}).value_or(0));
  out.sandboxId = js::optString(data, {"sandboxId"});
  out.targetDeviceId = js::optString(data, {"targetDeviceId"});
  out.endpoint = js::string(data, {"endpoint"});
  return out;
}

Agent AgentClient::get(const std::string& slug) const {
  return api_->get(makePath({"agents", slug})).object("agent").get<Agent>();
}

Agent AgentClient::update(const std::string& slug, const AgentDefinition& patch) const {
  if (!patch.slug.empty() && patch.slug != slug) {
    throw InvalidArgumentError("AgentDefinition::slug of a patch must be empty or \"" + slug +
                               "\"; slugs cannot be changed");
  }
  validateAgentDefinition(patch, false);
  json body = toJson(patch);
  if (body.empty()) throw InvalidArgumentError("the agent patch sets no field");
  const auto response = api_->patch(makePath({"agents", slug}), std::move(body));
  if (response.data().is_object() && response.data().contains("slug")) {
    return response.object("agent").get<Agent>();
  }
  return get(slug);
}

void AgentClient::remove(const std::string& slug) const {
  api_->del(makePath({"agents", slug}));
}

Agent AgentClient::setVisibility(const std::string& slug, const std::string& visibility) const {
  if (visibility != "private" && visibility != "org" && visibility != "public") {
    throw InvalidArgumentError("visibility must be private, org or public");
  }
  const auto response =
      api_->patch(makePath({"agents", slug, "visibility"}), json{{"visibility", visibility}});
  if (response.data().is_object() && response.data().contains("slug")) {
    return response.object("agent").get<Agent>();
  }
  return get(slug);
}

Operation<RunResult> AgentClient::runAsync(const std::string& agent, const RunInput& input,
                                           const RunOptions& options) const {
  return internal::startOn<RunResult>(
      *api_, [self = *this, agent, input, options] { return self.run(agent, input, options); });
}

Operation<RunResult> AgentClient::runAsync(const std::string& agent, const RunInput& input,
                                           RunEventHandler onEvent,
                                           const RunOptions& options) const {
  return internal::startOn<RunResult>(*api_, [self = *this, agent, input, onEvent, options] {
    return self.run(agent, input, onEvent, options);
  });
}

}  // namespace runtools
