#include "runtools/cancellation.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace runtools {
namespace internal {

struct CancellationState {
  std::atomic<bool> cancelled{false};
  std::mutex mutex;
  // Signalled whenever a callback run by cancel() has returned.
  std::condition_variable callbackDone;
  std::map<std::uint64_t, std::function<void()>> callbacks;
  std::uint64_t nextId = 1;
  // The callback cancel() is running now (0: none), and on which thread.
  std::uint64_t running = 0;
  std::thread::id runner;
};

}  // namespace internal

namespace {

void runQuietly(const std::function<void()>& callback) noexcept {
  try {
    callback();
  } catch (...) {
    // A callback cannot fail the cancel() that ran it.
  }
}

}  // namespace

CancellationToken::CancellationToken() : state_(std::make_shared<internal::CancellationState>()) {}

bool CancellationToken::isCancelled() const noexcept {
  return state_->cancelled.load(std::memory_order_acquire);
}

void CancellationToken::cancel() const noexcept {
  auto& state = *state_;
  if (state.cancelled.exchange(true, std::memory_order_acq_rel)) return;
  std::unique_lock<std::mutex> lock(state.mutex);
  state.runner = std::this_thread::get_id();
  while (!state.callbacks.empty()) {
    auto first = state.callbacks.begin();
    const std::function<void()> callback = std::move(first->second);
    state.running = first->first;
    state.callbacks.erase(first);
    lock.unlock();
    runQuietly(callback);
    lock.lock();
    state.running = 0;
    state.callbackDone.notify_all();
  }
}

CancellationToken::Registration CancellationToken::onCancel(std::function<void()> callback) const {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!isCancelled()) {
      const std::uint64_t id = state_->nextId++;
      state_->callbacks.emplace(id, std::move(callback));
      return Registration(state_, id);
    }
  }
  runQuietly(callback);
  return Registration();
}

CancellationToken::Registration::Registration(Registration&& other) noexcept
    : state_(std::move(other.state_)), id_(std::exchange(other.id_, 0)) {}

CancellationToken::Registration& CancellationToken::Registration::operator=(
    Registration&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

CancellationToken::Registration::~Registration() {
  reset();
}

void CancellationToken::Registration::reset() noexcept {
  if (!state_) return;
  auto& state = *state_;
  {
    std::unique_lock<std::mutex> lock(state.mutex);
    if (state.callbacks.erase(id_) == 0 && state.running == id_ &&
        state.runner != std::this_thread::get_id()) {
      // cancel() is running this callback on another thread right now.
      state.callbackDone.wait(lock, [&] { return state.running != id_; });
    }
  }
  state_.reset();
  id_ = 0;
}

}  // namespace runtools
