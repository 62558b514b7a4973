#include "control/idempotency_store.hpp"

#include <algorithm>

#include "http/api_error.hpp"
#include "util/crypto.hpp"

namespace rtemu {
namespace {

constexpr std::int64_t kRetentionMs = 24LL * 3600 * 1000;
constexpr std::size_t kMaxKeyLength = 255;
// Kept answers beyond this many are dropped, the oldest first (after the expired ones).
constexpr std::size_t kMaxEntries = 10000;

}  // namespace

IdempotencyStore::Ticket::~Ticket() {
  abandon();
}

IdempotencyStore::Ticket::Ticket(Ticket&& other) noexcept
    : store_(other.store_), scope_(std::move(other.scope_)), token_(other.token_) {
  other.store_ = nullptr;
}

IdempotencyStore::Ticket& IdempotencyStore::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    abandon();
    store_ = other.store_;
    scope_ = std::move(other.scope_);
    token_ = other.token_;
    other.store_ = nullptr;
  }
  return *this;
}

void IdempotencyStore::Ticket::complete(Stored answer) {
  if (!store_) return;
  IdempotencyStore* store = store_;
  store_ = nullptr;
  store->finish(scope_, token_, std::move(answer));
}

void IdempotencyStore::Ticket::abandon() {
  if (!store_) return;
  IdempotencyStore* store = store_;
  store_ = nullptr;
  store->finish(scope_, token_, std::nullopt);
}

IdempotencyStore::IdempotencyStore(const Clock& clock) : clock_(clock) {}

void IdempotencyStore::validateKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxKeyLength) {
    throw validationError("Idempotency-Key", "must be 1 to 255 characters");
  }
  const bool control = std::any_of(key.begin(), key.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (control) throw validationError("Idempotency-Key", "must not contain control characters");
}

std::string IdempotencyStore::scopeFor(const std::string& credential, const std::string& method,
                                       const std::string& rawPath, const std::string& key) {
  // Length-prefixed parts: no two different tuples produce the same scope.
  std::string scope = sha256Hex(credential);
  for (const std::string* part : {&method, &rawPath, &key}) {
    scope += '\n' + std::to_string(part->size()) + ':' + *part;
  }
  return scope;
}

IdempotencyStore::Begin IdempotencyStore::begin(const std::string& scope, const std::string& body) {
  const std::string bodyHash = sha256Hex(body);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto it = entries_.find(scope);
    if (it != entries_.end() && !it->second.running && it->second.expiresAtMs <= clock_.nowMs()) {
      entries_.erase(it);
      it = entries_.end();
    }
    if (it == entries_.end()) {
      pruneLocked(clock_.nowMs());
      Entry entry;
      entry.bodyHash = bodyHash;
      entry.token = ++nextToken_;
      const std::uint64_t token = entry.token;
      entries_.emplace(scope, std::move(entry));
      Begin begin;
      begin.ticket = Ticket(this, scope, token);
      return begin;
    }
    if (it->second.bodyHash != bodyHash) {
      throw ApiError(409, "idempotency_conflict",
                     "This Idempotency-Key was already used with a different request body");
    }
    if (!it->second.running) {
      Begin begin;
      begin.replay = it->second.answer;
      return begin;
    }
    changed_.wait(lock);
  }
}

void IdempotencyStore::finish(const std::string& scope, std::uint64_t token,
                              std::optional<Stored> answer) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = entries_.find(scope);
    if (it == entries_.end() || it->second.token != token) return;  // forgotten by reset()
    if (answer) {
      it->second.running = false;
      it->second.answer = std::move(*answer);
      it->second.expiresAtMs = clock_.nowMs() + kRetentionMs;
    } else {
      entries_.erase(it);
    }
  }
  changed_.notify_all();
}

void IdempotencyStore::pruneLocked(std::int64_t nowMs) {
  if (entries_.size() < kMaxEntries) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    it =
        !it->second.running && it->second.expiresAtMs <= nowMs ? entries_.erase(it) : std::next(it);
  }
  while (entries_.size() >= kMaxEntries) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (!it->second.running &&
          (oldest == entries_.end() || it->second.expiresAtMs < oldest->second.expiresAtMs)) {
        oldest = it;
      }
    }
    if (oldest == entries_.end()) return;  // all still running
    entries_.erase(oldest);
  }
}

void IdempotencyStore::reset() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.clear();
  }
  changed_.notify_all();
}

}  // namespace rtemu
