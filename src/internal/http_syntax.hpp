#pragma once

// The HTTP/1.1 syntax rules the SDK checks before anything is sent.

#include <string_view>

namespace runtools::internal {

/// An RFC 9110 token: header names and methods.
bool isToken(std::string_view text);

/// ASCII case-insensitive equality (header names, error codes).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

/// CR, LF or another control character (a horizontal tab is allowed): such a
/// header value could split the request.
bool hasControlCharacters(std::string_view text);

}  // namespace runtools::internal
