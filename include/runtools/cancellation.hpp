#pragma once

/// @file
/// Cooperative cancellation of long calls (streams, transfers, waits).

#include <cstdint>
#include <functional>  // std::function: the callbacks of onCancel()
#include <memory>      // std::shared_ptr: copies share one state
#include <utility>     // std::move

#include "runtools/export.h"

namespace runtools::internal {
struct CancellationState;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// A flag shared between the code that waits and the code that gives up.
/// Copies share the same flag; cancel() may be called from any thread, and
/// the call watching the token stops promptly with CancelledError, whatever
/// it is doing: connecting, waiting for a silent server, mid-body, between
/// retries or polls.
///
/// @code
/// runtools::CancellationToken token;
/// std::thread ui([&] { waitForUserToPressEscape(); token.cancel(); });
/// runtools::RunOptions options;
/// options.cancellation = token;
/// rt.agent.run("helper", "summarise the logs", onEvent, options);  // throws CancelledError
/// @endcode
///
/// @par Thread safety
/// Every member may be called from any thread at any time.
class CancellationToken {
 public:
  /// Keeps a callback given to onCancel() registered; destroying it (or
  /// reset()) unregisters the callback. Once the destructor or reset() has
  /// returned, the callback is not running and never runs again (if it is
  /// running on another thread at that moment, they wait for it to return).
  class Registration {
   public:
    Registration() noexcept = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

    /// Unregisters the callback now.
    void reset() noexcept;

   private:
    friend class CancellationToken;
    Registration(std::shared_ptr<internal::CancellationState> state, std::uint64_t id) noexcept
        : state_(std::move(state)), id_(id) {}

    std::shared_ptr<internal::CancellationState> state_;
    std::uint64_t id_ = 0;
  };

  CancellationToken();

  /// Cancels: the flag is set and every registered callback runs once, on
  /// this thread, before cancel() returns. Later calls do nothing.
  void cancel() const noexcept;
  bool isCancelled() const noexcept;

  /// Runs `callback` once when the token is cancelled: on the thread calling
  /// cancel(), or at once on this thread when the token already is
  /// cancelled. An exception thrown by the callback is swallowed. Keep the
  /// returned Registration for as long as the callback may run.
  [[nodiscard]] Registration onCancel(std::function<void()> callback) const;

 private:
  std::shared_ptr<internal::CancellationState> state_;
};

}  // namespace runtools
