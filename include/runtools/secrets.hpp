#pragma once

/// @file
/// Secrets (`rt.secrets`; docs/wire-contract.md §4.9). Values are write-only except through
/// reveal(), which returns a SecretString.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/raw_json.hpp"
#include "runtools/secret_string.hpp"

namespace runtools::internal {
class ServiceClient;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// A secret's metadata; never its value.
struct SecretInfo {
  std::string id;
  /// As normalised by the platform (upper case, `[A-Z0-9_]`).
  std::string name;
  std::string scope;     ///< all, agents, tools, sandboxes
  std::string category;  ///< provider, tool, custom
  std::string description;
  bool orgWide = false;
  std::optional<std::string> ownerUserId;
  std::optional<std::string> createdBy;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> updatedAt;
  std::optional<Timestamp> lastRotatedAt;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, SecretInfo& secret);

struct SetSecretOptions {
  std::optional<std::string> scope;
  std::optional<std::string> category;
  std::optional<std::string> description;
  /// An organization-wide secret (admins only).
  bool orgWide = false;
};

/// The answer to SecretsClient::set.
struct SetSecretResult {
  SecretInfo secret;
  /// True when the secret was created, false when its value was rotated.
  bool created = false;
};

struct ListSecretsOptions {
  bool userOnly = false;
  bool orgOnly = false;
  bool all = false;
  std::optional<std::string> category;
  std::optional<std::string> scope;
};

struct SecretLookupOptions {
  /// Address the organization-wide secret of that name.
  bool orgWide = false;
};

/// Secrets (`rt.secrets`). Names are sent as given; the platform normalises
/// them (so `bars_token` and `BARS_TOKEN` are one secret).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class SecretsClient {
 public:
  explicit SecretsClient(std::shared_ptr<internal::ServiceClient> tools);

  std::vector<SecretInfo> list(const ListSecretsOptions& options = {}) const;
  /// Creates the secret or rotates its value.
  SetSecretResult set(const std::string& name, const std::string& value,
                      const SetSecretOptions& options = {}) const;
  SecretInfo get(const std::string& name, const SecretLookupOptions& options = {}) const;
  /// The secret's value.
  SecretString reveal(const std::string& name, const SecretLookupOptions& options = {}) const;
  void remove(const std::string& name, const SecretLookupOptions& options = {}) const;

 private:
  std::shared_ptr<internal::ServiceClient> tools_;
};

}  // namespace runtools
