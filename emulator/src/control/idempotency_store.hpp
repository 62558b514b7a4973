// Idempotency-Key replay (docs/wire-contract.md §6.6). A POST or PATCH carrying `Idempotency-Key`
// is scoped by (credential, method, path, key). The first request runs; its answer is kept for 24 h
// of the emulator's clock. A repeat with the same body gets that answer again (the HTTP layer
// adds `Idempotent-Replayed: true`) without running the handler; a repeat with another body
// gets 409 idempotency_conflict; a repeat that arrives while the first still runs waits for it.
//
// What is not kept, so that a retry runs again: answers with status >= 500, streamed answers
// (server-sent events, files) and requests whose body is streamed to a handler (uploads, which
// replace a file by name, so repeating one is harmless). The HTTP layer decides what it offers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/time_util.hpp"

namespace rtemu {

class IdempotencyStore {
 public:
  // An answer as it was rendered.
  struct Stored {
    int status = 0;
    std::string contentType;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // X-Run-ID, Location...
  };

  // The right to run the first request of a scope. Completing it stores the answer; dropping
  // it uncompleted (an exception, an answer that is not kept) lets a waiting repeat run.
  class Ticket {
   public:
    Ticket() = default;
    ~Ticket();
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

    explicit operator bool() const { return store_ != nullptr; }
    void complete(Stored answer);
    void abandon();

   private:
    friend class IdempotencyStore;
    Ticket(IdempotencyStore* store, std::string scope, std::uint64_t token)
        : store_(store), scope_(std::move(scope)), token_(token) {}
    IdempotencyStore* store_ = nullptr;
    std::string scope_;
    std::uint64_t token_ = 0;
  };

  struct Begin {
    std::optional<Stored> replay;  // set: answer with this
    Ticket ticket;                 // otherwise: run the request, then complete or drop this
  };

  explicit IdempotencyStore(const Clock& clock);
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // 400 validation_error unless `key` is 1..255 characters without control characters.
  static void validateKey(const std::string& key);
  // The scope of a request: `credential` (as presented; only its hash is kept; empty for an
  // anonymous caller), method, raw path and key.
  static std::string scopeFor(const std::string& credential, const std::string& method,
                              const std::string& rawPath, const std::string& key);
  // Looks the scope up, waiting while its first request still runs. `body` is the raw request
  // body (only its hash is kept). Throws 409 idempotency_conflict when the scope was used with
  // another body.
  Begin begin(const std::string& scope, const std::string& body);
  // Forgets every kept answer (/_emu/reset); requests still running are not kept either.
  void reset();

 private:
  struct Entry {
    std::string bodyHash;
    std::uint64_t token = 0;
    bool running = true;
    Stored answer;
    std::int64_t expiresAtMs = 0;
  };
  void finish(const std::string& scope, std::uint64_t token, std::optional<Stored> answer);
  void pruneLocked(std::int64_t nowMs);

  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Entry> entries_;
  std::uint64_t nextToken_ = 0;
};

}  // namespace rtemu
