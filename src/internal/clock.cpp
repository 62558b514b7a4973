#include "internal/clock.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace runtools::internal {
namespace {

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
  void sleepFor(std::chrono::milliseconds duration) const override {
    if (duration.count() > 0) std::this_thread::sleep_for(duration);
  }
  void sleepForUnlessCancelled(std::chrono::milliseconds duration,
                               const CancellationToken& token) const override {
    if (duration.count() <= 0) return;
    std::mutex mutex;
    std::condition_variable woken;
    bool cancelled = false;
    const auto registration = token.onCancel([&] {
      std::lock_guard<std::mutex> lock(mutex);
      cancelled = true;
      woken.notify_all();
    });
    std::unique_lock<std::mutex> lock(mutex);
    woken.wait_for(lock, duration, [&] { return cancelled; });
  }
};

}  // namespace

std::shared_ptr<const Clock> systemClock() {
  static const auto clock = std::make_shared<const SystemClock>();
  return clock;
}

}  // namespace runtools::internal
