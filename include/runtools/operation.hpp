#pragma once

/// @file
/// Operation<T>: the handle of a call running on the SDK's asynchronous
/// engine, returned by every `...Async` method and by RunTools::async.

#include <chrono>       // std::chrono::milliseconds: waitFor()
#include <exception>    // std::exception_ptr: the typed error an operation ends with
#include <functional>   // std::function: the library's side of then()
#include <memory>       // std::shared_ptr: handles share one state
#include <optional>     // std::optional: the value slot
#include <type_traits>  // std::invoke_result_t, std::is_void_v: then()'s result type
#include <utility>      // std::move

#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {
template <class T>
class Operation;
class RunTools;
}  // namespace runtools

// The engine's side of an operation: hidden in the shared library, except
// for the functions the templates below call (marked RUNTOOLS_EXPORT).
namespace runtools::internal {

class OperationCore;
struct OperationAccess;

/// The value an operation produces, written once by the engine before the
/// operation is marked done.
template <class T>
struct OperationSlot {
  std::optional<T> value;
  template <class F>
  void fill(F& produce) {
    value.emplace(produce());
  }
};
template <>
struct OperationSlot<void> {
  template <class F>
  void fill(F& produce) {
    produce();
  }
};

RUNTOOLS_EXPORT bool operationDone(const OperationCore& core) noexcept;
RUNTOOLS_EXPORT void operationWait(OperationCore& core);
RUNTOOLS_EXPORT bool operationWaitFor(OperationCore& core, std::chrono::milliseconds limit);
RUNTOOLS_EXPORT void operationCancel(OperationCore& core) noexcept;
RUNTOOLS_EXPORT void operationRethrow(const OperationCore& core);
/// A new operation on the engine of `before` that runs `step` (in a fiber,
/// where completions run) once `before` has ended.
RUNTOOLS_EXPORT std::shared_ptr<OperationCore> operationThen(
    const std::shared_ptr<OperationCore>& before, std::function<void()> step);

}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// What every Operation<T> offers, whatever T is.
///
/// An operation starts at once and runs on the client's asynchronous engine
/// (see ClientOptions::completions): on the SDK's I/O thread, or inside
/// RunTools::poll() on the caller's thread. Its outcome is a value or one of
/// the typed errors of runtools/errors.hpp, exactly those its blocking
/// counterpart would return or throw.
///
/// @par Thread safety
/// Handles are cheap to copy; copies share one state. Any thread may ask,
/// wait, cancel or attach a continuation.
class RUNTOOLS_EXPORT OperationBase {
 public:
  /// Whether the operation has ended (with a value or an error). Never blocks.
  bool done() const noexcept { return core_ && internal::operationDone(*core_); }
  /// Blocks until the operation has ended. In game-loop mode, a wait on the
  /// polling thread drives the engine itself; inside another operation it
  /// suspends that operation instead of blocking a thread.
  void wait() const { internal::operationWait(*core_); }
  /// wait() for at most `limit`; whether the operation has ended.
  bool waitFor(std::chrono::milliseconds limit) const {
    return internal::operationWaitFor(*core_, limit);
  }
  /// Asks the operation to stop: its transfer or wait ends within
  /// milliseconds and it ends with CancelledError, unless it has already
  /// ended. A command or run stops on the platform as a closed stream does.
  void cancel() const noexcept {
    if (core_) internal::operationCancel(*core_);
  }
  /// Whether this handle refers to an operation (a default-constructed one does not).
  bool valid() const noexcept { return static_cast<bool>(core_); }

 protected:
  OperationBase() = default;
  explicit OperationBase(std::shared_ptr<internal::OperationCore> core) : core_(std::move(core)) {}
  std::shared_ptr<internal::OperationCore> core_;
};

/// The handle of an asynchronous call that produces a T.
///
/// @code
/// auto op = rt.sandbox.createAsync();
/// op.then([](runtools::Operation<runtools::Sandbox> done) {
///   auto sandbox = done.get();  // throws the call's typed error, if any
///   sandbox.waitForReady();     // inside a continuation: does not block a thread
///   return sandbox.exec("uname -a").stdoutText;
/// });
/// @endcode
template <class T>
class Operation : public OperationBase {
 public:
  Operation() = default;

  /// Waits for the operation (see wait()) and returns its value, or throws
  /// the typed error it ended with.
  T get() const {
    wait();
    internal::operationRethrow(*core_);
    if constexpr (!std::is_void_v<T>) return *slot_->value;
  }

  /// Runs `f(Operation<T>)` once this operation has ended, where
  /// completions run (the I/O thread, or inside poll()), and returns the
  /// operation of its result. `f` receives the ended handle: get() on it
  /// returns at once. Inside `f`, blocking SDK calls do not block a thread:
  /// they suspend the continuation. What `f` throws ends the returned
  /// operation with that error. Cancelling the returned operation cancels
  /// the continuation's own calls, not this operation.
  template <class F>
  auto then(F f) const -> Operation<std::invoke_result_t<F&, Operation<T>>> {
    using U = std::invoke_result_t<F&, Operation<T>>;
    auto slot = std::make_shared<internal::OperationSlot<U>>();
    Operation<T> self = *this;
    auto core = internal::operationThen(core_, [self, slot, f = std::move(f)]() mutable {
      auto produce = [&]() -> U { return f(self); };
      slot->fill(produce);
    });
    return Operation<U>(std::move(core), std::move(slot));
  }

 private:
  template <class>
  friend class Operation;
  friend class RunTools;
  friend struct internal::OperationAccess;
  Operation(std::shared_ptr<internal::OperationCore> core,
            std::shared_ptr<internal::OperationSlot<T>> slot)
      : OperationBase(std::move(core)), slot_(std::move(slot)) {}

  std::shared_ptr<internal::OperationSlot<T>> slot_;
};

}  // namespace runtools
