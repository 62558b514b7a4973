#include "util/json_util.hpp"

#include <algorithm>
#include <fstream>
#include <limits>

#include "http/api_error.hpp"

namespace rtemu {
namespace {

const Json* presentField(const Json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// Request bodies nest at most this deep. nlohmann::json parses iteratively, but copying,
// comparing and serialising a value recurse once per level: a body of a few MiB of '[' would
// overflow the stack the first time it is stored and read back.
constexpr std::size_t kMaxBodyDepth = 128;

// The deepest nesting of arrays and objects in `text` (brackets inside strings do not count).
std::size_t nestingDepth(const std::string& text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool inString = false;
  bool escaped = false;
  for (const char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxBodyDepth) return deepest;  // enough to refuse it
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::string dumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json parseJsonObjectBody(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  if (nestingDepth(body) > kMaxBodyDepth) {
    throw ApiError(400, "validation_error",
                   "Request body nests deeper than " + std::to_string(kMaxBodyDepth) + " levels")
        .withDetails("body", "nested too deeply");
  }
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    throw ApiError(400, "validation_error", "Request body is not valid JSON")
        .withDetails("body", "invalid JSON");
  }
  if (!parsed.is_object()) {
    throw ApiError(400, "validation_error", "Request body must be a JSON object")
        .withDetails("body", "must be a JSON object");
  }
  return parsed;
}

Json readJsonFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Json();
  Json parsed = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json() : parsed;
}

std::optional<std::string> readString(const Json& obj, const char* field) {
  const Json* v = presentField(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw validationError(field, "must be a string");
  return v->get<std::string>();
}

std::optional<bool> readBool(const Json& obj, const char* field) {
  const Json* v = presentField(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw validationError(field, "must be a boolean");
  return v->get<bool>();
}

std::optional<std::int64_t> readInteger(const Json& obj, const char* field) {
  const Json* v = presentField(obj, field);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw validationError(field, "is out of range");
    }
    return static_cast<std::int64_t>(u);
  }
  if (!v->is_number_integer()) throw validationError(field, "must be an integer");
  return v->get<std::int64_t>();
}

std::optional<std::vector<std::string>> readStringArray(const Json& obj, const char* field) {
  const Json* v = presentField(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_array()) throw validationError(field, "must be an array of strings");
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const Json& item : *v) {
    if (!item.is_string()) throw validationError(field, "must be an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<Json> readObject(const Json& obj, const char* field) {
  const Json* v = presentField(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_object()) throw validationError(field, "must be an object");
  return *v;
}

std::optional<std::map<std::string, std::string>> readEnvMap(const Json& obj, const char* field) {
  const Json* v = presentField(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_object()) throw validationError(field, "must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : v->items()) {
    if (!value.is_string()) throw validationError(field, "must be an object of strings");
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos) {
      throw validationError(field, "variable names must be non-empty and contain no '=' or NUL");
    }
    std::string text = value.get<std::string>();
    if (text.find('\0') != std::string::npos) {
      throw validationError(field, "values must not contain NUL");
    }
    out.emplace(name, std::move(text));
  }
  return out;
}

}  // namespace rtemu
