// OAuth on the auth origin (docs/wire-contract.md §4.10, §7 G22/G23): providers, the redirect flow
// (start, the emulator's consent page /_emu/oauth/authorize, callback, /_emu/oauth/done),
// connections, the device-code flow (with /_emu/oauth/approve), and BYOA provider configs.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "http/router.hpp"
#include "stores/oauth_store.hpp"

namespace rtemu {

struct OAuthRoutesConfig {
  OAuthStore* store = nullptr;
  std::function<std::string()> baseUrl;  // "http://127.0.0.1:PORT"
  std::chrono::seconds deviceInterval{1};
};

void addOAuthRoutes(Router& router, const OAuthRoutesConfig& config);

}  // namespace rtemu
