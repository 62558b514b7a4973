#pragma once

/// @file
/// RawJson: the JSON object a model was read from, kept as compact text.

#include <iosfwd>  // std::ostream: operator<< for logs and test messages
#include <string>

#include <nlohmann/json.hpp>

#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// The JSON object a model was read from, exactly as the platform sent it
/// (fields the SDK does not model included), kept as its compact text and
/// parsed only when asked for. A model thus costs little more than its own
/// fields: a list of 100,000 sandboxes does not also hold 100,000 parsed
/// copies of what it was read from.
///
/// It converts to `nlohmann::json` wherever one is expected (through
/// to_json), and offers the few read accessors most code needs:
/// @code
/// const nlohmann::json whole = info.raw;       // parsed on demand
/// if (info.raw.contains("newField")) use(info.raw["newField"]);
/// @endcode
class RawJson {
 public:
  RawJson() = default;
  /// Keeps `value`'s compact text.
  RawJson(const nlohmann::json& value);  // NOLINT(google-explicit-constructor): a model's field
  RawJson& operator=(const nlohmann::json& value);

  /// The parsed JSON (null when empty).
  nlohmann::json json() const;
  /// The compact text ("" when empty).
  const std::string& text() const noexcept { return text_; }
  bool empty() const noexcept { return text_.empty(); }

  /// The member `key` of the object (null when absent or not an object).
  nlohmann::json operator[](const std::string& key) const;
  bool contains(const std::string& key) const;
  bool is_object() const;
  /// The compact text, or the JSON indented by `indent` spaces.
  std::string dump(int indent = -1) const;
  /// Removes member `key` (used to keep secrets out of a model's raw JSON).
  void erase(const std::string& key);

 private:
  std::string text_;
};

/// Lets a RawJson stand wherever an `nlohmann::json` is built.
RUNTOOLS_EXPORT void to_json(nlohmann::json& j, const RawJson& raw);
RUNTOOLS_EXPORT std::ostream& operator<<(std::ostream& out, const RawJson& raw);

}  // namespace runtools
