// The dev-URL proxy: GET /v1/sandboxes/{id}/url returns <base>/_emu/proxy/{id}/{port}/, and
// requests there are forwarded to 127.0.0.1:{port}, where the sandbox's commands (which run on
// the host) listen.
#pragma once

#include "http/router.hpp"
#include "stores/sandbox_store.hpp"

namespace rtemu {

void addProxyRoutes(Router& router, SandboxStore* store);

}  // namespace rtemu
