// Identity and credentials: GET /v1/me, GET /v1/organizations/current, /v1/api-keys*,
// /v1/ssh-keys*, and the control-plane /_emu/keys and /_emu/clock.
#pragma once

#include <functional>

#include "http/router.hpp"
#include "stores/auth.hpp"
#include "stores/ssh_key_store.hpp"
#include "util/time_util.hpp"

namespace rtemu {

struct IdentityRoutesConfig {
  KeyStore* keys = nullptr;
  SshKeyStore* sshKeys = nullptr;
  Clock* clock = nullptr;
  std::function<void()> clockAdvanced;  // persists the clock offset
};

void addIdentityRoutes(Router& router, const IdentityRoutesConfig& config);

}  // namespace rtemu
