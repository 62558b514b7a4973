#include "internal/json_util.hpp"

#include <cmath>
#include <limits>

namespace runtools::internal::json {

const nlohmann::json* find(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return nullptr;
  for (const char* key : keys) {
    const auto it = j.find(key);
    if (it != j.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::optional<std::string> optString(const nlohmann::json& j,
                                     std::initializer_list<const char*> keys) {
  if (!j.is_object()) return std::nullopt;
  for (const char* key : keys) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return std::nullopt;
}

std::string string(const nlohmann::json& j, std::initializer_list<const char*> keys,
                   const std::string& fallback) {
  return optString(j, keys).value_or(fallback);
}

std::optional<std::int64_t> optInt(const nlohmann::json& j,
                                   std::initializer_list<const char*> keys) {
  if (!j.is_object()) return std::nullopt;
  for (const char* key : keys) {
    const auto it = j.find(key);
    if (it == j.end()) continue;
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_number_float()) {
      const double value = it->get<double>();
      if (std::isfinite(value) && std::fabs(value) < 9.0e18) {
        return static_cast<std::int64_t>(std::llround(value));
      }
    }
  }
  return std::nullopt;
}

std::optional<double> optNumber(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return std::nullopt;
  for (const char* key : keys) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_number()) return it->get<double>();
  }
  return std::nullopt;
}

std::optional<bool> optBool(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return std::nullopt;
  for (const char* key : keys) {
    const auto it = j.find(key);
    if (it != j.end() && it->is_boolean()) return it->get<bool>();
  }
  return std::nullopt;
}

bool boolean(const nlohmann::json& j, std::initializer_list<const char*> keys, bool fallback) {
  return optBool(j, keys).value_or(fallback);
}

std::vector<std::string> stringList(const nlohmann::json& j,
                                    std::initializer_list<const char*> keys) {
  std::vector<std::string> out;
  const nlohmann::json* array = find(j, keys);
  if (array == nullptr || !array->is_array()) return out;
  for (const auto& item : *array) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<Timestamp> optTimestamp(const nlohmann::json& j,
                                      std::initializer_list<const char*> keys) {
  if (!j.is_object()) return std::nullopt;
  for (const char* key : keys) {
    const auto it = j.find(key);
    if (it == j.end()) continue;
    if (it->is_string()) {
      if (auto parsed = parseTimestamp(it->get_ref<const std::string&>())) return parsed;
    } else if (it->is_number_integer()) {
      // Unix epoch: seconds, or milliseconds when implausibly large for seconds.
      // Within Timestamp's range only (about 1678..2261).
      const auto value = it->get<std::int64_t>();
      constexpr std::int64_t kMaxSeconds = 9'000'000'000LL;
      if (value > 100'000'000'000LL) {
        if (value / 1000 > kMaxSeconds) continue;
        return Timestamp(std::chrono::milliseconds(value));
      }
      if (value < -kMaxSeconds) continue;
      return Timestamp(std::chrono::seconds(value));
    }
  }
  return std::nullopt;
}

nlohmann::json objectOrEmpty(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const nlohmann::json* value = find(j, keys);
  if (value != nullptr && value->is_object()) return *value;
  return nlohmann::json::object();
}

nlohmann::json stringMap(const std::map<std::string, std::string>& values) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : values)
    out[key] = value;
  return out;
}

}  // namespace runtools::internal::json
