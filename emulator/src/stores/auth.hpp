// Identity: organizations, their users, and API keys (credential lookup, expiry, revocation,
// scopes), plus the keys managed through /v1/api-keys.
//
// Only the SHA-256 hex of a key is kept, in memory and (with a state dir) in "identity.json"
// (owner-only, written atomically) together with the organizations and users. The key given
// at start-up (or the generated one) is never written anywhere. Keys are never logged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stores/persistence.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

// The authenticated caller of a request.
struct Principal {
  std::string orgId;
  std::string userId;
  std::vector<std::string> scopes;
  bool defaultOrg = false;
  bool admin = false;  // the user's role in the organization is "admin"
};

// Scope checks (docs/wire-contract.md §2.2): "*" allows everything, "family:*" every scope of that
// family
// ("files:*" -> files:read and files:write); legacy "sandboxes"/"sandboxes:read", "agents",
// "tools" and "templates" map to the corresponding families.
bool scopesAllow(const std::vector<std::string>& scopes, const std::string& required);
// True for a scope name of docs/wire-contract.md §2.2 (the union, legacy names included).
bool knownScope(const std::string& scope);

// Parses "30d" | "12h" | "90m" | "45s" into milliseconds; nullopt when malformed.
// (/_emu/keys; "m" is minutes here.)
std::optional<std::int64_t> parseExpiresIn(const std::string& text);

// The `expiresIn` of /v1/api-keys: "<N>d", "<N>m" (months of 30 days), "<N>y" (365 days) with
// N >= 1, or "never". Returns false when malformed; `ms` is left empty for "never".
bool parseApiKeyExpiresIn(const std::string& text, std::optional<std::int64_t>& ms);

// Credential presented with a request: Authorization: Bearer wins over X-API-Key.
// Returns nullopt when no credential was presented; an empty string for a malformed
// Authorization header (which authenticates as invalid).
std::optional<std::string> extractCredential(const std::string& authorization,
                                             const std::string& apiKeyHeader);

// The synthetic e-mail address of user `userId`: "<first 8 characters>@example.test".
std::string userEmail(const std::string& userId);
constexpr const char kUserDisplayName[] = "Emulator User";

class KeyStore {
 public:
  explicit KeyStore(const Clock& clock);

  std::string defaultOrgId() const;
  // Replaces the default organization id (used when reloading a persisted state dir).
  void setDefaultOrgId(const std::string& orgId);
  // Loads organizations, users and keys from `stateFile` when it exists, and from then on
  // writes them there after each change. Call after setDefaultOrgId().
  void restore(const std::filesystem::path& stateFile);

  // Registers the start-up key for the default organization's default user (never persisted).
  void addStartupKey(const std::string& key);

  struct Minted {
    std::string key;
    std::string orgId;
    std::string userId;
    std::string role;
  };
  // Mints a key (/_emu/keys). `orgId` empty = a brand-new organization; unknown = created
  // with that id. `userId` empty = the organization's default user, or a new user when
  // `role` is "member"; an unknown id = a new user of that organization. `role` (admin |
  // member) sets the user's role. 400 validation_error for a user of another organization,
  // a malformed user id or demoting a default user.
  Minted mint(const std::string& orgId, const std::string& userId,
              const std::optional<std::string>& role, std::vector<std::string> scopes,
              std::optional<std::int64_t> expiresAtMs);

  // Throws ApiError 401 invalid_token (unknown or revoked) / token_expired. Records the use.
  Principal authenticate(const std::string& credential);

  Json userJson(const std::string& orgId, const std::string& userId);          // GET /v1/me
  Json organizationJson(const std::string& orgId, const std::string& userId);  // .../current

  // ---- keys managed through /v1/api-keys ---------------------------------------------------
  struct NewKey {
    std::string name;
    std::vector<std::string> scopes;       // validated, non-empty
    std::optional<std::int64_t> lifetime;  // ms; empty = never expires
    bool isTest = false;
    Json projectId;  // string or null
  };
  // The 201 `data` of POST /v1/api-keys (with `key`).
  Json createApiKey(const Principal& caller, const NewKey& spec);
  // The organization's non-revoked managed keys, newest first (without `key`).
  Json listApiKeys(const std::string& orgId);
  // 404 not_found when unknown, revoked or another organization's.
  Json getApiKey(const std::string& orgId, const std::string& id);
  void updateApiKey(const std::string& orgId, const std::string& id,
                    const std::optional<std::string>& name,
                    const std::optional<std::vector<std::string>>& scopes);
  void revokeApiKey(const std::string& orgId, const std::string& id);
  // A new key with the old one's scopes, prefix and lifetime (named `name` or the old name);
  // the old key is revoked. Same shape as createApiKey().
  Json rotateApiKey(const Principal& caller, const std::string& id,
                    const std::optional<std::string>& name);

  // Forgets every managed key (organizations, users and /_emu keys stay).
  void reset();

 private:
  struct Org {
    std::string id;
    std::string workosOrgId;
    std::string name;
    std::string slug;
    std::string defaultUserId;
    std::int64_t createdAtMs = 0;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Org, id, workosOrgId, name, slug, defaultUserId,
                                                createdAtMs)
  };
  struct User {
    std::string id;
    std::string orgId;
    std::string role;  // admin | member
    std::int64_t createdAtMs = 0;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(User, id, orgId, role, createdAtMs)
  };
  struct KeyRecord {
    std::string id;
    std::string orgId;
    std::string userId;
    std::vector<std::string> scopes;
    std::optional<std::int64_t> expiresAtMs;
    bool managed = false;   // created through /v1/api-keys
    bool persisted = true;  // false for the start-up key
    std::uint64_t seq = 0;  // creation order
    // Managed keys only.
    std::string name;
    std::string prefix;
    std::optional<std::int64_t> lifetimeMs;
    Json projectId;
    std::int64_t createdAtMs = 0;
    std::optional<std::int64_t> lastUsedAtMs;
    std::optional<std::int64_t> revokedAtMs;

    // Persisted with its hash; `persisted` itself is not.
    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(KeyRecord, id, orgId, userId, scopes, expiresAtMs,
                                                managed, seq, name, prefix, lifetimeMs, projectId,
                                                createdAtMs, lastUsedAtMs, revokedAtMs)
  };

  Org& ensureOrgLocked(const std::string& orgId);
  User& ensureUserLocked(Org& org, const std::string& userId, const std::string& role);
  KeyRecord* findManagedLocked(const std::string& orgId, const std::string& id);
  Json keyJsonLocked(const KeyRecord& record) const;
  Json issueLocked(KeyRecord record, bool isTest);
  void persistLocked();

  const Clock& clock_;
  mutable std::mutex mutex_;
  std::string defaultOrgId_;
  std::optional<std::filesystem::path> stateFile_;
  std::uint64_t nextSeq_ = 0;
  std::map<std::string, Org> orgs_;
  std::map<std::string, User> users_;
  std::unordered_map<std::string, KeyRecord> keys_;  // SHA-256 hex of the key -> record
};

}  // namespace rtemu
