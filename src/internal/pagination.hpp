#pragma once

// Pages and cursor following, shared by every list endpoint.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internal/envelope.hpp"
#include "internal/json_util.hpp"
#include "internal/path.hpp"
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

/// Every item of `range`, in order.
template <class T>
std::vector<T> collectAll(const PageRange<T>& range) {
  std::vector<T> all;
  for (const auto& item : range)
    all.push_back(item);
  return all;
}

/// The range of a list whose pages `fetchPage(options)` returns: each page
/// is fetched with `options` and the cursor of the one before.
template <class T, class Options, class FetchPage>
PageRange<T> pagesOf(Options options, FetchPage fetchPage) {
  auto first = options.cursor;
  return PageRange<T>(
      [options = std::move(options),
       fetchPage = std::move(fetchPage)](const std::optional<std::string>& cursor) {
        Options page = options;
        page.cursor = cursor;
        return fetchPage(page);
      },
      std::move(first));
}

/// InvalidArgumentError naming `what` unless `limit` is unset or in
/// 1..max; then `limit=N` appended to `query` when set.
void addLimit(Query& query, const std::optional<int>& limit, int max, const char* what);

}  // namespace runtools::internal
