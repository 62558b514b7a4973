// SSH public keys of every organization (docs/wire-contract.md §4.12): OpenSSH line parsing,
// fingerprints (exactly what `ssh-keygen -lf` prints), records and their persistence
// ("ssh_keys.json", written atomically, owner-only).
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

struct ParsedSshKey {
  std::string type;         // ssh-ed25519, ...
  std::string blob;         // the decoded key blob
  std::string comment;      // may be empty
  std::string fingerprint;  // "SHA256:" + unpadded base64 of SHA-256(blob)
};

// Parses one OpenSSH public-key line "<type> <base64> [comment]". Throws 400 bad_request (with
// details.field `field`) when the type is not allowed, the base64 does not decode, or the blob
// does not start with the SSH string of the same type name.
ParsedSshKey parseSshPublicKey(const std::string& line, const std::string& field);

class SshKeyStore {
 public:
  SshKeyStore(std::optional<std::filesystem::path> stateFile, const Clock& clock);
  void restore();

  // 201 body of POST /v1/ssh-keys; 409 conflict for a fingerprint already in the organization.
  Json add(const Principal& caller, const std::string& name, const ParsedSshKey& key);
  Json list(const std::string& orgId);                           // creation order
  void remove(const std::string& orgId, const std::string& id);  // 404 when unknown
  void reset();

 private:
  struct Record {
    std::string id;
    std::string orgId;
    std::string userId;
    std::string name;
    std::string type;
    std::string publicKey;  // "<type> <base64>"
    std::string fingerprint;
    std::int64_t createdAtMs = 0;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Record, id, orgId, userId, name, type, publicKey,
                                                fingerprint, createdAtMs)
  };
  static Json toJson(const Record& record);
  void persistLocked();

  const std::optional<std::filesystem::path> stateFile_;
  const Clock& clock_;
  std::mutex mutex_;
  std::vector<Record> records_;
};

}  // namespace rtemu
