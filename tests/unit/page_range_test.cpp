// PageRange: every item of a list, one page fetched at a time.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "runtools/errors.hpp"
#include "runtools/page.hpp"

using namespace runtools;

namespace {

// Pages keyed by the cursor that starts them ("" for the first), and a log
// of the cursors fetched.
struct Pages {
  std::map<std::string, Page<int>> byCursor;
  std::vector<std::string> fetched;

  PageRange<int> range(std::optional<std::string> first = std::nullopt) {
    return PageRange<int>(
        [this](const std::optional<std::string>& cursor) {
          const std::string key = cursor.value_or("");
          fetched.push_back(key);
          const auto found = byCursor.find(key);
          if (found == byCursor.end())
            throw NotFoundError(404, "not_found", "no such page", "", "");
          return found->second;
        },
        std::move(first));
  }
};

Page<int> page(std::vector<int> items, std::optional<std::string> next) {
  Page<int> p;
  p.data = std::move(items);
  p.hasMore = next.has_value();
  p.nextCursor = std::move(next);
  return p;
}

}  // namespace

TEST_CASE("a page range fetches each page only when the loop reaches it") {
  Pages pages;
  pages.byCursor[""] = page({1, 2}, "c1");
  pages.byCursor["c1"] = page({3}, "c2");
  pages.byCursor["c2"] = page({4, 5}, std::nullopt);
  auto range = pages.range();
  CHECK(pages.fetched.empty());  // nothing before begin()
  auto it = range.begin();
  CHECK(*it == 1);
  CHECK(pages.fetched == std::vector<std::string>{""});
  ++it;
  CHECK(*it == 2);
  CHECK(pages.fetched.size() == 1);
  ++it;  // crosses into the second page
  CHECK(*it == 3);
  CHECK(pages.fetched == std::vector<std::string>{"", "c1"});
  std::vector<int> rest;
  for (++it; it != range.end(); ++it)
    rest.push_back(*it);
  CHECK(rest == std::vector<int>{4, 5});
  CHECK(pages.fetched.size() == 3);
}

TEST_CASE("a page range skips empty pages and ends on an empty list") {
  Pages pages;
  pages.byCursor[""] = page({}, "c1");
  pages.byCursor["c1"] = page({}, "c2");
  pages.byCursor["c2"] = page({7}, std::nullopt);
  std::vector<int> items;
  for (const int item : pages.range())
    items.push_back(item);
  CHECK(items == std::vector<int>{7});

  Pages empty;
  empty.byCursor[""] = page({}, std::nullopt);
  auto range = empty.range();
  CHECK(range.begin() == range.end());
}

TEST_CASE("a page that fails raises its typed error at the element where it was needed") {
  Pages pages;
  pages.byCursor[""] = page({1, 2}, "gone");  // the next page answers 404
  std::vector<int> seen;
  auto range = pages.range();
  auto it = range.begin();
  seen.push_back(*it);
  ++it;
  seen.push_back(*it);
  CHECK_THROWS_AS(++it, NotFoundError);
  CHECK(seen == std::vector<int>{1, 2});
}

TEST_CASE("a server that repeats a cursor is an InvalidResponseError, not an endless loop") {
  Pages pages;
  pages.byCursor[""] = page({1}, "c1");
  pages.byCursor["c1"] = page({2}, "c1");
  std::vector<int> seen;
  const auto walk = [&] {
    for (const int item : pages.range())
      seen.push_back(item);
  };
  CHECK_THROWS_AS(walk(), InvalidResponseError);
  CHECK(seen == std::vector<int>{1, 2});
}

TEST_CASE("a page range starts at its first cursor, and each begin() walks again") {
  Pages pages;
  pages.byCursor["c1"] = page({3}, "c2");
  pages.byCursor["c2"] = page({4}, std::nullopt);
  auto range = pages.range("c1");
  std::vector<int> first;
  std::vector<int> second;
  for (const int item : range)
    first.push_back(item);
  for (const int item : range)
    second.push_back(item);
  CHECK(first == std::vector<int>{3, 4});
  CHECK(second == first);
  CHECK(pages.fetched == std::vector<std::string>{"c1", "c2", "c1", "c2"});
}
