#include "signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>

#include "errors.hpp"

namespace rtcli {

namespace {

sigset_t interruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

std::mutex gCleanupMutex;
std::function<void()> gCleanup;  // set while an ImmediateInterrupt is alive
bool gImmediate = false;

}  // namespace

InterruptWatcher::InterruptWatcher(runtools::CancellationToken token) : token_(std::move(token)) {
  const sigset_t set = interruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { run(); });
}

InterruptWatcher::~InterruptWatcher() {
  release();
}

void InterruptWatcher::release() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  // Signals are blocked everywhere: this one is taken by the watcher's sigwait.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
  const sigset_t set = interruptSignals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void InterruptWatcher::run() {
  const sigset_t set = interruptSignals();
  for (;;) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (stopping_.load()) return;
    if (interrupted_.exchange(true)) _exit(kExitInterrupted);  // the second Ctrl-C
    {
      std::lock_guard<std::mutex> lock(gCleanupMutex);
      if (gImmediate) {
        if (gCleanup) gCleanup();
        _exit(kExitInterrupted);
      }
    }
    token_.cancel();
  }
}

ImmediateInterrupt::ImmediateInterrupt(std::function<void()> cleanup) {
  std::lock_guard<std::mutex> lock(gCleanupMutex);
  gCleanup = std::move(cleanup);
  gImmediate = true;
}

ImmediateInterrupt::~ImmediateInterrupt() {
  std::lock_guard<std::mutex> lock(gCleanupMutex);
  gImmediate = false;
  gCleanup = nullptr;
}

}  // namespace rtcli
