#pragma once

// The four service clients a RunTools facade owns.

#include <memory>

#include "internal/config.hpp"
#include "internal/service_client.hpp"

namespace runtools::internal {

struct Services {
  ResolvedConfig config;
  std::shared_ptr<ServiceClient> api;
  std::shared_ptr<ServiceClient> tools;
  std::shared_ptr<ServiceClient> auth;
  std::shared_ptr<ServiceClient> storage;
};

/// Builds the service clients from resolved options and a transport.
std::shared_ptr<const Services> makeServices(ResolvedConfig config,
                                             std::shared_ptr<Transport> transport,
                                             std::shared_ptr<const Clock> clock = nullptr);

}  // namespace runtools::internal
