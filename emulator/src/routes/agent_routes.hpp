// HTTP handlers of agents (/v1/agents*), runs (/v1/run*, /v1/agents/{slug}/run), threads
// (/v1/threads*) and agent attachments (/v1/agent-attachments*, /_emu/uploads/{id}).
#pragma once

#include <functional>
#include <string>

#include "http/router.hpp"
#include "routes/sandbox_routes.hpp"
#include "stores/agent_store.hpp"
#include "stores/attachment_store.hpp"
#include "stores/run_engine.hpp"
#include "stores/sandbox_store.hpp"
#include "stores/thread_store.hpp"

namespace rtemu {

struct AgentRoutesConfig {
  AgentStore* agents = nullptr;
  ThreadStore* threads = nullptr;
  RunManager* runs = nullptr;
  RunEngine* engine = nullptr;
  AttachmentStore* attachments = nullptr;
  SandboxStore* sandboxes = nullptr;
  std::function<std::string()> baseUrl;  // "http://127.0.0.1:PORT"
};

void addAgentRoutes(Router& router, const AgentRoutesConfig& config);

// The agent's exec_command tool: runs the command in the agent's sandbox when it is running,
// exactly like POST /v1/sandboxes/{id}/exec (cwd /workspace, 30 s timeout).
ToolRunner sandboxToolRunner(const SandboxRoutesConfig& sandboxes);

}  // namespace rtemu
