#include "internal/redact.hpp"

#include <algorithm>

namespace runtools::internal {

Redactor::Redactor(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {
  secrets_.erase(std::remove_if(secrets_.begin(), secrets_.end(),
                                [](const std::string& s) { return s.size() < 4; }),
                 secrets_.end());
}

Redactor Redactor::with(const std::vector<std::string>& more) const {
  std::vector<std::string> all = secrets_;
  all.insert(all.end(), more.begin(), more.end());
  return Redactor(std::move(all));
}

std::string Redactor::operator()(std::string text) const {
  static const std::string kMask = "[REDACTED]";
  for (const auto& secret : secrets_) {
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), kMask);
      pos += kMask.size();
    }
  }
  return text;
}

}  // namespace runtools::internal
