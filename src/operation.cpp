#include "runtools/operation.hpp"

#include "internal/operation.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

// A wait that would block the thread every operation needs to end.
void refuseWaitOnIoThread(const std::shared_ptr<Engine>& engine) {
  if (engine && engine->isIoThread()) {
    throw InvalidArgumentError(
        "an operation cannot be waited for on the SDK's I/O thread outside an operation (a "
        "stream or progress callback): it would never end");
  }
}

CancelledError clientGone() {
  return CancelledError("the RunTools client of this operation was destroyed");
}

// The body of an operation's fiber: its step, then its end.
std::function<void()> runAndFinish(std::shared_ptr<OperationCore> core,
                                   std::function<void()> step) {
  return [core = std::move(core), step = std::move(step)]() mutable {
    std::exception_ptr error;
    try {
      step();
    } catch (...) {
      error = std::current_exception();
    }
    step = nullptr;  // what the step captured goes before the waiters wake
    core->finish(error);
  };
}

}  // namespace

void OperationCore::finish(std::exception_ptr error) {
  std::vector<std::function<void()>> next;
  std::vector<std::pair<Engine*, Engine::TaskId>> parked;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    error_ = std::move(error);
    next.swap(next_);
    parked.swap(parked_);
    linked_.reset();
  }
  ended_.notify_all();
  for (const auto& [engine, task] : parked)
    engine->wake(task);
  for (auto& step : next)
    step();
}

void OperationCore::whenDone(std::function<void()> next) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!done_) {
      next_.push_back(std::move(next));
      return;
    }
  }
  next();
}

void OperationCore::link(CancellationToken::Registration registration) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!done_) linked_ = std::move(registration);
}

bool OperationCore::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

void OperationCore::rethrow() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_) std::rethrow_exception(error_);
}

bool OperationCore::parkUntilDone(Engine& engine, std::optional<Engine::TimePoint> until) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_) return true;
    parked_.emplace_back(&engine, engine.currentTask());
  }
  while (!done()) {
    if (engine.currentCancelled()) throw CancelledError("operation cancelled while waiting");
    if (until && std::chrono::steady_clock::now() >= *until) return false;
    engine.park(until);
  }
  return true;
}

bool OperationCore::waitUntil(std::optional<Engine::TimePoint> until) {
  if (done()) return true;
  if (Engine* inside = Engine::current()) return parkUntilDone(*inside, until);
  const auto engine = engine_.lock();
  if (engine && engine->mayDriveHere()) {
    engine->driveUntil([this] { return done(); }, until);
    return done();
  }
  refuseWaitOnIoThread(engine);
  std::unique_lock<std::mutex> lock(mutex_);
  const auto ended = [this] { return done_; };
  if (!until) {
    ended_.wait(lock, ended);
    return true;
  }
  return ended_.wait_until(lock, *until, ended);
}

void OperationCore::wait() {
  waitUntil(std::nullopt);
}

bool OperationCore::waitFor(std::chrono::milliseconds limit) {
  return waitUntil(std::chrono::steady_clock::now() + limit);
}

std::shared_ptr<OperationCore> startOperationCore(const std::weak_ptr<Engine>& engine,
                                                  std::function<void()> step,
                                                  const std::optional<CancellationToken>& linked) {
  auto running = engine.lock();
  if (!running) throw clientGone();
  auto core = std::make_shared<OperationCore>(engine, CancellationToken());
  if (linked) {
    core->link(linked->onCancel([token = core->token()] { token.cancel(); }));
  }
  if (!running->spawn(runAndFinish(core, std::move(step)), core->token())) throw clientGone();
  return core;
}

bool operationDone(const OperationCore& core) noexcept {
  return core.done();
}

void operationWait(OperationCore& core) {
  core.wait();
}

bool operationWaitFor(OperationCore& core, std::chrono::milliseconds limit) {
  return core.waitFor(limit);
}

void operationCancel(OperationCore& core) noexcept {
  core.token().cancel();
}

void operationRethrow(const OperationCore& core) {
  core.rethrow();
}

std::shared_ptr<OperationCore> operationThen(const std::shared_ptr<OperationCore>& before,
                                             std::function<void()> step) {
  auto engine = before->engine();
  auto next = std::make_shared<OperationCore>(engine, CancellationToken());
  before->whenDone(
      [engine = std::weak_ptr<Engine>(engine), next, step = std::move(step)]() mutable {
        auto running = engine.lock();
        if (!running || !running->spawn(runAndFinish(next, std::move(step)), next->token())) {
          next->finish(std::make_exception_ptr(clientGone()));  // no callback once it is gone
        }
      });
  return next;
}

}  // namespace runtools::internal
