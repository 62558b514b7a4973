// Byte-level encodings: base64url (cursors), percent-decoding (path segments, query strings).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtemu {

// base64url without padding (RFC 4648 section 5).
std::string base64UrlEncode(std::string_view bytes);
// Accepts input with or without '=' padding; nullopt on any invalid character or length.
std::optional<std::string> base64UrlDecode(std::string_view text);

// Standard base64 (RFC 4648 section 4, alphabet with '+' and '/'), with or without '='
// padding on output.
std::string base64Encode(std::string_view bytes, bool pad);
// Strict standard base64: only the standard alphabet, '=' padding only at the end and only
// to a multiple of 4 characters (unpadded input is accepted too), no whitespace, and no
// non-zero bits left over in the last character. nullopt otherwise.
std::optional<std::string> base64Decode(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string percentEncode(std::string_view text);

// Decodes %XX escapes; a malformed escape is kept literally. With `plusIsSpace`, '+' becomes
// ' ' (query strings); in path segments '+' is literal.
std::string percentDecode(std::string_view text, bool plusIsSpace);

// Splits a raw path (no query) on '/' and percent-decodes each segment separately, so that
// "a%2Fb" stays ONE segment "a/b". The leading '/' does not produce an empty first segment.
std::vector<std::string> splitPathSegments(std::string_view rawPath);

// ASCII case-insensitive equality (header names).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Ordered list of (key, value) pairs; keys may repeat ("tag=a&tag=b").
using QueryParams = std::vector<std::pair<std::string, std::string>>;
QueryParams parseQuery(std::string_view rawQuery);

}  // namespace rtemu
