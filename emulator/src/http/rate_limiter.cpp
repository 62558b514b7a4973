#include "http/rate_limiter.hpp"

#include <algorithm>

#include "util/time_util.hpp"

namespace rtemu {
namespace {
constexpr int kNominalLimit = 1000;
constexpr std::size_t kPruneThreshold = 4096;
}  // namespace

RateLimiter::RateLimiter(int rpm, const Clock& clock) : rpm_(rpm), clock_(clock) {}

RateDecision RateLimiter::decide(const Window& window, std::int64_t nowSeconds,
                                 bool counted) const {
  RateDecision d;
  d.limit = rpm_ > 0 ? rpm_ : kNominalLimit;
  d.resetUnixSeconds = (window.minute + 1) * 60;
  d.allowed = rpm_ <= 0 || !counted || window.used <= rpm_;
  d.remaining = std::max(0, d.limit - window.used);
  d.retryAfterSeconds =
      d.allowed ? 0 : static_cast<int>(std::max<std::int64_t>(1, d.resetUnixSeconds - nowSeconds));
  return d;
}

void RateLimiter::pruneLocked(std::int64_t minute) {
  if (windows_.size() < kPruneThreshold) return;
  for (auto it = windows_.begin(); it != windows_.end();) {
    it = it->second.minute < minute ? windows_.erase(it) : std::next(it);
  }
}

RateDecision RateLimiter::consume(const std::string& bucket) {
  const std::int64_t nowSeconds = clock_.nowMs() / 1000;
  const std::int64_t minute = nowSeconds / 60;
  std::lock_guard<std::mutex> lock(mutex_);
  pruneLocked(minute);
  Window& window = windows_[bucket];
  if (window.minute != minute) window = Window{minute, 0};
  ++window.used;
  return decide(window, nowSeconds, true);
}

RateDecision RateLimiter::peek(const std::string& bucket) {
  const std::int64_t nowSeconds = clock_.nowMs() / 1000;
  const std::int64_t minute = nowSeconds / 60;
  std::lock_guard<std::mutex> lock(mutex_);
  Window window{minute, 0};
  const auto it = windows_.find(bucket);
  if (it != windows_.end() && it->second.minute == minute) window = it->second;
  return decide(window, nowSeconds, false);
}

}  // namespace rtemu
