#include <catch2/catch.hpp>

#include <type_traits>

#include "fake_services.hpp"
#include "runtools/errors.hpp"

using nlohmann::json;
using namespace runtools;

namespace {

const char* const kKey = "rt_test_S3cretS3cretS3cretS3cretS3cr";

test::FakeServices noRetries() {
  ClientOptions options;
  options.apiKey = kKey;
  options.maxRetries = 0;
  return test::FakeServices(options);
}

HttpResponse respond(int status, std::string body, HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

json errorBody(const std::string& code, const std::string& message, const std::string& rid) {
  return {{"error", {{"code", code}, {"message", message}, {"requestId", rid}}}};
}

template <class E>
E callExpecting(test::FakeServices& fake) {
  try {
    fake.api()->get("/sandboxes/x");
  } catch (const E& e) {
    return e;
  }
  FAIL("the expected exception type was not thrown");
  throw std::logic_error("unreachable");
}

}  // namespace

TEMPLATE_TEST_CASE_SIG("each documented status maps to its exception type", "",
                       ((int S, typename E), S, E), (400, BadRequestError), (422, BadRequestError),
                       (401, AuthenticationError), (402, PaymentRequiredError),
                       (403, PermissionDeniedError), (404, NotFoundError), (409, ConflictError),
                       (413, PayloadTooLargeError), (429, RateLimitError), (500, ServerError),
                       (502, ServerError), (503, ServerError), (504, ServerError),
                       (418, ApiError)) {
  auto fake = noRetries();
  fake.transport->enqueueJson(S, errorBody("some_code", "Something happened", "req_abc"));
  const E error = callExpecting<E>(fake);
  CHECK(error.status() == S);
  CHECK(error.code() == "some_code");
  CHECK(error.message() == "Something happened");
  CHECK(error.requestId() == "req_abc");
  CHECK(error.body().find("Something happened") != std::string::npos);
  const std::string text = error.what();
  CHECK(text.find("some_code") != std::string::npos);
  CHECK(text.find(std::to_string(S)) != std::string::npos);
  CHECK(text.find("req_abc") != std::string::npos);
}

TEST_CASE("a specific error is also catchable as ApiError and Error") {
  auto fake = noRetries();
  fake.transport->enqueueJson(404, errorBody("not_found", "Sandbox not found", "req_1"));
  CHECK_THROWS_AS(fake.api()->get("/sandboxes/x"), ApiError);
  fake.transport->enqueueJson(404, errorBody("not_found", "Sandbox not found", "req_1"));
  CHECK_THROWS_AS(fake.api()->get("/sandboxes/x"), runtools::Error);
}

TEST_CASE("codes compare case-insensitively") {
  auto fake = noRetries();
  fake.transport->enqueueJson(409, errorBody("WORKSPACE_IN_USE", "in use", "req_2"));
  const auto e = callExpecting<ConflictError>(fake);
  CHECK(e.code() == "WORKSPACE_IN_USE");
  CHECK(e.hasCode("workspace_in_use"));
  CHECK(e.hasCode("WORKSPACE_IN_USE"));
  CHECK_FALSE(e.hasCode("workspace"));
}

TEST_CASE("the request id falls back to the X-Request-ID header, else is empty") {
  auto fake = noRetries();
  fake.transport->enqueue(respond(404, R"({"error":{"code":"not_found","message":"gone"}})",
                                  {{"x-request-id", "req_header"}}));
  CHECK(callExpecting<NotFoundError>(fake).requestId() == "req_header");

  fake.transport->enqueue(respond(404, R"({"error":{"code":"not_found","message":"gone"}})"));
  const auto e = callExpecting<NotFoundError>(fake);
  CHECK(e.requestId().empty());
  CHECK(std::string(e.what()).find("request") == std::string::npos);
}

TEST_CASE("an HTML error page yields the typed error with the status and a snippet") {
  auto fake = noRetries();
  fake.transport->enqueue(
      respond(502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
              {{"Content-Type", "text/html"}}));
  const auto e = callExpecting<ServerError>(fake);
  CHECK(e.status() == 502);
  CHECK(e.code() == "bad_gateway");
  CHECK(e.message().find("502 Bad Gateway") != std::string::npos);
  CHECK(e.message().find('\n') == std::string::npos);
}

TEST_CASE("an empty error body yields the typed error with a generic code") {
  auto fake = noRetries();
  fake.transport->enqueue(respond(401, ""));
  const auto e = callExpecting<AuthenticationError>(fake);
  CHECK(e.code() == "unauthorized");
  CHECK(e.message().find("empty body") != std::string::npos);
}

TEST_CASE("a long non-JSON body is cut to a short snippet") {
  auto fake = noRetries();
  fake.transport->enqueue(respond(500, std::string(10000, 'x')));
  const auto e = callExpecting<ServerError>(fake);
  CHECK(e.message().size() < 300);
  CHECK(e.body().size() == 10000);
}

TEST_CASE("error variants without the standard envelope are still read") {
  auto fake = noRetries();
  fake.transport->enqueueJson(400, {{"code", "bad_request"}, {"message", "flat shape"}});
  auto e = callExpecting<BadRequestError>(fake);
  CHECK(e.code() == "bad_request");
  CHECK(e.message() == "flat shape");

  fake.transport->enqueueJson(403, {{"error", "forbidden"}, {"message", "string error"}});
  auto f = callExpecting<PermissionDeniedError>(fake);
  CHECK(f.code() == "forbidden");
  CHECK(f.message() == "string error");

  fake.transport->enqueueJson(400, json::array({1, 2}));
  auto g = callExpecting<BadRequestError>(fake);
  CHECK(g.code() == "bad_request");
}

TEST_CASE("a 429 carries the server's retry-after") {
  auto fake = noRetries();
  fake.transport->enqueue(
      respond(429, errorBody("rate_limited", "slow down", "r").dump(), {{"Retry-After", "7"}}));
  const auto e = callExpecting<RateLimitError>(fake);
  REQUIRE(e.retryAfter());
  CHECK(e.retryAfter()->count() == 7000);

  fake.transport->enqueue(respond(429, "", {{"retry-after-ms", "250"}}));
  CHECK(callExpecting<RateLimitError>(fake).retryAfter()->count() == 250);

  fake.transport->enqueue(respond(429, ""));
  CHECK_FALSE(callExpecting<RateLimitError>(fake).retryAfter());
}

TEST_CASE("a credential echoed by a server never reaches an exception") {
  auto fake = noRetries();
  const std::string echoed = std::string("invalid key ") + kKey;
  fake.transport->enqueueJson(401, errorBody("invalid_token", echoed, "req_k"));
  const auto e = callExpecting<AuthenticationError>(fake);
  CHECK(std::string(e.what()).find(kKey) == std::string::npos);
  CHECK(e.message().find(kKey) == std::string::npos);
  CHECK(e.body().find(kKey) == std::string::npos);
  CHECK(e.message().find("[REDACTED]") != std::string::npos);

  fake.transport->enqueue(respond(500, std::string("<pre>X-API-Key: ") + kKey + "</pre>"));
  const auto s = callExpecting<ServerError>(fake);
  CHECK(std::string(s.what()).find(kKey) == std::string::npos);
  CHECK(s.body().find(kKey) == std::string::npos);
}

TEST_CASE("transport errors pass through typed") {
  auto fake = noRetries();
  fake.transport->enqueueException(std::make_exception_ptr(
      TransportError(TransportError::Kind::ConnectionFailed, "connection refused")));
  CHECK_THROWS_AS(fake.api()->get("/x"), TransportError);
  fake.transport->enqueueException(std::make_exception_ptr(TimeoutError("took too long")));
  CHECK_THROWS_AS(fake.api()->get("/x"), TimeoutError);
}

TEST_CASE("a credential straddling a cut is redacted as a whole") {
  auto fake = noRetries();
  const std::string key = kKey;
  // A non-JSON body whose key starts just before the message snippet ends.
  for (std::size_t prefix : {190u, 195u, 199u}) {
    INFO(prefix);
    fake.transport->enqueue(respond(500, std::string(prefix, 'x') + key + " tail"));
    const auto e = callExpecting<ServerError>(fake);
    CHECK(std::string(e.what()).find(key.substr(0, 10)) == std::string::npos);
  }
  // A long JSON body whose key straddles the 64 KiB the error keeps.
  const std::string message(64 * 1024 - 30, 'm');
  fake.transport->enqueueJson(401, errorBody("invalid_token", message + key, "r"));
  const auto big = callExpecting<AuthenticationError>(fake);
  CHECK(big.body().find(key.substr(0, 10)) == std::string::npos);
  // A 2xx body that is not JSON.
  fake.transport->enqueue(respond(200, std::string(195, 'y') + key));
  try {
    fake.api()->get("/x");
    FAIL("expected InvalidResponseError");
  } catch (const InvalidResponseError& e) {
    CHECK(std::string(e.what()).find(key.substr(0, 10)) == std::string::npos);
  }
}

TEST_CASE("a 429 with a malformed Retry-After is still a RateLimitError") {
  auto fake = noRetries();
  fake.transport->enqueue(respond(429, "", {{"Retry-After", "."}}));
  CHECK_FALSE(callExpecting<RateLimitError>(fake).retryAfter());
}

TEST_CASE("only HTTP error answers are ApiErrors") {
  // The outcomes that come from no HTTP error answer stay out of ApiError.
  STATIC_REQUIRE_FALSE(std::is_base_of_v<ApiError, SandboxFailedError>);
  STATIC_REQUIRE(std::is_base_of_v<Error, SandboxFailedError>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<ApiError, FileTooLargeError>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<PayloadTooLargeError, FileTooLargeError>);
  STATIC_REQUIRE(std::is_base_of_v<InvalidArgumentError, FileTooLargeError>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<FileError, FileTooLargeError>);
  STATIC_REQUIRE(std::is_base_of_v<ApiError, PayloadTooLargeError>);

  const SandboxFailedError failed("sandbox-1", "destroyed");
  CHECK(failed.sandboxId() == "sandbox-1");
  CHECK(failed.sandboxStatus() == "destroyed");
  CHECK(failed.code() == "sandbox_failed");
  const std::string text = failed.what();
  CHECK(text.find("sandbox-1") != std::string::npos);
  CHECK(text.find("destroyed") != std::string::npos);
  CHECK(text.find("HTTP") == std::string::npos);

  const FileTooLargeError tooLarge("the upload is too large", 7, 5);
  CHECK(tooLarge.size() == 7);
  CHECK(tooLarge.limit() == 5);
  CHECK(std::string(tooLarge.what()) == "the upload is too large");

  // The server's 413 is still a PayloadTooLargeError.
  auto fake = noRetries();
  fake.transport->enqueueJson(413, errorBody("payload_too_large", "Too large", "req_413"));
  const auto answered = callExpecting<PayloadTooLargeError>(fake);
  CHECK(answered.status() == 413);
}
