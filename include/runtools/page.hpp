#pragma once

/// @file
/// One page of a paginated list, and PageRange: every item of a list,
/// fetched one page at a time as it is iterated.

#include <cstddef>     // std::ptrdiff_t: the iterator's difference_type
#include <functional>  // std::function: how a range fetches its next page
#include <iterator>    // std::input_iterator_tag
#include <memory>      // std::shared_ptr: iterators share the range's walk
#include <optional>    // std::optional: cursors
#include <set>         // std::set: the cursors seen, to catch a server that repeats one
#include <string>
#include <utility>  // std::move
#include <vector>

#include "runtools/errors.hpp"
#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// One page of results. Pass `nextCursor` as the `cursor` filter of the next
/// listPage() call while `hasMore` is true.
template <class T>
struct Page {
  std::vector<T> data;
  bool hasMore = false;
  std::optional<std::string> nextCursor;
};

/// Every item of a paginated list, as an input range that holds one page at
/// a time: iterating fetches the first page at begin() and each next page
/// when the previous one is used up, so memory stays flat however long the
/// list is. Returned by the `iterate` methods:
/// @code
/// for (const auto& sandbox : rt.sandbox.iterate(filters)) {
///   std::cout << sandbox.id << "\n";  // one page in memory at a time
/// }
/// @endcode
/// A page that fails raises its typed error from begin() or from the
/// increment that needed it, at the element where it happened; a server
/// that hands back a cursor it already gave raises InvalidResponseError.
/// Each begin() starts a new walk from the first page. Single pass: copies
/// of an iterator share one walk.
///
/// @par Thread safety
/// A range may be iterated by one thread at a time; separate begin() calls
/// are independent walks.
template <class T>
class PageRange {
 public:
  /// Fetches the page that starts at `cursor` (the first page for none).
  using FetchPage = std::function<Page<T>(const std::optional<std::string>& cursor)>;

  PageRange(FetchPage fetch, std::optional<std::string> firstCursor = std::nullopt)
      : fetch_(std::move(fetch)), firstCursor_(std::move(firstCursor)) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    /// The end of every walk.
    iterator() = default;

    reference operator*() const { return walk_->page.data[walk_->index]; }
    pointer operator->() const { return &**this; }
    iterator& operator++() {
      if (!walk_->advance()) walk_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.walk_ == b.walk_; }
    friend bool operator!=(const iterator& a, const iterator& b) { return !(a == b); }

   private:
    friend class PageRange;
    struct Walk {
      FetchPage fetch;
      Page<T> page;
      std::size_t index = 0;
      std::set<std::string> seen;

      // Moves to the next item.
      bool advance() {
        ++index;
        return settle();
      }

      // Fetches pages (skipping empty ones) until `index` is on an item;
      // false at the end of the list.
      bool settle() {
        while (index >= page.data.size()) {
          if (!page.hasMore || !page.nextCursor) return false;
          if (!seen.insert(*page.nextCursor).second) {
            throw InvalidResponseError(200,
                                       "pagination did not advance: the server repeated a cursor");
          }
          const std::optional<std::string> cursor = std::move(page.nextCursor);
          page = fetch(cursor);
          index = 0;
        }
        return true;
      }
    };
    explicit iterator(std::shared_ptr<Walk> walk) : walk_(std::move(walk)) {}
    std::shared_ptr<Walk> walk_;
  };

  /// Fetches the first page; the end when the list is empty.
  iterator begin() const {
    auto walk = std::make_shared<typename iterator::Walk>();
    walk->fetch = fetch_;
    walk->page = fetch_(firstCursor_);
    if (firstCursor_) walk->seen.insert(*firstCursor_);
    if (!walk->settle()) return iterator();
    return iterator(std::move(walk));
  }
  iterator end() const { return iterator(); }

 private:
  FetchPage fetch_;
  std::optional<std::string> firstCursor_;
};

}  // namespace runtools
