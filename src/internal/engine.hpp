#pragma once

// The asynchronous engine: one libcurl multi handle, the timers, and the
// fibers the operations run on, all driven by one thread: the SDK's I/O
// thread, or the caller's thread inside RunTools::poll() (game-loop mode).
//
// An operation's code is the SDK's ordinary blocking code. Run on one of
// the engine's fibers, its waits suspend the fiber instead of blocking: a
// transfer joins the engine's multi handle (awaitTransfer in the curl
// transport), a backoff or poll interval becomes a timer (park). So there is
// one call pipeline, which blocking calls run on the caller's thread and
// asynchronous ones run here.

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "internal/fiber.hpp"
#include "runtools/cancellation.hpp"
#include "runtools/options.hpp"

namespace runtools::internal {

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  using TaskId = std::uint64_t;
  using TimePoint = std::chrono::steady_clock::time_point;

  /// An engine; in CompletionMode::IoThread its thread starts with the
  /// first operation.
  static std::shared_ptr<Engine> create(CompletionMode mode);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  CompletionMode mode() const noexcept { return mode_; }

  /// Runs `body` on a new fiber; `token` cancels it (the waits inside it
  /// end with CancelledError). Thread-safe. False once the engine is
  /// shutting down (`body` is then dropped unrun).
  bool spawn(std::function<void()> body, CancellationToken token);

  /// Game-loop mode: resumes what is ready (finished transfers, due timers,
  /// new operations) without waiting, on the calling thread. Returns how
  /// many fibers ran.
  std::size_t poll();
  /// Drives the engine on this thread until `done()` holds or `until`
  /// passes (game-loop mode, a wait() on the polling thread).
  void driveUntil(const std::function<bool()>& done, std::optional<TimePoint> until);
  /// Whether the calling thread may drive this engine: the one thread
  /// that calls poll() (any thread until the first call).
  bool mayDriveHere() const;
  /// Whether the calling thread is the engine's I/O thread.
  bool isIoThread() const;

  /// Cancels every operation and stops taking new ones; waits until they
  /// have ended unless called from the engine's own thread.
  void shutdown();

  // ---- inside one of this engine's fibers

  /// The engine whose fiber runs on this thread, or nullptr.
  static Engine* current() noexcept;
  /// Suspends the running fiber until wake() or `until`, whichever first.
  void park(std::optional<TimePoint> until);
  /// Wakes a parked fiber; ignored once it has ended. Thread-safe.
  void wake(TaskId id);
  TaskId currentTask() const noexcept;
  /// Whether the running fiber's operation was cancelled.
  bool currentCancelled() const;

  /// Transfers on the engine's multi handle, for the running fiber: its
  /// outcome wakes the fiber and is then taken by takeTransferResult().
  void addTransfer(CURL* easy);
  void removeTransfer(CURL* easy);
  std::optional<CURLcode> takeTransferResult();

 private:
  struct Task {
    TaskId id = 0;
    std::unique_ptr<Fiber> fiber;
    CancellationToken token;
    CancellationToken::Registration onCancel;
    bool queued = false;  // in ready_
    std::optional<TimePoint> wakeAt;
    std::optional<CURLcode> transferResult;
  };

  explicit Engine(CompletionMode mode);
  void ensureThread();
  void runThread();
  /// One turn: wait up to `wait` for sockets or timers, then run what is
  /// ready. Returns how many fibers ran.
  std::size_t runOnce(std::chrono::milliseconds wait);
  void takeInbox();
  void collectTransfers();
  void fireTimers(TimePoint now);
  std::size_t runReady();
  void makeReady(Task& task);
  int waitMillis(std::chrono::milliseconds wait, TimePoint now);

  const CompletionMode mode_;
  CURLM* multi_ = nullptr;

  // Shared with other threads, under inboxMutex_.
  std::mutex inboxMutex_;
  std::vector<std::unique_ptr<Task>> spawned_;
  std::vector<TaskId> wakes_;
  bool stopping_ = false;
  TaskId nextId_ = 1;
  std::atomic<std::size_t> live_{0};  // tasks spawned and not yet ended

  // The driving thread's own.
  std::unordered_map<TaskId, std::unique_ptr<Task>> tasks_;
  std::deque<TaskId> ready_;
  std::priority_queue<std::pair<TimePoint, TaskId>, std::vector<std::pair<TimePoint, TaskId>>,
                      std::greater<>>
      timers_;
  std::unordered_map<CURL*, TaskId> transfers_;
  Task* running_ = nullptr;
  bool turning_ = false;  // inside runOnce (libcurl's callbacks included)
  bool cancelledAll_ = false;

  std::thread thread_;
  std::once_flag threadStarted_;
  mutable std::mutex driverMutex_;
  std::optional<std::thread::id> driver_;
};

}  // namespace runtools::internal
