#pragma once

/// @file
/// Threads: durable conversations with agents (`rt.threads`; docs/wire-contract.md §4.6).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/page.hpp"
#include "runtools/raw_json.hpp"

namespace runtools::internal {
class ServiceClient;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

struct Thread {
  std::string id;
  std::string orgId;
  std::string ownerUserId;
  std::string agentId;
  std::string title;
  std::string executionMode;
  bool archived = false;
  std::optional<std::string> activeRolloutId;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> updatedAt;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, Thread& thread);

/// A durable event of a thread (run_started, user_message, assistant_message,
/// tool_call, tool_result, run_completed, compaction_*, ...).
struct ThreadEvent {
  std::int64_t sequence = 0;
  std::string type;
  std::string threadId;
  std::optional<std::string> rolloutId;
  std::optional<std::string> runId;
  nlohmann::json payload;
  std::optional<Timestamp> createdAt;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, ThreadEvent& event);

/// A thread with its events.
struct ThreadSnapshot {
  Thread thread;
  std::vector<ThreadEvent> events;
};

/// A rollout: one segment of a thread's history (compaction starts a new one).
struct Rollout {
  std::string rolloutId;
  std::string threadId;
  std::optional<Timestamp> startedAt;
  std::optional<Timestamp> completedAt;
  std::int64_t eventCount = 0;
};

struct ThreadListOptions {
  std::optional<int> limit;  ///< 1..100 per page
  std::optional<std::string> cursor;
  /// Include archived threads.
  bool archived = false;
};

struct ThreadEventsOptions {
  std::optional<int> limit;  ///< 1..500 per page
  std::optional<std::string> cursor;
  /// Events of every rollout, not only the active one.
  bool allRollouts = false;
  std::optional<std::string> rolloutId;
};

/// The answer to ThreadClient::compact.
struct CompactResult {
  std::string threadId;
  std::string rolloutId;
};

/// Threads (`rt.threads`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class ThreadClient {
 public:
  explicit ThreadClient(std::shared_ptr<internal::ServiceClient> api);

  /// Every thread matching `options`, following cursors.
  std::vector<Thread> list(const ThreadListOptions& options = {}) const;
  Page<Thread> listPage(const ThreadListOptions& options = {}) const;
  /// Every thread matching `options` as a lazy range, one page at a time.
  PageRange<Thread> iterate(const ThreadListOptions& options = {}) const;
  /// The thread and its events (at most `limit`, 1..500).
  ThreadSnapshot get(const std::string& threadId, std::optional<int> limit = std::nullopt,
                     bool allRollouts = false) const;
  /// Every event, following cursors.
  std::vector<ThreadEvent> events(const std::string& threadId,
                                  const ThreadEventsOptions& options = {}) const;
  Page<ThreadEvent> eventsPage(const std::string& threadId,
                               const ThreadEventsOptions& options = {}) const;
  /// Every event as a lazy range, one page at a time.
  PageRange<ThreadEvent> iterateEvents(const std::string& threadId,
                                       const ThreadEventsOptions& options = {}) const;
  std::vector<Rollout> rollouts(const std::string& threadId) const;
  Thread rename(const std::string& threadId, const std::string& title) const;
  /// Archives (or, with `archived = false`, restores) a thread.
  Thread archive(const std::string& threadId, bool archived = true) const;
  void remove(const std::string& threadId) const;
  /// Starts a new rollout that summarises the thread so far.
  CompactResult compact(const std::string& threadId) const;

 private:
  std::shared_ptr<internal::ServiceClient> api_;
};

}  // namespace runtools
