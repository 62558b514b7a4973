// How the stores keep their records in the state directory, shared by all of them.
//
// A record type names its persisted fields once, with nlohmann's
// NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT (the JSON keys are the member names; a key absent
// from a file keeps the member's default). std::optional members are written as null when empty.
// A state file is {"version": 1, "<list>": [records...], ...}, written atomically; it is read
// back one entry at a time, and an entry that does not fit (a damaged one) is skipped while the
// rest still loads.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "util/fs_util.hpp"
#include "util/json_util.hpp"

namespace nlohmann {

// std::optional<T> <-> T or null (nlohmann 3.11 has no built-in support).
template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& value) {
    if (value) {
      j = *value;
    } else {
      j = nullptr;
    }
  }
  static void from_json(const json& j, std::optional<T>& value) {
    if (j.is_null()) {
      value = std::nullopt;
    } else {
      value = j.get<T>();
    }
  }
};

}  // namespace nlohmann

namespace rtemu {

// Writes `sections` (an object of the file's lists, e.g. {"sandboxes": [...]}) with
// "version": 1 to `file` atomically and owner-only (records may hold secrets).
inline bool writeStateFile(const std::filesystem::path& file, Json sections) {
  sections["version"] = 1;
  return writeFileAtomically(file, dumpJson(sections), true);
}

// The state file's object; null when the file is missing, does not parse or is no object.
inline Json readStateFile(const std::filesystem::path& file) {
  Json state = readJsonFile(file);
  return state.is_object() ? state : Json();
}

// Each record of `records` (a container of records, or of unique_ptrs to records) as JSON.
template <typename Record>
const Record& recordOf(const Record& record) {
  return record;
}
template <typename Record>
const Record& recordOf(const std::unique_ptr<Record>& record) {
  return *record;
}
template <typename Container>
Json recordsJson(const Container& records) {
  Json out = Json::array();
  for (const auto& record : records)
    out.push_back(recordOf(record));
  return out;
}

// `entry` read as a Record; nullopt when it is not an object, lacks one of the `required` keys
// (or holds null there), or has a field of the wrong type. `complete`, when given, runs on the
// record read, with its entry (for defaults that depend on other fields); it may throw a Json
// exception to refuse the entry.
template <typename Record, typename Complete = std::nullptr_t>
std::optional<Record> readRecord(const Json& entry, std::initializer_list<const char*> required,
                                 Complete complete = nullptr) {
  if (!entry.is_object()) return std::nullopt;
  for (const char* field : required) {
    if (!entry.contains(field) || entry[field].is_null()) return std::nullopt;
  }
  try {
    Record record = entry.get<Record>();
    if constexpr (!std::is_same_v<Complete, std::nullptr_t>) complete(entry, record);
    return record;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

// The records of list `key` of `state`, read as readRecord() does; a damaged entry is skipped
// and the rest still loads.
template <typename Record, typename Complete = std::nullptr_t>
std::vector<Record> readRecords(const Json& state, const char* key,
                                std::initializer_list<const char*> required,
                                Complete complete = nullptr) {
  std::vector<Record> out;
  if (!state.is_object() || !state.contains(key) || !state[key].is_array()) return out;
  for (const Json& entry : state[key]) {
    if (auto record = readRecord<Record>(entry, required, complete)) {
      out.push_back(std::move(*record));
    }
  }
  return out;
}

// A `complete` for readRecords: an updatedAtMs absent from the entry is the createdAtMs.
template <typename Record>
void updatedAtDefault(const Json& entry, Record& record) {
  if (!entry.contains("updatedAtMs")) record.updatedAtMs = record.createdAtMs;
}

}  // namespace rtemu
