#include <catch2/catch.hpp>

#include "internal/path.hpp"
#include "runtools/errors.hpp"

using namespace runtools::internal;

TEST_CASE("a path segment keeps only unreserved characters") {
  CHECK(encodePathSegment("sandbox-abc123") == "sandbox-abc123");
  CHECK(encodePathSegment("a/b") == "a%2Fb");
  CHECK(encodePathSegment("../admin") == "..%2Fadmin");
  CHECK(encodePathSegment("x y?z#w%") == "x%20y%3Fz%23w%25");
  CHECK(encodePathSegment("caf\xC3\xA9") == "caf%C3%A9");
  CHECK(encodePathSegment("a.b_c~d") == "a.b_c~d");
}

TEST_CASE("a segment of dots cannot act as a dot-segment") {
  CHECK(encodePathSegment(".") == "%2E");
  CHECK(encodePathSegment("..") == "%2E%2E");
  CHECK(encodePathSegment("...") == "%2E%2E%2E");
}

TEST_CASE("makePath joins encoded segments and refuses empty ones") {
  CHECK(makePath({"sandboxes", "../../admin", "exec"}) == "/sandboxes/..%2F..%2Fadmin/exec");
  CHECK(makePath({"sandboxes", ".."}) == "/sandboxes/%2E%2E");
  CHECK_THROWS_AS(makePath({"sandboxes", "", "exec"}), runtools::InvalidArgumentError);
}

TEST_CASE("query strings encode keys and values") {
  CHECK(encodeQuery({}).empty());
  CHECK(encodeQuery({{"tag", "a b"}, {"tag", "c&d=e"}, {"limit", "5"}}) ==
        "tag=a%20b&tag=c%26d%3De&limit=5");
}
