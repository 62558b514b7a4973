// Routes outside the sandbox resource: health/status, templates, the 501 stubs for surfaces
// this emulator does not implement, and the /_emu/ control plane.
#pragma once

#include <functional>

#include "auth.hpp"
#include "router.hpp"
#include "sandbox_store.hpp"
#include "workspace_store.hpp"

namespace rtemu {

struct ControlRoutesConfig {
  KeyStore* keys = nullptr;
  SandboxStore* store = nullptr;
  WorkspaceStore* workspaces = nullptr;
  std::function<void()> resetAgents;  // forgets agents, runs, threads and attachments
};

void addControlRoutes(Router& router, const ControlRoutesConfig& config);

}  // namespace rtemu
