#include "stores/attachment_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

#include "http/api_error.hpp"
#include "http/sse.hpp"
#include "util/ids.hpp"
#include "util/time_util.hpp"

namespace rtemu {

namespace fs = std::filesystem;

namespace {

constexpr char kStateFile[] = "attachments.json";
constexpr std::size_t kMaxResolvedText = 64 * 1024;

bool startsWith(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

std::string lowerCase(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

}  // namespace

AttachmentUpload::~AttachmentUpload() {
  if (!committed && !tempPath.empty()) {
    fd.reset();
    ::unlink(tempPath.c_str());
  }
}

bool AttachmentUpload::append(const char* data, std::size_t size) {
  bytes += size;
  return writeAll(fd.get(), data, size);
}

AttachmentStore::AttachmentStore(fs::path root, bool durable, const Clock& clock)
    : root_(std::move(root)), durable_(durable), clock_(clock) {}

fs::path AttachmentStore::dataFile(const std::string& id) const {
  return root_ / (id + ".bin");
}

AttachmentStore::Record* AttachmentStore::findLocked(const std::string& id) {
  for (Record& record : records_) {
    if (record.id == id) return &record;
  }
  return nullptr;
}

AttachmentStore::Record& AttachmentStore::requireLocked(const std::string& orgId,
                                                        const std::string& id) {
  Record* record = findLocked(id);
  if (!record || record->orgId != orgId) throw notFound("Attachment not found");
  return *record;
}

Json AttachmentStore::toJsonLocked(const Record& r) const {
  return Json{{"id", r.id},
              {"threadId", r.threadId},
              {"filename", r.filename},
              {"contentType", r.contentType},
              {"sizeBytes", r.ready ? Json(r.receivedBytes)
                                    : (r.declaredSize ? Json(*r.declaredSize) : Json(nullptr))},
              {"status", r.ready ? "ready" : "pending"},
              {"materializations", Json::array()}};
}

Json AttachmentStore::create(const Principal& caller, const NewAttachment& spec,
                             const std::string& baseUrl) {
  Record record;
  record.id = randomUuid();
  record.orgId = caller.orgId;
  record.threadId = spec.threadId;
  record.filename = spec.filename;
  record.contentType = spec.contentType;
  record.agentSlug = spec.agentSlug;
  record.declaredSize = spec.sizeBytes;
  record.createdAtMs = clock_.nowMs();
  record.expiresAtMs = record.createdAtMs + kUploadUrlLifetimeMs;
  std::lock_guard<std::mutex> lock(mutex_);
  records_.push_back(record);
  persistLocked();
  return Json{{"id", record.id},
              {"uploadUrl", baseUrl + "/_emu/uploads/" + record.id},
              {"method", "PUT"},
              {"headers", Json{{"Content-Type", record.contentType}}},
              {"expiresAt", isoTimestamp(record.expiresAtMs)}};
}

AttachmentUpload AttachmentStore::beginUpload(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Record* record = findLocked(id);
    if (!record) throw notFound("Upload not found");
    if (record->ready) {
      throw ApiError(409, "invalid_state_transition", "The attachment is already completed");
    }
    if (clock_.nowMs() > record->expiresAtMs) {
      throw ApiError(403, "forbidden", "The upload URL has expired");
    }
  }
  AttachmentUpload upload;
  upload.id = id;
  std::string pattern = (root_ / (".upload-" + id + "-XXXXXX")).string();
  upload.fd = UniqueFd(::mkostemp(pattern.data(), O_CLOEXEC));
  if (!upload.fd) throw ApiError(500, "internal_error", "Could not store the upload");
  upload.tempPath = pattern;
  return upload;
}

Json AttachmentStore::commitUpload(AttachmentUpload& upload) {
  if (durable_ && ::fsync(upload.fd.get()) != 0) {
    throw ApiError(500, "internal_error", "Could not store the upload");
  }
  upload.fd.reset();
  std::lock_guard<std::mutex> lock(mutex_);
  Record* record = findLocked(upload.id);
  if (!record) throw notFound("Upload not found");  // reset meanwhile
  if (record->ready) {
    throw ApiError(409, "invalid_state_transition", "The attachment is already completed");
  }
  if (::rename(upload.tempPath.c_str(), dataFile(upload.id).c_str()) != 0) {
    throw ApiError(500, "internal_error", "Could not store the upload");
  }
  upload.committed = true;
  if (durable_) fsyncDirectory(root_);
  record->uploaded = true;
  record->receivedBytes = static_cast<std::int64_t>(upload.bytes);
  persistLocked();
  return Json{{"id", record->id}, {"sizeBytes", record->receivedBytes}};
}

Json AttachmentStore::complete(const std::string& orgId, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Record& record = requireLocked(orgId, id);
  if (!record.uploaded) {
    throw ApiError(409, "invalid_state_transition", "Nothing has been uploaded yet");
  }
  if (!record.ready) {
    if (record.declaredSize && *record.declaredSize != record.receivedBytes) {
      throw validationError("sizeBytes", "declared " + std::to_string(*record.declaredSize) +
                                             " bytes but " + std::to_string(record.receivedBytes) +
                                             " were uploaded");
    }
    record.ready = true;
    persistLocked();
  }
  return Json{{"attachment", toJsonLocked(record)}};
}

Json AttachmentStore::resolve(const std::string& orgId, const std::string& id,
                              const std::string& model, const std::string& baseUrl) {
  std::string contentType;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Record& record = requireLocked(orgId, id);
    if (!record.ready) {
      throw ApiError(409, "invalid_state_transition", "The attachment is not completed");
    }
    contentType = record.contentType;
  }
  const std::string type = lowerCase(contentType);
  const char* kind = startsWith(type, "image/")  ? "image"
                     : startsWith(type, "text/") ? "text"
                                                 : "file";
  Json text = nullptr;
  if (std::string(kind) == "text") {
    std::ifstream in(dataFile(id), std::ios::binary);
    std::string bytes(kMaxResolvedText, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    // Cut at a character boundary: an unfinished trailing sequence is dropped.
    Utf8Stream utf8;
    text = utf8.feed(bytes.data(), bytes.size());
  }
  return Json{{"attachmentId", id},
              {"model", model},
              {"kind", kind},
              {"url", baseUrl + "/_emu/uploads/" + id},
              {"text", text}};
}

std::vector<std::string> AttachmentStore::readyFilenames(const std::string& orgId,
                                                         const std::vector<std::string>& ids,
                                                         const std::string& field) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const std::string& id : ids) {
    const Record* record = findLocked(id);
    if (!record || record->orgId != orgId) {
      throw validationError(field, "attachment " + id + " does not exist");
    }
    if (!record->ready) throw validationError(field, "attachment " + id + " is not completed");
    names.push_back(record->filename);
  }
  return names;
}

std::optional<AttachmentStore::Content> AttachmentStore::content(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const Record* record = findLocked(id);
  if (!record || !record->uploaded) return std::nullopt;
  return Content{dataFile(id), record->contentType};
}

void AttachmentStore::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Record& record : records_) {
    std::error_code ec;
    fs::remove(dataFile(record.id), ec);
  }
  records_.clear();
  persistLocked();
}

void AttachmentStore::persistLocked() {
  if (!durable_) return;
  writeStateFile(root_ / kStateFile, Json{{"attachments", recordsJson(records_)}});
}

void AttachmentStore::restore() {
  // Leftovers of uploads cut short by a crash.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    if (entry.path().filename().string().rfind(".upload-", 0) == 0) fs::remove(entry.path(), ec);
  }
  if (!durable_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (Record& r :
       readRecords<Record>(readStateFile(root_ / kStateFile), "attachments", {"id", "orgId"})) {
    // What was uploaded counts only while its data file is still there.
    r.uploaded = r.uploaded && fs::exists(dataFile(r.id), ec);
    r.ready = r.ready && r.uploaded;
    if (!findLocked(r.id)) records_.push_back(std::move(r));
  }
}

}  // namespace rtemu
