#include "stores/ssh_key_store.hpp"

#include <algorithm>

#include "http/api_error.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"
#include "util/fs_util.hpp"
#include "util/ids.hpp"

namespace rtemu {
namespace {

const char* const kKeyTypes[] = {"ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256",
                                 "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"};

ApiError badKey(const std::string& field, const std::string& reason) {
  ApiError error(400, "bad_request", "Invalid SSH public key: " + reason);
  error.withDetails(field, reason);
  return error;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

ParsedSshKey parseSshPublicKey(const std::string& line, const std::string& field) {
  // Surrounding whitespace (a trailing newline from a .pub file included) is ignored; the
  // rest must be one line.
  const std::size_t first = line.find_first_not_of(" \t\r\n");
  const std::size_t last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) throw badKey(field, "is empty");
  const std::string text = line.substr(first, last - first + 1);
  if (text.find_first_of("\r\n") != std::string::npos || text.find('\0') != std::string::npos) {
    throw badKey(field, "must be a single line");
  }
  std::size_t pos = 0;
  auto nextToken = [&]() {
    while (pos < text.size() && isSpace(text[pos]))
      ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !isSpace(text[pos]))
      ++pos;
    return text.substr(start, pos - start);
  };
  ParsedSshKey key;
  key.type = nextToken();
  const std::string encoded = nextToken();
  while (pos < text.size() && isSpace(text[pos]))
    ++pos;
  key.comment = text.substr(pos);
  if (std::none_of(std::begin(kKeyTypes), std::end(kKeyTypes),
                   [&](const char* t) { return key.type == t; })) {
    throw badKey(field, "the key type must be ssh-rsa, ssh-ed25519 or ecdsa-sha2-nistp256/384/521");
  }
  if (encoded.empty()) throw badKey(field, "the base64 key data is missing");
  const auto blob = base64Decode(encoded);
  if (!blob) throw badKey(field, "the key data is not valid base64");
  // The blob starts with the key type as an SSH string: 4-byte big-endian length + name.
  const std::size_t n = key.type.size();
  if (blob->size() < 4 + n) throw badKey(field, "the key data is too short");
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>((*blob)[i]); };
  const std::uint32_t length = (std::uint32_t{byte(0)} << 24) | (std::uint32_t{byte(1)} << 16) |
                               (std::uint32_t{byte(2)} << 8) | std::uint32_t{byte(3)};
  if (length != n || blob->compare(4, n, key.type) != 0) {
    throw badKey(field, "the key data does not match the key type " + key.type);
  }
  key.blob = *blob;
  key.fingerprint = "SHA256:" + base64Encode(sha256(*blob), false);
  return key;
}

SshKeyStore::SshKeyStore(std::optional<std::filesystem::path> stateFile, const Clock& clock)
    : stateFile_(std::move(stateFile)), clock_(clock) {}

Json SshKeyStore::toJson(const Record& r) {
  const std::string createdAt = isoTimestamp(r.createdAtMs);
  return Json{{"id", r.id},
              {"name", r.name},
              {"fingerprint", r.fingerprint},
              {"key_type", r.type},
              {"keyType", r.type},
              {"created_at", createdAt},
              {"createdAt", createdAt},
              {"last_used_at", nullptr},
              {"lastUsedAt", nullptr}};
}

Json SshKeyStore::add(const Principal& caller, const std::string& name, const ParsedSshKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Record& r : records_) {
    if (r.orgId == caller.orgId && r.fingerprint == key.fingerprint) {
      throw ApiError(409, "conflict",
                     "An SSH key with fingerprint " + key.fingerprint + " already exists");
    }
  }
  Record r;
  r.id = randomUuid();
  r.orgId = caller.orgId;
  r.userId = caller.userId;
  r.name = name;
  r.type = key.type;
  r.publicKey = key.type + " " + base64Encode(key.blob, true);
  r.fingerprint = key.fingerprint;
  r.createdAtMs = clock_.nowMs();
  records_.push_back(r);
  persistLocked();
  return toJson(r);
}

Json SshKeyStore::list(const std::string& orgId) {
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::array();
  for (const Record& r : records_) {
    if (r.orgId == orgId) out.push_back(toJson(r));
  }
  return out;
}

void SshKeyStore::remove(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = std::find_if(records_.begin(), records_.end(),
                               [&](const Record& r) { return r.id == id && r.orgId == orgId; });
  if (it == records_.end()) throw notFound("SSH key not found");
  records_.erase(it);
  persistLocked();
}

void SshKeyStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  records_.clear();
  persistLocked();
}

void SshKeyStore::persistLocked() {
  if (!stateFile_) return;
  writeStateFile(*stateFile_, Json{{"sshKeys", recordsJson(records_)}});
}

void SshKeyStore::restore() {
  if (!stateFile_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  records_ = readRecords<Record>(readStateFile(*stateFile_), "sshKeys",
                                 {"id", "orgId", "name", "type", "fingerprint"});
}

}  // namespace rtemu
