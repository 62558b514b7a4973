#pragma once

// Time source of the service client and of polling loops, replaceable in
// tests so that nothing sleeps for real.

#include <algorithm>
#include <chrono>
#include <memory>

#include "runtools/cancellation.hpp"

namespace runtools::internal {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  virtual void sleepFor(std::chrono::milliseconds duration) const = 0;
  /// Sleeps for `duration`, or less when `token` is cancelled meanwhile.
  /// The default sleeps the whole duration (a fake clock only moves its
  /// hands).
  virtual void sleepForUnlessCancelled(std::chrono::milliseconds duration,
                                       const CancellationToken& token) const {
    (void)token;
    sleepFor(duration);
  }
};

/// The real clocks; sleeps that a cancellation cuts short at once.
std::shared_ptr<const Clock> systemClock();

/// a + b for non-negative durations, saturating instead of overflowing.
inline std::chrono::milliseconds saturatingAdd(std::chrono::milliseconds a,
                                               std::chrono::milliseconds b) {
  using ms = std::chrono::milliseconds;
  if (a < ms::zero()) a = ms::zero();
  if (b < ms::zero()) b = ms::zero();
  return a > ms::max() - b ? ms::max() : a + b;
}

/// now + timeout, saturating at the clock's maximum.
inline Clock::TimePoint deadlineAfter(Clock::TimePoint now, std::chrono::milliseconds timeout) {
  using Duration = Clock::TimePoint::duration;
  const auto room = Clock::TimePoint::max() - now;
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(room);
  if (timeout >= limit) return Clock::TimePoint::max();
  return now +
         std::chrono::duration_cast<Duration>(std::max(timeout, std::chrono::milliseconds(0)));
}

}  // namespace runtools::internal
