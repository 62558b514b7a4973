#pragma once

// Building request paths and query strings. Every path segment goes through
// encodePathSegment, so that an id such as "../admin" or "a/b" stays one
// segment of its resource's path.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runtools::internal {

/// Query parameters in order; keys may repeat (`tag=a&tag=b`).
using Query = std::vector<std::pair<std::string, std::string>>;

/// Percent-encodes everything but RFC 3986 unreserved characters. A segment
/// made only of dots is encoded entirely, so it can never act as `.`/`..`.
std::string encodePathSegment(std::string_view segment);

/// Percent-encodes a query key or value (unreserved characters kept).
std::string encodeQueryComponent(std::string_view component);

/// "/seg1/seg2/..." with each segment encoded. Throws InvalidArgumentError
/// for an empty segment (an empty id would address a different resource).
std::string makePath(std::initializer_list<std::string_view> segments);
/// makePath for a path given as text ("/a/b/c"): each segment encoded;
/// InvalidArgumentError for a path that does not start with '/', has an
/// empty, `.` or `..` segment, or carries a query or fragment.
std::string makePathFrom(std::string_view path);

/// "k1=v1&k2=v2" (no leading '?'); empty for an empty query.
std::string encodeQuery(const Query& query);

}  // namespace runtools::internal
