#include "internal/path.hpp"

#include <algorithm>

#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void appendEscaped(std::string& out, unsigned char c) {
  static const char* kHex = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0x0F];
}

std::string encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (isUnreserved(c)) {
      out += ch;
    } else {
      appendEscaped(out, c);
    }
  }
  return out;
}

}  // namespace

std::string encodePathSegment(std::string_view segment) {
  if (!segment.empty() && segment.find_first_not_of('.') == std::string_view::npos) {
    std::string out;
    for (std::size_t i = 0; i < segment.size(); ++i)
      appendEscaped(out, '.');
    return out;
  }
  return encode(segment);
}

std::string encodeQueryComponent(std::string_view component) {
  return encode(component);
}

std::string makePath(std::initializer_list<std::string_view> segments) {
  std::string path;
  for (const auto segment : segments) {
    if (segment.empty()) {
      throw InvalidArgumentError("an id or path segment must not be empty");
    }
    path += '/';
    path += encodePathSegment(segment);
  }
  return path;
}

std::string makePathFrom(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    throw InvalidArgumentError("a request path must start with '/' (the part below /v1)");
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    throw InvalidArgumentError("a request path carries no query or fragment: use the query field");
  }
  std::string out;
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      throw InvalidArgumentError("a request path must not have an empty, '.' or '..' segment");
    }
    out += '/';
    out += encodePathSegment(segment);
    start = end + 1;
  }
  return out;
}

std::string encodeQuery(const Query& query) {
  std::string out;
  for (const auto& [key, value] : query) {
    if (!out.empty()) out += '&';
    out += encodeQueryComponent(key);
    out += '=';
    out += encodeQueryComponent(value);
  }
  return out;
}

}  // namespace runtools::internal
