// HTTP handlers of /v1/sandboxes*: request validation, exec orchestration, response shapes.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "router.hpp"
#include "sandbox_store.hpp"

namespace rtemu {

struct SandboxRoutesConfig {
  SandboxStore* store = nullptr;
  std::function<std::string()> baseUrl;  // "http://127.0.0.1:PORT"
  std::string pathEnv;                   // PATH given to commands
  // Whether workspace `id` exists in organization `orgId` (mount validation).
  std::function<bool(const std::string& orgId, const std::string& id)> workspaceExists;
};

void addSandboxRoutes(Router& router, const SandboxRoutesConfig& config);

// Normalises an in-sandbox path that must be /workspace or below ("/workspace/./a//b/" ->
// "/workspace/a/b"); nullopt when it is relative, contains "..", or lies elsewhere.
std::optional<std::string> normalizeWorkspacePath(const std::string& path);

}  // namespace rtemu
