#pragma once

/// @file
/// Cooperative cancellation of long calls (streams, transfers).

#include <atomic>
#include <memory>

namespace runtools {

/// A flag shared between the code that waits and the code that gives up.
/// Copies share the same flag; cancel() may be called from any thread, and
/// the call watching the token stops promptly with CancelledError.
///
/// @code
/// runtools::CancellationToken token;
/// std::thread ui([&] { waitForUserToPressEscape(); token.cancel(); });
/// runtools::RunOptions options;
/// options.cancellation = token;
/// rt.agent.run("helper", "summarise the logs", onEvent, options);  // throws CancelledError
/// @endcode
class CancellationToken {
 public:
  CancellationToken() : state_(std::make_shared<std::atomic<bool>>(false)) {}

  void cancel() const noexcept { state_->store(true, std::memory_order_release); }
  bool isCancelled() const noexcept { return state_->load(std::memory_order_acquire); }

 private:
  std::shared_ptr<std::atomic<bool>> state_;
};

}  // namespace runtools
