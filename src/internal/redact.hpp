#pragma once

// Removing credentials from any text that may reach an exception or a log.

#include <string>
#include <vector>

namespace runtools::internal {

/// Replaces every occurrence of the known secrets with "[REDACTED]".
class Redactor {
 public:
  Redactor() = default;
  explicit Redactor(std::vector<std::string> secrets);

  std::string operator()(std::string text) const;
  /// This redactor plus more secrets.
  Redactor with(const std::vector<std::string>& more) const;

 private:
  std::vector<std::string> secrets_;
};

}  // namespace runtools::internal
