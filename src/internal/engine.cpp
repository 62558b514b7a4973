#include "internal/engine.hpp"

#include <algorithm>
#include <new>

#include "internal/curl_init.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

// Connections the engine opens to one host at most; further transfers wait
// for one of them (or share one, over HTTP/2).
constexpr long kMaxConnectionsPerHost = 8;
// The longest a turn of the I/O thread waits before it looks again.
constexpr std::chrono::milliseconds kLongestWait{1000};

thread_local Engine* tEngine = nullptr;

}  // namespace

std::shared_ptr<Engine> Engine::create(CompletionMode mode) {
  return std::shared_ptr<Engine>(new Engine(mode));
}

Engine::Engine(CompletionMode mode) : mode_(mode) {
  initCurlOnce();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::bad_alloc();
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, kMaxConnectionsPerHost);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
}

Engine::~Engine() {
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // the thread's last act: it releases its engine
    } else {
      thread_.join();
    }
  }
  for (auto& [easy, id] : transfers_)
    curl_multi_remove_handle(multi_, easy);
  curl_multi_cleanup(multi_);
}

Engine* Engine::current() noexcept {
  return tEngine;
}

Engine::TaskId Engine::currentTask() const noexcept {
  return running_ != nullptr ? running_->id : 0;
}

bool Engine::currentCancelled() const {
  return running_ != nullptr && running_->token.isCancelled();
}

bool Engine::spawn(std::function<void()> body, CancellationToken token) {
  auto task = std::make_unique<Task>();
  task->fiber = std::make_unique<Fiber>(std::move(body));
  task->token = token;
  {
    std::lock_guard<std::mutex> lock(inboxMutex_);
    if (stopping_) return false;
    task->id = nextId_++;
  }
  const TaskId id = task->id;
  task->onCancel = token.onCancel([this, id] { wake(id); });
  {
    std::lock_guard<std::mutex> lock(inboxMutex_);
    spawned_.push_back(std::move(task));
    ++live_;
  }
  if (mode_ == CompletionMode::IoThread) ensureThread();
  curl_multi_wakeup(multi_);
  return true;
}

void Engine::wake(TaskId id) {
  {
    std::lock_guard<std::mutex> lock(inboxMutex_);
    wakes_.push_back(id);
  }
  curl_multi_wakeup(multi_);
}

void Engine::ensureThread() {
  std::call_once(threadStarted_, [this] {
    thread_ = std::thread([self = shared_from_this()] { self->runThread(); });
  });
}

void Engine::runThread() {
  {
    std::lock_guard<std::mutex> lock(driverMutex_);
    driver_ = std::this_thread::get_id();
  }
  for (;;) {
    runOnce(kLongestWait);
    std::lock_guard<std::mutex> lock(inboxMutex_);
    if (stopping_ && live_ == 0) break;
  }
}

bool Engine::isIoThread() const {
  if (mode_ != CompletionMode::IoThread) return false;
  std::lock_guard<std::mutex> lock(driverMutex_);
  return driver_ && *driver_ == std::this_thread::get_id();
}

bool Engine::mayDriveHere() const {
  if (mode_ != CompletionMode::Poll) return false;
  std::lock_guard<std::mutex> lock(driverMutex_);
  return !driver_ || *driver_ == std::this_thread::get_id() || live_ == 0;
}

std::size_t Engine::poll() {
  if (mode_ != CompletionMode::Poll) {
    throw InvalidArgumentError(
        "RunTools::poll() needs ClientOptions::completions = CompletionMode::Poll");
  }
  if (tEngine == this) {
    throw InvalidArgumentError("RunTools::poll() cannot be called from inside an operation");
  }
  {
    std::lock_guard<std::mutex> lock(driverMutex_);
    if (driver_ && *driver_ != std::this_thread::get_id() && live_ != 0) {
      throw InvalidArgumentError(
          "RunTools::poll() is called from one thread at a time: another thread polls this "
          "client while its operations are in flight");
    }
    driver_ = std::this_thread::get_id();
  }
  const auto keepAlive = shared_from_this();
  return runOnce(std::chrono::milliseconds(0));
}

void Engine::driveUntil(const std::function<bool()>& done, std::optional<TimePoint> until) {
  const auto keepAlive = shared_from_this();
  {
    std::lock_guard<std::mutex> lock(driverMutex_);
    driver_ = std::this_thread::get_id();
  }
  constexpr std::chrono::milliseconds kTurn{50};
  while (!done()) {
    auto wait = kTurn;
    if (until) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= *until) return;
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(*until - now));
    }
    runOnce(wait);
  }
}

void Engine::shutdown() {
  {
    std::lock_guard<std::mutex> lock(inboxMutex_);
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
  if (tEngine == this) return;  // from inside an operation: the driver finishes the rest
  if (mode_ == CompletionMode::IoThread) {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    return;
  }
  if (running_ != nullptr) return;
  driveUntil([this] { return live_ == 0; }, std::nullopt);
}

void Engine::takeInbox() {
  std::vector<std::unique_ptr<Task>> spawned;
  std::vector<TaskId> wakes;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(inboxMutex_);
    spawned.swap(spawned_);
    wakes.swap(wakes_);
    stop = stopping_;
  }
  for (auto& task : spawned) {
    Task& added = *task;
    tasks_.emplace(added.id, std::move(task));
    makeReady(added);
  }
  for (const TaskId id : wakes) {
    const auto found = tasks_.find(id);
    if (found != tasks_.end()) makeReady(*found->second);
  }
  if (stop && !cancelledAll_) {
    cancelledAll_ = true;
    for (auto& [id, task] : tasks_)
      task->token.cancel();  // each wakes its fiber through onCancel
  }
}

void Engine::makeReady(Task& task) {
  if (task.queued) return;
  task.queued = true;
  ready_.push_back(task.id);
}

void Engine::collectTransfers() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    const auto transfer = transfers_.find(message->easy_handle);
    if (transfer == transfers_.end()) continue;
    const auto task = tasks_.find(transfer->second);
    if (task == tasks_.end()) continue;
    task->second->transferResult = message->data.result;
    makeReady(*task->second);
  }
}

void Engine::fireTimers(TimePoint now) {
  while (!timers_.empty() && timers_.top().first <= now) {
    const TaskId id = timers_.top().second;
    timers_.pop();
    const auto task = tasks_.find(id);
    if (task != tasks_.end() && task->second->wakeAt && *task->second->wakeAt <= now) {
      makeReady(*task->second);
    }
  }
}

std::size_t Engine::runReady() {
  std::deque<TaskId> batch;
  batch.swap(ready_);
  std::size_t ran = 0;
  for (const TaskId id : batch) {
    const auto found = tasks_.find(id);
    if (found == tasks_.end()) continue;
    Task& task = *found->second;
    task.queued = false;
    Engine* const outerEngine = tEngine;
    tEngine = this;
    running_ = &task;
    task.fiber->resume();
    running_ = nullptr;
    tEngine = outerEngine;
    ++ran;
    if (task.fiber->finished()) {
      task.onCancel.reset();
      tasks_.erase(found);
      --live_;
    }
  }
  return ran;
}

int Engine::waitMillis(std::chrono::milliseconds wait, TimePoint now) {
  if (!ready_.empty()) return 0;
  auto longest = wait;
  if (!timers_.empty()) {
    const auto untilTimer = std::chrono::ceil<std::chrono::milliseconds>(timers_.top().first - now);
    longest = std::min(longest, std::max(untilTimer, std::chrono::milliseconds(0)));
  }
  long curlWait = -1;
  curl_multi_timeout(multi_, &curlWait);
  if (curlWait >= 0) longest = std::min(longest, std::chrono::milliseconds(curlWait));
  return static_cast<int>(std::max<long long>(longest.count(), 0));
}

std::size_t Engine::runOnce(std::chrono::milliseconds wait) {
  if (turning_) {
    throw InvalidArgumentError(
        "the engine cannot be driven from inside one of its callbacks (a stream or progress "
        "callback that polls or waits)");
  }
  turning_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{turning_};
  takeInbox();
  std::size_t ran = runReady();
  const int waitFor = waitMillis(wait, std::chrono::steady_clock::now());
  if (waitFor > 0) curl_multi_poll(multi_, nullptr, 0, waitFor, nullptr);
  int running = 0;
  curl_multi_perform(multi_, &running);
  collectTransfers();
  takeInbox();
  fireTimers(std::chrono::steady_clock::now());
  ran += runReady();
  return ran;
}

void Engine::park(std::optional<TimePoint> until) {
  Task* const task = running_;
  if (task == nullptr) return;
  task->wakeAt = until;
  if (until) timers_.emplace(*until, task->id);
  Fiber::suspend();
  task->wakeAt.reset();
}

void Engine::addTransfer(CURL* easy) {
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) throw std::bad_alloc();
  transfers_[easy] = running_->id;
  running_->transferResult.reset();
}

void Engine::removeTransfer(CURL* easy) {
  curl_multi_remove_handle(multi_, easy);
  transfers_.erase(easy);
}

std::optional<CURLcode> Engine::takeTransferResult() {
  if (running_ == nullptr) return std::nullopt;
  auto result = running_->transferResult;
  running_->transferResult.reset();
  return result;
}

}  // namespace runtools::internal
