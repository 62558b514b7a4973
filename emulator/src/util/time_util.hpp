// Wall-clock helpers: the emulator stores times as Unix milliseconds and renders them as
// ISO-8601 UTC with millisecond precision ("2026-05-06T10:00:00.000Z").
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace rtemu {

// The host's system clock (Unix milliseconds). Only Clock reads it: everything that stores,
// renders or compares a time goes through the emulator's Clock.
std::int64_t systemUnixMillis();

// The emulator's notion of "now": the system clock plus an offset that POST /_emu/clock moves
// forward (never back). Every timestamp and every expiry (API keys, OAuth states, device
// flows, upload URLs, sandbox transitions, rate-limit windows) reads this clock, so advancing
// it makes them all age together. Thread-safe.
class Clock {
 public:
  std::int64_t nowMs() const { return systemUnixMillis() + offset_.load(); }
  std::int64_t offsetMs() const { return offset_.load(); }
  // Restores a persisted offset (ignored unless positive).
  void setOffsetMs(std::int64_t offset) {
    if (offset > 0) offset_.store(offset);
  }
  // Moves "now" forward by `ms` (>= 0); returns the new offset.
  std::int64_t advance(std::int64_t ms) { return offset_.fetch_add(ms) + ms; }

 private:
  std::atomic<std::int64_t> offset_{0};
};
std::string isoTimestamp(std::int64_t unixMillis);
// Parses what isoTimestamp() produces; nullopt otherwise.
std::optional<std::int64_t> parseIsoTimestamp(const std::string& text);

}  // namespace rtemu
