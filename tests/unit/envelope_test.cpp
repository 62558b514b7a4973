#include <catch2/catch.hpp>

#include "internal/envelope.hpp"
#include "runtools/errors.hpp"
#include "runtools/sandbox.hpp"

using nlohmann::json;
using runtools::internal::unwrapEnvelope;

TEST_CASE("pagination is read from meta") {
  auto e = unwrapEnvelope(json::parse(R"({"data":[1,2],"meta":{"requestId":"req_1",
      "hasMore":true,"nextCursor":"abc"}})"));
  CHECK(e.data == json::array({1, 2}));
  CHECK(e.requestId == "req_1");
  CHECK(e.hasMore);
  CHECK(e.nextCursor == std::optional<std::string>("abc"));
}

TEST_CASE("pagination falls back to top-level fields") {
  auto e = unwrapEnvelope(json::parse(R"({"data":[1],"hasMore":true,"nextCursor":"top"})"));
  CHECK(e.hasMore);
  CHECK(e.nextCursor == std::optional<std::string>("top"));
  CHECK(e.requestId.empty());
}

TEST_CASE("meta wins over top-level pagination when both are present") {
  auto e = unwrapEnvelope(json::parse(R"({"data":[],"meta":{"hasMore":false,"nextCursor":null},
      "hasMore":true,"nextCursor":"stale"})"));
  CHECK_FALSE(e.hasMore);
  CHECK_FALSE(e.nextCursor);
  auto mixed = unwrapEnvelope(json::parse(R"({"data":[],"meta":{"hasMore":true,
      "nextCursor":"fromMeta"},"hasMore":false,"nextCursor":"top"})"));
  CHECK(mixed.hasMore);
  CHECK(mixed.nextCursor == std::optional<std::string>("fromMeta"));
}

TEST_CASE("a response without an envelope passes through whole") {
  auto bare = unwrapEnvelope(json::parse(R"([{"free":1,"total":2,"used":1}])"));
  CHECK(bare.data.is_array());
  CHECK(bare.data[0]["total"] == 2);
  CHECK_FALSE(bare.hasMore);
  auto status = unwrapEnvelope(json::parse(R"({"status":"ok","service":"x"})"));
  CHECK(status.data["status"] == "ok");
  auto keyed = unwrapEnvelope(json::parse(R"({"data":{"key":"k"},"message":"Store this key"})"));
  CHECK(keyed.data["key"] == "k");
  CHECK(keyed.body["message"] == "Store this key");
}

TEST_CASE("2xx bodies: empty is null data, malformed JSON is an InvalidResponseError") {
  runtools::HttpResponse response;
  response.status = 204;
  CHECK(runtools::internal::parseSuccess(response, {}).data.is_null());
  response.status = 200;
  response.body = "<html>oops</html>";
  CHECK_THROWS_AS(runtools::internal::parseSuccess(response, {}), runtools::InvalidResponseError);
}

TEST_CASE("exec results read durationMs, else executionTime") {
  auto a = json::parse(R"({"stdout":"hi\n","stderr":"","exitCode":3,"durationMs":12,
      "executionTime":99})")
               .get<runtools::ExecResult>();
  CHECK(a.stdoutText == "hi\n");
  CHECK(a.exitCode == 3);
  REQUIRE(a.durationMs);
  CHECK(a.durationMs->count() == 12);
  CHECK_FALSE(a.timedOut);

  auto b = json::parse(R"({"stdout":"","stderr":"x","exitCode":124,"executionTime":40,
      "timedOut":true})")
               .get<runtools::ExecResult>();
  REQUIRE(b.durationMs);
  CHECK(b.durationMs->count() == 40);
  CHECK(b.timedOut);
  CHECK_FALSE(b.ok());

  auto c = json::parse(R"({"stdout":"","exitCode":0})").get<runtools::ExecResult>();
  CHECK_FALSE(c.durationMs);
  CHECK(c.ok());
}

TEST_CASE("sandbox objects tolerate missing, null and mistyped fields") {
  auto info = json::parse(R"({"id":"sandbox-1","name":null,"status":"running","tags":["a",1],
      "template":"base-ubuntu","sshReady":"yes","resources":{"vcpus":2,"memory":"4GB"},
      "createdAt":"2026-05-06T10:00:00.000Z","mounts":[{"workspaceId":"w","path":"/workspace"}],
      "unknownField":{"x":1}})")
                  .get<runtools::SandboxInfo>();
  CHECK(info.id == "sandbox-1");
  CHECK_FALSE(info.name);
  CHECK(info.tags == std::vector<std::string>{"a"});
  CHECK(info.templateName == "base-ubuntu");
  CHECK_FALSE(info.sshReady);
  CHECK(info.resources.vcpus == 2);
  CHECK(info.resources.memory == std::optional<std::string>("4GB"));
  CHECK_FALSE(info.resources.disk);
  CHECK(info.createdAt.has_value());
  REQUIRE(info.mounts.size() == 1);
  CHECK(info.mounts[0].path == "/workspace");
  CHECK(info.raw["unknownField"]["x"] == 1);
}
