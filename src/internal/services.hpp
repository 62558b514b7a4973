#pragma once

// The four service clients a RunTools facade owns.

#include <memory>

#include "internal/config.hpp"
#include "internal/engine.hpp"
#include "internal/service_client.hpp"

namespace runtools::internal {

/// Owns a client's asynchronous engine: when the last RunTools copy sharing
/// it goes, the engine's operations are cancelled and have ended (unless
/// that happens inside one of them) before the destructor returns.
struct EngineOwner {
  explicit EngineOwner(CompletionMode mode) : engine(Engine::create(mode)) {}
  ~EngineOwner() { engine->shutdown(); }
  EngineOwner(const EngineOwner&) = delete;
  EngineOwner& operator=(const EngineOwner&) = delete;
  std::shared_ptr<Engine> engine;
};

struct Services {
  ResolvedConfig config;
  std::shared_ptr<Transport> transport;
  std::shared_ptr<const Clock> clock;
  std::shared_ptr<RateLimitState> rateLimits;
  CallOptions callOptions;
  std::shared_ptr<EngineOwner> engine;
  std::shared_ptr<ServiceClient> api;
  std::shared_ptr<ServiceClient> tools;
  std::shared_ptr<ServiceClient> auth;
  std::shared_ptr<ServiceClient> storage;
};

/// Builds the service clients from resolved options and a transport.
/// Builds the service clients from resolved options and a transport (the
/// libcurl transport with the configured TLS options when null).
std::shared_ptr<const Services> makeServices(ResolvedConfig config,
                                             std::shared_ptr<Transport> transport,
                                             std::shared_ptr<const Clock> clock = nullptr,
                                             CallOptions callOptions = {},
                                             std::shared_ptr<RateLimitState> rateLimits = nullptr,
                                             std::shared_ptr<EngineOwner> engine = nullptr);

}  // namespace runtools::internal
