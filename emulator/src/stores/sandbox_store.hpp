// The sandboxes of every organization: records, the lifecycle state machine (settled lazily
// from timestamps on every read), per-sandbox directories, activity events, and the process
// groups spawned by exec (so that pause/resume/destroy/reset/stop can signal them).
//
// One mutex guards everything; it is never held while a command runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "stores/auth.hpp"
#include "util/json_util.hpp"

namespace rtemu {

struct LifecycleDelays {
  std::chrono::milliseconds create{300};
  std::chrono::milliseconds pause{200};
  std::chrono::milliseconds resume{200};
};

// A validated POST /v1/sandboxes body.
struct SandboxSpec {
  std::optional<std::string> name;
  std::string templateSlug;
  std::vector<std::string> tags;
  std::vector<std::string> sshKeys;
  std::string sshAuthMethod = "none";  // key | password | none
  Json resources;                      // {vcpus, memory, disk}
  std::map<std::string, std::string> env;
  std::optional<std::int64_t> idleTimeout;
  Json mounts = Json::array();  // [{workspaceId, path (normalised), readOnly}]
  Json metadata = Json::object();
  std::optional<std::string> projectId;
};

// A validated PATCH body: each field is applied only when present.
struct SandboxPatch {
  std::optional<std::optional<std::string>> name;
  std::optional<std::optional<std::string>> projectId;
};

struct SandboxFilter {
  std::optional<std::string> status;
  std::vector<std::string> tags;  // all must be present
  std::optional<std::string> templateSlug;
  std::optional<std::string> excludeTemplate;
};

// One mount of a workspace by a non-destroyed sandbox (GET /v1/workspaces/{id}/usage).
struct WorkspaceMount {
  std::string sandboxId;
  std::optional<std::string> sandboxName;
  std::string sandboxStatus;
  std::string mountPath;
  bool readOnly = false;
};

struct RunningSandbox {
  std::string id;
  std::vector<std::string> sshKeys;
};

// What exec needs, copied out of the store so that the command runs without the lock.
struct ExecTarget {
  std::string sandboxId;
  std::filesystem::path workspaceDir;
  std::map<std::string, std::string> env;  // the sandbox's create-time env
};

class SandboxStore {
 public:
  // `root` is "<stateDir>/sandboxes". `stateFile`, when set, receives a JSON snapshot after
  // every change and is loaded by restore(). A mount of workspace W at /workspace/P is a
  // symlink "<root>/<id>/workspace/P" -> "<workspacesRoot>/W/files" (absolute paths).
  SandboxStore(std::filesystem::path root, LifecycleDelays delays,
               std::optional<std::filesystem::path> stateFile, std::filesystem::path workspacesRoot,
               const Clock& clock);
  ~SandboxStore();
  SandboxStore(const SandboxStore&) = delete;
  SandboxStore& operator=(const SandboxStore&) = delete;

  Json create(const Principal& caller, SandboxSpec spec);
  Json list(const std::string& orgId, const SandboxFilter& filter);
  Json get(const std::string& orgId, const std::string& ref);
  Json update(const Principal& caller, const std::string& ref, const SandboxPatch& patch);
  Json destroy(const Principal& caller, const std::string& ref);
  Json pause(const Principal& caller, const std::string& ref);
  Json resume(const Principal& caller, const std::string& ref);
  // Activity events of one sandbox, newest first.
  Json activity(const std::string& orgId, const std::string& ref);
  // GET /v1/sandboxes/{id}/metrics (G50): usage is 0, limits come from `resources`.
  Json metrics(const std::string& orgId, const std::string& ref);

  // The sandbox when it is running; 409 sandbox_not_running otherwise.
  RunningSandbox requireRunning(const std::string& orgId, const std::string& ref);
  // Status of sandbox `id` in any organization (the dev-URL proxy); nullopt when unknown or
  // destroyed.
  std::optional<std::string> statusById(const std::string& id);
  ExecTarget prepareExec(const std::string& orgId, const std::string& ref);
  // Registers a process group spawned for `sandboxId`; false = it must be killed now (the
  // sandbox is gone or the emulator is stopping). A paused sandbox stops it at once.
  bool attachProcessGroup(const std::string& sandboxId, pid_t pgid);
  void recordExec(const Principal& caller, const std::string& sandboxId, const std::string& command,
                  int exitCode, std::int64_t durationMs, bool timedOut);

  // Every mount of workspace `workspaceId` by a non-destroyed sandbox of `orgId`.
  std::vector<WorkspaceMount> mountsOf(const std::string& orgId, const std::string& workspaceId);

  // Forgets every sandbox, killing their processes and removing their directories.
  void reset();
  // Kills every process and refuses new ones (the emulator is stopping).
  void shutdown();
  // Loads the state file when present (ids, names, status, env, activity).
  void restore();

 private:
  struct Record;

  Record* findLocked(const std::string& orgId, const std::string& ref);
  Record& requireLocked(const std::string& orgId, const std::string& ref);
  void settleLocked(Record& record, std::int64_t nowMs);
  std::chrono::milliseconds delayFor(const Record& record, std::chrono::milliseconds base) const;
  Json toJsonLocked(const Record& record) const;
  void addActivityLocked(Record& record, const std::string& actorUserId,
                         const std::string& eventType, const std::string& title,
                         const std::string& summary, const std::string& status, Json attributes);
  bool nameTakenLocked(const std::string& orgId, const std::string& name,
                       const Record* except) const;
  void signalGroupsLocked(Record& record, int sig);
  void persistLocked();
  // Creates the mount symlinks of a sandbox (missing ones only); false on failure.
  bool realizeMounts(const std::string& id, const Json& mounts) const;

  const std::filesystem::path root_;
  const std::filesystem::path workspacesRoot_;
  const LifecycleDelays delays_;
  const std::optional<std::filesystem::path> stateFile_;
  const Clock& clock_;

  std::mutex mutex_;
  bool shuttingDown_ = false;
  std::uint64_t nextSeq_ = 0;
  std::vector<std::unique_ptr<Record>> records_;  // creation order
  std::unordered_map<std::string, Record*> byId_;
};

}  // namespace rtemu
