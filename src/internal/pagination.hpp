#pragma once

// Pages and cursor following, shared by every list endpoint.

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "internal/envelope.hpp"
#include "internal/json_util.hpp"
#include "runtools/errors.hpp"
#include "runtools/page.hpp"

namespace runtools::internal {

/// A page whose items are the array `items` of an unwrapped response.
template <class T>
Page<T> makePage(const Envelope& envelope, const nlohmann::json& items) {
  Page<T> page;
  page.data = json::list<T>(items);
  page.nextCursor = envelope.nextCursor;
  page.hasMore = envelope.hasMore && envelope.nextCursor.has_value();
  return page;
}

/// Fetches pages starting at `cursor` until one says there are no more.
/// Throws InvalidResponseError if the server hands back a cursor it already
/// gave (which would otherwise loop forever).
template <class T>
std::vector<T> collectAll(const std::function<Page<T>(const std::optional<std::string>&)>& fetch,
                          std::optional<std::string> cursor) {
  std::vector<T> all;
  std::set<std::string> seen;
  for (;;) {
    Page<T> page = fetch(cursor);
    for (auto& item : page.data)
      all.push_back(std::move(item));
    if (!page.hasMore || !page.nextCursor) break;
    if (!seen.insert(*page.nextCursor).second) {
      throw InvalidResponseError(200, "pagination did not advance: the server repeated a cursor");
    }
    cursor = page.nextCursor;
  }
  return all;
}

}  // namespace runtools::internal
