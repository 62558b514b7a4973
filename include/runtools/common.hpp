#pragma once

/// @file
/// Small types shared by the resource headers.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// A point in time from the API (UTC, millisecond precision on the wire).
using Timestamp = std::chrono::system_clock::time_point;

/// Parses an ISO-8601 UTC timestamp such as `2026-05-06T10:00:00.000Z`, with
/// or without fractional seconds, with `Z` or a numeric offset. Returns
/// nullopt for anything else.
RUNTOOLS_EXPORT std::optional<Timestamp> parseTimestamp(std::string_view text);

/// Formats a timestamp as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
RUNTOOLS_EXPORT std::string formatTimestamp(Timestamp time);

}  // namespace runtools
