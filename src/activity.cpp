#include "runtools/activity.hpp"

#include "internal/json_util.hpp"

namespace runtools {

void from_json(const nlohmann::json& j, ActivityEvent& event) {
  namespace js = internal::json;
  event.id = js::string(j, {"id"});
  event.orgId = js::string(j, {"orgId", "org_id"});
  event.actorUserId = js::string(j, {"actorUserId", "actor_user_id"});
  event.actorType = js::string(j, {"actorType", "actor_type"});
  event.resourceType = js::string(j, {"resourceType", "resource_type"});
  event.resourceId = js::string(j, {"resourceId", "resource_id"});
  event.eventType = js::string(j, {"eventType", "event_type"});
  event.severity = js::string(j, {"severity"});
  event.status = js::string(j, {"status"});
  event.title = js::string(j, {"title"});
  event.summary = js::string(j, {"summary"});
  event.attributes = js::objectOrEmpty(j, {"attributes"});
  event.sandboxId = js::optString(j, {"sandboxId", "sandbox_id"});
  event.threadId = js::optString(j, {"threadId", "thread_id"});
  event.workspaceId = js::optString(j, {"workspaceId", "workspace_id"});
  event.createdAt = js::optTimestamp(j, {"createdAt", "occurredAt", "created_at"});
  event.raw = j;
}

}  // namespace runtools
