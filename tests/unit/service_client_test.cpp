#include <catch2/catch.hpp>

#include "fake_services.hpp"
#include "internal/streams.hpp"
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

TEST_CASE("access tokens use Authorization: Bearer, key header styles are configurable") {
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
  // Full jitter: somewhere in (0, 500 ms], then in (0, 1000 ms].
  CHECK(sleeps[0] <= milliseconds(500));
  CHECK(sleeps[1] <= milliseconds(1000));
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

TEST_CASE("without idempotency keys a POST is not retried once it may have been sent") {
  ClientOptions noKeys;
  noKeys.retryPolicy.idempotencyKeys = false;
  test::FakeServices fake(noKeys);
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

TEST_CASE("an idempotent action POST is retried, a POST without a key is not, even on 429") {
  ClientOptions noKeys;
  noKeys.retryPolicy.idempotencyKeys = false;
  test::FakeServices fake(noKeys);
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
  ClientOptions noKeys;
  noKeys.retryPolicy.idempotencyKeys = false;
  test::FakeServices fake(noKeys);
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

  // With idempotency keys a POST may be repeated, but a stream never.
  test::FakeServices keyed;
  keyed.transport->setHandler([](const HttpRequest&) { return HttpResponse{200, {}, "{}"}; });
  keyed.api()->post("/sandboxes/s/exec", json::object());
  CHECK(keyed.transport->lastRequest().idempotent);
  internal::ApiRequest stream;
  stream.method = "POST";
  stream.path = "/run";
  stream.bodySink = std::make_shared<internal::StringSink>();
  keyed.api()->call(stream);
  CHECK_FALSE(keyed.transport->lastRequest().idempotent);
  CHECK_FALSE(keyed.transport->lastRequest().headers.has("Idempotency-Key"));
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

TEST_CASE("a POST carries one idempotency key across its retries, or the caller's own") {
  test::FakeServices fake;
  fake.transport->enqueue(status(503));
  fake.transport->enqueueException(
      std::make_exception_ptr(TransportError(TransportError::Kind::Network, "connection reset")));
  fake.transport->enqueueJson(201, test::envelope({{"id", "sandbox-1"}}));
  CHECK(fake.api()->post("/sandboxes", json::object()).status == 201);
  const auto requests = fake.transport->requests();
  REQUIRE(requests.size() == 3);
  const auto key = requests[0].headers.get("Idempotency-Key");
  REQUIRE(key);
  CHECK(requests[2].headers.get("Idempotency-Key") == key);
  CHECK(requests[0].idempotent);

  // GET, PUT and DELETE need none; neither do the naturally idempotent actions.
  fake.transport->clear();
  fake.transport->setHandler([](const HttpRequest&) { return HttpResponse{200, {}, "{}"}; });
  fake.api()->get("/sandboxes");
  CHECK_FALSE(fake.transport->lastRequest().headers.has("Idempotency-Key"));
  internal::ApiRequest pause;
  pause.method = "POST";
  pause.path = "/sandboxes/s/pause";
  pause.idempotent = true;
  fake.api()->call(pause);
  CHECK_FALSE(fake.transport->lastRequest().headers.has("Idempotency-Key"));
}

TEST_CASE("the call's deadline bounds retries and says how many attempts were made") {
  ClientOptions options;
  options.maxRetries = 10;
  options.retryPolicy.jitter = 0.0;  // 500, 1000, 2000, 4000 ms...
  test::FakeServices fake(options);
  auto services = internal::makeServices(fake.services->config, fake.transport, fake.clock, [] {
    CallOptions call;
    call.deadline = milliseconds(2500);
    return call;
  }());
  fake.transport->setHandler([](const HttpRequest&) { return status(503); });
  try {
    services->api->get("/sandboxes");
    FAIL("expected ServerError");
  } catch (const ServerError& e) {
    // Attempts at 0, 0.5 and 1.5 s; the next would start at 3.5 s.
    CHECK(e.attempts() == 3);
    CHECK(std::string(e.what()).find("3 attempts") != std::string::npos);
  }
  // Each attempt's timeout is cut to what is left of the deadline.
  CHECK(fake.transport->requests().back().timeout <= milliseconds(1000));
}

TEST_CASE("a cancelled call stops between attempts") {
  test::FakeServices fake;
  CancellationToken token;
  CallOptions call;
  call.cancellation = token;
  auto services = internal::makeServices(fake.services->config, fake.transport, fake.clock, call);
  fake.transport->setHandler([&](const HttpRequest&) {
    token.cancel();  // the user gives up while the first attempt is under way
    return status(503);
  });
  CHECK_THROWS_AS(services->api->get("/sandboxes"), CancelledError);
  CHECK(fake.transport->requests().size() == 1);
}

TEST_CASE("rate-limit figures of the last response are kept") {
  test::FakeServices fake;
  fake.transport->enqueue(HttpResponse{200,
                                       {{"X-RateLimit-Limit", "1000"},
                                        {"X-RateLimit-Remaining", "998"},
                                        {"X-RateLimit-Reset", "1800000060"}},
                                       "{}"});
  fake.api()->get("/sandboxes");
  const auto& state = *fake.services->rateLimits;
  CHECK(state.last.limit == 1000);
  CHECK(state.last.remaining == 998);
  REQUIRE(state.last.reset);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(state.last.reset->time_since_epoch())
            .count() == 1800000060);
}

TEST_CASE("the logger sees each exchange with credentials and secret parameters redacted") {
  std::vector<LogRecord> records;
  ClientOptions options;
  options.apiKey = "rt_test_LoggedLoggedLoggedLoggedLog";
  options.logLevel = LogLevel::Debug;
  options.logger = [&](const LogRecord& r) { records.push_back(r); };
  test::FakeServices fake(options);
  fake.transport->enqueue(status(503, {{"X-Request-ID", "req_1"}}));
  fake.transport->enqueueJson(200, test::envelope({}), {{"X-Request-ID", "req_2"}});
  fake.api()->get("/oauth/start/github", {{"state", "s3cr3t-state"}, {"scopes", "repo"}});
  REQUIRE(records.size() == 2);
  CHECK(records[0].level == LogLevel::Warning);
  CHECK(records[0].status == 503);
  CHECK(records[0].attempt == 1);
  CHECK(records[1].level == LogLevel::Info);
  CHECK(records[1].requestId == "req_2");
  CHECK(records[1].attempt == 2);
  for (const auto& r : records) {
    CHECK(r.url.find("s3cr3t-state") == std::string::npos);
    CHECK(r.url.find("state=[REDACTED]") != std::string::npos);
    CHECK(r.url.find("scopes=repo") != std::string::npos);
    CHECK(r.headers.get("X-API-Key") == "[REDACTED]");
    for (const auto& [name, value] : r.headers) {
      CHECK(value.find("LoggedLogged") == std::string::npos);
    }
  }
  CHECK(internal::redactUrl("https://h/p?api_key=k&token=t&x=1") ==
        "https://h/p?api_key=[REDACTED]&token=[REDACTED]&x=1");
}
