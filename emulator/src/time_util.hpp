// Wall-clock helpers: the emulator stores times as Unix milliseconds and renders them as
// ISO-8601 UTC with millisecond precision ("2026-05-06T10:00:00.000Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rtemu {

std::int64_t nowUnixMillis();
std::string isoTimestamp(std::int64_t unixMillis);
// Parses what isoTimestamp() produces; nullopt otherwise.
std::optional<std::int64_t> parseIsoTimestamp(const std::string& text);

}  // namespace rtemu
