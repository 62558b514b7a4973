#pragma once

// Service clients wired to a FakeTransport and a FakeClock, for unit tests of
// resource clients.

#include <memory>

#include "fake_clock.hpp"
#include "internal/config.hpp"
#include "internal/services.hpp"
#include "runtools/testing/fake_transport.hpp"

namespace runtools::test {

struct FakeServices {
  std::shared_ptr<testing::FakeTransport> transport = std::make_shared<testing::FakeTransport>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<const internal::Services> services;

  explicit FakeServices(ClientOptions options = {}) {
    if (!options.apiKey && !options.accessToken)
      options.apiKey = "rt_test_unitunitunitunitunitunitunit00";
    if (!options.apiUrl) options.apiUrl = "https://api.example.test";
    auto noEnv = [](const char*) -> std::optional<std::string> { return std::nullopt; };
    services = internal::makeServices(internal::resolveConfig(options, noEnv), transport, clock);
  }

  const std::shared_ptr<internal::ServiceClient>& api() const { return services->api; }
};

/// `{"data": data}` with a request id, as the platform sends it.
inline nlohmann::json envelope(nlohmann::json data) {
  return {{"data", std::move(data)}, {"meta", {{"requestId", "req_unit"}}}};
}

}  // namespace runtools::test
