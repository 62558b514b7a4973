// Workspace metadata of every organization (docs/wire-contract.md §4.2): records, slug rules, and
// their persistence. Each workspace's files live in "<root>/<id>/files" (see workspace_fs.hpp); the
// store creates and removes that directory but never looks inside it except to add up sizes.
//
// One mutex guards the records; it is never held while walking a directory tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "stores/persistence.hpp"
#include "util/json_util.hpp"

namespace rtemu {

// A copy of one workspace's metadata, for use without the lock.
struct WorkspaceRecord {
  std::string id;
  std::string orgId;
  std::string slug;
  std::string name;
  std::string ownerUserId;
  std::int64_t createdAtMs = 0;
  std::int64_t updatedAtMs = 0;
  std::optional<std::int64_t> lastAccessedAtMs;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(WorkspaceRecord, id, orgId, slug, name, ownerUserId,
                                                createdAtMs, updatedAtMs, lastAccessedAtMs)

class WorkspaceStore {
 public:
  static constexpr std::int64_t kQuotaBytes = 10737418240;      // 10 GiB per workspace
  static constexpr std::int64_t kOrgQuotaBytes = 107374182400;  // 100 GiB per organization

  // `root` is "<stateDir>/workspaces". `stateFile`, when set, receives the metadata (written
  // atomically) after every change and is loaded by restore().
  WorkspaceStore(std::filesystem::path root, std::optional<std::filesystem::path> stateFile,
                 const Clock& clock);
  ~WorkspaceStore();
  WorkspaceStore(const WorkspaceStore&) = delete;
  WorkspaceStore& operator=(const WorkspaceStore&) = delete;

  // Loads the state file when present; creates missing files directories.
  void restore();

  // 201 body of POST /v1/workspaces. `slug` empty = derived from `name`. Throws 409
  // already_exists for a slug already used in the organization.
  Json create(const Principal& caller, const std::string& name, const std::string& slug);
  // {workspaces: [...], storage: {usedBytes, quotaBytes, unlimited}}
  Json list(const std::string& orgId);
  Json get(const std::string& orgId, const std::string& id);
  Json rename(const std::string& orgId, const std::string& id, const std::string& name);
  // Forgets the workspace and removes its directory (never following symlinks).
  void remove(const std::string& orgId, const std::string& id);
  // The workspace, or 404 not_found (unknown, or another organization's).
  WorkspaceRecord require(const std::string& orgId, const std::string& id);
  bool exists(const std::string& orgId, const std::string& id);
  // Records an access to the workspace's files (lastAccessedAt); persisted when `persist`.
  void touch(const std::string& id, bool persist);
  // Forgets every workspace and removes every files directory.
  void reset();

  // "<root>/<id>/files": the workspace's "/" (whether or not the workspace exists).
  std::filesystem::path filesDir(const std::string& id) const;

  // "my-project" from "My Project!" (lower-case, runs of other characters -> '-', trimmed of
  // '-', at most 63 characters; "workspace" when nothing is left).
  static std::string deriveSlug(const std::string& name);
  static bool validSlug(const std::string& slug);

 private:
  struct Record;

  Record* findLocked(const std::string& orgId, const std::string& id);
  Json toJson(const WorkspaceRecord& record, std::int64_t sizeBytes) const;
  WorkspaceRecord copyOf(const Record& record) const;
  void persistLocked();

  const std::filesystem::path root_;
  const std::optional<std::filesystem::path> stateFile_;
  const Clock& clock_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<Record>> records_;  // creation order
};

}  // namespace rtemu
