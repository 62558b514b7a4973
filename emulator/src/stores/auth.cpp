#include "stores/auth.hpp"

#include <algorithm>
#include <cctype>

#include "http/api_error.hpp"
#include "util/crypto.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"

namespace rtemu {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::size_t kMaxUserIdLength = 128;
constexpr std::size_t kKeyRandomLength = 32;
constexpr const char kAdmin[] = "admin";
constexpr const char kMember[] = "member";

Json nullableMs(const std::optional<std::int64_t>& ms) {
  return ms ? Json(isoTimestamp(*ms)) : Json(nullptr);
}

bool validUserId(const std::string& id) {
  if (id.empty() || id.size() > kMaxUserIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string lowerPrefix(const std::string& id, std::size_t n) {
  std::string out;
  for (const char c : id.substr(0, n)) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace

bool scopesAllow(const std::vector<std::string>& scopes, const std::string& required) {
  // "family:*" allows every scope of that family ("sandbox:*" -> "sandbox:read", ...).
  const std::string family = required.substr(0, required.find(':'));
  for (const std::string& scope : scopes) {
    if (scope == "*" || scope == required || scope == family + ":*") return true;
    // Legacy names (docs/wire-contract.md §2.2).
    if (family == "sandbox" && scope == "sandboxes") return true;
    if (scope == "sandboxes:read" && required == "sandbox:read") return true;
    if ((family == "agent" && scope == "agents") || (family == "tool" && scope == "tools") ||
        (family == "template" && scope == "templates")) {
      return true;
    }
  }
  return false;
}

bool knownScope(const std::string& scope) {
  static const char* const kScopes[] = {
      "*",        "sandbox:*",  "sandbox:create", "sandbox:read",   "sandbox:write",
      "agent:*",  "agent:run",  "agent:read",     "agent:write",    "workflow:*",
      "tool:*",   "ssh-key:*",  "files:*",        "files:read",     "files:write",
      "org:read", "org:write",  "org:members",    "org:*",          "admin:resources",
      "admin:*",  "template:*", "sandboxes",      "sandboxes:read", "agents",
      "tools",    "templates"};
  return std::any_of(std::begin(kScopes), std::end(kScopes),
                     [&](const char* known) { return scope == known; });
}

std::optional<std::int64_t> parseExpiresIn(const std::string& text) {
  if (text.size() < 2 || text.size() > 12) return std::nullopt;
  const char unit = text.back();
  std::int64_t multiplier = 0;
  switch (unit) {
    case 'd':
      multiplier = 86'400'000;
      break;
    case 'h':
      multiplier = 3'600'000;
      break;
    case 'm':
      multiplier = 60'000;
      break;
    case 's':
      multiplier = 1'000;
      break;
    default:
      return std::nullopt;
  }
  std::int64_t amount = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    amount = amount * 10 + (text[i] - '0');
  }
  return amount * multiplier;
}

bool parseApiKeyExpiresIn(const std::string& text, std::optional<std::int64_t>& ms) {
  ms.reset();
  if (text == "never") return true;
  // At most 6 digits: 999999y is far beyond any date the timestamps can render anyway.
  if (text.size() < 2 || text.size() > 7) return false;
  std::int64_t unitMs = 0;
  switch (text.back()) {
    case 'd':
      unitMs = kDayMs;
      break;
    case 'm':
      unitMs = 30 * kDayMs;
      break;
    case 'y':
      unitMs = 365 * kDayMs;
      break;
    default:
      return false;
  }
  std::int64_t amount = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    amount = amount * 10 + (text[i] - '0');
  }
  if (amount < 1) return false;
  ms = amount * unitMs;
  return true;
}

std::optional<std::string> extractCredential(const std::string& authorization,
                                             const std::string& apiKeyHeader) {
  if (!authorization.empty()) {
    constexpr const char kBearer[] = "bearer ";
    constexpr std::size_t kBearerLen = sizeof(kBearer) - 1;
    if (authorization.size() <= kBearerLen) return std::string();
    for (std::size_t i = 0; i < kBearerLen; ++i) {
      if (std::tolower(static_cast<unsigned char>(authorization[i])) != kBearer[i]) {
        return std::string();
      }
    }
    std::string token = authorization.substr(kBearerLen);
    const auto first = token.find_first_not_of(' ');
    const auto last = token.find_last_not_of(' ');
    if (first == std::string::npos) return std::string();
    return token.substr(first, last - first + 1);
  }
  if (!apiKeyHeader.empty()) return apiKeyHeader;
  return std::nullopt;
}

std::string userEmail(const std::string& userId) {
  return lowerPrefix(userId, 8) + "@example.test";
}

// ---- organizations and users ---------------------------------------------------------------

KeyStore::KeyStore(const Clock& clock) : clock_(clock), defaultOrgId_(randomUuid()) {
  std::lock_guard<std::mutex> lock(mutex_);
  ensureOrgLocked(defaultOrgId_);
}

std::string KeyStore::defaultOrgId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return defaultOrgId_;
}

KeyStore::Org& KeyStore::ensureOrgLocked(const std::string& orgId) {
  auto it = orgs_.find(orgId);
  if (it != orgs_.end()) return it->second;
  Org org;
  org.id = orgId;
  org.workosOrgId = newWorkosOrgId();
  if (orgId == defaultOrgId_) {
    org.name = "Emulator Organization";
    org.slug = "emulator";
  } else {
    org.name = "Organization " + orgId.substr(0, 8);
    std::string slug = "org-";
    for (const char c : lowerPrefix(orgId, 8)) {
      slug.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
    }
    org.slug = slug;
  }
  org.createdAtMs = clock_.nowMs();
  org.defaultUserId = randomUuid();
  Org& stored = orgs_.emplace(orgId, std::move(org)).first->second;
  ensureUserLocked(stored, stored.defaultUserId, kAdmin);
  return stored;
}

KeyStore::User& KeyStore::ensureUserLocked(Org& org, const std::string& userId,
                                           const std::string& role) {
  auto it = users_.find(userId);
  if (it != users_.end()) return it->second;
  User user;
  user.id = userId;
  user.orgId = org.id;
  user.role = role;
  user.createdAtMs = clock_.nowMs();
  return users_.emplace(userId, std::move(user)).first->second;
}

void KeyStore::setDefaultOrgId(const std::string& orgId) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (orgId == defaultOrgId_) return;
  const std::string old = defaultOrgId_;
  defaultOrgId_ = orgId;
  auto node = orgs_.extract(old);
  if (!node.empty() && orgs_.find(orgId) == orgs_.end()) {
    node.key() = orgId;
    node.mapped().id = orgId;
    orgs_.insert(std::move(node));
  }
  for (auto& [id, user] : users_) {
    if (user.orgId == old) user.orgId = orgId;
  }
  for (auto& [hash, record] : keys_) {
    if (record.orgId == old) record.orgId = orgId;
  }
  ensureOrgLocked(orgId);
}

void KeyStore::restore(const std::filesystem::path& stateFile) {
  std::lock_guard<std::mutex> lock(mutex_);
  stateFile_ = stateFile;
  const std::string oldDefaultUser = ensureOrgLocked(defaultOrgId_).defaultUserId;
  const Json state = readStateFile(stateFile);
  for (Org& org :
       readRecords<Org>(state, "orgs", {"id", "workosOrgId", "name", "slug", "defaultUserId"})) {
    orgs_[org.id] = std::move(org);
  }
  for (User& user : readRecords<User>(
           state, "users", {"id", "orgId", "role"},
           [](const Json&, User& u) { u.role = u.role == kMember ? kMember : kAdmin; })) {
    users_[user.id] = std::move(user);
  }
  // A key's record is stored with the hash it is found by (the map's key).
  std::vector<std::string> hashes;
  const std::vector<KeyRecord> keys =
      readRecords<KeyRecord>(state, "keys", {"hash", "id", "orgId", "userId", "scopes"},
                             [&hashes](const Json& entry, KeyRecord& record) {
                               if (!entry.contains("prefix")) record.prefix = "rt_live_";
                               hashes.push_back(entry.at("hash").get<std::string>());
                             });
  for (std::size_t i = 0; i < keys.size(); ++i) {
    nextSeq_ = std::max(nextSeq_, keys[i].seq + 1);
    keys_.emplace(hashes[i], keys[i]);  // a hash already known keeps its record
  }
  // The start-up key follows the (possibly reloaded) default organization's default user.
  Org& defaultOrg = ensureOrgLocked(defaultOrgId_);
  if (users_.find(defaultOrg.defaultUserId) == users_.end()) {
    ensureUserLocked(defaultOrg, defaultOrg.defaultUserId, kAdmin);
  }
  for (auto& [hash, record] : keys_) {
    if (!record.persisted) {
      record.orgId = defaultOrgId_;
      record.userId = defaultOrg.defaultUserId;
    }
  }
  if (defaultOrg.defaultUserId != oldDefaultUser) users_.erase(oldDefaultUser);
  persistLocked();
}

void KeyStore::addStartupKey(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Org& org = ensureOrgLocked(defaultOrgId_);
  KeyRecord record;
  record.id = randomUuid();
  record.orgId = org.id;
  record.userId = org.defaultUserId;
  record.scopes = {"*"};
  record.persisted = false;
  record.seq = nextSeq_++;
  record.createdAtMs = clock_.nowMs();
  keys_[sha256Hex(key)] = std::move(record);
}

KeyStore::Minted KeyStore::mint(const std::string& orgId, const std::string& userId,
                                const std::optional<std::string>& role,
                                std::vector<std::string> scopes,
                                std::optional<std::int64_t> expiresAtMs) {
  if (role && *role != kAdmin && *role != kMember) {
    throw validationError("role", "must be admin or member");
  }
  if (!userId.empty() && !validUserId(userId)) {
    throw validationError("user", "must be 1 to 128 letters, digits, '-', '_' or '.'");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string targetOrg = orgId.empty() ? randomUuid() : orgId;
  if (!userId.empty()) {
    const auto existing = users_.find(userId);
    if (existing != users_.end() && existing->second.orgId != targetOrg) {
      throw validationError("user", "belongs to another organization");
    }
  }
  Org& org = ensureOrgLocked(targetOrg);
  std::string user = userId;
  if (user.empty()) {
    // A member key without a user id: a new member of the organization.
    user = role && *role == kMember ? randomUuid() : org.defaultUserId;
  }
  if (user == org.defaultUserId && role && *role == kMember) {
    throw validationError("role", "the organization's default user is always an admin");
  }
  User& record = ensureUserLocked(org, user, role.value_or(kAdmin));
  if (role) record.role = *role;

  Minted minted;
  minted.key = newApiKey();
  minted.orgId = org.id;
  minted.userId = record.id;
  minted.role = record.role;
  KeyRecord key;
  key.id = randomUuid();
  key.orgId = org.id;
  key.userId = record.id;
  key.scopes = scopes.empty() ? std::vector<std::string>{"*"} : std::move(scopes);
  key.expiresAtMs = expiresAtMs;
  key.seq = nextSeq_++;
  key.createdAtMs = clock_.nowMs();
  keys_[sha256Hex(minted.key)] = std::move(key);
  persistLocked();
  return minted;
}

Principal KeyStore::authenticate(const std::string& credential) {
  const std::string hash = credential.empty() ? std::string() : sha256Hex(credential);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = hash.empty() ? keys_.end() : keys_.find(hash);
  if (it == keys_.end() || it->second.revokedAtMs) {
    throw ApiError(401, "invalid_token", "The API key or token is not valid");
  }
  KeyRecord& record = it->second;
  const std::int64_t now = clock_.nowMs();
  if (record.expiresAtMs && now >= *record.expiresAtMs) {
    throw ApiError(401, "token_expired", "The API key has expired");
  }
  record.lastUsedAtMs = now;  // persisted with the next change
  Principal principal;
  principal.orgId = record.orgId;
  principal.userId = record.userId;
  principal.scopes = record.scopes;
  principal.defaultOrg = record.orgId == defaultOrgId_;
  const auto user = users_.find(record.userId);
  principal.admin = user != users_.end() && user->second.role == kAdmin;
  return principal;
}

Json KeyStore::userJson(const std::string& orgId, const std::string& userId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = users_.find(userId);
  if (it == users_.end() || it->second.orgId != orgId) throw notFound("User not found");
  return Json{{"id", userId},
              {"email", userEmail(userId)},
              {"firstName", "Emulator"},
              {"lastName", "User"},
              {"profilePictureUrl", nullptr},
              {"isAdmin", it->second.role == kAdmin},
              {"accessGranted", true},
              {"tutorialCompleted", false}};
}

Json KeyStore::organizationJson(const std::string& orgId, const std::string& userId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto org = orgs_.find(orgId);
  if (org == orgs_.end()) throw notFound("Organization not found");
  const auto user = users_.find(userId);
  const std::string role = user != users_.end() ? user->second.role : kMember;
  return Json{{"id", org->second.id},
              {"workosOrgId", org->second.workosOrgId},
              {"name", org->second.name},
              {"slug", org->second.slug},
              {"plan", "free"},
              {"enterprise", false},
              {"role", role},
              {"orgRole", role},
              {"settings", Json::object()},
              {"createdAt", isoTimestamp(org->second.createdAtMs)}};
}

// ---- managed keys --------------------------------------------------------------------------

KeyStore::KeyRecord* KeyStore::findManagedLocked(const std::string& orgId, const std::string& id) {
  for (auto& [hash, record] : keys_) {
    if (record.managed && record.id == id && record.orgId == orgId && !record.revokedAtMs) {
      return &record;
    }
  }
  return nullptr;
}

Json KeyStore::keyJsonLocked(const KeyRecord& r) const {
  const bool expired = r.expiresAtMs && clock_.nowMs() >= *r.expiresAtMs;
  return Json{{"id", r.id},
              {"name", r.name},
              {"keyPrefix", r.prefix},
              {"scopes", r.scopes},
              {"projectId", r.projectId},
              {"expiresAt", nullableMs(r.expiresAtMs)},
              {"lastUsedAt", nullableMs(r.lastUsedAtMs)},
              {"revokedAt", nullableMs(r.revokedAtMs)},
              {"createdAt", isoTimestamp(r.createdAtMs)},
              {"status", r.revokedAtMs ? "revoked"
                         : expired     ? "expired"
                                       : "active"},
              {"ownerUserId", r.userId},
              {"ownerDisplayName", kUserDisplayName},
              {"ownerEmail", userEmail(r.userId)}};
}

Json KeyStore::issueLocked(KeyRecord record, bool isTest) {
  record.id = randomUuid();
  record.managed = true;
  record.prefix = isTest ? "rt_test_" : "rt_live_";
  record.seq = nextSeq_++;
  record.createdAtMs = clock_.nowMs();
  record.expiresAtMs.reset();
  if (record.lifetimeMs) record.expiresAtMs = record.createdAtMs + *record.lifetimeMs;
  record.lastUsedAtMs.reset();
  record.revokedAtMs.reset();
  const std::string key = record.prefix + randomAlnum(kKeyRandomLength);
  Json out = keyJsonLocked(record);
  out["key"] = key;
  keys_[sha256Hex(key)] = std::move(record);
  persistLocked();
  return out;
}

Json KeyStore::createApiKey(const Principal& caller, const NewKey& spec) {
  std::lock_guard<std::mutex> lock(mutex_);
  KeyRecord record;
  record.orgId = caller.orgId;
  record.userId = caller.userId;
  record.scopes = spec.scopes;
  record.name = spec.name;
  record.lifetimeMs = spec.lifetime;
  record.projectId = spec.projectId;
  return issueLocked(std::move(record), spec.isTest);
}

Json KeyStore::listApiKeys(const std::string& orgId) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const KeyRecord*> mine;
  for (const auto& [hash, record] : keys_) {
    if (record.managed && record.orgId == orgId && !record.revokedAtMs) mine.push_back(&record);
  }
  std::sort(mine.begin(), mine.end(),
            [](const KeyRecord* a, const KeyRecord* b) { return a->seq > b->seq; });
  Json out = Json::array();
  for (const KeyRecord* record : mine)
    out.push_back(keyJsonLocked(*record));
  return out;
}

Json KeyStore::getApiKey(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const KeyRecord* record = findManagedLocked(orgId, id);
  if (!record) throw notFound("API key not found");
  return keyJsonLocked(*record);
}

void KeyStore::updateApiKey(const std::string& orgId, const std::string& id,
                            const std::optional<std::string>& name,
                            const std::optional<std::vector<std::string>>& scopes) {
  std::lock_guard<std::mutex> lock(mutex_);
  KeyRecord* record = findManagedLocked(orgId, id);
  if (!record) throw notFound("API key not found");
  if (name) record->name = *name;
  if (scopes) record->scopes = *scopes;
  persistLocked();
}

void KeyStore::revokeApiKey(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  KeyRecord* record = findManagedLocked(orgId, id);
  if (!record) throw notFound("API key not found");
  record->revokedAtMs = clock_.nowMs();
  persistLocked();
}

Json KeyStore::rotateApiKey(const Principal& caller, const std::string& id,
                            const std::optional<std::string>& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  KeyRecord* old = findManagedLocked(caller.orgId, id);
  if (!old) throw notFound("API key not found");
  KeyRecord fresh;
  fresh.orgId = old->orgId;
  fresh.userId = old->userId;  // the rotated key acts for the same user
  fresh.scopes = old->scopes;
  fresh.name = name.value_or(old->name);
  fresh.lifetimeMs = old->lifetimeMs;
  fresh.projectId = old->projectId;
  const bool isTest = old->prefix == "rt_test_";
  old->revokedAtMs = clock_.nowMs();
  return issueLocked(std::move(fresh), isTest);
}

void KeyStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = keys_.begin(); it != keys_.end();) {
    it = it->second.managed ? keys_.erase(it) : std::next(it);
  }
  persistLocked();
}

void KeyStore::persistLocked() {
  if (!stateFile_) return;
  Json orgs = Json::array();
  for (const auto& [id, org] : orgs_)
    orgs.push_back(org);
  Json users = Json::array();
  for (const auto& [id, user] : users_)
    users.push_back(user);
  Json keys = Json::array();
  for (const auto& [hash, record] : keys_) {
    if (!record.persisted) continue;
    Json entry = record;
    entry["hash"] = hash;
    keys.push_back(std::move(entry));
  }
  writeStateFile(*stateFile_, Json{{"orgs", orgs}, {"users", users}, {"keys", keys}});
}

}  // namespace rtemu
