#pragma once

// A clock whose sleeps only move its hands: tests of retries and polling run
// instantly and can assert on every wait.

#include <chrono>
#include <mutex>
#include <vector>

#include "internal/clock.hpp"

namespace runtools::test {

class FakeClock final : public internal::Clock {
 public:
  TimePoint now() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return TimePoint() + elapsed_;
  }
  std::chrono::system_clock::time_point wallNow() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return wallStart_ + elapsed_;
  }
  void sleepFor(std::chrono::milliseconds duration) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    sleeps_.push_back(duration);
    elapsed_ += duration;
  }
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sleeps_;
  }
  void setWallStart(std::chrono::system_clock::time_point start) {
    std::lock_guard<std::mutex> lock(mutex_);
    wallStart_ = start;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::chrono::milliseconds> sleeps_;
  mutable std::chrono::milliseconds elapsed_{0};
  std::chrono::system_clock::time_point wallStart_{std::chrono::seconds(1'800'000'000)};
};

}  // namespace runtools::test
