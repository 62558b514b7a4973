#include "stores/workspace_store.hpp"

#include <algorithm>
#include <system_error>

#include "http/api_error.hpp"
#include "stores/owner.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"
#include "util/time_util.hpp"

namespace rtemu {

namespace fs = std::filesystem;

struct WorkspaceStore::Record {
  WorkspaceRecord data;
};

WorkspaceStore::WorkspaceStore(fs::path root, std::optional<fs::path> stateFile, const Clock& clock)
    : root_(std::move(root)), stateFile_(std::move(stateFile)), clock_(clock) {}

WorkspaceStore::~WorkspaceStore() = default;

fs::path WorkspaceStore::filesDir(const std::string& id) const {
  return root_ / id / "files";
}

std::string WorkspaceStore::deriveSlug(const std::string& name) {
  std::string slug;
  bool pendingDash = false;
  for (const char raw : name) {
    const char c = (raw >= 'A' && raw <= 'Z') ? static_cast<char>(raw - 'A' + 'a') : raw;
    if (isLowerAlnum(c)) {
      if (pendingDash && !slug.empty()) slug.push_back('-');
      pendingDash = false;
      slug.push_back(c);
    } else {
      pendingDash = true;  // a run of other characters (incl. UTF-8 bytes) becomes one '-'
    }
  }
  // Leading dashes were never emitted and trailing ones are pending only: trimmed.
  if (slug.size() > kMaxSlugLength) slug.resize(kMaxSlugLength);
  return slug.empty() ? "workspace" : slug;
}

bool WorkspaceStore::validSlug(const std::string& slug) {
  if (slug.empty() || slug.size() > kMaxSlugLength || !isLowerAlnum(slug.front())) return false;
  for (const char c : slug) {
    if (!isLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

WorkspaceStore::Record* WorkspaceStore::findLocked(const std::string& orgId,
                                                   const std::string& id) {
  for (const auto& record : records_) {
    if (record->data.id == id && record->data.orgId == orgId) return record.get();
  }
  return nullptr;
}

WorkspaceRecord WorkspaceStore::copyOf(const Record& record) const {
  return record.data;
}

Json WorkspaceStore::toJson(const WorkspaceRecord& r, std::int64_t sizeBytes) const {
  return Json{
      {"id", r.id},
      {"slug", r.slug},
      {"name", r.name},
      {"sizeBytes", sizeBytes},
      {"quotaBytes", kQuotaBytes},
      {"createdAt", isoTimestamp(r.createdAtMs)},
      {"updatedAt", isoTimestamp(r.updatedAtMs)},
      {"lastAccessedAt", r.lastAccessedAtMs ? Json(isoTimestamp(*r.lastAccessedAtMs)) : Json()},
      {"isPersonal", false},
      {"ownerUserId", r.ownerUserId},
      {"ownerDisplayName", kOwnerDisplayName},
      {"ownerEmail", kOwnerEmail},
  };
}

Json WorkspaceStore::create(const Principal& caller, const std::string& name,
                            const std::string& slug) {
  WorkspaceRecord r;
  r.id = randomUuid();
  r.orgId = caller.orgId;
  r.slug = slug.empty() ? deriveSlug(name) : slug;
  r.name = name;
  r.ownerUserId = caller.userId;
  r.createdAtMs = clock_.nowMs();
  r.updatedAtMs = r.createdAtMs;

  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& record : records_) {
    if (record->data.orgId == r.orgId && record->data.slug == r.slug) {
      throw ApiError(409, "already_exists", "A workspace with slug '" + r.slug + "' already exists")
          .withDetails("slug", "already exists");
    }
  }
  // The directory exists (and is durable) before the workspace is visible or persisted.
  std::error_code ec;
  fs::create_directories(filesDir(r.id), ec);
  if (ec) throw ApiError(500, "internal_error", "Could not create the workspace directory");
  fsyncDirectory(root_ / r.id);
  fsyncDirectory(root_);
  auto record = std::make_unique<Record>();
  record->data = r;
  records_.push_back(std::move(record));
  persistLocked();
  Json out = toJson(r, 0);
  out["nfsPath"] = "/mnt/workspaces/" + r.id;
  return out;
}

Json WorkspaceStore::list(const std::string& orgId) {
  std::vector<WorkspaceRecord> mine;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& record : records_) {
      if (record->data.orgId == orgId) mine.push_back(copyOf(*record));
    }
  }
  Json workspaces = Json::array();
  std::int64_t used = 0;
  for (const WorkspaceRecord& r : mine) {
    const std::int64_t size = directorySizeBytes(filesDir(r.id));
    used += size;
    workspaces.push_back(toJson(r, size));
  }
  return Json{
      {"workspaces", std::move(workspaces)},
      {"storage", {{"usedBytes", used}, {"quotaBytes", kOrgQuotaBytes}, {"unlimited", false}}}};
}

WorkspaceRecord WorkspaceStore::require(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record* record = findLocked(orgId, id);
  if (!record) throw notFound("Workspace not found");
  return copyOf(*record);
}

bool WorkspaceStore::exists(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return findLocked(orgId, id) != nullptr;
}

Json WorkspaceStore::get(const std::string& orgId, const std::string& id) {
  const WorkspaceRecord r = require(orgId, id);
  return toJson(r, directorySizeBytes(filesDir(r.id)));
}

Json WorkspaceStore::rename(const std::string& orgId, const std::string& id,
                            const std::string& name) {
  WorkspaceRecord r;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Record* record = findLocked(orgId, id);
    if (!record) throw notFound("Workspace not found");
    record->data.name = name;
    record->data.updatedAtMs = clock_.nowMs();
    persistLocked();
    r = copyOf(*record);
  }
  return toJson(r, directorySizeBytes(filesDir(r.id)));
}

void WorkspaceStore::remove(const std::string& orgId, const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool found = false;
    for (auto it = records_.begin(); it != records_.end(); ++it) {
      if ((*it)->data.id == id && (*it)->data.orgId == orgId) {
        records_.erase(it);
        found = true;
        break;
      }
    }
    if (!found) throw notFound("Workspace not found");
    persistLocked();
  }
  removeTree(root_ / id);
}

void WorkspaceStore::touch(const std::string& id, bool persist) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& record : records_) {
    if (record->data.id == id) {
      record->data.lastAccessedAtMs = clock_.nowMs();
      if (persist) persistLocked();
      return;
    }
  }
}

void WorkspaceStore::reset() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& record : records_)
      ids.push_back(record->data.id);
    records_.clear();
    persistLocked();
  }
  for (const std::string& id : ids)
    removeTree(root_ / id);
}

// ---- persistence ---------------------------------------------------------------------------

void WorkspaceStore::persistLocked() {
  if (!stateFile_) return;
  Json workspaces = Json::array();
  for (const auto& record : records_)
    workspaces.push_back(record->data);
  writeStateFile(*stateFile_, Json{{"workspaces", std::move(workspaces)}});
}

void WorkspaceStore::restore() {
  if (!stateFile_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (WorkspaceRecord& r : readRecords<WorkspaceRecord>(readStateFile(*stateFile_), "workspaces",
                                                         {"id", "orgId", "slug", "name"},
                                                         updatedAtDefault<WorkspaceRecord>)) {
    // Ids become directory names: never accept one that is not a plain UUID-like name.
    if (r.id.empty() || r.id.find('/') != std::string::npos || r.id == "." || r.id == "..") {
      continue;
    }
    const bool duplicate = std::any_of(
        records_.begin(), records_.end(),
        [&](const std::unique_ptr<Record>& existing) { return existing->data.id == r.id; });
    if (duplicate) continue;
    std::error_code ec;
    fs::create_directories(filesDir(r.id), ec);
    auto record = std::make_unique<Record>();
    record->data = std::move(r);
    records_.push_back(std::move(record));
  }
}

}  // namespace rtemu
