#pragma once

// An in-process runtools-emulator on an ephemeral loopback port, and SDK
// clients pointed at it.

#include <chrono>
#include <memory>
#include <string>

#include <rtemu/emulator.hpp>

#include "runtools/client.hpp"
#include "runtools/http.hpp"

namespace runtools::test {

/// Emulator settings that keep state transitions short.
inline rtemu::Config fastEmulatorConfig() {
  rtemu::Config config;
  config.createDelay = std::chrono::milliseconds(50);
  config.pauseDelay = std::chrono::milliseconds(30);
  config.resumeDelay = std::chrono::milliseconds(30);
  return config;
}

class EmulatorEnv {
 public:
  explicit EmulatorEnv(rtemu::Config config = fastEmulatorConfig())
      : emulator_(std::make_unique<rtemu::Emulator>(std::move(config))) {
    emulator_->start();
  }

  rtemu::Emulator& emulator() { return *emulator_; }
  std::string baseUrl() const { return emulator_->baseUrl(); }
  const std::string& apiKey() const { return emulator_->apiKey(); }

  /// Options with every service pointed at the emulator and `key` (the
  /// default organization's key when empty).
  ClientOptions options(const std::string& key = "") const {
    ClientOptions options;
    options.apiKey = key.empty() ? emulator_->apiKey() : key;
    options.apiUrl = emulator_->baseUrl();
    options.toolsUrl = emulator_->baseUrl();
    options.authUrl = emulator_->baseUrl();
    options.storageUrl = emulator_->baseUrl();
    return options;
  }

  RunTools client(const std::string& key = "") const { return RunTools(options(key)); }

  /// A request straight to the emulator, bypassing the SDK (the control
  /// plane, checks on exact response bodies), with the default key.
  HttpResponse raw(const std::string& method, const std::string& path, const std::string& body = "",
                   bool withKey = true) const {
    HttpRequest request;
    request.method = method;
    request.url = baseUrl() + path;
    if (withKey) request.headers.add("X-API-Key", apiKey());
    if (!body.empty()) {
      request.headers.add("Content-Type", "application/json");
      request.body = body;
    }
    return transport_->send(request);
  }

 private:
  std::unique_ptr<rtemu::Emulator> emulator_;
  std::shared_ptr<Transport> transport_ = makeCurlTransport();
};

}  // namespace runtools::test
