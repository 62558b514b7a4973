// JSON helpers: safe serialisation and typed, validating field readers for request bodies.
// Every reader returns nullopt when the field is absent or null, and throws a 400
// validation_error (with details.field) when it is present with the wrong type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rtemu {

using Json = nlohmann::json;

// Serialises compactly; invalid UTF-8 (e.g. from command output) becomes U+FFFD instead of
// throwing.
std::string dumpJson(const Json& value);

// Parses a request body that must be a JSON object. An empty (or all-whitespace) body is
// treated as {}. Anything else that is not an object, or that nests arrays and objects more
// than 128 levels deep -> 400 validation_error.
Json parseJsonObjectBody(const std::string& body);

// The JSON document in `file`; null when the file is missing or does not parse.
Json readJsonFile(const std::filesystem::path& file);

std::optional<std::string> readString(const Json& obj, const char* field);
std::optional<bool> readBool(const Json& obj, const char* field);
std::optional<std::int64_t> readInteger(const Json& obj, const char* field);
std::optional<std::vector<std::string>> readStringArray(const Json& obj, const char* field);
std::optional<Json> readObject(const Json& obj, const char* field);
// An object of string values suitable as process environment: names non-empty, without '='
// or NUL; values without NUL.
std::optional<std::map<std::string, std::string>> readEnvMap(const Json& obj, const char* field);

}  // namespace rtemu
