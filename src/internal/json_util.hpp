#pragma once

// Lenient readers for response objects: a missing member, or one of an
// unexpected type, reads as absent instead of throwing, and documented
// aliases are tried in order.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/common.hpp"

namespace runtools::internal::json {

using nlohmann::json;

/// The first of `keys` present (and not null) in object `j`, or nullptr.
const json* find(const json& j, std::initializer_list<const char*> keys);

std::optional<std::string> optString(const json& j, std::initializer_list<const char*> keys);
std::string string(const json& j, std::initializer_list<const char*> keys,
                   const std::string& fallback = {});
std::optional<std::int64_t> optInt(const json& j, std::initializer_list<const char*> keys);
std::optional<double> optNumber(const json& j, std::initializer_list<const char*> keys);
std::optional<bool> optBool(const json& j, std::initializer_list<const char*> keys);
bool boolean(const json& j, std::initializer_list<const char*> keys, bool fallback = false);
std::vector<std::string> stringList(const json& j, std::initializer_list<const char*> keys);
std::optional<Timestamp> optTimestamp(const json& j, std::initializer_list<const char*> keys);

/// `object`'s members when it is an object, else an empty object (for
/// free-form members such as metadata or attributes).
json objectOrEmpty(const json& j, std::initializer_list<const char*> keys);

/// Parses every element of an array (non-arrays give an empty vector).
template <class T>
std::vector<T> list(const json& array) {
  std::vector<T> out;
  if (!array.is_array()) return out;
  out.reserve(array.size());
  for (const auto& item : array)
    out.push_back(item.get<T>());
  return out;
}

/// A string map as a JSON object.
json stringMap(const std::map<std::string, std::string>& values);

}  // namespace runtools::internal::json
