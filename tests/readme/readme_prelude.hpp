#pragma once

// What README.md's C++ blocks take for granted, for the tests generated from
// them (see extract_blocks.cpp): a client `rt` connected to an in-process
// emulator, and, created only for the blocks that use them, a running
// `sandbox`, a streamed agent run `streamed` on a thread with the `options`
// that continue it, a secret's `value`, an OAuth connection's `id` and a
// provider's `clientId`/`clientSecret` and an SSH `publicKey` line. The reader's own functions
// (`openBrowser`, `storeInVault`, `useToken`) check what they are given.
// Each test runs in a fresh temporary directory holding the local files the
// blocks read (`build/app.tar`, `out/report.pdf`).

#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <runtools/runtools.hpp>

#include "emulator_env.hpp"

namespace readme {

inline const std::string kSecretValue = "the-secret-value";

inline void openBrowser(const std::string& url) {
  CHECK(url.rfind("http", 0) == 0);
}

inline void storeInVault(const std::string& key) {
  CHECK_FALSE(key.empty());
}

inline void useToken(const std::string& token) {
  CHECK(token == kSecretValue);  // the value the block set
}

inline rtemu::Config readmeEmulatorConfig() {
  rtemu::Config config = runtools::test::fastEmulatorConfig();
  config.streamDelay = std::chrono::milliseconds(1);
  // The device flow a block polls is approved as if by the user.
  config.deviceAutoApprove = std::chrono::milliseconds(200);
  return config;
}

class Fixtures {
 public:
  Fixtures() : env_(readmeEmulatorConfig()), rt_(env_.client()) {
    namespace fs = std::filesystem;
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("rt-readme-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(dir_ / "build");
    fs::create_directories(dir_ / "out");
    std::ofstream(dir_ / "build" / "app.tar", std::ios::binary) << std::string(64 * 1024, 'a');
    std::ofstream(dir_ / "out" / "report.pdf", std::ios::binary) << "%PDF-1.4\n%readme\n";
    previous_ = fs::current_path();
    fs::current_path(dir_);
    // A block that downloads to an absolute path in /tmp must not leave it behind.
    tmpAppTarExisted_ = fs::exists("/tmp/app.tar");
  }

  ~Fixtures() {
    namespace fs = std::filesystem;
    std::error_code ignored;
    fs::current_path(previous_, ignored);
    fs::remove_all(dir_, ignored);
    if (!tmpAppTarExisted_) fs::remove("/tmp/app.tar", ignored);
  }

  Fixtures(const Fixtures&) = delete;
  Fixtures& operator=(const Fixtures&) = delete;

  runtools::RunTools& rt() { return rt_; }

  runtools::Sandbox& sandbox() {
    if (!sandbox_) {
      sandbox_.emplace(rt_.sandbox.create());
      sandbox_->waitForReady();
    }
    return *sandbox_;
  }

  runtools::RunResult& streamed() {
    if (!streamed_) {
      runtools::AgentDefinition agent;
      agent.slug = "helper";
      agent.executionMode = "managed";
      rt_.agent.upsert(agent);
      runtools::RunOptions options;
      options.thread = true;
      streamed_ = rt_.agent.run(
          "helper", "Explain workspaces", [](const runtools::RunEvent&) { return true; }, options);
      REQUIRE(streamed_->threadId);
    }
    return *streamed_;
  }

  runtools::RunOptions& runOptions() {
    if (!runOptions_) {
      runOptions_.emplace();
      runOptions_->thread = true;
      runOptions_->threadId = streamed().threadId;
    }
    return *runOptions_;
  }

  std::string& secretValue() { return secretValue_; }

  std::string& connectionId() {
    if (!connectionId_) {
      // GitHub's, so that a block's own device flow (openai-codex) leaves it alone.
      const auto flow = rt_.auth.startDeviceFlow("github");
      REQUIRE(rt_.auth.pollDeviceFlow(flow).status == "connected");
      const auto connections = rt_.auth.listConnections();
      REQUIRE_FALSE(connections.empty());
      connectionId_ = connections.front().id;
    }
    return *connectionId_;
  }

  std::string& clientId() { return clientId_; }
  std::string& clientSecret() { return clientSecret_; }
  std::string& publicKey() { return publicKey_; }

 private:
  runtools::test::EmulatorEnv env_;
  runtools::RunTools rt_;
  std::filesystem::path dir_;
  std::filesystem::path previous_;
  bool tmpAppTarExisted_ = false;
  std::optional<runtools::Sandbox> sandbox_;
  std::optional<runtools::RunResult> streamed_;
  std::optional<runtools::RunOptions> runOptions_;
  std::optional<std::string> connectionId_;
  std::string secretValue_ = kSecretValue;
  std::string clientId_ = "readme-client-id";
  std::string clientSecret_ = "readme-client-secret";
  std::string publicKey_ =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHEaYQi6LObKk91H1oF/I2HbENirbuyJRgst/CwyXvq+ "
      "readme@laptop";
};

}  // namespace readme
