#include "stores/oauth_store.hpp"

#include <algorithm>

#include "http/api_error.hpp"
#include "util/encoding.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"

namespace rtemu {
namespace {

constexpr char kUrlSafe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// RFC 8628 section 6.1: no vowels (no words) and no ambiguous characters.
constexpr char kUserCodeAlphabet[] = "BCDFGHJKLMNPQRSTVWXZ";
constexpr std::size_t kStateLength = 32;
constexpr std::size_t kAttemptTokenLength = 40;
// Finished or expired states and attempts are forgotten this long after their expiry.
constexpr std::int64_t kForgetAfterMs = 60 * 60 * 1000;

ApiError badState(const std::string& why) {
  return ApiError(400, "bad_request", "Invalid OAuth state: " + why);
}

// "abcd-efgh", "ABCDEFGH", " abcd efgh " -> "ABCD-EFGH".
std::string normalizeUserCode(const std::string& raw) {
  std::string letters;
  for (const char c : raw) {
    if (c == '-' || c == ' ') continue;
    letters.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  if (letters.size() != 8) return letters;
  return letters.substr(0, 4) + "-" + letters.substr(4);
}

}  // namespace

OAuthStore::OAuthStore(std::optional<std::filesystem::path> stateFile, const Clock& clock)
    : stateFile_(std::move(stateFile)), clock_(clock) {}

const std::vector<std::string>& OAuthStore::redirectProviders() {
  static const std::vector<std::string> kProviders = {
      "google", "github", "slack", "discord", "microsoft", "x", "linkedin", "telegram", "whatsapp"};
  return kProviders;
}

bool OAuthStore::isRedirectProvider(const std::string& provider) {
  const auto& all = redirectProviders();
  return std::find(all.begin(), all.end(), provider) != all.end();
}

bool OAuthStore::isDeviceProvider(const std::string& provider) {
  return provider == "openai-codex" || provider == "github";
}

void OAuthStore::pruneLocked(std::int64_t now) {
  for (auto it = states_.begin(); it != states_.end();) {
    it = now > it->second.expiresAtMs + kForgetAfterMs ? states_.erase(it) : std::next(it);
  }
  for (auto it = attempts_.begin(); it != attempts_.end();) {
    it = now > it->second.expiresAtMs + kForgetAfterMs ? attempts_.erase(it) : std::next(it);
  }
}

// ---- redirect flow -----------------------------------------------------------------------

OAuthStore::Started OAuthStore::startRedirect(const Principal& caller, const std::string& provider,
                                              std::vector<std::string> scopes,
                                              std::optional<std::string> redirectUri) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now = clock_.nowMs();
  pruneLocked(now);
  State state;
  state.orgId = caller.orgId;
  state.userId = caller.userId;
  state.provider = provider;
  state.scopes = std::move(scopes);
  state.redirectUri = std::move(redirectUri);
  state.expiresAtMs = now + kStateLifetimeMs;
  Started started;
  started.state = randomFrom(kUrlSafe, kStateLength);
  started.expiresAtMs = state.expiresAtMs;
  states_[started.state] = std::move(state);
  return started;
}

std::string OAuthStore::authorize(const std::string& stateId) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = states_.find(stateId);
  if (stateId.empty() || it == states_.end()) throw badState("unknown state");
  if (it->second.used) throw badState("the state has already been used");
  if (clock_.nowMs() >= it->second.expiresAtMs) throw badState("the state has expired");
  return it->second.provider;
}

OAuthStore::CallbackResult OAuthStore::callback(const std::string& provider,
                                                const std::optional<std::string>& stateId,
                                                const std::optional<std::string>& code,
                                                const std::optional<std::string>& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!stateId || stateId->empty()) throw badState("the state parameter is missing");
  const auto it = states_.find(*stateId);
  if (it == states_.end()) throw badState("unknown state");
  State& state = it->second;
  CallbackResult result;
  result.provider = provider;
  result.redirectUri = state.redirectUri;
  result.error = "bad_request";
  if (state.used || clock_.nowMs() >= state.expiresAtMs || state.provider != provider) {
    return result;  // the state stays as it is
  }
  if (error) {
    state.used = true;
    result.error = "access_denied";
    return result;
  }
  if (!code || code->empty()) return result;
  state.used = true;
  const Connection& connection =
      connectLocked(state.orgId, state.userId, provider, state.scopes, "redirect");
  result.success = true;
  result.error.clear();
  result.connectionId = connection.id;
  persistLocked();
  return result;
}

// ---- connections -------------------------------------------------------------------------

Json OAuthStore::toJson(const Connection& c) {
  return Json{{"id", c.id},
              {"provider", c.provider},
              {"displayName", c.displayName},
              {"status", "active"},
              {"scopes", c.scopes},
              {"connectedAt", isoTimestamp(c.connectedAtMs)},
              {"lastUsedAt", nullptr},
              {"expiresAt", nullptr},
              {"authType", c.authType},
              {"userId", c.userId},
              {"isDefault", c.isDefault},
              {"ownerDisplayName", kUserDisplayName},
              {"ownerEmail", userEmail(c.userId)}};
}

OAuthStore::Connection& OAuthStore::connectLocked(const std::string& orgId,
                                                  const std::string& userId,
                                                  const std::string& provider,
                                                  std::vector<std::string> scopes,
                                                  const std::string& authType) {
  Connection c;
  c.id = randomUuid();
  c.orgId = orgId;
  c.userId = userId;
  c.provider = provider;
  c.displayName = provider + " user " + std::to_string(++counters_[orgId + "/" + provider]);
  c.scopes = std::move(scopes);
  c.authType = authType;
  c.connectedAtMs = clock_.nowMs();
  c.seq = nextSeq_++;
  c.isDefault = std::none_of(connections_.begin(), connections_.end(), [&](const Connection& o) {
    return o.orgId == orgId && o.userId == userId && o.provider == provider;
  });
  connections_.push_back(std::move(c));
  return connections_.back();
}

OAuthStore::Connection* OAuthStore::findConnectionLocked(const Principal& caller,
                                                         const std::string& id) {
  for (Connection& c : connections_) {
    if (c.id == id && c.orgId == caller.orgId && c.userId == caller.userId) return &c;
  }
  return nullptr;
}

Json OAuthStore::connections(const Principal& caller, bool all) {
  if (all && !caller.admin) {
    throw ApiError(403, "forbidden", "Only organization admins can list every user's connections");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::array();
  for (const Connection& c : connections_) {
    if (c.orgId == caller.orgId && (all || c.userId == caller.userId)) out.push_back(toJson(c));
  }
  return out;
}

void OAuthStore::disconnect(const Principal& caller, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Connection* c = findConnectionLocked(caller, id);
  if (!c) throw notFound("Connection not found");
  const Connection gone = *c;
  connections_.erase(connections_.begin() + (c - connections_.data()));
  if (gone.isDefault) {
    Connection* newest = nullptr;
    for (Connection& o : connections_) {
      if (o.orgId == gone.orgId && o.userId == gone.userId && o.provider == gone.provider &&
          (!newest || o.seq > newest->seq)) {
        newest = &o;
      }
    }
    if (newest) newest->isDefault = true;
  }
  persistLocked();
}

bool OAuthStore::connected(const Principal& caller, const std::string& provider) {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(connections_.begin(), connections_.end(), [&](const Connection& c) {
    return c.orgId == caller.orgId && c.userId == caller.userId && c.provider == provider;
  });
}

Json OAuthStore::makeDefault(const Principal& caller, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Connection* target = findConnectionLocked(caller, id);
  if (!target) throw notFound("Connection not found");
  for (Connection& c : connections_) {
    if (c.orgId == target->orgId && c.userId == target->userId && c.provider == target->provider) {
      c.isDefault = &c == target;
    }
  }
  persistLocked();
  return toJson(*target);
}

std::optional<std::string> OAuthStore::defaultConnection(const std::string& orgId,
                                                         const std::string& userId,
                                                         const std::string& provider) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Connection& c : connections_) {
    if (c.orgId == orgId && c.userId == userId && c.provider == provider && c.isDefault) {
      return c.id;
    }
  }
  return std::nullopt;
}

// ---- device flow -------------------------------------------------------------------------

void OAuthStore::setDeviceAutoApprove(std::optional<std::int64_t> afterMs) {
  std::lock_guard<std::mutex> lock(mutex_);
  deviceAutoApproveMs_ = afterMs;
}

void OAuthStore::connectAttemptLocked(Attempt& attempt) {
  const Connection& c =
      connectLocked(attempt.orgId, attempt.userId, attempt.provider, {}, "device_code");
  attempt.status = "connected";
  attempt.connectionId = c.id;
  attempt.displayName = c.displayName;
  persistLocked();
}

Json OAuthStore::deviceStart(const Principal& caller, const std::string& provider,
                             const std::string& baseUrl, std::int64_t intervalSeconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now = clock_.nowMs();
  pruneLocked(now);
  Attempt attempt;
  attempt.orgId = caller.orgId;
  attempt.userId = caller.userId;
  attempt.provider = provider;
  attempt.startedAtMs = now;
  attempt.expiresAtMs = now + kDeviceLifetimeMs;
  // User codes are unique among the attempts still remembered.
  for (;;) {
    const std::string letters = randomFrom(kUserCodeAlphabet, 8);
    attempt.userCode = letters.substr(0, 4) + "-" + letters.substr(4);
    const bool taken = std::any_of(attempts_.begin(), attempts_.end(), [&](const auto& entry) {
      return entry.second.userCode == attempt.userCode;
    });
    if (!taken) break;
  }
  const std::string token = randomAlnum(kAttemptTokenLength);
  const std::string verification = baseUrl + "/_emu/oauth/device";
  Json out{{"provider", provider},
           {"authType", "device_code"},
           {"attemptToken", token},
           {"verificationUri", verification},
           {"verificationUriComplete", verification + "?user_code=" + attempt.userCode},
           {"userCode", attempt.userCode},
           {"interval", intervalSeconds},
           {"expiresAt", isoTimestamp(attempt.expiresAtMs)}};
  attempts_[token] = std::move(attempt);
  return out;
}

Json OAuthStore::deviceStatus(const Principal& caller, const std::string& provider,
                              const std::string& attemptToken, std::int64_t intervalSeconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = attempts_.find(attemptToken);
  if (it == attempts_.end() || it->second.orgId != caller.orgId ||
      it->second.provider != provider) {
    throw notFound("Device authorization attempt not found");
  }
  Attempt& a = it->second;
  const std::int64_t now = clock_.nowMs();
  std::string status = a.status;
  if (status == "pending" && now >= a.expiresAtMs) {
    status = "expired";
  } else if (status == "pending" && deviceAutoApproveMs_ &&
             now - a.startedAtMs >= *deviceAutoApproveMs_) {
    connectAttemptLocked(a);
    status = a.status;
  }
  Json out{{"provider", a.provider},
           {"status", status},
           {"interval", intervalSeconds},
           {"expiresAt", isoTimestamp(a.expiresAtMs)}};
  if (status == "connected") {
    out["displayName"] = a.displayName;
    out["connectionId"] = a.connectionId;
  }
  return out;
}

Json OAuthStore::approve(const std::optional<std::string>& userCode,
                         const std::optional<std::string>& attemptToken, bool deny) {
  std::lock_guard<std::mutex> lock(mutex_);
  Attempt* attempt = nullptr;
  if (attemptToken) {
    const auto it = attempts_.find(*attemptToken);
    if (it != attempts_.end()) attempt = &it->second;
  } else if (userCode) {
    const std::string wanted = normalizeUserCode(*userCode);
    for (auto& [token, a] : attempts_) {
      if (a.userCode == wanted) attempt = &a;
    }
  }
  if (!attempt) throw notFound("Device authorization attempt not found");
  const bool expired = attempt->status == "pending" && clock_.nowMs() >= attempt->expiresAtMs;
  if (attempt->status != "pending" || expired) {
    throw ApiError(409, "conflict",
                   "The device authorization attempt is already " +
                       (expired ? std::string("expired") : attempt->status));
  }
  Json out{{"provider", attempt->provider}, {"userCode", attempt->userCode}};
  if (deny) {
    attempt->status = "denied";
    out["status"] = "denied";
    return out;
  }
  connectAttemptLocked(*attempt);
  out["status"] = "connected";
  out["connectionId"] = attempt->connectionId;
  out["displayName"] = attempt->displayName;
  return out;
}

// ---- BYOA configs ------------------------------------------------------------------------

Json OAuthStore::upsertConfig(const std::string& orgId, const std::string& provider,
                              const std::string& clientId, const std::string& clientSecret,
                              const std::string& scopes) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t now = clock_.nowMs();
  auto it = std::find_if(configs_.begin(), configs_.end(), [&](const Config& c) {
    return c.orgId == orgId && c.provider == provider;
  });
  if (it == configs_.end()) {
    if (clientSecret.empty()) {
      throw ApiError(400, "bad_request", "client_secret is required for a new provider config")
          .withDetails("client_secret", "is required");
    }
    Config c;
    c.id = randomUuid();
    c.orgId = orgId;
    c.provider = provider;
    c.createdAtMs = now;
    configs_.push_back(std::move(c));
    it = std::prev(configs_.end());
  }
  it->clientId = clientId;
  if (!clientSecret.empty()) it->clientSecret = clientSecret;
  it->scopes = scopes;
  it->updatedAtMs = now;
  persistLocked();
  return Json{{"id", it->id}, {"provider", it->provider}};
}

Json OAuthStore::listConfigs(const std::string& orgId) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const Config*> mine;
  for (const Config& c : configs_) {
    if (c.orgId == orgId) mine.push_back(&c);
  }
  std::sort(mine.begin(), mine.end(),
            [](const Config* a, const Config* b) { return a->provider < b->provider; });
  Json out = Json::array();
  for (const Config* c : mine) {
    const std::string createdAt = isoTimestamp(c->createdAtMs);
    const std::string updatedAt = isoTimestamp(c->updatedAtMs);
    out.push_back(Json{{"id", c->id},
                       {"provider", c->provider},
                       {"client_id", c->clientId},
                       {"clientId", c->clientId},
                       {"scopes", c->scopes},
                       {"enabled", true},
                       {"created_at", createdAt},
                       {"createdAt", createdAt},
                       {"updated_at", updatedAt},
                       {"updatedAt", updatedAt}});
  }
  return out;
}

void OAuthStore::deleteConfig(const std::string& orgId, const std::string& provider) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = std::find_if(configs_.begin(), configs_.end(), [&](const Config& c) {
    return c.orgId == orgId && c.provider == provider;
  });
  if (it == configs_.end()) throw notFound("No provider config for " + provider);
  configs_.erase(it);
  persistLocked();
}

void OAuthStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  states_.clear();
  attempts_.clear();
  connections_.clear();
  configs_.clear();
  counters_.clear();
  persistLocked();
}

// ---- persistence -------------------------------------------------------------------------

void OAuthStore::persistLocked() {
  if (!stateFile_) return;
  writeStateFile(*stateFile_, Json{{"connections", recordsJson(connections_)},
                                   {"configs", recordsJson(configs_)},
                                   {"counters", counters_}});
}

void OAuthStore::restore() {
  if (!stateFile_) return;
  const Json state = readStateFile(*stateFile_);
  if (!state.is_object()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  connections_ = readRecords<Connection>(state, "connections",
                                         {"id", "orgId", "userId", "provider", "displayName"},
                                         [](const Json& entry, Connection& c) {
                                           if (!entry.contains("authType")) c.authType = "redirect";
                                         });
  for (const Connection& c : connections_)
    nextSeq_ = std::max(nextSeq_, c.seq + 1);
  configs_ = readRecords<Config>(state, "configs", {"id", "orgId", "provider", "clientId"},
                                 updatedAtDefault<Config>);
  const Json counters = state.value("counters", Json::object());
  if (counters.is_object()) {
    for (const auto& [key, value] : counters.items()) {
      if (value.is_number_unsigned()) counters_[key] = value.get<std::uint64_t>();
    }
  }
}

}  // namespace rtemu
