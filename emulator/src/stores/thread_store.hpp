// Threads of agent runs (docs/wire-contract.md §4.6): metadata, rollouts and durable events.
//
// With a root directory every thread lives in "<root>/<threadId>/": `thread.json` (metadata and
// rollouts, written atomically) and `events.jsonl` (one event per line, appended and fsync'd),
// so that threads survive a SIGKILL and a restart. Without one they live in memory only.
//
// One mutex guards everything (appends included: events get gap-free sequence numbers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "util/json_util.hpp"

namespace rtemu {

struct ThreadRef {
  std::string id;
  std::string activeRolloutId;
};

class ThreadStore {
 public:
  ThreadStore(std::optional<std::filesystem::path> root, const Clock& clock);
  ~ThreadStore();
  ThreadStore(const ThreadStore&) = delete;
  ThreadStore& operator=(const ThreadStore&) = delete;

  // Loads every thread found under the root (a torn last event line is dropped).
  void restore();

  // A new thread with one (active) rollout; `title` is cut to 80 characters.
  ThreadRef create(const Principal& caller, const std::string& agentId,
                   const std::string& agentSlug, const std::string& executionMode,
                   const std::string& title);
  // The thread (404 not_found when unknown, deleted or another organization's).
  ThreadRef require(const std::string& orgId, const std::string& id);
  // Appends a durable event to rollout `rolloutId` of thread `threadId` (ignored when the
  // thread was deleted meanwhile). `runId` empty = null.
  void append(const std::string& threadId, const std::string& rolloutId, const std::string& runId,
              const std::string& type, Json payload);
  // Contents of every user_message event of the thread, oldest first, across rollouts.
  std::vector<std::string> userMessages(const std::string& threadId);

  // Threads of the organization, most recently updated first; archived ones only when
  // `includeArchived`; only those of agent `agentRef` (slug or id) when given.
  Json list(const std::string& orgId, bool includeArchived,
            const std::optional<std::string>& agentRef);
  Json get(const std::string& orgId, const std::string& id);
  // The thread's events, oldest first: those of the active rollout, of every rollout
  // (`allRollouts`), or of rollout `rolloutId` (404 when the thread has no such rollout).
  Json events(const std::string& orgId, const std::string& id, bool allRollouts,
              const std::optional<std::string>& rolloutId);
  Json rollouts(const std::string& orgId, const std::string& id);
  Json patch(const std::string& orgId, const std::string& id,
             const std::optional<std::string>& title, const std::optional<bool>& archived);
  Json remove(const std::string& orgId, const std::string& id);
  // Starts a new rollout (compaction); returns {threadId, rolloutId}.
  Json compact(const std::string& orgId, const std::string& id);
  void reset();

  // Cuts `text` to at most `max` characters (code points), never splitting a UTF-8 sequence.
  static std::string cutCharacters(const std::string& text, std::size_t max);
  static std::size_t countCharacters(const std::string& text);

 private:
  struct Record;

  Record* findLocked(const std::string& orgId, const std::string& id);
  Record& requireLocked(const std::string& orgId, const std::string& id);
  Json toJsonLocked(const Record& record) const;
  void appendLocked(Record& record, const std::string& rolloutId, const std::string& runId,
                    const std::string& type, Json payload);
  void saveMetaLocked(const Record& record);
  void touchLocked(Record& record, std::int64_t nowMs);
  std::unique_ptr<Record> load(const std::filesystem::path& dir);

  const std::optional<std::filesystem::path> root_;
  const Clock& clock_;
  std::mutex mutex_;
  std::uint64_t nextTouch_ = 0;
  std::vector<std::unique_ptr<Record>> records_;
};

}  // namespace rtemu
