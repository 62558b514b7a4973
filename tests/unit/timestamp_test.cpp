#include <catch2/catch.hpp>

#include "runtools/common.hpp"

using runtools::formatTimestamp;
using runtools::parseTimestamp;

TEST_CASE("timestamps parse with or without fractional seconds") {
  const auto a = parseTimestamp("2026-05-06T10:00:00.000Z");
  const auto b = parseTimestamp("2026-05-06T10:00:00Z");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
  CHECK(std::chrono::duration_cast<std::chrono::seconds>(a->time_since_epoch()).count() ==
        1778061600);
  const auto frac = parseTimestamp("2026-05-06T10:00:00.123456Z");
  REQUIRE(frac);
  CHECK(std::chrono::duration_cast<std::chrono::microseconds>(*frac - *a).count() == 123456);
}

TEST_CASE("timestamps honour numeric offsets") {
  const auto utc = parseTimestamp("2026-01-01T00:00:00Z");
  const auto plus = parseTimestamp("2026-01-01T02:00:00+02:00");
  const auto minus = parseTimestamp("2025-12-31T19:30:00-0430");
  REQUIRE(utc);
  REQUIRE(plus);
  REQUIRE(minus);
  CHECK(*utc == *plus);
  CHECK(*utc == *minus);
}

TEST_CASE("malformed timestamps are rejected") {
  for (const char* bad : {"", "2026-05-06", "2026-13-01T00:00:00Z", "2026-05-06T10:00:00",
                          "2026-05-06T10:00:00.Z", "2026-05-06T10:00:00Zjunk", "yesterday"}) {
    INFO(bad);
    CHECK_FALSE(parseTimestamp(bad));
  }
}

TEST_CASE("formatting round-trips at millisecond precision") {
  const auto t = parseTimestamp("1999-12-31T23:59:59.987Z");
  REQUIRE(t);
  CHECK(formatTimestamp(*t) == "1999-12-31T23:59:59.987Z");
  CHECK(formatTimestamp(runtools::Timestamp()) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("timestamps outside the representable range are rejected, not wrapped") {
  CHECK_FALSE(parseTimestamp("9999-12-31T23:59:59Z"));
  CHECK_FALSE(parseTimestamp("0001-01-01T00:00:00Z"));
  CHECK(parseTimestamp("2200-01-01T00:00:00Z"));
  CHECK(parseTimestamp("1700-01-01T00:00:00Z"));
}
