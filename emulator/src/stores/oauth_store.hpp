// OAuth (docs/wire-contract.md §4.10): redirect-flow states, device-code attempts, connections
// (with one default per user and provider) and BYOA provider configs. Connections and configs
// (client secrets included) persist in "oauth.json" (written atomically, owner-only); states and
// device attempts live in memory only. Every expiry follows the emulator's Clock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "stores/persistence.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

class OAuthStore {
 public:
  static constexpr std::int64_t kStateLifetimeMs = 10 * 60 * 1000;
  static constexpr std::int64_t kDeviceLifetimeMs = 10 * 60 * 1000;

  OAuthStore(std::optional<std::filesystem::path> stateFile, const Clock& clock);
  void restore();

  // The nine redirect providers, in documentation order.
  static const std::vector<std::string>& redirectProviders();
  static bool isRedirectProvider(const std::string& provider);
  static bool isDeviceProvider(const std::string& provider);  // openai-codex, github

  // ---- redirect flow --------------------------------------------------------------------
  struct Started {
    std::string state;
    std::int64_t expiresAtMs = 0;
  };
  Started startRedirect(const Principal& caller, const std::string& provider,
                        std::vector<std::string> scopes, std::optional<std::string> redirectUri);
  // The provider of a live, unused state; 400 bad_request otherwise.
  std::string authorize(const std::string& state);

  struct CallbackResult {
    bool success = false;
    std::string provider;
    std::optional<std::string> redirectUri;  // of the state, when it had one
    std::string connectionId;                // on success
    std::string error;                       // on failure: bad_request | access_denied
  };
  // Completes a redirect flow (a state is usable once). An unknown or missing state -> 400
  // bad_request; a known but expired/used/mismatched one -> failure "bad_request" (the route
  // redirects to its redirect_uri, or answers 400 when it has none); `error` (the user denied
  // access) -> failure "access_denied", the state used up.
  CallbackResult callback(const std::string& provider, const std::optional<std::string>& state,
                          const std::optional<std::string>& code,
                          const std::optional<std::string>& error);

  // ---- connections ------------------------------------------------------------------------
  Json connections(const Principal& caller, bool all);  // `all`: admins only (403)
  void disconnect(const Principal& caller, const std::string& id);
  bool connected(const Principal& caller, const std::string& provider);
  Json makeDefault(const Principal& caller, const std::string& id);
  // The user's default active connection of `provider`, if any.
  std::optional<std::string> defaultConnection(const std::string& orgId, const std::string& userId,
                                               const std::string& provider);

  // ---- device flow ------------------------------------------------------------------------
  // A pending attempt approves itself `afterMs` after it started (nullopt = never).
  void setDeviceAutoApprove(std::optional<std::int64_t> afterMs);
  Json deviceStart(const Principal& caller, const std::string& provider, const std::string& baseUrl,
                   std::int64_t intervalSeconds);
  // 404 not_found for an unknown token (or another organization's, or another provider's).
  Json deviceStatus(const Principal& caller, const std::string& provider,
                    const std::string& attemptToken, std::int64_t intervalSeconds);
  // Approves (or denies) a pending attempt found by user code or token: 404 when unknown,
  // 409 conflict when already finished (connected, denied or expired).
  Json approve(const std::optional<std::string>& userCode,
               const std::optional<std::string>& attemptToken, bool deny);

  // ---- BYOA provider configs --------------------------------------------------------------
  // Upsert per organization; `clientSecret` empty = keep the stored one (400 bad_request when
  // there is none). Returns {id, provider}.
  Json upsertConfig(const std::string& orgId, const std::string& provider,
                    const std::string& clientId, const std::string& clientSecret,
                    const std::string& scopes);
  Json listConfigs(const std::string& orgId);  // never the secret
  void deleteConfig(const std::string& orgId, const std::string& provider);

  void reset();

 private:
  struct State {
    std::string orgId;
    std::string userId;
    std::string provider;
    std::vector<std::string> scopes;
    std::optional<std::string> redirectUri;
    std::int64_t expiresAtMs = 0;
    bool used = false;
  };
  struct Attempt {
    std::string orgId;
    std::string userId;
    std::string provider;
    std::string userCode;
    std::int64_t startedAtMs = 0;
    std::int64_t expiresAtMs = 0;
    std::string status = "pending";  // pending | connected | denied
    std::string connectionId;
    std::string displayName;
  };
  struct Connection {
    std::string id;
    std::string orgId;
    std::string userId;
    std::string provider;
    std::string displayName;
    std::vector<std::string> scopes;
    std::string authType;  // redirect | device_code
    bool isDefault = false;
    std::int64_t connectedAtMs = 0;
    std::uint64_t seq = 0;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Connection, id, orgId, userId, provider,
                                                displayName, scopes, authType, isDefault,
                                                connectedAtMs, seq)
  };
  struct Config {
    std::string id;
    std::string orgId;
    std::string provider;
    std::string clientId;
    std::string clientSecret;
    std::string scopes;
    std::int64_t createdAtMs = 0;
    std::int64_t updatedAtMs = 0;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Config, id, orgId, provider, clientId, clientSecret,
                                                scopes, createdAtMs, updatedAtMs)
  };

  static Json toJson(const Connection& connection);
  Connection& connectLocked(const std::string& orgId, const std::string& userId,
                            const std::string& provider, std::vector<std::string> scopes,
                            const std::string& authType);
  Connection* findConnectionLocked(const Principal& caller, const std::string& id);
  void pruneLocked(std::int64_t now);
  void connectAttemptLocked(Attempt& attempt);
  void persistLocked();

  const std::optional<std::filesystem::path> stateFile_;
  const Clock& clock_;
  std::optional<std::int64_t> deviceAutoApproveMs_;
  std::mutex mutex_;
  std::map<std::string, State> states_;
  std::map<std::string, Attempt> attempts_;  // by attempt token
  std::vector<Connection> connections_;      // creation order
  std::vector<Config> configs_;
  std::map<std::string, std::uint64_t> counters_;  // "<org>/<provider>" -> connections made
  std::uint64_t nextSeq_ = 0;
};

}  // namespace rtemu
