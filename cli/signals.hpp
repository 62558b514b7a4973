#pragma once

// Ctrl-C. SIGINT and SIGTERM are blocked in every thread and taken by a
// watcher thread with sigwait(); no async signal handler runs. The first
// signal trips the CancellationToken that every SDK call carries, so the call
// in flight (and the remote command or run behind it) is stopped and the
// command exits 130; a second signal exits at once.

#include <atomic>
#include <functional>
#include <thread>

#include <runtools/cancellation.hpp>

namespace rtcli {

class InterruptWatcher {
 public:
  /// Call before any other thread exists, so that they all inherit the mask.
  explicit InterruptWatcher(runtools::CancellationToken token);
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  /// A signal arrived.
  bool interrupted() const noexcept { return interrupted_.load(); }

  /// Stops watching and unblocks the signals (before exec'ing another program).
  void release();

 private:
  void run();

  runtools::CancellationToken token_;
  std::atomic<bool> interrupted_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// While one is alive, a signal exits the process at once with 130 after
/// running `cleanup` (for reads no token can stop, such as a prompt).
class ImmediateInterrupt {
 public:
  explicit ImmediateInterrupt(std::function<void()> cleanup);
  ~ImmediateInterrupt();
  ImmediateInterrupt(const ImmediateInterrupt&) = delete;
  ImmediateInterrupt& operator=(const ImmediateInterrupt&) = delete;
};

}  // namespace rtcli
