#include "runtools/workspace.hpp"

#include "internal/json_util.hpp"
#include "internal/operation.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "internal/streams.hpp"
#include "internal/workspace_path.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using internal::WorkspacePath;
using nlohmann::json;

// ---------------------------------------------------------------- models

void from_json(const json& j, Workspace& workspace) {
  workspace.id = js::string(j, {"id"});
  workspace.slug = js::string(j, {"slug"});
  workspace.name = js::string(j, {"name"});
  workspace.sizeBytes = js::optInt(j, {"sizeBytes"}).value_or(0);
  workspace.quotaBytes = js::optInt(j, {"quotaBytes"}).value_or(0);
  workspace.createdAt = js::optTimestamp(j, {"createdAt"});
  workspace.updatedAt = js::optTimestamp(j, {"updatedAt"});
  workspace.lastAccessedAt = js::optTimestamp(j, {"lastAccessedAt"});
  workspace.isPersonal = js::boolean(j, {"isPersonal"});
  workspace.ownerUserId = js::optString(j, {"ownerUserId"});
  workspace.ownerDisplayName = js::string(j, {"ownerDisplayName"});
  workspace.ownerEmail = js::string(j, {"ownerEmail"});
  workspace.nfsPath = js::optString(j, {"nfsPath"});
  workspace.raw = j;
}

void from_json(const json& j, FileEntry& entry) {
  entry.id = js::string(j, {"id", "path"});
  entry.name = js::string(j, {"name", "value"});
  if (entry.name.empty()) {
    const auto slash = entry.id.find_last_of('/');
    entry.name = slash == std::string::npos ? entry.id : entry.id.substr(slash + 1);
  }
  entry.type = js::string(j, {"type"}, "file");
  if (entry.type == "directory" || entry.type == "dir") entry.type = "folder";
  entry.size = js::optInt(j, {"size"}).value_or(0);
  entry.modifiedAt = js::optTimestamp(j, {"mtime", "date", "modifiedAt"});
  entry.mimeType = js::optString(j, {"mimeType"});
  entry.count = js::optInt(j, {"count"});
  entry.raw = j;
}

namespace {

StorageUsage toStorageUsage(const json& j) {
  StorageUsage usage;
  usage.usedBytes = js::optInt(j, {"usedBytes"}).value_or(0);
  usage.quotaBytes = js::optInt(j, {"quotaBytes"}).value_or(0);
  usage.unlimited = js::boolean(j, {"unlimited"});
  return usage;
}

// A create/update answer: the entry itself, or an acknowledgement (then the
// entry is described from what was asked).
FileEntry entryOrFallback(const json& data, const WorkspacePath& path, const char* type) {
  if (data.is_object() && (data.contains("id") || data.contains("path"))) {
    return data.get<FileEntry>();
  }
  FileEntry entry;
  entry.id = path.id();
  entry.name = path.isRoot() ? "/" : path.name();
  entry.type = type;
  entry.raw = data;
  return entry;
}

void requireBatchSize(const std::vector<std::string>& paths) {
  if (paths.empty()) throw InvalidArgumentError("a batch operation needs at least one path");
  if (paths.size() > kMaxBatchIds) {
    throw InvalidArgumentError("a batch operation takes at most " + std::to_string(kMaxBatchIds) +
                               " paths, got " + std::to_string(paths.size()));
  }
}

json idsOf(const std::vector<std::string>& paths) {
  json ids = json::array();
  for (const auto& path : paths)
    ids.push_back(WorkspacePath::parse(path).id());
  return ids;
}

}  // namespace

// ---------------------------------------------------------------- WorkspaceFiles

WorkspaceFiles::WorkspaceFiles(std::shared_ptr<internal::ServiceClient> storage,
                               std::string workspaceId)
    : storage_(std::move(storage)), workspaceId_(std::move(workspaceId)) {
  if (workspaceId_.empty()) throw InvalidArgumentError("a workspace id must not be empty");
}

std::vector<FileEntry> WorkspaceFiles::list(const std::string& folder,
                                            const ListFilesOptions& options) const {
  const auto path = WorkspacePath::parse(folder);
  internal::Query query;
  if (options.showHidden) query.emplace_back("showHidden", "true");
  const auto response =
      storage_->get(makePath({"workspaces", workspaceId_, "files"}) + path.encoded(), query);
  const json& data = response.data();
  const json* items = data.is_array() ? &data : js::find(data, {"entries", "files", "items"});
  return js::list<FileEntry>(items != nullptr ? *items : json::array());
}

FileEntry WorkspaceFiles::create(const std::string& path, json body) const {
  const auto target = WorkspacePath::parse(path);
  internal::requireSingleName(target.isRoot() ? "" : target.name(), "the new entry's name");
  const std::string type = body.value("type", "file");
  body["name"] = target.name();
  const auto response = storage_->post(
      makePath({"workspaces", workspaceId_, "files"}) + target.parent().encoded(), std::move(body));
  return entryOrFallback(response.data(), target, type.c_str());
}

FileEntry WorkspaceFiles::createFolder(const std::string& path) const {
  return create(path, json{{"type", "folder"}});
}

FileEntry WorkspaceFiles::createFile(const std::string& path, const std::string& contents) const {
  return create(path, json{{"type", "file"}, {"contents", contents}});
}

FileEntry WorkspaceFiles::update(const std::string& path, json body) const {
  const auto source = WorkspacePath::parse(path);
  if (source.isRoot()) throw InvalidArgumentError("the workspace root cannot be changed");
  internal::ApiRequest request;
  request.method = "PUT";
  request.path = makePath({"workspaces", workspaceId_, "files"}) + source.encoded();
  // Writing the same contents twice is harmless; a rename, move or copy
  // repeated after it took effect is not.
  request.idempotent = body.value("operation", "") == "write";
  request.body = std::move(body);
  return entryOrFallback(storage_->call(request).data(), source, "file");
}

FileEntry WorkspaceFiles::write(const std::string& path, const std::string& contents) const {
  return update(path, json{{"operation", "write"}, {"contents", contents}});
}

FileEntry WorkspaceFiles::rename(const std::string& path, const std::string& newName) const {
  internal::requireSingleName(newName, "the new name");
  return update(path, json{{"operation", "rename"}, {"target", newName}});
}

FileEntry WorkspaceFiles::move(const std::string& path, const std::string& targetFolder) const {
  return update(path,
                json{{"operation", "move"}, {"target", WorkspacePath::parse(targetFolder).id()}});
}

FileEntry WorkspaceFiles::copy(const std::string& path, const std::string& targetFolder) const {
  return update(path,
                json{{"operation", "copy"}, {"target", WorkspacePath::parse(targetFolder).id()}});
}

std::vector<std::string> WorkspaceFiles::batch(const char* operation,
                                               const std::vector<std::string>& paths,
                                               const std::string& targetFolder) const {
  requireBatchSize(paths);
  json body = {{"operation", operation},
               {"ids", idsOf(paths)},
               {"target", WorkspacePath::parse(targetFolder).id()}};
  internal::ApiRequest request;
  request.method = "PUT";
  request.path = makePath({"workspaces", workspaceId_, "files"});
  request.body = std::move(body);
  // A batch repeated after it took effect would fail or copy twice.
  request.idempotent = false;
  const auto response = storage_->call(request);
  return js::stringList(response.data(), {"ids"});
}

std::vector<std::string> WorkspaceFiles::moveMany(const std::vector<std::string>& paths,
                                                  const std::string& targetFolder) const {
  return batch("move", paths, targetFolder);
}

std::vector<std::string> WorkspaceFiles::copyMany(const std::vector<std::string>& paths,
                                                  const std::string& targetFolder) const {
  return batch("copy", paths, targetFolder);
}

void WorkspaceFiles::remove(const std::string& path) const {
  removeMany(std::vector<std::string>{path});
}

std::int64_t WorkspaceFiles::removeMany(const std::vector<std::string>& paths) const {
  requireBatchSize(paths);
  for (const auto& path : paths) {
    if (WorkspacePath::parse(path).isRoot()) {
      throw InvalidArgumentError("the workspace root cannot be removed");
    }
  }
  internal::ApiRequest request;
  request.method = "DELETE";
  request.path = makePath({"workspaces", workspaceId_, "files"});
  request.body = json{{"ids", idsOf(paths)}};
  const auto response = storage_->call(request);
  return js::optInt(response.data(), {"deleted"}).value_or(static_cast<std::int64_t>(paths.size()));
}

FileEntry WorkspaceFiles::uploadSource(const std::string& path,
                                       std::shared_ptr<internal::MultipartUpload> body,
                                       const TransferOptions& options) const {
  const auto target = WorkspacePath::parse(path);
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"workspaces", workspaceId_, "upload"}) + target.parent().encoded();
  request.contentType = body->contentType();
  request.bodySource = std::move(body);
  request.onUploadProgress = options.onProgress;
  // The whole transfer may take long: allow a generous floor per request.
  request.timeout = std::max(storage_->defaultTimeout(), std::chrono::milliseconds(600000));
  const auto response = storage_->call(request);
  return entryOrFallback(response.data(), target, "file");
}

namespace {

void requireUploadSize(std::uint64_t size, const std::string& what) {
  if (size > kMaxUploadBytes) {
    // Refused here, before anything is sent: not the server's 413.
    throw FileTooLargeError(what + " is " + std::to_string(size) +
                                " bytes; one upload is limited to " +
                                std::to_string(kMaxUploadBytes) + " bytes (100 MB)",
                            size, kMaxUploadBytes);
  }
}

}  // namespace

FileEntry WorkspaceFiles::upload(const std::string& path, std::string_view bytes,
                                 const TransferOptions& options) const {
  const auto target = WorkspacePath::parse(path);
  internal::requireSingleName(target.isRoot() ? "" : target.name(), "the uploaded file's name");
  requireUploadSize(bytes.size(), "the upload");
  return uploadSource(path,
                      std::make_shared<internal::MultipartUpload>(
                          internal::ContentSource::fromBytes(std::string(bytes)), target.name(),
                          internal::MultipartUpload::Fields{{"name", target.name()}}),
                      options);
}

FileEntry WorkspaceFiles::uploadFile(const std::string& localFile, const std::string& path,
                                     const TransferOptions& options) const {
  const auto target = WorkspacePath::parse(path);
  internal::requireSingleName(target.isRoot() ? "" : target.name(), "the uploaded file's name");
  auto body = std::make_shared<internal::MultipartUpload>(
      internal::ContentSource::fromFile(localFile), target.name(),
      internal::MultipartUpload::Fields{{"name", target.name()}});
  requireUploadSize(body->contentSize(), "\"" + localFile + "\"");
  return uploadSource(path, std::move(body), options);
}

std::string WorkspaceFiles::download(const std::string& path,
                                     const TransferOptions& options) const {
  const auto source = WorkspacePath::parse(path);
  if (source.isRoot()) throw InvalidArgumentError("the workspace root is not a file");
  internal::ApiRequest request;
  request.method = "GET";
  request.path = makePath({"workspaces", workspaceId_, "direct"});
  request.query = {{"id", source.id()}, {"download", "true"}};
  request.rawResponse = true;
  request.onDownloadProgress = options.onProgress;
  request.timeout = std::max(storage_->defaultTimeout(), std::chrono::milliseconds(600000));
  return storage_->call(request).body;
}

void WorkspaceFiles::downloadTo(const std::string& path, const std::string& localFile,
                                const TransferOptions& options) const {
  const auto source = WorkspacePath::parse(path);
  if (source.isRoot()) throw InvalidArgumentError("the workspace root is not a file");
  auto sink = std::make_shared<internal::AtomicFileSink>(localFile);
  internal::ApiRequest request;
  request.method = "GET";
  request.path = makePath({"workspaces", workspaceId_, "direct"});
  request.query = {{"id", source.id()}, {"download", "true"}};
  request.bodySink = sink;
  request.onDownloadProgress = options.onProgress;
  request.timeout = std::max(storage_->defaultTimeout(), std::chrono::milliseconds(600000));
  try {
    storage_->call(request);
  } catch (...) {
    // However the call ended (a cut, a timeout, a cancellation, the last
    // retry failing, an error status), the partial file goes now: the
    // transport may still hold the sink.
    sink->discard();
    throw;
  }
  sink->commit();  // removes the partial file itself when it fails
}

Operation<FileEntry> WorkspaceFiles::uploadAsync(const std::string& path, std::string bytes,
                                                 const TransferOptions& options) const {
  return internal::startOn<FileEntry>(*storage_,
                                      [self = *this, path, bytes = std::move(bytes), options] {
                                        return self.upload(path, bytes, options);
                                      });
}

Operation<FileEntry> WorkspaceFiles::uploadFileAsync(const std::string& localFile,
                                                     const std::string& path,
                                                     const TransferOptions& options) const {
  return internal::startOn<FileEntry>(*storage_, [self = *this, localFile, path, options] {
    return self.uploadFile(localFile, path, options);
  });
}

Operation<std::string> WorkspaceFiles::downloadAsync(const std::string& path,
                                                     const TransferOptions& options) const {
  return internal::startOn<std::string>(
      *storage_, [self = *this, path, options] { return self.download(path, options); });
}

Operation<void> WorkspaceFiles::downloadToAsync(const std::string& path,
                                                const std::string& localFile,
                                                const TransferOptions& options) const {
  return internal::startOn<void>(*storage_, [self = *this, path, localFile, options] {
    self.downloadTo(path, localFile, options);
  });
}

Operation<std::vector<FileEntry>> WorkspaceFiles::listAsync(const std::string& folder,
                                                            const ListFilesOptions& options) const {
  return internal::startOn<std::vector<FileEntry>>(
      *storage_, [self = *this, folder, options] { return self.list(folder, options); });
}

StorageInfo WorkspaceFiles::info() const {
  const auto data = storage_->get(makePath({"workspaces", workspaceId_, "info"})).data();
  const json& figures = data.is_array() && !data.empty() ? data.front() : data;
  StorageInfo info;
  info.free = js::optInt(figures, {"free"}).value_or(0);
  info.total = js::optInt(figures, {"total"}).value_or(0);
  info.used = js::optInt(figures, {"used"}).value_or(0);
  return info;
}

PathInfo WorkspaceFiles::info(const std::string& path) const {
  const auto target = WorkspacePath::parse(path);
  const auto data =
      storage_->get(makePath({"workspaces", workspaceId_, "info"}) + target.encoded()).data();
  PathInfo info;
  info.path = js::string(data, {"path", "id"}, target.id());
  info.type = js::string(data, {"type"});
  if (info.type == "directory") info.type = "folder";
  info.size = js::optInt(data, {"size"}).value_or(0);
  info.count = js::optInt(data, {"count"}).value_or(0);
  return info;
}

// ---------------------------------------------------------------- WorkspaceClient

WorkspaceClient::WorkspaceClient(std::shared_ptr<internal::ServiceClient> api,
                                 std::shared_ptr<internal::ServiceClient> storage)
    : api_(std::move(api)), storage_(std::move(storage)) {}

WorkspaceList WorkspaceClient::list() const {
  const auto data = api_->get(makePath({"workspaces"})).data();
  WorkspaceList out;
  const json* items = data.is_array() ? &data : js::find(data, {"workspaces"});
  if (items != nullptr) out.workspaces = js::list<Workspace>(*items);
  if (const json* storage = js::find(data, {"storage"})) out.storage = toStorageUsage(*storage);
  return out;
}

Workspace WorkspaceClient::create(const CreateWorkspaceOptions& options) const {
  if (options.name.empty()) throw InvalidArgumentError("a workspace needs a name");
  json body = {{"name", options.name}};
  if (options.slug) body["slug"] = *options.slug;
  return api_->post(makePath({"workspaces"}), std::move(body)).object("workspace").get<Workspace>();
}

Workspace WorkspaceClient::get(const std::string& id) const {
  return api_->get(makePath({"workspaces", id})).object("workspace").get<Workspace>();
}

WorkspaceUsage WorkspaceClient::usage(const std::string& id) const {
  const auto data = api_->get(makePath({"workspaces", id, "usage"})).data();
  WorkspaceUsage usage;
  usage.workspaceId = js::string(data, {"workspaceId"}, id);
  usage.workspaceName = js::string(data, {"workspaceName"});
  usage.inUse = js::boolean(data, {"inUse"});
  if (const json* mounted = js::find(data, {"mountedSandboxes"}); mounted && mounted->is_array()) {
    for (const auto& m : *mounted) {
      WorkspaceMountUse use;
      use.sandboxId = js::string(m, {"sandboxId"});
      use.sandboxName = js::string(m, {"sandboxName"});
      use.sandboxStatus = js::string(m, {"sandboxStatus"});
      use.mountPath = js::string(m, {"mountPath"});
      use.readOnly = js::boolean(m, {"readOnly"});
      usage.mountedSandboxes.push_back(std::move(use));
    }
  }
  if (const json* agents = js::find(data, {"installableAgents"})) usage.installableAgents = *agents;
  if (const json* agents = js::find(data, {"customAgents"})) usage.customAgents = *agents;
  return usage;
}

Workspace WorkspaceClient::rename(const std::string& id, const std::string& name) const {
  if (name.empty()) throw InvalidArgumentError("a workspace name must not be empty");
  const auto response = api_->patch(makePath({"workspaces", id}), json{{"name", name}});
  if (response.data().is_object() && response.data().contains("id")) {
    return response.object("workspace").get<Workspace>();
  }
  return get(id);
}

void WorkspaceClient::remove(const std::string& id, const RemoveWorkspaceOptions& options) const {
  internal::Query query;
  if (options.force) query.emplace_back("force", "true");
  api_->del(makePath({"workspaces", id}), query);
}

WorkspaceFiles WorkspaceClient::files(const std::string& id) const {
  return WorkspaceFiles(storage_, id);
}

}  // namespace runtools
