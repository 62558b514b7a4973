#include "stores/sandbox_store.hpp"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <system_error>

#include "http/api_error.hpp"
#include "stores/owner.hpp"
#include "stores/persistence.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"
#include "util/process.hpp"
#include "util/time_util.hpp"

namespace rtemu {

namespace fs = std::filesystem;

namespace {

constexpr const char kDestroyed[] = "destroyed";
constexpr const char kOrphaned[] = "orphaned";
constexpr std::size_t kMaxCommandInActivity = 1000;

Json nullable(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

bool hasTag(const std::vector<std::string>& tags, const std::string& tag) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

}  // namespace

struct SandboxStore::Record {
  std::string id;
  std::string orgId;
  std::string ownerUserId;
  std::uint64_t seq = 0;
  std::optional<std::string> name;
  std::string templateSlug;
  std::vector<std::string> tags;
  std::vector<std::string> sshKeys;
  std::string sshAuthMethod = "none";
  Json resources;
  Json mounts = Json::array();
  Json metadata = Json::object();
  std::map<std::string, std::string> env;
  std::optional<std::int64_t> idleTimeout;
  std::optional<std::string> projectId;
  std::string status;
  std::string pendingStatus;  // target of an in-flight transition, empty when none
  std::int64_t settleAtMs = 0;
  std::int64_t createdAtMs = 0;
  std::int64_t updatedAtMs = 0;
  bool sshReady = false;
  bool vncReady = false;
  std::set<pid_t> processGroups;
  std::vector<Json> activity;  // oldest first

  bool destroyed() const { return status == kDestroyed; }

  // Persisted, but for the process groups and `seq`; `templateSlug` is stored as "template" (a
  // C++ keyword, so not a member name) by persistLocked() and restore().
  NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Record, id, orgId, ownerUserId, name, tags, sshKeys,
                                              sshAuthMethod, resources, mounts, metadata, env,
                                              idleTimeout, projectId, status, pendingStatus,
                                              settleAtMs, createdAtMs, updatedAtMs, sshReady,
                                              vncReady, activity)
};

SandboxStore::SandboxStore(fs::path root, LifecycleDelays delays, std::optional<fs::path> stateFile,
                           fs::path workspacesRoot, const Clock& clock)
    : root_(std::move(root)),
      workspacesRoot_(std::move(workspacesRoot)),
      delays_(delays),
      stateFile_(std::move(stateFile)),
      clock_(clock) {}

bool SandboxStore::realizeMounts(const std::string& id, const Json& mounts) const {
  static const std::string kPrefix = "/workspace";
  const fs::path workspace = root_ / id / "workspace";
  std::error_code ec;
  for (const Json& mount : mounts) {
    const std::string path = mount.value("path", kPrefix);
    const fs::path target = workspacesRoot_ / mount.value("workspaceId", std::string()) / "files";
    const fs::path link =
        path.size() > kPrefix.size() ? workspace / path.substr(kPrefix.size() + 1) : workspace;
    if (fs::symlink_status(link, ec).type() == fs::file_type::symlink) continue;  // exists
    if (link == workspace) {
      // The whole /workspace is the workspace: the (empty) private directory gives way.
      fs::remove(workspace, ec);
      if (ec) return false;
    } else {
      fs::create_directories(link.parent_path(), ec);
      if (ec) return false;
      // An empty directory left at the mount point (older state) gives way; anything else
      // stays and the mount is not made.
      const fs::file_type existing = fs::symlink_status(link, ec).type();
      if (existing == fs::file_type::directory) {
        fs::remove(link, ec);
        if (ec) return false;
      } else if (existing != fs::file_type::not_found) {
        return false;
      }
    }
    fs::create_directory_symlink(target, link, ec);
    if (ec) return false;
  }
  return true;
}

SandboxStore::~SandboxStore() {
  shutdown();
}

std::chrono::milliseconds SandboxStore::delayFor(const Record& record,
                                                 std::chrono::milliseconds base) const {
  const auto nonNegative = std::max(base, std::chrono::milliseconds(0));
  return hasTag(record.tags, "emu:slow") ? nonNegative * 10 : nonNegative;
}

void SandboxStore::settleLocked(Record& record, std::int64_t nowMs) {
  if (record.pendingStatus.empty() || nowMs < record.settleAtMs) return;
  record.status = record.pendingStatus;
  record.pendingStatus.clear();
  record.updatedAtMs = record.settleAtMs;
  const bool running = record.status == "running";
  record.sshReady = running;
  record.vncReady = running && record.templateSlug == "desktop-ubuntu";
}

SandboxStore::Record* SandboxStore::findLocked(const std::string& orgId, const std::string& ref) {
  const auto it = byId_.find(ref);
  if (it != byId_.end() && it->second->orgId == orgId && !it->second->destroyed()) {
    return it->second;
  }
  for (const auto& record : records_) {
    if (record->orgId == orgId && !record->destroyed() && record->name == ref) {
      return record.get();
    }
  }
  return nullptr;
}

SandboxStore::Record& SandboxStore::requireLocked(const std::string& orgId,
                                                  const std::string& ref) {
  Record* record = findLocked(orgId, ref);
  if (!record) throw notFound("Sandbox not found");
  settleLocked(*record, clock_.nowMs());
  return *record;
}

bool SandboxStore::nameTakenLocked(const std::string& orgId, const std::string& name,
                                   const Record* except) const {
  for (const auto& record : records_) {
    if (record.get() != except && record->orgId == orgId && !record->destroyed() &&
        record->name == name) {
      return true;
    }
  }
  return false;
}

Json SandboxStore::toJsonLocked(const Record& r) const {
  bool writableMount = false;
  for (const Json& mount : r.mounts) {
    if (!mount.value("readOnly", false)) writableMount = true;
  }
  return Json{
      {"id", r.id},
      {"name", nullable(r.name)},
      {"status", r.status},
      {"tags", r.tags},
      {"template", r.templateSlug},
      {"ownerUserId", r.ownerUserId},
      {"ownerDisplayName", kOwnerDisplayName},
      {"ownerEmail", kOwnerEmail},
      {"projectId", nullable(r.projectId)},
      {"mounts", r.mounts},
      {"hasWritableWorkspaceMount", writableMount},
      {"sshReady", r.sshReady},
      {"vncReady", r.vncReady},
      {"ip", nullptr},
      {"publicIp", nullptr},
      {"sshAccessConfigured", r.sshAuthMethod != "none"},
      {"sshAuthMethod", r.sshAuthMethod},
      {"vncUrl", nullptr},
      {"resources", r.resources},
      {"createdAt", isoTimestamp(r.createdAtMs)},
      {"updatedAt", isoTimestamp(r.updatedAtMs)},
      {"metadata", r.metadata},
      {"idleTimeout", r.idleTimeout ? Json(*r.idleTimeout) : Json(nullptr)},
  };
}

void SandboxStore::addActivityLocked(Record& record, const std::string& actorUserId,
                                     const std::string& eventType, const std::string& title,
                                     const std::string& summary, const std::string& status,
                                     Json attributes) {
  const std::string at = isoTimestamp(clock_.nowMs());
  record.activity.push_back(Json{
      {"id", newActivityId()},
      {"orgId", record.orgId},
      {"actorUserId", actorUserId},
      {"actorType", "user"},
      {"resourceType", "sandbox"},
      {"resourceId", record.id},
      {"eventType", eventType},
      {"severity", "info"},
      {"status", status},
      {"title", title},
      {"summary", summary},
      {"attributes", std::move(attributes)},
      {"threadId", nullptr},
      {"agentRunId", nullptr},
      {"sandboxId", record.id},
      {"workspaceId", nullptr},
      {"toolSlug", nullptr},
      {"installableAgentInstallId", nullptr},
      {"runmeshNodeId", nullptr},
      {"codeExecutionId", nullptr},
      {"createdAt", at},
      {"occurredAt", at},
  });
}

void SandboxStore::signalGroupsLocked(Record& record, int sig) {
  for (auto it = record.processGroups.begin(); it != record.processGroups.end();) {
    if (!processGroupExists(*it)) {
      it = record.processGroups.erase(it);
      continue;
    }
    signalProcessGroup(*it, sig);
    ++it;
  }
}

Json SandboxStore::create(const Principal& caller, SandboxSpec spec) {
  auto record = std::make_unique<Record>();
  record->id = newSandboxId();
  record->orgId = caller.orgId;
  record->ownerUserId = caller.userId;
  record->name = std::move(spec.name);
  record->templateSlug = std::move(spec.templateSlug);
  record->tags = std::move(spec.tags);
  record->sshKeys = std::move(spec.sshKeys);
  record->sshAuthMethod = std::move(spec.sshAuthMethod);
  record->resources = std::move(spec.resources);
  record->mounts = std::move(spec.mounts);
  record->metadata = std::move(spec.metadata);
  record->env = std::move(spec.env);
  record->idleTimeout = spec.idleTimeout;
  record->projectId = std::move(spec.projectId);

  // The private directory and the mount symlinks exist before the sandbox becomes visible.
  const fs::path workspace = root_ / record->id / "workspace";
  std::error_code ec;
  fs::create_directories(workspace, ec);
  if (ec || !realizeMounts(record->id, record->mounts)) {
    removeTree(root_ / record->id);
    throw ApiError(500, "internal_error", "Could not create the sandbox directory");
  }

  std::lock_guard<std::mutex> lock(mutex_);
  if (record->name && nameTakenLocked(caller.orgId, *record->name, nullptr)) {
    removeTree(root_ / record->id);
    throw ApiError(409, "already_exists", "A sandbox named '" + *record->name + "' already exists")
        .withDetails("name", "already exists");
  }
  const std::int64_t now = clock_.nowMs();
  record->seq = nextSeq_++;
  record->status = "creating";
  record->pendingStatus = hasTag(record->tags, "emu:fail-create") ? "failed" : "running";
  record->settleAtMs = now + delayFor(*record, delays_.create).count();
  record->createdAtMs = now;
  record->updatedAtMs = now;
  addActivityLocked(*record, caller.userId, "sandbox.created", "Sandbox created",
                    "Sandbox " + record->id + " created from " + record->templateSlug, "completed",
                    Json{{"template", record->templateSlug}});
  Json out = toJsonLocked(*record);
  byId_[record->id] = record.get();
  records_.push_back(std::move(record));
  persistLocked();
  return out;
}

Json SandboxStore::list(const std::string& orgId, const SandboxFilter& filter) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now = clock_.nowMs();
  Json items = Json::array();
  for (const auto& record : records_) {
    if (record->orgId != orgId) continue;
    settleLocked(*record, now);
    if (filter.status) {
      if (record->status != *filter.status) continue;
    } else if (record->status == kDestroyed || record->status == kOrphaned) {
      continue;
    }
    const bool allTags = std::all_of(filter.tags.begin(), filter.tags.end(),
                                     [&](const std::string& t) { return hasTag(record->tags, t); });
    if (!allTags) continue;
    if (filter.templateSlug && record->templateSlug != *filter.templateSlug) continue;
    if (filter.excludeTemplate && record->templateSlug == *filter.excludeTemplate) continue;
    items.push_back(toJsonLocked(*record));
  }
  return items;
}

Json SandboxStore::get(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  return toJsonLocked(requireLocked(orgId, ref));
}

namespace {

// MiB in a size such as "4GB" or "512MB" (G50); `fallback` when absent or unreadable.
std::int64_t sizeInMib(const Json& resources, const char* field, std::int64_t fallback) {
  const auto it = resources.find(field);
  if (it == resources.end() || !it->is_string()) return fallback;
  const std::string text = it->get<std::string>();
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0 || digits > 12) return fallback;
  const std::int64_t amount = std::stoll(text.substr(0, digits));
  std::string unit = text.substr(digits);
  for (char& c : unit)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit == "GB" || unit == "G" || unit == "GIB") return amount * 1024;
  if (unit == "MB" || unit == "M" || unit == "MIB") return amount;
  if (unit == "TB" || unit == "T" || unit == "TIB") return amount * 1024 * 1024;
  return fallback;
}

}  // namespace

Json SandboxStore::metrics(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, ref);
  return Json{{"sandboxId", record.id},
              {"status", record.status},
              {"cpuPercent", 0},
              {"memoryUsedMb", 0},
              {"memoryLimitMb", sizeInMib(record.resources, "memory", 4096)},
              {"diskUsedMb", 0},
              {"diskLimitMb", sizeInMib(record.resources, "disk", 10240)},
              {"sampledAt", isoTimestamp(clock_.nowMs())}};
}

Json SandboxStore::update(const Principal& caller, const std::string& ref,
                          const SandboxPatch& patch) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(caller.orgId, ref);
  if (patch.name && *patch.name && nameTakenLocked(record.orgId, **patch.name, &record)) {
    throw ApiError(409, "already_exists", "A sandbox named '" + **patch.name + "' already exists")
        .withDetails("name", "already exists");
  }
  Json changed = Json::array();
  if (patch.name) {
    record.name = *patch.name;
    changed.push_back("name");
  }
  if (patch.projectId) {
    record.projectId = *patch.projectId;
    changed.push_back("projectId");
  }
  record.updatedAtMs = clock_.nowMs();
  addActivityLocked(record, caller.userId, "sandbox.updated", "Sandbox updated",
                    "Sandbox " + record.id + " updated", "completed", Json{{"fields", changed}});
  persistLocked();
  return toJsonLocked(record);
}

Json SandboxStore::destroy(const Principal& caller, const std::string& ref) {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Record& record = requireLocked(caller.orgId, ref);
    id = record.id;
    signalGroupsLocked(record, SIGKILL);
    record.processGroups.clear();
    record.status = kDestroyed;
    record.pendingStatus.clear();
    record.sshReady = false;
    record.vncReady = false;
    record.updatedAtMs = clock_.nowMs();
    addActivityLocked(record, caller.userId, "sandbox.destroyed", "Sandbox destroyed",
                      "Sandbox " + record.id + " destroyed", "completed", Json::object());
    persistLocked();
  }
  removeTree(root_ / id);
  return Json{{"id", id}, {"deleted", true}};
}

Json SandboxStore::pause(const Principal& caller, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(caller.orgId, ref);
  if (record.status == "running") {
    const std::int64_t now = clock_.nowMs();
    record.status = "pausing";
    record.pendingStatus = "paused";
    record.settleAtMs = now + delayFor(record, delays_.pause).count();
    record.updatedAtMs = now;
    record.sshReady = false;
    record.vncReady = false;
    signalGroupsLocked(record, SIGSTOP);
    addActivityLocked(record, caller.userId, "sandbox.paused", "Sandbox paused",
                      "Sandbox " + record.id + " paused", "completed", Json::object());
    persistLocked();
  } else if (record.status != "paused") {
    throw ApiError(409, "invalid_state_transition",
                   "Cannot pause a sandbox in status '" + record.status + "'");
  }
  return Json{{"id", record.id}, {"status", record.status}};
}

Json SandboxStore::resume(const Principal& caller, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(caller.orgId, ref);
  if (record.status == "paused") {
    const std::int64_t now = clock_.nowMs();
    record.status = "resuming";
    record.pendingStatus = "running";
    record.settleAtMs = now + delayFor(record, delays_.resume).count();
    record.updatedAtMs = now;
    signalGroupsLocked(record, SIGCONT);
    addActivityLocked(record, caller.userId, "sandbox.resumed", "Sandbox resumed",
                      "Sandbox " + record.id + " resumed", "completed", Json::object());
    persistLocked();
  } else if (record.status != "running") {
    throw ApiError(409, "invalid_state_transition",
                   "Cannot resume a sandbox in status '" + record.status + "'");
  }
  return Json{{"id", record.id}, {"status", record.status}};
}

Json SandboxStore::activity(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, ref);
  Json events = Json::array();
  for (auto it = record.activity.rbegin(); it != record.activity.rend(); ++it) {
    events.push_back(*it);
  }
  return events;
}

RunningSandbox SandboxStore::requireRunning(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, ref);
  if (record.status != "running") {
    throw ApiError(409, "sandbox_not_running",
                   "Sandbox is not running (status '" + record.status + "')");
  }
  return RunningSandbox{record.id, record.sshKeys};
}

std::optional<std::string> SandboxStore::statusById(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = byId_.find(id);
  if (it == byId_.end() || it->second->destroyed()) return std::nullopt;
  settleLocked(*it->second, clock_.nowMs());
  return it->second->status;
}

ExecTarget SandboxStore::prepareExec(const std::string& orgId, const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& record = requireLocked(orgId, ref);
  if (record.status != "running") {
    throw ApiError(409, "sandbox_not_running",
                   "Sandbox is not running (status '" + record.status + "')");
  }
  return ExecTarget{record.id, root_ / record.id / "workspace", record.env};
}

bool SandboxStore::attachProcessGroup(const std::string& sandboxId, pid_t pgid) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shuttingDown_) return false;
  const auto it = byId_.find(sandboxId);
  if (it == byId_.end() || it->second->destroyed()) return false;
  Record& record = *it->second;
  // Forget groups that have ended so that the set does not grow without bound.
  for (auto g = record.processGroups.begin(); g != record.processGroups.end();) {
    g = processGroupExists(*g) ? std::next(g) : record.processGroups.erase(g);
  }
  record.processGroups.insert(pgid);
  settleLocked(record, clock_.nowMs());
  if (record.status == "pausing" || record.status == "paused") {
    signalProcessGroup(pgid, SIGSTOP);
  }
  return true;
}

void SandboxStore::recordExec(const Principal& caller, const std::string& sandboxId,
                              const std::string& command, int exitCode, std::int64_t durationMs,
                              bool timedOut) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = byId_.find(sandboxId);
  if (it == byId_.end() || it->second->destroyed()) return;
  const std::string shown = command.size() > kMaxCommandInActivity
                                ? command.substr(0, kMaxCommandInActivity) + "..."
                                : command;
  addActivityLocked(*it->second, caller.userId, "sandbox.exec", "Command executed",
                    "Command exited with code " + std::to_string(exitCode),
                    exitCode == 0 ? "completed" : "failed",
                    Json{{"command", shown},
                         {"exitCode", exitCode},
                         {"durationMs", durationMs},
                         {"timedOut", timedOut}});
  persistLocked();
}

std::vector<WorkspaceMount> SandboxStore::mountsOf(const std::string& orgId,
                                                   const std::string& workspaceId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now = clock_.nowMs();
  std::vector<WorkspaceMount> out;
  for (const auto& record : records_) {
    if (record->orgId != orgId || record->destroyed()) continue;
    settleLocked(*record, now);
    for (const Json& mount : record->mounts) {
      if (mount.value("workspaceId", std::string()) != workspaceId) continue;
      out.push_back(WorkspaceMount{record->id, record->name, record->status,
                                   mount.value("path", std::string("/workspace")),
                                   mount.value("readOnly", false)});
    }
  }
  return out;
}

void SandboxStore::reset() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& record : records_) {
      signalGroupsLocked(*record, SIGKILL);
      ids.push_back(record->id);
    }
    records_.clear();
    byId_.clear();
    persistLocked();
  }
  for (const std::string& id : ids)
    removeTree(root_ / id);
}

void SandboxStore::shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  shuttingDown_ = true;
  for (auto& record : records_) {
    signalGroupsLocked(*record, SIGKILL);
    record->processGroups.clear();
  }
}

// ---- persistence ---------------------------------------------------------------------------

void SandboxStore::persistLocked() {
  if (!stateFile_) return;
  Json sandboxes = Json::array();
  for (const auto& r : records_) {
    Json entry = *r;
    entry["template"] = r->templateSlug;
    sandboxes.push_back(std::move(entry));
  }
  writeStateFile(*stateFile_, Json{{"sandboxes", std::move(sandboxes)}});
}

void SandboxStore::restore() {
  if (!stateFile_) return;
  std::vector<Record> loaded =
      readRecords<Record>(readStateFile(*stateFile_), "sandboxes",
                          {"id", "orgId", "template", "status"}, [](const Json& entry, Record& r) {
                            r.templateSlug = entry.at("template").get<std::string>();
                            if (!entry.contains("resources")) r.resources = Json::object();
                            updatedAtDefault(entry, r);
                          });
  std::lock_guard<std::mutex> lock(mutex_);
  for (Record& loadedRecord : loaded) {
    if (byId_.count(loadedRecord.id)) continue;
    auto r = std::make_unique<Record>(std::move(loadedRecord));
    if (!r->destroyed()) {
      std::error_code ec;
      fs::create_directories(root_ / r->id, ec);
      if (fs::symlink_status(root_ / r->id / "workspace", ec).type() != fs::file_type::symlink) {
        fs::create_directories(root_ / r->id / "workspace", ec);
      }
      realizeMounts(r->id, r->mounts);
    }
    r->seq = nextSeq_++;
    byId_[r->id] = r.get();
    records_.push_back(std::move(r));
  }
}

}  // namespace rtemu
