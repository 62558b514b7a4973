#include "runtools/http.hpp"

#include "internal/http_syntax.hpp"

#include <algorithm>
#include <cctype>

namespace runtools {

using internal::equalsIgnoreCase;

void HttpHeaders::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void HttpHeaders::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void HttpHeaders::remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return equalsIgnoreCase(f.first, name); }),
                fields_.end());
}

std::optional<std::string> HttpHeaders::get(std::string_view name) const {
  for (const auto& field : fields_) {
    if (equalsIgnoreCase(field.first, name)) return field.second;
  }
  return std::nullopt;
}

}  // namespace runtools
