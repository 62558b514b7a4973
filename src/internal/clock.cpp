#include "internal/clock.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "internal/engine.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

// A sleep inside an operation of the asynchronous engine: a timer that
// suspends the operation's fiber instead of blocking the engine's thread.
// Ends early when `token` or the operation is cancelled; the latter raises
// CancelledError, since nothing else would end the operation's wait.
void sleepOnEngine(Engine& engine, std::chrono::milliseconds duration,
                   const CancellationToken* token) {
  const auto wake = std::chrono::steady_clock::now() + duration;
  CancellationToken::Registration registration;
  if (token != nullptr) {
    registration = token->onCancel([&engine, task = engine.currentTask()] { engine.wake(task); });
  }
  while (std::chrono::steady_clock::now() < wake) {
    if (engine.currentCancelled()) throw CancelledError("operation cancelled");
    if (token != nullptr && token->isCancelled()) return;
    engine.park(wake);
  }
}

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::now();
  }
  void sleepFor(std::chrono::milliseconds duration) const override {
    if (duration.count() <= 0) return;
    if (auto* engine = Engine::current()) return sleepOnEngine(*engine, duration, nullptr);
    std::this_thread::sleep_for(duration);
  }
  void sleepForUnlessCancelled(std::chrono::milliseconds duration,
                               const CancellationToken& token) const override {
    if (duration.count() <= 0) return;
    if (auto* engine = Engine::current()) return sleepOnEngine(*engine, duration, &token);
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
