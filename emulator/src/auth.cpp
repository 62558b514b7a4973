#include "auth.hpp"

#include <algorithm>
#include <cctype>

#include "api_error.hpp"
#include "ids.hpp"
#include "time_util.hpp"

namespace rtemu {

bool scopesAllow(const std::vector<std::string>& scopes, const std::string& required) {
  // "family:*" allows every scope of that family ("sandbox:*" -> "sandbox:read", ...).
  const std::string family = required.substr(0, required.find(':'));
  for (const std::string& scope : scopes) {
    if (scope == "*" || scope == required || scope == family + ":*") return true;
    // Legacy names (spec section 2.2).
    if (family == "sandbox" && scope == "sandboxes") return true;
    if (scope == "sandboxes:read" && required == "sandbox:read") return true;
  }
  return false;
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

KeyStore::KeyStore() : defaultOrgId_(randomUuid()) {}

void KeyStore::setDefaultOrgId(const std::string& orgId) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [key, record] : keys_) {
    if (record.orgId == defaultOrgId_) record.orgId = orgId;
  }
  defaultOrgId_ = orgId;
}

std::string KeyStore::userFor(const std::string& orgId) {
  auto it = orgUsers_.find(orgId);
  if (it == orgUsers_.end()) it = orgUsers_.emplace(orgId, randomUuid()).first;
  return it->second;
}

void KeyStore::addKey(const std::string& key, const std::string& orgId,
                      std::vector<std::string> scopes, std::optional<std::int64_t> expiresAtMs) {
  std::lock_guard<std::mutex> lock(mutex_);
  KeyRecord record;
  record.orgId = orgId.empty() ? defaultOrgId_ : orgId;
  record.userId = userFor(record.orgId);
  record.scopes = scopes.empty() ? std::vector<std::string>{"*"} : std::move(scopes);
  record.expiresAtMs = expiresAtMs;
  keys_[key] = std::move(record);
}

std::pair<std::string, std::string> KeyStore::mint(const std::string& orgId,
                                                   std::vector<std::string> scopes,
                                                   std::optional<std::int64_t> expiresAtMs) {
  const std::string org = orgId.empty() ? randomUuid() : orgId;
  const std::string key = newApiKey();
  addKey(key, org, std::move(scopes), expiresAtMs);
  return {key, org};
}

Principal KeyStore::authenticate(const std::string& credential) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = credential.empty() ? keys_.end() : keys_.find(credential);
  if (it == keys_.end()) {
    throw ApiError(401, "invalid_token", "The API key or token is not valid");
  }
  const KeyRecord& record = it->second;
  if (record.expiresAtMs && nowUnixMillis() >= *record.expiresAtMs) {
    throw ApiError(401, "token_expired", "The API key has expired");
  }
  Principal principal;
  principal.orgId = record.orgId;
  principal.userId = record.userId;
  principal.scopes = record.scopes;
  principal.defaultOrg = record.orgId == defaultOrgId_;
  return principal;
}

}  // namespace rtemu
