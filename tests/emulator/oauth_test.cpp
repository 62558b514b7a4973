// OAuth device flow driven by the emulator's own approval switches.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace rtemu_test;

TEST_CASE("a device attempt approves itself after --device-auto-approve-ms") {
  rtemu::Config config = fastConfig();
  config.deviceAutoApprove = std::chrono::milliseconds(60'000);
  rtemu::Emulator emu(config);
  emu.start();
  Api api(emu, emu.apiKey());

  const Response started = api.post("/v1/oauth/device/start/openai-codex");
  REQUIRE(started.status == 200);
  const std::string token = started.data().at("attemptToken").get<std::string>();
  const Json poll{{"attemptToken", token}};

  const Response early = api.post("/v1/oauth/device/status/openai-codex", poll);
  REQUIRE(early.status == 200);
  CHECK(early.data().at("status") == "pending");
  CHECK_FALSE(early.data().contains("connectionId"));

  REQUIRE(api.post("/_emu/clock", Json{{"advanceMs", 60'000}}).status == 200);
  const Response later = api.post("/v1/oauth/device/status/openai-codex", poll);
  REQUIRE(later.status == 200);
  CHECK(later.data().at("status") == "connected");
  const std::string connectionId = later.data().at("connectionId").get<std::string>();

  const Response connections = api.get("/v1/oauth/connections");
  REQUIRE(connections.status == 200);
  REQUIRE(connections.data().size() == 1);
  CHECK(connections.data()[0].at("id") == connectionId);

  // Connected once: asking again neither reconnects nor changes the answer.
  const Response again = api.post("/v1/oauth/device/status/openai-codex", poll);
  CHECK(again.data().at("connectionId") == connectionId);
  CHECK(api.get("/v1/oauth/connections").data().size() == 1);
}

TEST_CASE("without auto-approval a device attempt stays pending until approved") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const Response started = api.post("/v1/oauth/device/start/github");
  REQUIRE(started.status == 200);
  const Json poll{{"attemptToken", started.data().at("attemptToken")}};
  REQUIRE(api.post("/_emu/clock", Json{{"advanceMs", 9 * 60'000}}).status == 200);
  CHECK(api.post("/v1/oauth/device/status/github", poll).data().at("status") == "pending");
  const Response approved =
      api.post("/_emu/oauth/approve", Json{{"userCode", started.data().at("userCode")}});
  REQUIRE(approved.status == 200);
  CHECK(api.post("/v1/oauth/device/status/github", poll).data().at("status") == "connected");
}
