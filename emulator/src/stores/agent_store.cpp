#include "stores/agent_store.hpp"

#include <algorithm>
#include <cmath>

#include "http/api_error.hpp"
#include "stores/owner.hpp"
#include "stores/persistence.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"
#include "util/time_util.hpp"

namespace rtemu {
namespace {

// ^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$, at most 63 characters.
bool validAgentSlug(const std::string& slug) {
  if (slug.empty() || slug.size() > kMaxSlugLength) return false;
  if (!isLowerAlnum(slug.front()) || !isLowerAlnum(slug.back())) return false;
  return std::all_of(slug.begin(), slug.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

bool present(const Json& body, const char* field) {
  return body.contains(field);
}

bool isNull(const Json& body, const char* field) {
  const auto it = body.find(field);
  return it != body.end() && it->is_null();
}

std::optional<double> readNumber(const Json& body, const char* field) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw validationError(field, "must be a number");
  const double value = it->get<double>();
  if (!std::isfinite(value)) throw validationError(field, "must be a finite number");
  return value;
}

std::string formatBound(double value) {
  Json j = value;
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    j = static_cast<std::int64_t>(value);
  }
  return j.dump();
}

void integerInRange(const Json& body, const char* field, Json& config, std::int64_t min,
                    std::optional<std::int64_t> max) {
  if (!present(body, field)) return;
  if (isNull(body, field)) {
    config[field] = nullptr;
    return;
  }
  std::optional<std::int64_t> value;
  try {
    value = readInteger(body, field);
  } catch (const ApiError&) {
    value = std::nullopt;
  }
  if (!value || *value < min || (max && *value > *max)) {
    throw validationError(field, max ? "must be an integer between " + std::to_string(min) +
                                           " and " + std::to_string(*max)
                                     : "must be an integer of at least " + std::to_string(min));
  }
  config[field] = *value;
}

void numberInRange(const Json& body, const char* field, Json& config, double min, double max) {
  if (!present(body, field)) return;
  if (isNull(body, field)) {
    config[field] = nullptr;
    return;
  }
  const auto value = readNumber(body, field);
  if (!value || *value < min || *value > max) {
    throw validationError(
        field, "must be a number between " + formatBound(min) + " and " + formatBound(max));
  }
  config[field] = body[field];  // as given (integer or float)
}

void optionalString(const Json& body, const char* field, Json& fields) {
  if (!present(body, field)) return;
  const auto value = readString(body, field);
  fields[field] = value ? Json(*value) : Json(nullptr);
}

void enumString(const Json& body, const char* field, Json& fields,
                const std::vector<std::string>& choices) {
  if (!present(body, field) || isNull(body, field)) return;  // null = unchanged
  const auto value = readString(body, field);
  if (std::find(choices.begin(), choices.end(), *value) == choices.end()) {
    std::string list;
    for (const std::string& c : choices)
      list += (list.empty() ? "" : ", ") + c;
    throw validationError(field, "must be one of " + list);
  }
  fields[field] = *value;
}

Json parseTools(const Json& body) {
  const Json& tools = body["tools"];
  if (tools.is_null()) return Json::array();
  if (!tools.is_array()) throw validationError("tools", "must be an array");
  for (const Json& tool : tools) {
    if (!tool.is_string() && !tool.is_object()) {
      throw validationError("tools", "items must be strings or objects");
    }
  }
  return tools;
}

Json parseResources(const Json& body) {
  const Json& resources = body["resources"];
  if (resources.is_null()) return Json::array();
  if (!resources.is_array()) throw validationError("resources", "must be an array");
  Json out = Json::array();
  for (const Json& r : resources) {
    if (!r.is_object()) throw validationError("resources", "items must be objects");
    const auto type = readString(r, "type");
    if (!type || (*type != "workspace" && *type != "sandbox")) {
      throw validationError("resources.type", "must be workspace or sandbox");
    }
    const auto resourceId = readString(r, "resourceId");
    if (!resourceId || resourceId->empty()) {
      throw validationError("resources.resourceId", "is required");
    }
    const auto alias = readString(r, "alias");
    const auto config = readObject(r, "config");
    out.push_back(Json{{"type", *type},
                       {"resourceId", *resourceId},
                       {"alias", alias ? Json(*alias) : Json(nullptr)},
                       {"config", config ? *config : Json::object()}});
  }
  return out;
}

void validateMerged(const Json& agent) {
  const std::string mode = agent.value("executionMode", std::string("in_sandbox"));
  const bool hasSandbox = agent.contains("sandboxId") && !agent["sandboxId"].is_null();
  const bool hasDevice = agent.contains("targetDeviceId") && agent["targetDeviceId"].is_string() &&
                         !agent["targetDeviceId"].get<std::string>().empty();
  if (mode == "in_sandbox" && !hasSandbox) {
    throw validationError("sandbox", "is required when executionMode is in_sandbox");
  }
  if (mode == "local-mac") {
    if (!hasDevice) {
      throw validationError("targetDeviceId", "is required when executionMode is local-mac");
    }
    if (hasSandbox) {
      throw validationError("sandbox", "must not be set when executionMode is local-mac");
    }
  }
}

void applyChanges(Json& agent, const AgentChanges& changes) {
  for (const auto& [key, value] : changes.fields.items())
    agent[key] = value;
  Json& config = agent["configJson"];
  if (!config.is_object()) config = Json::object();
  for (const auto& [key, value] : changes.config.items()) {
    if (value.is_null()) {
      config.erase(key);
    } else {
      config[key] = value;
    }
  }
}

}  // namespace

AgentChanges parseAgentBody(const Json& body, bool requireSlug, const SandboxResolver& resolve) {
  AgentChanges changes;
  changes.slug = readString(body, "slug");
  if (requireSlug) {
    if (!changes.slug || changes.slug->empty()) throw validationError("slug", "is required");
    if (!validAgentSlug(*changes.slug)) {
      throw validationError("slug",
                            "must be 1-63 lower-case letters, digits or '-', starting and "
                            "ending with a letter or digit");
    }
  }
  Json& fields = changes.fields;
  if (present(body, "name") && !isNull(body, "name")) fields["name"] = *readString(body, "name");
  for (const char* field : {"description", "color", "avatarSeed", "tier", "systemPrompt",
                            "projectId", "targetDeviceId", "defaultFolderHint"}) {
    optionalString(body, field, fields);
  }
  if (present(body, "model") && !isNull(body, "model")) {
    fields["model"] = *readString(body, "model");
  }
  enumString(body, "executionMode", fields, {"in_sandbox", "managed", "local-mac"});
  enumString(body, "visibility", fields, {"private", "org", "public"});
  if (present(body, "tools")) fields["toolsJson"] = parseTools(body);
  if (present(body, "resources")) fields["attachedResources"] = parseResources(body);
  if (present(body, "env")) {
    const auto env = readEnvMap(body, "env");
    fields["envJson"] = env ? Json(*env) : Json::object();
  }
  if (present(body, "providerOptions")) {
    const auto options = readObject(body, "providerOptions");
    fields["providerOptions"] = options ? *options : Json::object();
  }

  Json& config = changes.config;
  integerInRange(body, "maxIterations", config, 1, 100);
  integerInRange(body, "maxTokens", config, 1, 128000);
  numberInRange(body, "temperature", config, 0, 2);
  numberInRange(body, "topP", config, 0, 1);
  integerInRange(body, "topK", config, 1, std::nullopt);
  numberInRange(body, "presencePenalty", config, -2, 2);
  numberInRange(body, "frequencyPenalty", config, -2, 2);
  if (present(body, "seed")) {
    const auto seed = readInteger(body, "seed");
    config["seed"] = seed ? Json(*seed) : Json(nullptr);
  }
  if (present(body, "stopSequences")) {
    const auto stops = readStringArray(body, "stopSequences");
    config["stopSequences"] = stops ? Json(*stops) : Json(nullptr);
  }
  if (present(body, "toolChoice")) {
    const Json& choice = body["toolChoice"];
    if (!choice.is_null() && !choice.is_string() && !choice.is_object()) {
      throw validationError("toolChoice", "must be a string or an object");
    }
    config["toolChoice"] = choice;
  }

  // Last: a reference that does not resolve is a 404, after every 400.
  if (present(body, "sandbox")) {
    const auto ref = readString(body, "sandbox");
    if (ref && ref->empty()) throw validationError("sandbox", "must not be empty");
    if (ref) {
      const auto [id, name] = resolve(*ref);
      fields["sandboxId"] = id;
      fields["sandboxSlug"] = name;
    } else {
      fields["sandboxId"] = nullptr;
      fields["sandboxSlug"] = nullptr;
    }
  }
  return changes;
}

AgentStore::AgentStore(std::optional<std::filesystem::path> stateFile, const Clock& clock)
    : stateFile_(std::move(stateFile)), clock_(clock) {}

Json* AgentStore::findLocked(const std::string& orgId, const std::string& ref) {
  for (Json& agent : agents_) {
    if (agent["orgId"] == orgId && (agent["slug"] == ref || agent["id"] == ref)) return &agent;
  }
  return nullptr;
}

Json& AgentStore::requireLocked(const std::string& orgId, const std::string& ref) {
  Json* agent = findLocked(orgId, ref);
  if (!agent) throw notFound("Agent not found");
  return *agent;
}

AgentStore::Upserted AgentStore::upsert(const Principal& caller, const std::string& slug,
                                        const AgentChanges& changes) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string now = isoTimestamp(clock_.nowMs());
  Json* existing = nullptr;
  for (Json& agent : agents_) {
    if (agent["orgId"] == caller.orgId && agent["slug"] == slug) existing = &agent;
  }
  if (existing) {
    Json merged = *existing;
    applyChanges(merged, changes);
    validateMerged(merged);
    merged["version"] = merged.value("version", 1) + 1;
    merged["updatedAt"] = now;
    *existing = std::move(merged);
    persistLocked();
    return Upserted{*existing, false};
  }
  Json agent{
      {"id", newAgentId()},
      {"orgId", caller.orgId},
      {"slug", slug},
      {"name", slug},
      {"description", nullptr},
      {"color", nullptr},
      {"avatarSeed", nullptr},
      {"avatarImageUrl", nullptr},
      {"model", "claude-sonnet-4"},
      {"executionMode", "in_sandbox"},
      {"visibility", "private"},
      {"systemPrompt", nullptr},
      {"toolsJson", Json::array()},
      {"sandboxId", nullptr},
      {"sandboxSlug", nullptr},
      {"targetDeviceId", nullptr},
      {"status", "active"},
      {"configJson", Json::object()},
      {"providerOptions", Json::object()},
      {"envJson", Json::object()},
      {"attachedResources", Json::array()},
      {"tier", nullptr},
      {"projectId", nullptr},
      {"defaultFolderHint", nullptr},
      {"version", 1},
      {"createdBy", caller.userId},
      {"ownerUserId", caller.userId},
      {"ownerDisplayName", kOwnerDisplayName},
      {"ownerEmail", kOwnerEmail},
      {"createdAt", now},
      {"updatedAt", now},
  };
  applyChanges(agent, changes);
  validateMerged(agent);
  agents_.push_back(agent);
  persistLocked();
  return Upserted{agent, true};
}

Json AgentStore::list(const std::string& orgId) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const Json*> mine;
  for (const Json& agent : agents_) {
    if (agent["orgId"] == orgId) mine.push_back(&agent);
  }
  std::sort(mine.begin(), mine.end(), [](const Json* a, const Json* b) {
    return (*a)["slug"].get<std::string>() < (*b)["slug"].get<std::string>();
  });
  Json out = Json::array();
  for (const Json* agent : mine)
    out.push_back(*agent);
  return out;
}

Json AgentStore::get(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  return requireLocked(orgId, ref);
}

AgentSnapshot AgentStore::snapshot(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Json& agent = requireLocked(orgId, ref);
  AgentSnapshot s;
  s.id = agent["id"];
  s.orgId = agent["orgId"];
  s.slug = agent["slug"];
  s.executionMode = agent.value("executionMode", std::string("in_sandbox"));
  if (agent["sandboxId"].is_string()) s.sandboxId = agent["sandboxId"].get<std::string>();
  if (agent["targetDeviceId"].is_string()) {
    s.targetDeviceId = agent["targetDeviceId"].get<std::string>();
  }
  return s;
}

Json AgentStore::update(const std::string& orgId, const std::string& ref,
                        const AgentChanges& changes) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json& agent = requireLocked(orgId, ref);
  if (changes.slug && *changes.slug != agent["slug"].get<std::string>()) {
    throw validationError("slug", "must match the agent's slug (slugs cannot be changed)");
  }
  Json merged = agent;
  applyChanges(merged, changes);
  validateMerged(merged);
  merged["version"] = merged.value("version", 1) + 1;
  merged["updatedAt"] = isoTimestamp(clock_.nowMs());
  agent = std::move(merged);
  persistLocked();
  return agent;
}

Json AgentStore::setVisibility(const std::string& orgId, const std::string& ref,
                               const std::string& visibility) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json& agent = requireLocked(orgId, ref);
  agent["visibility"] = visibility;
  agent["version"] = agent.value("version", 1) + 1;
  agent["updatedAt"] = isoTimestamp(clock_.nowMs());
  persistLocked();
  return agent;
}

Json AgentStore::remove(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Json& agent = requireLocked(orgId, ref);
  const std::string slug = agent["slug"];
  agents_.erase(
      std::remove_if(agents_.begin(), agents_.end(), [&](const Json& a) { return &a == &agent; }),
      agents_.end());
  persistLocked();
  return Json{{"slug", slug}, {"deleted", true}};
}

void AgentStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  agents_.clear();
  persistLocked();
}

void AgentStore::persistLocked() {
  if (!stateFile_) return;
  // Agents are kept as their wire objects; owner-only, since envJson may hold secrets.
  writeStateFile(*stateFile_, Json{{"agents", agents_}});
}

void AgentStore::restore() {
  if (!stateFile_) return;
  const Json state = readStateFile(*stateFile_);
  if (!state.contains("agents") || !state["agents"].is_array()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Json& agent : state["agents"]) {
    const auto isString = [&](const char* key) {
      return agent.contains(key) && agent[key].is_string();
    };
    if (!agent.is_object() || !isString("id") || !isString("orgId") || !isString("slug")) {
      continue;  // a damaged entry is skipped
    }
    agents_.push_back(agent);
  }
}

}  // namespace rtemu
