// Hashing (OpenSSL libcrypto): SHA-256 of API keys (only the hash is ever stored) and of SSH
// public-key blobs (fingerprints).
#pragma once

#include <string>
#include <string_view>

namespace rtemu {

// The 32-byte SHA-256 digest of `bytes`.
std::string sha256(std::string_view bytes);
// The same digest as 64 lower-case hexadecimal characters.
std::string sha256Hex(std::string_view bytes);

}  // namespace rtemu
