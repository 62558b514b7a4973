#include "stores/secret_store.hpp"

#include <algorithm>
#include <tuple>

#include "http/api_error.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"

namespace rtemu {
namespace {

Json nullableMs(const std::optional<std::int64_t>& ms) {
  return ms ? Json(isoTimestamp(*ms)) : Json(nullptr);
}

ApiError adminsOnly() {
  return ApiError(403, "forbidden", "Only organization admins can manage org-wide secrets");
}

}  // namespace

SecretStore::SecretStore(std::optional<std::filesystem::path> stateFile, const Clock& clock)
    : stateFile_(std::move(stateFile)), clock_(clock) {}

std::optional<std::string> SecretStore::tryNormalizeName(const std::string& raw) {
  const std::size_t first = raw.find_first_not_of(" \t\r\n\f\v");
  const std::size_t last = raw.find_last_not_of(" \t\r\n\f\v");
  std::string out;
  if (first != std::string::npos) {
    for (std::size_t i = first; i <= last; ++i) {
      char c = raw[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      out.push_back(ok ? c : '_');
    }
  }
  if (out.size() < 2) return std::nullopt;
  return out;
}

std::string SecretStore::normalizeName(const std::string& raw, const std::string& field) {
  auto name = tryNormalizeName(raw);
  if (!name) throw validationError(field, "must have at least 2 characters");
  return *name;
}

Json SecretStore::metadata(const Record& r) {
  const Json createdAt = isoTimestamp(r.createdAtMs);
  const Json updatedAt = isoTimestamp(r.updatedAtMs);
  const Json rotatedAt = nullableMs(r.lastRotatedAtMs);
  return Json{{"id", r.id},
              {"name", r.name},
              {"scope", r.scope},
              {"category", r.category},
              {"description", r.description ? Json(*r.description) : Json(nullptr)},
              {"orgWide", r.orgWide},
              {"ownerUserId", r.orgWide ? Json(nullptr) : Json(r.ownerUserId)},
              {"createdBy", r.createdBy},
              {"created_by", r.createdBy},
              {"createdAt", createdAt},
              {"created_at", createdAt},
              {"updatedAt", updatedAt},
              {"updated_at", updatedAt},
              {"lastRotatedAt", rotatedAt},
              {"last_rotated_at", rotatedAt}};
}

SecretStore::Record* SecretStore::findLocked(const std::string& orgId, const std::string& userId,
                                             const std::string& name, bool orgWide) {
  for (Record& r : records_) {
    if (r.orgId != orgId || r.name != name || r.orgWide != orgWide) continue;
    if (orgWide || r.ownerUserId == userId) return &r;
  }
  return nullptr;
}

SecretStore::Record& SecretStore::requireLocked(const Principal& caller, const std::string& name,
                                                bool orgWide) {
  Record* r = findLocked(caller.orgId, caller.userId, name, orgWide);
  if (!r) throw notFound("Secret " + name + " not found");
  return *r;
}

Json SecretStore::list(const Principal& caller, const ListFilter& filter) {
  if (filter.all && !caller.admin) {
    throw ApiError(403, "forbidden", "Only organization admins can list every user's secrets");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const Record*> out;
  for (const Record& r : records_) {
    if (r.orgId != caller.orgId) continue;
    if (filter.userOnly && r.orgWide) continue;
    if (filter.orgOnly && !r.orgWide) continue;
    if (!r.orgWide && !filter.all && r.ownerUserId != caller.userId) continue;
    if (filter.scope && r.scope != *filter.scope) continue;
    if (filter.category && r.category != *filter.category) continue;
    out.push_back(&r);
  }
  // By name; a private secret before the org-wide one of the same name.
  std::sort(out.begin(), out.end(), [](const Record* a, const Record* b) {
    return std::make_tuple(a->name, a->orgWide, a->ownerUserId) <
           std::make_tuple(b->name, b->orgWide, b->ownerUserId);
  });
  Json items = Json::array();
  for (const Record* r : out)
    items.push_back(metadata(*r));
  return items;
}

Json SecretStore::set(const Principal& caller, const Upsert& spec, bool& created) {
  if (spec.orgWide && !caller.admin) throw adminsOnly();
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now = clock_.nowMs();
  Record* r = findLocked(caller.orgId, caller.userId, spec.name, spec.orgWide);
  created = r == nullptr;
  if (!r) {
    Record fresh;
    fresh.id = randomUuid();
    fresh.orgId = caller.orgId;
    fresh.name = spec.name;
    fresh.orgWide = spec.orgWide;
    fresh.ownerUserId = spec.orgWide ? std::string() : caller.userId;
    fresh.createdBy = caller.userId;
    fresh.createdAtMs = now;
    records_.push_back(std::move(fresh));
    r = &records_.back();
  } else {
    r->lastRotatedAtMs = now;
  }
  r->value = spec.value;
  r->updatedAtMs = now;
  if (spec.scope) r->scope = *spec.scope;
  if (spec.category) r->category = *spec.category;
  if (spec.description) r->description = *spec.description;
  Json out = metadata(*r);
  persistLocked();
  out["created"] = created;
  return out;
}

Json SecretStore::get(const Principal& caller, const std::string& name, bool orgWide) {
  std::lock_guard<std::mutex> lock(mutex_);
  return metadata(requireLocked(caller, name, orgWide));
}

Json SecretStore::reveal(const Principal& caller, const std::string& name, bool orgWide) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& r = requireLocked(caller, name, orgWide);
  if (orgWide && !caller.admin) throw adminsOnly();
  return Json{{"name", r.name}, {"value", r.value}};
}

void SecretStore::remove(const Principal& caller, const std::string& name, bool orgWide) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record& r = requireLocked(caller, name, orgWide);
  if (orgWide && !caller.admin) throw adminsOnly();
  records_.erase(records_.begin() + (&r - records_.data()));
  persistLocked();
}

std::optional<std::string> SecretStore::lookupValue(const std::string& orgId,
                                                    const std::string& userId,
                                                    const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const bool orgWide : {false, true}) {
    if (const Record* r = findLocked(orgId, userId, name, orgWide)) return r->value;
  }
  return std::nullopt;
}

void SecretStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  records_.clear();
  persistLocked();
}

void SecretStore::persistLocked() {
  if (!stateFile_) return;
  writeStateFile(*stateFile_, Json{{"secrets", recordsJson(records_)}});
}

void SecretStore::restore() {
  if (!stateFile_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  records_ = readRecords<Record>(readStateFile(*stateFile_), "secrets",
                                 {"id", "orgId", "name", "value"}, updatedAtDefault<Record>);
}

}  // namespace rtemu
