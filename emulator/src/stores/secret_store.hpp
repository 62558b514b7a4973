// Secrets (docs/wire-contract.md §4.9): user-private or org-wide named values, their metadata, and
// their persistence ("secrets.json", written atomically, owner-only). Values leave the store only
// through reveal() and lookupValue() (tool credential resolution); they are never logged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "stores/persistence.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

class SecretStore {
 public:
  SecretStore(std::optional<std::filesystem::path> stateFile, const Clock& clock);
  void restore();

  // Trim, upper-case, every character outside [A-Z0-9_] -> '_'; fewer than 2 characters ->
  // 400 validation_error (details.field `field`).
  static std::string normalizeName(const std::string& raw, const std::string& field = "name");
  // The same without throwing: nullopt for a name that normalises to fewer than 2 characters.
  static std::optional<std::string> tryNormalizeName(const std::string& raw);

  struct ListFilter {
    std::optional<std::string> scope;
    std::optional<std::string> category;
    bool userOnly = false;
    bool orgOnly = false;
    bool all = false;  // admins: every user's private secrets too
  };
  Json list(const Principal& caller, const ListFilter& filter);

  struct Upsert {
    std::string name;  // normalised
    std::string value;
    std::optional<std::string> scope;
    std::optional<std::string> category;
    std::optional<std::string> description;
    bool orgWide = false;
  };
  // Creates (created = true) or rotates the caller's private secret, or the org-wide one.
  // Returns the metadata with `created`. 403 forbidden: a member asking for orgWide.
  Json set(const Principal& caller, const Upsert& spec, bool& created);
  // The caller's private secret `name` (normalised), or the org-wide one with `orgWide`.
  Json get(const Principal& caller, const std::string& name, bool orgWide);
  // {name, value}; org-wide ones for admins only (403 forbidden).
  Json reveal(const Principal& caller, const std::string& name, bool orgWide);
  // Org-wide ones for admins only (403 forbidden).
  void remove(const Principal& caller, const std::string& name, bool orgWide);

  // Credential resolution: the value of secret `name` (normalised) visible to the user, the
  // private one first, then the org-wide one.
  std::optional<std::string> lookupValue(const std::string& orgId, const std::string& userId,
                                         const std::string& name);

  void reset();

 private:
  struct Record {
    std::string id;
    std::string orgId;
    std::string name;
    std::string value;
    std::string scope = "all";
    std::string category = "provider";
    std::optional<std::string> description;
    bool orgWide = false;
    std::string ownerUserId;  // empty for org-wide secrets
    std::string createdBy;
    std::int64_t createdAtMs = 0;
    std::int64_t updatedAtMs = 0;
    std::optional<std::int64_t> lastRotatedAtMs;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Record, id, orgId, name, value, scope, category,
                                                description, orgWide, ownerUserId, createdBy,
                                                createdAtMs, updatedAtMs, lastRotatedAtMs)
  };
  static Json metadata(const Record& record);
  Record* findLocked(const std::string& orgId, const std::string& userId, const std::string& name,
                     bool orgWide);
  Record& requireLocked(const Principal& caller, const std::string& name, bool orgWide);
  void persistLocked();

  const std::optional<std::filesystem::path> stateFile_;
  const Clock& clock_;
  std::mutex mutex_;
  std::vector<Record> records_;
};

}  // namespace rtemu
