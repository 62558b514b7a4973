#include "runtools/raw_json.hpp"

#include <ostream>

namespace runtools {

RawJson::RawJson(const nlohmann::json& value) {
  *this = value;
}

RawJson& RawJson::operator=(const nlohmann::json& value) {
  // Invalid UTF-8 from a server is replaced rather than thrown: a model
  // is still built from the fields that parsed.
  text_ = value.is_null() ? std::string()
                          : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return *this;
}

nlohmann::json RawJson::json() const {
  if (text_.empty()) return nullptr;
  return nlohmann::json::parse(text_, nullptr, /*allow_exceptions=*/false);
}

nlohmann::json RawJson::operator[](const std::string& key) const {
  const auto parsed = json();
  if (!parsed.is_object()) return nullptr;
  const auto found = parsed.find(key);
  return found != parsed.end() ? *found : nlohmann::json();
}

bool RawJson::contains(const std::string& key) const {
  const auto parsed = json();
  return parsed.is_object() && parsed.contains(key);
}

bool RawJson::is_object() const {
  return !text_.empty() && text_.front() == '{';
}

std::string RawJson::dump(int indent) const {
  return indent < 0 ? text_ : json().dump(indent);
}

void RawJson::erase(const std::string& key) {
  auto parsed = json();
  if (!parsed.is_object() || parsed.erase(key) == 0) return;
  *this = parsed;
}

void to_json(nlohmann::json& j, const RawJson& raw) {
  j = raw.json();
}

std::ostream& operator<<(std::ostream& out, const RawJson& raw) {
  return out << raw.text();
}

}  // namespace runtools
