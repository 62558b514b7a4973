// HTTP handlers of /v1/sandboxes*: request validation, exec orchestration, response shapes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "http/router.hpp"
#include "stores/sandbox_store.hpp"
#include "util/process.hpp"

namespace rtemu {

struct SandboxRoutesConfig {
  SandboxStore* store = nullptr;
  std::function<std::string()> baseUrl;  // "http://127.0.0.1:PORT"
  std::string pathEnv;                   // PATH given to commands
  // Whether workspace `id` exists in organization `orgId` (mount validation).
  std::function<bool(const std::string& orgId, const std::string& id)> workspaceExists;
};

void addSandboxRoutes(Router& router, const SandboxRoutesConfig& config);

// A validated exec request.
struct ExecOptions {
  std::string command;
  std::string cwd = "/workspace";  // normalised, /workspace or below
  std::map<std::string, std::string> env;
  std::chrono::milliseconds timeout{30000};
};

// Runs `options` in the sandbox `target` (from SandboxStore::prepareExec) exactly like
// POST .../exec, and records it in the sandbox's activity. Without an observer the output is
// captured in the result; with one it goes to the observer as it is produced. Throws ApiError
// 500 when the shell cannot be started.
CommandResult execInSandbox(const SandboxRoutesConfig& config, const Principal& caller,
                            const ExecTarget& target, const ExecOptions& options,
                            const CommandObserver* observer);

// Normalises an in-sandbox path that must be /workspace or below ("/workspace/./a//b/" ->
// "/workspace/a/b"); nullopt when it is relative, contains "..", or lies elsewhere.
std::optional<std::string> normalizeWorkspacePath(const std::string& path);

}  // namespace rtemu
