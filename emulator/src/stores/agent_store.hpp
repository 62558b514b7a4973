// Agents of every organization (docs/wire-contract.md §4.4): body validation, upsert by (org,
// slug), partial updates with versions, and persistence (agents.json, written atomically).
//
// Agents are kept as their wire JSON (the Agent object); one mutex guards them.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stores/auth.hpp"
#include "util/json_util.hpp"

namespace rtemu {

// A validated agent body, in Agent-object field names: `fields` are top-level fields to set
// (null clears), `config` are configJson entries to set (null removes).
struct AgentChanges {
  std::optional<std::string> slug;  // as given in the body
  Json fields = Json::object();
  Json config = Json::object();
};

// Resolves a `sandbox` reference (id or name) of the caller's organization to
// {sandboxId, sandboxSlug (name or null)}; throws 404 not_found when it does not resolve.
using SandboxResolver = std::function<std::pair<std::string, Json>(const std::string& ref)>;

// Validates the fields of a POST/PATCH body (types and ranges; `sandbox` is resolved last).
// `requireSlug`: POST (slug required and checked against the pattern).
AgentChanges parseAgentBody(const Json& body, bool requireSlug, const SandboxResolver& resolve);

// What a run needs of an agent, copied out of the store.
struct AgentSnapshot {
  std::string id;
  std::string orgId;
  std::string slug;
  std::string executionMode;
  std::optional<std::string> sandboxId;
  std::optional<std::string> targetDeviceId;
};

class AgentStore {
 public:
  // `stateFile`, when set, receives every agent after each change and is loaded by restore().
  AgentStore(std::optional<std::filesystem::path> stateFile, const Clock& clock);

  void restore();

  struct Upserted {
    Json agent;
    bool created = false;
  };
  // Creates the agent `slug` of the caller's organization, or updates it (version + 1).
  Upserted upsert(const Principal& caller, const std::string& slug, const AgentChanges& changes);
  // The organization's agents, ordered by slug.
  Json list(const std::string& orgId);
  // By slug or id; 404 not_found otherwise.
  Json get(const std::string& orgId, const std::string& ref);
  AgentSnapshot snapshot(const std::string& orgId, const std::string& ref);
  // Partial update (version + 1); a body slug must be the agent's.
  Json update(const std::string& orgId, const std::string& ref, const AgentChanges& changes);
  Json setVisibility(const std::string& orgId, const std::string& ref,
                     const std::string& visibility);
  // {slug, deleted: true}
  Json remove(const std::string& orgId, const std::string& ref);
  void reset();

 private:
  Json* findLocked(const std::string& orgId, const std::string& ref);
  Json& requireLocked(const std::string& orgId, const std::string& ref);
  void persistLocked();

  const std::optional<std::filesystem::path> stateFile_;
  const Clock& clock_;
  std::mutex mutex_;
  std::vector<Json> agents_;  // Agent objects (with orgId)
};

}  // namespace rtemu
