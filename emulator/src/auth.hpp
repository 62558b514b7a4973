// Organizations and API keys: credential lookup, expiry, scopes.
//
// Keys are held only in memory and are never logged. Every key belongs to an organization;
// the default organization owns the key given at start-up (or the generated one).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace rtemu {

// The authenticated caller of a request.
struct Principal {
  std::string orgId;
  std::string userId;
  std::vector<std::string> scopes;
  bool defaultOrg = false;
};

// Scope checks (spec section 2.2): "*" allows everything, "family:*" every scope of that family
// ("files:*" -> files:read and files:write); legacy "sandboxes"/"sandboxes:read" map to the
// sandbox scopes.
bool scopesAllow(const std::vector<std::string>& scopes, const std::string& required);

// Parses "30d" | "12h" | "90m" | "45s" into milliseconds; nullopt when malformed.
std::optional<std::int64_t> parseExpiresIn(const std::string& text);

// Credential presented with a request: Authorization: Bearer wins over X-API-Key.
// Returns nullopt when no credential was presented; an empty string for a malformed
// Authorization header (which authenticates as invalid).
std::optional<std::string> extractCredential(const std::string& authorization,
                                             const std::string& apiKeyHeader);

class KeyStore {
 public:
  KeyStore();

  const std::string& defaultOrgId() const { return defaultOrgId_; }
  // Replaces the default organization id (used when reloading a persisted state dir).
  void setDefaultOrgId(const std::string& orgId);

  // Registers `key` for organization `orgId` (empty = the default organization).
  void addKey(const std::string& key, const std::string& orgId, std::vector<std::string> scopes,
              std::optional<std::int64_t> expiresAtMs);
  // Mints a new key; `orgId` empty = a brand-new organization. Returns {key, orgId}.
  std::pair<std::string, std::string> mint(const std::string& orgId,
                                           std::vector<std::string> scopes,
                                           std::optional<std::int64_t> expiresAtMs);

  // Throws ApiError 401 invalid_token / token_expired.
  Principal authenticate(const std::string& credential) const;

 private:
  struct KeyRecord {
    std::string orgId;
    std::string userId;
    std::vector<std::string> scopes;
    std::optional<std::int64_t> expiresAtMs;
  };

  std::string userFor(const std::string& orgId);  // requires mutex_ held

  mutable std::mutex mutex_;
  std::string defaultOrgId_;
  std::unordered_map<std::string, KeyRecord> keys_;
  std::unordered_map<std::string, std::string> orgUsers_;  // orgId -> synthetic user id
};

}  // namespace rtemu
