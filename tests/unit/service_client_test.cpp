#include <catch2/catch.hpp>

#include "fake_services.hpp"
#include "runtools/errors.hpp"
#include "runtools/version.hpp"

using nlohmann::json;
using namespace runtools;
using std::chrono::milliseconds;

namespace {

HttpResponse status(int code, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = code;
  r.headers = std::move(headers);
  r.body = R"({"error":{"code":"x","message":"y"}})";
  return r;
}

}  // namespace

TEST_CASE("requests carry /v1, the API key header, a User-Agent and JSON") {
  ClientOptions options;
  options.apiKey = "rt_test_headerheaderheaderheader00";
  options.userAgentSuffix = "my-engine/2.1";
  test::FakeServices fake(options);
  fake.transport->enqueueJson(200, test::envelope({{"ok", true}}));
  fake.api()->post("/sandboxes", json{{"template", "base-ubuntu"}});

  const auto request = fake.transport->lastRequest();
  CHECK(request.method == "POST");
  CHECK(request.url == "https://api.example.test/v1/sandboxes");
  CHECK(request.headers.get("X-API-Key") == "rt_test_headerheaderheaderheader00");
  CHECK_FALSE(request.headers.has("Authorization"));
  CHECK(request.headers.get("Content-Type") == "application/json");
  CHECK(request.headers.get("Accept") == "application/json");
  const auto agent = request.headers.get("User-Agent").value_or("");
  CHECK(agent.rfind(std::string("runtools-cpp/") + RUNTOOLS_VERSION_STRING, 0) == 0);
  CHECK(agent.find("my-engine/2.1") != std::string::npos);
  CHECK(json::parse(request.body) == json{{"template", "base-ubuntu"}});
}

TEST_CASE("access tokens use Authorization: Bearer; key header styles are configurable") {
  ClientOptions token;
  token.accessToken = "eyJhbGciOi.token";
  test::FakeServices a(token);
  a.transport->enqueueJson(200, test::envelope({}));
  a.api()->get("/me");
  CHECK(a.transport->lastRequest().headers.get("Authorization") == "Bearer eyJhbGciOi.token");
  CHECK_FALSE(a.transport->lastRequest().headers.has("X-API-Key"));

  ClientOptions bearer;
  bearer.apiKey = "rt_test_bearerbearerbearerbearer0";
  bearer.authHeaderStyle = AuthHeaderStyle::Bearer;
  test::FakeServices b(bearer);
  b.transport->enqueueJson(200, test::envelope({}));
  b.api()->get("/me");
  CHECK(b.transport->lastRequest().headers.get("Authorization") ==
        "Bearer rt_test_bearerbearerbearerbearer0");
  CHECK_FALSE(b.transport->lastRequest().headers.has("X-API-Key"));

  bearer.authHeaderStyle = AuthHeaderStyle::Both;
  test::FakeServices c(bearer);
  c.transport->enqueueJson(200, test::envelope({}));
  c.api()->get("/me");
  CHECK(c.transport->lastRequest().headers.has("Authorization"));
  CHECK(c.transport->lastRequest().headers.has("X-API-Key"));
}

TEST_CASE("the four services use their own base URLs") {
  ClientOptions options;
  options.toolsUrl = "http://tools.test";
  options.authUrl = "http://auth.test/";
  options.storageUrl = "http://storage.test/v1";
  test::FakeServices fake(options);
  fake.transport->setHandler([](const HttpRequest&) {
    HttpResponse r;
    r.status = 200;
    r.body = "{}";
    return r;
  });
  fake.services->tools->get("/tools");
  fake.services->auth->get("/oauth/providers");
  fake.services->storage->get("/workspaces/w/files");
  const auto requests = fake.transport->requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].url == "http://tools.test/v1/tools");
  CHECK(requests[1].url == "http://auth.test/v1/oauth/providers");
  CHECK(requests[2].url == "http://storage.test/v1/workspaces/w/files");
}

TEST_CASE("a GET is retried on 503 with backoff, without sleeping for real") {
  test::FakeServices fake;
  fake.transport->enqueue(status(503));
  fake.transport->enqueue(status(502));
  fake.transport->enqueueJson(200, test::envelope({{"id", "s"}}));
  const auto response = fake.api()->get("/sandboxes/s");
  CHECK(response.data()["id"] == "s");
  CHECK(fake.transport->requests().size() == 3);
  const auto sleeps = fake.clock->sleeps();
  REQUIRE(sleeps.size() == 2);
  CHECK(sleeps[0] >= milliseconds(400));
  CHECK(sleeps[0] <= milliseconds(600));
  CHECK(sleeps[1] >= milliseconds(800));
  CHECK(sleeps[1] <= milliseconds(1200));
}

TEST_CASE("retries stop after maxRetries and the last error is raised") {
  ClientOptions options;
  options.maxRetries = 2;
  test::FakeServices fake(options);
  for (int i = 0; i < 5; ++i)
    fake.transport->enqueue(status(503));
  CHECK_THROWS_AS(fake.api()->get("/x"), ServerError);
  CHECK(fake.transport->requests().size() == 3);
}

TEST_CASE("maxRetries = 0 sends once") {
  ClientOptions options;
  options.maxRetries = 0;
  test::FakeServices fake(options);
  fake.transport->enqueue(status(503));
  CHECK_THROWS_AS(fake.api()->get("/x"), ServerError);
  CHECK(fake.transport->requests().size() == 1);
  CHECK(fake.clock->sleeps().empty());
}

TEST_CASE("a plain POST is not retried on 503 or after the request may have been sent") {
  test::FakeServices fake;
  fake.transport->enqueue(status(503));
  CHECK_THROWS_AS(fake.api()->post("/sandboxes", json::object()), ServerError);
  CHECK(fake.transport->requests().size() == 1);

  fake.transport->clear();
  fake.transport->enqueueException(std::make_exception_ptr(
      TransportError(TransportError::Kind::Network, "connection reset by peer")));
  CHECK_THROWS_AS(fake.api()->post("/sandboxes", json::object()), TransportError);
  CHECK(fake.transport->requests().size() == 1);

  fake.transport->clear();
  fake.transport->enqueueException(std::make_exception_ptr(TimeoutError("timed out")));
  CHECK_THROWS_AS(fake.api()->post("/sandboxes", json::object()), TimeoutError);
  CHECK(fake.transport->requests().size() == 1);
}

TEST_CASE("a POST is retried when the connection failed before sending") {
  test::FakeServices fake;
  fake.transport->enqueueException(std::make_exception_ptr(
      TransportError(TransportError::Kind::ConnectionFailed, "connection refused")));
  fake.transport->enqueueJson(201, test::envelope({{"id", "sandbox-1"}}));
  CHECK(fake.api()->post("/sandboxes", json::object()).status == 201);
  CHECK(fake.transport->requests().size() == 2);
}

TEST_CASE("an idempotent action POST is retried; a plain POST is not, even on 429") {
  test::FakeServices fake;
  fake.transport->enqueue(status(503));
  fake.transport->enqueueJson(200, test::envelope({{"status", "pausing"}}));
  internal::ApiRequest pause;
  pause.method = "POST";
  pause.path = "/sandboxes/s/pause";
  pause.idempotent = true;
  CHECK(fake.api()->call(pause).data()["status"] == "pausing");

  fake.transport->clear();
  fake.transport->enqueue(status(429, {{"Retry-After", "2"}}));
  CHECK_THROWS_AS(fake.api()->post("/sandboxes", json::object()), RateLimitError);
  CHECK(fake.transport->requests().size() == 1);

  fake.transport->clear();
  fake.transport->enqueue(status(429, {{"Retry-After", "2"}}));
  fake.transport->enqueueJson(200, test::envelope({{"id", "x"}}));
  CHECK(fake.api()->get("/sandboxes/x").status == 200);
  CHECK(fake.clock->sleeps().back() == milliseconds(2000));
}

TEST_CASE("a server-requested wait above maxRetryAfter is not waited for") {
  test::FakeServices fake;
  fake.transport->enqueue(status(429, {{"Retry-After", "3600"}}));
  try {
    fake.api()->get("/x");
    FAIL("expected RateLimitError");
  } catch (const RateLimitError& e) {
    CHECK(e.retryAfter() == milliseconds(3600000));
  }
  CHECK(fake.transport->requests().size() == 1);
  CHECK(fake.clock->sleeps().empty());
}

TEST_CASE("a GET is retried after a timeout and a reset connection") {
  test::FakeServices fake;
  fake.transport->enqueueException(std::make_exception_ptr(TimeoutError("slow")));
  fake.transport->enqueueException(
      std::make_exception_ptr(TransportError(TransportError::Kind::Network, "reset")));
  fake.transport->enqueueJson(200, test::envelope(json::array()));
  CHECK(fake.api()->get("/sandboxes").data().is_array());
  CHECK(fake.transport->requests().size() == 3);
}

TEST_CASE("the error after retries says how many attempts were made") {
  test::FakeServices fake;
  for (int i = 0; i < 3; ++i) {
    fake.transport->enqueueException(std::make_exception_ptr(
        TransportError(TransportError::Kind::ConnectionFailed, "connection refused")));
  }
  CHECK_THROWS_WITH(fake.api()->get("/x"), Catch::Contains("3 attempts"));
}

TEST_CASE("request bodies with invalid UTF-8 are refused before sending") {
  test::FakeServices fake;
  CHECK_THROWS_AS(fake.api()->post("/x", json{{"name", "\xff\xfe"}}), InvalidArgumentError);
  CHECK(fake.transport->requests().empty());
}

TEST_CASE("requests tell the transport whether they may be repeated") {
  test::FakeServices fake;
  fake.transport->setHandler([](const HttpRequest&) { return HttpResponse{200, {}, "{}"}; });
  fake.api()->get("/sandboxes");
  CHECK(fake.transport->lastRequest().idempotent);
  fake.api()->post("/sandboxes/s/exec", json::object());
  CHECK_FALSE(fake.transport->lastRequest().idempotent);
  internal::ApiRequest pause;
  pause.method = "POST";
  pause.path = "/sandboxes/s/pause";
  pause.idempotent = true;
  fake.api()->call(pause);
  CHECK(fake.transport->lastRequest().idempotent);
}

TEST_CASE("a DELETE that finds nothing after a lost answer has succeeded") {
  test::FakeServices fake;
  fake.transport->enqueueException(std::make_exception_ptr(TimeoutError("answer lost")));
  fake.transport->enqueueJson(404, {{"error", {{"code", "not_found"}, {"message", "gone"}}}});
  CHECK_NOTHROW(fake.api()->del("/sandboxes/s"));
  CHECK(fake.transport->requests().size() == 2);

  fake.transport->clear();
  fake.transport->enqueue(status(504));
  fake.transport->enqueueJson(404, {{"error", {{"code", "not_found"}, {"message", "gone"}}}});
  CHECK_NOTHROW(fake.api()->del("/sandboxes/s"));

  // A 404 on the first attempt, or after a refused connection, is an error.
  fake.transport->clear();
  fake.transport->enqueueJson(404, {{"error", {{"code", "not_found"}, {"message", "gone"}}}});
  CHECK_THROWS_AS(fake.api()->del("/sandboxes/s"), NotFoundError);
  fake.transport->enqueueException(
      std::make_exception_ptr(TransportError(TransportError::Kind::ConnectionFailed, "refused")));
  fake.transport->enqueueJson(404, {{"error", {{"code", "not_found"}, {"message", "gone"}}}});
  CHECK_THROWS_AS(fake.api()->del("/sandboxes/s"), NotFoundError);
}
