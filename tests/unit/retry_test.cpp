#include <catch2/catch.hpp>

#include "internal/retry.hpp"

using namespace runtools;
using namespace runtools::internal;
using std::chrono::milliseconds;

namespace {
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
}

TEST_CASE("retryable statuses and idempotent methods") {
  for (int s : {408, 429, 502, 503, 504})
    CHECK(isRetryableStatus(s));
  for (int s : {200, 400, 401, 404, 409, 413, 500, 501})
    CHECK_FALSE(isRetryableStatus(s));
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE"})
    CHECK(isIdempotentMethod(m));
  for (const char* m : {"POST", "PATCH"})
    CHECK_FALSE(isIdempotentMethod(m));
}

TEST_CASE("backoff doubles from the initial delay and is capped") {
  RetryPolicy policy;
  policy.jitter = 0.0;
  CHECK(backoffDelay(0, policy, 0.3) == milliseconds(500));
  CHECK(backoffDelay(1, policy, 0.3) == milliseconds(1000));
  CHECK(backoffDelay(3, policy, 0.3) == milliseconds(4000));
  CHECK(backoffDelay(4, policy, 0.3) == milliseconds(8000));
  CHECK(backoffDelay(50, policy, 0.3) == milliseconds(8000));
}

TEST_CASE("full jitter spreads the delay up to the cap, partial jitter over a band") {
  RetryPolicy policy;  // full jitter
  CHECK(backoffDelay(1, policy, 0.0) == milliseconds(1000));
  CHECK(backoffDelay(1, policy, 0.5) == milliseconds(500));
  CHECK(backoffDelay(1, policy, 0.999).count() == Approx(1).margin(1));
  // Never zero: the smallest draw still pauses for a millisecond.
  CHECK(backoffDelay(0, policy, 0.9999999) == milliseconds(1));
  policy.jitter = 0.2;
  CHECK(backoffDelay(1, policy, 0.0) == milliseconds(1000));
  CHECK(backoffDelay(1, policy, 0.5) == milliseconds(900));
  CHECK(backoffDelay(1, policy, 0.9999).count() == Approx(800).margin(1));
}

TEST_CASE("Retry-After in seconds, as an HTTP date, retry-after-ms, X-RateLimit-Reset") {
  CHECK(serverRetryAfter(503, {{"Retry-After", "3"}}, kNow) == milliseconds(3000));
  CHECK(serverRetryAfter(503, {{"Retry-After", "0.5"}}, kNow) == milliseconds(500));
  CHECK(serverRetryAfter(429, {{"retry-after-ms", "120"}, {"Retry-After", "9"}}, kNow) ==
        milliseconds(120));
  // 1800000000 = Fri, 15 Jan 2027 08:00:00 GMT
  CHECK(serverRetryAfter(503, {{"Retry-After", "Fri, 15 Jan 2027 08:00:05 GMT"}}, kNow) ==
        milliseconds(5000));
  CHECK(serverRetryAfter(503, {{"Retry-After", "Fri, 15 Jan 2027 07:00:00 GMT"}}, kNow) ==
        milliseconds(0));
  CHECK(serverRetryAfter(429, {{"X-RateLimit-Reset", "1800000010"}}, kNow) == milliseconds(10000));
  CHECK_FALSE(serverRetryAfter(503, {{"X-RateLimit-Reset", "1800000010"}}, kNow));
  // The reset applies when the window is used up, not to a 429 from another limit.
  CHECK(serverRetryAfter(429, {{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "1800000010"}},
                         kNow) == milliseconds(10000));
  CHECK_FALSE(serverRetryAfter(
      429, {{"X-RateLimit-Remaining", "998"}, {"X-RateLimit-Reset", "1800000010"}}, kNow));
  CHECK_FALSE(serverRetryAfter(503, {{"Retry-After", "soon"}}, kNow));
  CHECK_FALSE(serverRetryAfter(503, {}, kNow));
}

TEST_CASE("the three HTTP date formats parse") {
  const auto imf = parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT");
  const auto rfc850 = parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT");
  const auto asctime = parseHttpDate("Sun Nov  6 08:49:37 1994");
  REQUIRE(imf);
  REQUIRE(rfc850);
  REQUIRE(asctime);
  CHECK(*imf == *rfc850);
  CHECK(*imf == *asctime);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(imf->time_since_epoch()).count() ==
        784111777);
  CHECK_FALSE(parseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT"));
}

TEST_CASE("malformed or extreme retry headers never throw and never overflow") {
  for (const char* bad : {".", "..", "1.2.3", "-5", "+5", "5s", "", " "}) {
    INFO(bad);
    CHECK_FALSE(serverRetryAfter(503, {{"Retry-After", bad}}, kNow));
    CHECK_FALSE(serverRetryAfter(429, {{"retry-after-ms", bad}}, kNow));
  }
  CHECK_FALSE(parseHttpDate("Sun, 99999999999 Nov 1994 08:49:37 GMT"));
  CHECK_FALSE(parseHttpDate("Sun, 06 Nov 99999 08:49:37 GMT"));
  CHECK_FALSE(parseHttpDate("Sun Nov 99999999999 08:49:37 1994"));
  // Far-future resets are capped, not wrapped around.
  const auto far = serverRetryAfter(429, {{"X-RateLimit-Reset", "99999999999999"}}, kNow);
  REQUIRE(far);
  CHECK(far->count() > 0);
  CHECK(*far <= milliseconds(1'000'000'000'000LL));
  const auto huge = serverRetryAfter(503, {{"Retry-After", "99999999999999999999"}}, kNow);
  REQUIRE(huge);
  CHECK(*huge == milliseconds(1'000'000'000'000LL));
}
