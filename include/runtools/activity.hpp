#pragma once

/// @file
/// Activity events (docs/wire-contract.md §4.13), as returned by sandbox and thread activity feeds.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/raw_json.hpp"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// One entry of an activity feed.
struct ActivityEvent {
  std::string id;
  std::string orgId;
  std::string actorUserId;
  std::string actorType;
  std::string resourceType;  ///< sandbox, agent, workspace, thread, tool, ...
  std::string resourceId;
  std::string eventType;  ///< e.g. `sandbox.created`, `agent.run.completed`
  std::string severity;   ///< info, warning, error, success
  std::string status;
  std::string title;
  std::string summary;
  nlohmann::json attributes = nlohmann::json::object();
  std::optional<std::string> sandboxId;
  std::optional<std::string> threadId;
  std::optional<std::string> workspaceId;
  /// `createdAt`, or `occurredAt` when only that is present.
  std::optional<Timestamp> createdAt;
  /// The event as received, for fields this struct does not model.
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, ActivityEvent& event);

/// Paging options of an activity feed.
struct ActivityListOptions {
  std::optional<int> limit;  ///< 1..500 per page
  std::optional<std::string> cursor;
};

}  // namespace runtools
