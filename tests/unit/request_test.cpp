// RunTools::request: any endpoint through the pipeline of the typed calls.

#include <catch2/catch.hpp>

#include "fake_services.hpp"
#include "runtools/client.hpp"
#include "runtools/errors.hpp"

using namespace runtools;

namespace {

RawRequest get(std::string path) {
  RawRequest call;
  call.path = std::move(path);
  return call;
}

}  // namespace

TEST_CASE("request sends method, encoded path, query and body with the credential") {
  test::FakeServices fake;
  RunTools rt(fake.services);
  fake.transport->enqueueJson(
      200, {{"data", {{"id", "wf_1"}}}, {"meta", {{"requestId", "req_9"}, {"hasMore", false}}}});
  RawRequest call;
  call.method = "POST";
  call.path = "/workflows/wf 1/run";
  call.query = {{"version", "3"}, {"tag", "a&b"}};
  call.body = nlohmann::json{{"input", {{"ticket", 42}}}};
  const auto answer = rt.request(call);
  CHECK(answer.status == 200);
  CHECK(answer.data["id"] == "wf_1");
  CHECK(answer.meta["hasMore"] == false);
  CHECK(answer.requestId == "req_9");
  const auto sent = fake.transport->lastRequest();
  CHECK(sent.method == "POST");
  CHECK(sent.url == "https://api.example.test/v1/workflows/wf%201/run?version=3&tag=a%26b");
  CHECK(nlohmann::json::parse(sent.body) == *call.body);
  CHECK(sent.headers.has("X-API-Key"));
  CHECK(sent.headers.has("Idempotency-Key"));  // a POST is keyed, so it may be retried
}

TEST_CASE("request maps errors to the typed exceptions and retries what is transient") {
  test::FakeServices fake;
  RunTools rt(fake.services);
  fake.transport->enqueueJson(
      404, {{"error", {{"code", "not_found"}, {"message", "no such workflow"}}}});
  CHECK_THROWS_AS(rt.request(get("/workflows/wf_missing")), NotFoundError);

  fake.transport->clear();
  fake.transport->enqueueJson(503, {{"error", {{"code", "unavailable"}, {"message", "busy"}}}});
  fake.transport->enqueueJson(200, {{"data", nlohmann::json::array({1, 2})}});
  const auto answer = rt.request(get("/projects"));
  CHECK(answer.data == nlohmann::json::array({1, 2}));
  CHECK(answer.meta.is_null());
  CHECK(fake.transport->requests().size() == 2);
}

TEST_CASE("request reaches the other services and refuses malformed input before sending") {
  test::FakeServices fake;
  RunTools rt(fake.services);
  fake.transport->enqueueJson(200, {{"data", {{"ok", true}}}});
  RawRequest call = get("/tools/search");
  call.service = Service::Tools;
  rt.request(call);
  CHECK(fake.transport->lastRequest().url.rfind("https://tools.runtools.ai/v1/tools/search", 0) ==
        0);

  fake.transport->clear();
  for (const char* path : {"", "workflows", "/a//b", "/a/../b", "/a/./b", "/a?x=1", "/a#f"}) {
    INFO(path);
    CHECK_THROWS_AS(rt.request(get(path)), InvalidArgumentError);
  }
  RawRequest lower = get("/a");
  lower.method = "get";
  CHECK_THROWS_AS(rt.request(lower), InvalidArgumentError);
  RawRequest bodyOnGet = get("/a");
  bodyOnGet.body = nlohmann::json::object();
  CHECK_THROWS_AS(rt.request(bodyOnGet), InvalidArgumentError);
  CHECK(fake.transport->requests().empty());
}

TEST_CASE("requestAsync delivers the same answer through an operation") {
  test::FakeServices fake;
  RunTools rt(fake.services);
  fake.transport->enqueueJson(200, {{"data", {{"id", "proj_1"}}}});
  CHECK(rt.requestAsync(get("/projects/proj_1")).get().data["id"] == "proj_1");
}
