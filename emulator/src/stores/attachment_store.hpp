// Agent attachments (docs/wire-contract.md §4.7): records, pre-signed uploads to the emulator
// itself (PUT /_emu/uploads/{id}), completion and resolution.
//
// Uploaded bytes always live in "<root>/<id>.bin" (streamed to disk, never held in memory);
// with `durable`, the records are also kept in "<root>/attachments.json" (written atomically)
// and reloaded by restore().
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "stores/persistence.hpp"
#include "util/fs_util.hpp"
#include "util/json_util.hpp"
#include "util/time_util.hpp"

namespace rtemu {

struct AttachmentUpload;  // an upload in progress (AttachmentStore::beginUpload)

class AttachmentStore {
 public:
  static constexpr std::uint64_t kMaxBytes = 104857600;  // 100 MB
  static constexpr std::int64_t kUploadUrlLifetimeMs = 15 * 60 * 1000;

  AttachmentStore(std::filesystem::path root, bool durable, const Clock& clock);
  void restore();

  struct NewAttachment {
    std::string threadId;
    std::string filename;
    std::string contentType;
    std::optional<std::string> agentSlug;
    std::optional<std::int64_t> sizeBytes;
  };
  // The 201 body of POST /v1/agent-attachments.
  Json create(const Principal& caller, const NewAttachment& spec, const std::string& baseUrl);

  // Opens a temporary file for the upload of attachment `id`: 404 not_found when unknown, 403
  // forbidden when its upload URL has expired, 409 when it is already completed.
  AttachmentUpload beginUpload(const std::string& id);
  // Moves a fully received upload into place (a second upload replaces the first); returns
  // {id, sizeBytes}.
  Json commitUpload(AttachmentUpload& upload);

  Json complete(const std::string& orgId, const std::string& id);
  Json resolve(const std::string& orgId, const std::string& id, const std::string& model,
               const std::string& baseUrl);

  // Filenames of the completed attachments `ids` of the organization (in order); 400
  // validation_error (field `field`) when one is unknown or not completed.
  std::vector<std::string> readyFilenames(const std::string& orgId,
                                          const std::vector<std::string>& ids,
                                          const std::string& field);

  // The uploaded content of `id` (any organization: the id is the credential) with its
  // content type; nullopt when nothing was uploaded.
  struct Content {
    std::filesystem::path file;
    std::string contentType;
  };
  std::optional<Content> content(const std::string& id);

  void reset();

 private:
  struct Record {
    std::string id;
    std::string orgId;
    std::string threadId;
    std::string filename;
    std::string contentType;
    std::optional<std::string> agentSlug;
    std::optional<std::int64_t> declaredSize;
    std::int64_t receivedBytes = 0;
    bool uploaded = false;
    bool ready = false;
    std::int64_t createdAtMs = 0;
    std::int64_t expiresAtMs = 0;

    NLOHMANN_DEFINE_TYPE_INTRUSIVE_WITH_DEFAULT(Record, id, orgId, threadId, filename, contentType,
                                                agentSlug, declaredSize, receivedBytes, uploaded,
                                                ready, createdAtMs, expiresAtMs)
  };

  Record* findLocked(const std::string& id);
  Record& requireLocked(const std::string& orgId, const std::string& id);
  Json toJsonLocked(const Record& record) const;
  void persistLocked();
  std::filesystem::path dataFile(const std::string& id) const;

  const std::filesystem::path root_;
  const bool durable_;
  const Clock& clock_;
  std::mutex mutex_;
  std::vector<Record> records_;
};

// A temporary file receiving one upload; removed unless committed.
struct AttachmentUpload {
  std::string id;
  std::filesystem::path tempPath;
  UniqueFd fd;
  std::uint64_t bytes = 0;
  bool committed = false;

  AttachmentUpload() = default;
  AttachmentUpload(AttachmentUpload&& other) noexcept
      : id(std::move(other.id)),
        tempPath(std::move(other.tempPath)),
        fd(std::move(other.fd)),
        bytes(other.bytes),
        committed(other.committed) {
    other.tempPath.clear();
    other.committed = true;
  }
  AttachmentUpload& operator=(AttachmentUpload&&) = delete;
  AttachmentUpload(const AttachmentUpload&) = delete;
  AttachmentUpload& operator=(const AttachmentUpload&) = delete;
  ~AttachmentUpload();

  bool append(const char* data, std::size_t size);
};

}  // namespace rtemu
