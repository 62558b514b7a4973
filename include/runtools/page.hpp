#pragma once

/// @file
/// One page of a paginated list.

#include <optional>
#include <string>
#include <vector>

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

}  // namespace runtools
