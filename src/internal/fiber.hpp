#pragma once

// A fiber: a function with its own stack that can suspend itself and be
// resumed later by the thread that started it. The asynchronous engine runs
// every operation on one, so that the SDK's ordinary (blocking) code, when
// it runs inside a fiber, waits for the network by suspending instead of
// blocking a thread. Built on POSIX ucontext, with the annotations that
// AddressSanitizer and ThreadSanitizer need to follow stack switches.

#include <cstddef>
#include <functional>

#include <ucontext.h>

namespace runtools::internal {

class Fiber {
 public:
  /// A fiber that will run `body` when first resumed. `body` must not throw
  /// (the engine's wrapper catches everything).
  explicit Fiber(std::function<void()> body);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  /// Runs the fiber until it suspends itself or its body returns.
  void resume();
  bool finished() const noexcept { return finished_; }

  /// From inside a fiber: hands control back to the resume() that ran it.
  static void suspend();
  /// The fiber running on this thread, or nullptr.
  static Fiber* current() noexcept;

 private:
  static void entry(unsigned low, unsigned high);
  void switchIn();
  void switchOut(bool finishing);

  std::function<void()> body_;
  void* stack_ = nullptr;
  std::size_t stackSize_ = 0;
  ucontext_t context_{};
  ucontext_t caller_{};
  bool finished_ = false;
  // Sanitizer bookkeeping: the caller's stack, and the fiber's own state.
  // Used only in sanitizer builds.
  [[maybe_unused]] const void* callerStackBottom_ = nullptr;
  [[maybe_unused]] std::size_t callerStackSize_ = 0;
  [[maybe_unused]] void* fakeStack_ = nullptr;
  [[maybe_unused]] void* tsanFiber_ = nullptr;
  [[maybe_unused]] void* tsanCaller_ = nullptr;
};

}  // namespace runtools::internal
