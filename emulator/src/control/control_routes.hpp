// Routes outside the sandbox resource: health/status, templates, the 501 stubs for surfaces
// this emulator does not implement, and /_emu/reset. (/_emu/keys and /_emu/clock live in
// identity_routes, /_emu/oauth/* in oauth_routes, /_emu/faults in fault_injector,
// /_emu/requests in request_log.)
#pragma once

#include <functional>

#include "http/router.hpp"

namespace rtemu {

struct ControlRoutesConfig {
  // Forgets every resource, injected fault, kept idempotent answer and logged request
  // (organizations, users and /_emu keys stay).
  std::function<void()> reset;
};

void addControlRoutes(Router& router, const ControlRoutesConfig& config);

}  // namespace rtemu
