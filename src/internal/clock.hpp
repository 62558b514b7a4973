#pragma once

// Time source of the service client and of polling loops, replaceable in
// tests so that nothing sleeps for real.

#include <chrono>
#include <memory>

namespace runtools::internal {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
  virtual void sleepFor(std::chrono::milliseconds duration) const = 0;
};

/// The real clocks and std::this_thread::sleep_for.
std::shared_ptr<const Clock> systemClock();

}  // namespace runtools::internal
