// HTTP handlers of /v1/workspaces* (docs/wire-contract.md §4.2 and §4.3): workspace metadata on the
// api service, and the storage service's file routes (files, upload, direct, info) on the same
// origin.
#pragma once

#include <cstdint>

#include "http/router.hpp"
#include "stores/sandbox_store.hpp"
#include "stores/workspace_store.hpp"

namespace rtemu {

// Upload limit: bytes of file content per request.
constexpr std::uint64_t kMaxUploadFileBytes = 104857600;  // 100 MB
// Allowance for the multipart framing when checking Content-Length up front.
constexpr std::uint64_t kMultipartOverheadBytes = 1u << 20;

struct WorkspaceRoutesConfig {
  WorkspaceStore* workspaces = nullptr;
  SandboxStore* sandboxes = nullptr;  // mounts: usage and the in-use check of delete
};

void addWorkspaceRoutes(Router& router, const WorkspaceRoutesConfig& config);

}  // namespace rtemu
