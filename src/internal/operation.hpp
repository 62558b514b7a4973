#pragma once

// The shared state behind Operation<T>, and how the library starts one.

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "internal/engine.hpp"
#include "internal/service_client.hpp"
#include "runtools/cancellation.hpp"
#include "runtools/operation.hpp"

namespace runtools::internal {

class OperationCore {
 public:
  OperationCore(std::weak_ptr<Engine> engine, CancellationToken token)
      : engine_(std::move(engine)), token_(std::move(token)) {}

  /// Marks the operation ended, wakes its waiters and starts its
  /// continuations. Called once, by the fiber that ran it.
  void finish(std::exception_ptr error);
  /// Runs `next` once the operation has ended (at once when it has).
  void whenDone(std::function<void()> next);
  /// Keeps `registration` (a cancellation linked to this one) until the end.
  void link(CancellationToken::Registration registration);

  bool done() const;
  void wait();
  bool waitFor(std::chrono::milliseconds limit);
  void rethrow() const;
  const CancellationToken& token() const noexcept { return token_; }
  std::shared_ptr<Engine> engine() const { return engine_.lock(); }

 private:
  /// Waits until the end or `until`: suspends the fiber inside an
  /// operation, drives the engine on the polling thread, blocks otherwise.
  bool waitUntil(std::optional<Engine::TimePoint> until);
  /// wait() inside a fiber: suspends it until the end (or `until`).
  bool parkUntilDone(Engine& engine, std::optional<Engine::TimePoint> until);

  const std::weak_ptr<Engine> engine_;
  const CancellationToken token_;
  mutable std::mutex mutex_;
  std::condition_variable ended_;
  bool done_ = false;
  std::exception_ptr error_;
  std::vector<std::function<void()>> next_;
  std::vector<std::pair<Engine*, Engine::TaskId>> parked_;
  CancellationToken::Registration linked_;
};

struct OperationAccess {
  template <class T>
  static Operation<T> make(std::shared_ptr<OperationCore> core,
                           std::shared_ptr<OperationSlot<T>> slot) {
    return Operation<T>(std::move(core), std::move(slot));
  }
};

/// Starts `step` as an operation on `engine`; a cancelled `linked` token
/// (the client's CallOptions::cancellation) cancels it too. Throws
/// InvalidArgumentError when the engine is gone (its client was destroyed).
std::shared_ptr<OperationCore> startOperationCore(const std::weak_ptr<Engine>& engine,
                                                  std::function<void()> step,
                                                  const std::optional<CancellationToken>& linked);

/// Runs `body` (the SDK's blocking code) as an operation producing T.
template <class T, class F>
Operation<T> startOperation(const std::weak_ptr<Engine>& engine, F body,
                            const std::optional<CancellationToken>& linked = std::nullopt) {
  auto slot = std::make_shared<OperationSlot<T>>();
  auto core = startOperationCore(
      engine, [slot, body = std::move(body)]() mutable { slot->fill(body); }, linked);
  return OperationAccess::make<T>(std::move(core), std::move(slot));
}

/// Runs `body` as an operation on the engine of `api`'s client, cancelled
/// also by the client's CallOptions::cancellation.
template <class T, class F>
Operation<T> startOn(const ServiceClient& api, F body) {
  return startOperation<T>(api.engine(), std::move(body), api.cancellation());
}

}  // namespace runtools::internal
