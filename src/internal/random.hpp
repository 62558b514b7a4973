#pragma once

// Random identifiers: multipart boundaries, temporary names, idempotency keys.

#include <cstddef>
#include <string>

namespace runtools::internal {

/// `length` random lower-case hexadecimal digits.
std::string randomHex(std::size_t length);

/// A random (version 4) UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
std::string uuid4();

}  // namespace runtools::internal
