#include "internal/pagination.hpp"

namespace runtools::internal {

void addLimit(Query& query, const std::optional<int>& limit, int max, const char* what) {
  if (!limit) return;
  if (*limit < 1 || *limit > max) {
    throw InvalidArgumentError(std::string(what) + " must be between 1 and " + std::to_string(max));
  }
  query.emplace_back("limit", std::to_string(*limit));
}

}  // namespace runtools::internal
