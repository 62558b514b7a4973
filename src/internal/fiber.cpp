#include "internal/fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define RUNTOOLS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUNTOOLS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RUNTOOLS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RUNTOOLS_TSAN 1
#endif
#endif

#if defined(RUNTOOLS_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(RUNTOOLS_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace runtools::internal {
namespace {

// Deep enough for the SDK's calls (JSON parsing, libcurl's callbacks run on
// the driving thread's own stack); pages are committed only when touched.
constexpr std::size_t kStackSize = 256 * 1024;

thread_local Fiber* tCurrent = nullptr;

std::size_t pageSize() {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

Fiber::Fiber(std::function<void()> body) : body_(std::move(body)) {
  // One guard page below the stack turns an overflow into a crash at once.
  stackSize_ = kStackSize + pageSize();
  stack_ = mmap(nullptr, stackSize_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack_ == MAP_FAILED) throw std::bad_alloc();
  mprotect(stack_, pageSize(), PROT_NONE);
  getcontext(&context_);
  context_.uc_stack.ss_sp = static_cast<char*>(stack_) + pageSize();
  context_.uc_stack.ss_size = kStackSize;
  context_.uc_link = nullptr;
  const auto self = reinterpret_cast<std::uintptr_t>(this);
  makecontext(&context_, reinterpret_cast<void (*)()>(&Fiber::entry), 2,
              static_cast<unsigned>(self & 0xffffffffu),
              static_cast<unsigned>((static_cast<std::uint64_t>(self) >> 32) & 0xffffffffu));
#if defined(RUNTOOLS_TSAN)
  tsanFiber_ = __tsan_create_fiber(0);
#endif
}

Fiber::~Fiber() {
#if defined(RUNTOOLS_TSAN)
  if (tsanFiber_ != nullptr) __tsan_destroy_fiber(tsanFiber_);
#endif
  munmap(stack_, stackSize_);
}

Fiber* Fiber::current() noexcept {
  return tCurrent;
}

void Fiber::entry(unsigned low, unsigned high) {
  const auto address = static_cast<std::uintptr_t>((static_cast<std::uint64_t>(high) << 32) |
                                                   static_cast<std::uint64_t>(low));
  auto* self = reinterpret_cast<Fiber*>(address);
#if defined(RUNTOOLS_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &self->callerStackBottom_, &self->callerStackSize_);
#endif
  self->body_();
  self->body_ = nullptr;  // releases what the body captured, on this stack
  self->finished_ = true;
  self->switchOut(/*finishing=*/true);
}

// Caller side: from the driving thread's stack into the fiber.
void Fiber::switchIn() {
#if defined(RUNTOOLS_ASAN)
  void* callerFake = nullptr;
  __sanitizer_start_switch_fiber(&callerFake, static_cast<char*>(stack_) + pageSize(), kStackSize);
#endif
#if defined(RUNTOOLS_TSAN)
  tsanCaller_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsanFiber_, 0);
#endif
  swapcontext(&caller_, &context_);
#if defined(RUNTOOLS_ASAN)
  __sanitizer_finish_switch_fiber(callerFake, nullptr, nullptr);
#endif
}

// Fiber side: back to the stack of the resume() that ran it.
void Fiber::switchOut(bool finishing) {
#if defined(RUNTOOLS_ASAN)
  __sanitizer_start_switch_fiber(finishing ? nullptr : &fakeStack_, callerStackBottom_,
                                 callerStackSize_);
#else
  (void)finishing;
#endif
#if defined(RUNTOOLS_TSAN)
  __tsan_switch_to_fiber(tsanCaller_, 0);
#endif
  swapcontext(&context_, &caller_);
#if defined(RUNTOOLS_ASAN)
  __sanitizer_finish_switch_fiber(fakeStack_, &callerStackBottom_, &callerStackSize_);
#endif
}

void Fiber::resume() {
  if (finished_) return;
  Fiber* const outer = tCurrent;
  tCurrent = this;
  switchIn();
  tCurrent = outer;
}

void Fiber::suspend() {
  Fiber* const self = tCurrent;
  if (self == nullptr) return;
  self->switchOut(/*finishing=*/false);
}

}  // namespace runtools::internal
