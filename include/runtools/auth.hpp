#pragma once

/// @file
/// OAuth connections, provider configs, API keys, SSH keys and identity
/// (`rt.auth`; docs/wire-contract.md §2, §4.10–4.12, §4.14).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/cancellation.hpp"
#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/operation.hpp"
#include "runtools/raw_json.hpp"
#include "runtools/secret_string.hpp"

namespace runtools::internal {
class ServiceClient;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

// ------------------------------------------------------------------ OAuth

struct ConnectOptions {
  std::vector<std::string> scopes;
  /// Where the platform redirects after consent; must be
  /// `http://localhost:<port>/...` or `http://127.0.0.1:<port>/...`.
  std::optional<std::string> redirectUri;
};

/// Where to send the user to connect an account.
struct ConnectResult {
  std::string authUrl;
  std::string state;
  std::optional<Timestamp> expiresAt;
};

/// A connected account.
struct Connection {
  std::string id;
  std::string provider;
  std::string displayName;
  std::string status;
  std::vector<std::string> scopes;
  std::optional<Timestamp> connectedAt;
  std::optional<Timestamp> lastUsedAt;
  std::optional<Timestamp> expiresAt;
  std::string authType;  ///< redirect or device_code
  std::string userId;
  bool isDefault = false;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, Connection& connection);

/// A started device-code flow: show `userCode` and `verificationUri` to the
/// user, then poll.
struct DeviceFlow {
  std::string provider;
  /// Identifies the attempt when polling; kept out of logs.
  SecretString attemptToken;
  std::string verificationUri;
  std::string verificationUriComplete;
  std::string userCode;
  std::chrono::seconds interval{5};
  std::optional<Timestamp> expiresAt;
};

/// The state of a device-code flow.
struct DeviceFlowStatus {
  std::string provider;
  /// pending, connected, expired, denied (or slow_down while polling too fast).
  std::string status;
  std::string displayName;
  std::chrono::seconds interval{5};
  std::optional<Timestamp> expiresAt;
  std::optional<std::string> connectionId;

  bool connected() const noexcept { return status == "connected"; }
};

struct PollDeviceFlowOptions {
  /// Stops polling with CancelledError.
  std::optional<CancellationToken> cancellation;
  /// Called after each poll that is still pending.
  std::function<void(const DeviceFlowStatus&)> onPending;
};

/// A bring-your-own-app OAuth client for a provider.
struct ProviderConfig {
  std::string clientId;
  /// Empty keeps the stored secret.
  SecretString clientSecret;
  /// Comma-separated, as the platform takes them.
  std::string scopes;
};

/// A stored provider config (the secret is never returned).
struct ProviderConfigInfo {
  std::string id;
  std::string provider;
  std::string clientId;
  std::string scopes;
  bool enabled = true;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> updatedAt;
  RawJson raw;
};

// ------------------------------------------------------------------ identity

struct User {
  std::string id;
  std::string email;
  std::string firstName;
  std::string lastName;
  std::optional<std::string> profilePictureUrl;
  bool isAdmin = false;
  bool accessGranted = false;
  bool tutorialCompleted = false;
  RawJson raw;
};

struct Organization {
  std::string id;
  std::string workosOrgId;
  std::string name;
  std::string slug;
  std::string plan;
  bool enterprise = false;
  std::string role;
  std::string orgRole;
  nlohmann::json settings;
  std::optional<Timestamp> createdAt;
  RawJson raw;
};

// ------------------------------------------------------------------ API keys

/// An API key's metadata (the key itself is only in CreatedApiKey).
struct ApiKey {
  std::string id;
  std::string name;
  std::string keyPrefix;
  std::vector<std::string> scopes;
  std::optional<std::string> projectId;
  std::optional<Timestamp> expiresAt;
  std::optional<Timestamp> lastUsedAt;
  std::optional<Timestamp> revokedAt;
  std::optional<Timestamp> createdAt;
  std::string status;  ///< active, revoked, expired
  /// The metadata as received, without the key.
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, ApiKey& key);

/// A new API key: the only time the platform shows the full key.
struct CreatedApiKey {
  ApiKey apiKey;
  SecretString key;
  std::string message;
};

struct CreateApiKeyOptions {
  std::string name;
  /// Empty means full access (`*`).
  std::vector<std::string> scopes;
  /// `30d`, `90d`, `1y`, `6m` or `never`.
  std::optional<std::string> expiresIn;
  bool isTest = false;
  std::optional<std::string> projectId;
};

struct UpdateApiKeyOptions {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> scopes;
};

/// API keys of the organization (`rt.auth.apiKeys`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class ApiKeyClient {
 public:
  explicit ApiKeyClient(std::shared_ptr<internal::ServiceClient> api);
  CreatedApiKey create(const CreateApiKeyOptions& options) const;
  /// Active keys, newest first.
  std::vector<ApiKey> list() const;
  ApiKey get(const std::string& id) const;
  ApiKey update(const std::string& id, const UpdateApiKeyOptions& options) const;
  void revoke(const std::string& id) const;
  /// A new key replacing `id` (which is revoked).
  CreatedApiKey rotate(const std::string& id,
                       const std::optional<std::string>& name = std::nullopt) const;

 private:
  std::shared_ptr<internal::ServiceClient> api_;
};

// ------------------------------------------------------------------ SSH keys

struct SshKey {
  std::string id;
  std::string name;
  /// `SHA256:...`, as OpenSSH prints it.
  std::string fingerprint;
  std::string keyType;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> lastUsedAt;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, SshKey& key);

/// SSH public keys for sandbox access (`rt.sshKeys`, also `rt.auth.sshKeys`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class SshKeyClient {
 public:
  explicit SshKeyClient(std::shared_ptr<internal::ServiceClient> api);
  /// Registers an OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
  SshKey add(const std::string& name, const std::string& publicKey) const;
  std::vector<SshKey> list() const;
  void remove(const std::string& id) const;

 private:
  std::shared_ptr<internal::ServiceClient> api_;
};

// ------------------------------------------------------------------ AuthClient

/// OAuth connections, provider configs, API keys, SSH keys and identity
/// (`rt.auth`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class AuthClient {
 public:
  AuthClient(std::shared_ptr<internal::ServiceClient> api,
             std::shared_ptr<internal::ServiceClient> auth);

  /// Starts connecting an account: send the user to `authUrl`.
  ConnectResult connect(const std::string& provider, const ConnectOptions& options = {}) const;
  bool isConnected(const std::string& provider) const;
  std::vector<Connection> listConnections() const;
  Connection setDefault(const std::string& connectionId) const;
  void disconnect(const std::string& connectionId) const;
  /// Provider ids (`github`, `google`, ...).
  std::vector<std::string> providers() const;

  DeviceFlow startDeviceFlow(const std::string& provider) const;
  /// One status check of a device flow.
  DeviceFlowStatus deviceFlowStatus(const DeviceFlow& flow) const;
  /// Polls at the server's interval (slowing down when told to) until the
  /// flow is connected, denied or expired, and returns that status. Stops
  /// with CancelledError when the token is cancelled.
  DeviceFlowStatus pollDeviceFlow(const DeviceFlow& flow,
                                  const PollDeviceFlowOptions& options = {}) const;
  /// The non-blocking form of pollDeviceFlow(): its waits are timers.
  Operation<DeviceFlowStatus> pollDeviceFlowAsync(const DeviceFlow& flow,
                                                  const PollDeviceFlowOptions& options = {}) const;

  /// Sets (creates or replaces) the OAuth app used for `provider`.
  ProviderConfigInfo setProviderConfig(const std::string& provider,
                                       const ProviderConfig& config) const;
  std::vector<ProviderConfigInfo> listProviderConfigs() const;
  void deleteProviderConfig(const std::string& provider) const;

  /// The user behind the credential.
  User me() const;
  /// The organization of the credential.
  Organization organization() const;

 private:
  std::shared_ptr<internal::ServiceClient> api_;
  std::shared_ptr<internal::ServiceClient> auth_;

 public:
  ApiKeyClient apiKeys;
  SshKeyClient sshKeys;
};

}  // namespace runtools
