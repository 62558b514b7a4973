// The tools origin: the Tool Hub (/v1/tools*, scope tool:*) and secrets (/v1/secrets*, which
// the emulator serves once for every origin; scope "*").
#pragma once

#include "http/router.hpp"
#include "stores/secret_store.hpp"
#include "stores/tool_hub.hpp"

namespace rtemu {

struct ToolRoutesConfig {
  ToolHub* tools = nullptr;
  SecretStore* secrets = nullptr;
};

void addToolRoutes(Router& router, const ToolRoutesConfig& config);

}  // namespace rtemu
