#include "internal/random.hpp"

#include <random>

namespace runtools::internal {
namespace {

std::mt19937_64& engine() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator;
}

}  // namespace

std::string randomHex(std::size_t length) {
  static const char* kHex = "0123456789abcdef";
  std::uniform_int_distribution<int> digit(0, 15);
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i)
    out += kHex[digit(engine())];
  return out;
}

std::string uuid4() {
  std::string hex = randomHex(32);
  hex[12] = '4';
  static const char* kVariant = "89ab";
  hex[16] = kVariant[std::uniform_int_distribution<int>(0, 3)(engine())];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace runtools::internal
