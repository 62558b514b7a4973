#pragma once

/// @file
/// Workspaces: persistent file storage shared with sandboxes (docs/wire-contract.md §4.2–4.3).
/// Metadata lives on the orchestrator service, files on the storage service.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/http.hpp"
#include "runtools/operation.hpp"
#include "runtools/raw_json.hpp"

namespace runtools::internal {
class ServiceClient;
class MultipartUpload;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// A workspace as reported by the platform.
struct Workspace {
  std::string id;
  std::string slug;
  std::string name;
  std::int64_t sizeBytes = 0;
  std::int64_t quotaBytes = 0;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> updatedAt;
  std::optional<Timestamp> lastAccessedAt;
  bool isPersonal = false;
  std::optional<std::string> ownerUserId;
  std::string ownerDisplayName;
  std::string ownerEmail;
  /// Only in the create response.
  std::optional<std::string> nfsPath;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, Workspace& workspace);

/// Storage used by the organization.
struct StorageUsage {
  std::int64_t usedBytes = 0;
  std::int64_t quotaBytes = 0;
  bool unlimited = false;
};

/// Result of WorkspaceClient::list.
struct WorkspaceList {
  std::vector<Workspace> workspaces;
  StorageUsage storage;
};

/// A sandbox that mounts a workspace.
struct WorkspaceMountUse {
  std::string sandboxId;
  std::string sandboxName;
  std::string sandboxStatus;
  std::string mountPath;
  bool readOnly = false;
};

/// What uses a workspace (WorkspaceClient::usage).
struct WorkspaceUsage {
  std::string workspaceId;
  std::string workspaceName;
  bool inUse = false;
  std::vector<WorkspaceMountUse> mountedSandboxes;
  /// Installable and custom agents bound to the workspace, as received.
  nlohmann::json installableAgents = nlohmann::json::array();
  nlohmann::json customAgents = nlohmann::json::array();
};

struct CreateWorkspaceOptions {
  std::string name;
  /// Derived from the name by the platform when unset.
  std::optional<std::string> slug;
};

struct RemoveWorkspaceOptions {
  /// Delete even when sandboxes or agents still use the workspace.
  bool force = false;
};

// ------------------------------------------------------------------ files

/// One file or folder of a workspace. Reads both documented entry shapes.
struct FileEntry {
  /// Full workspace path, e.g. "/src/index.ts".
  std::string id;
  /// Base name.
  std::string name;
  /// `file` or `folder` (`directory` is read as `folder`).
  std::string type;
  std::int64_t size = 0;
  std::optional<Timestamp> modifiedAt;
  std::optional<std::string> mimeType;
  /// Number of children of a folder, when reported.
  std::optional<std::int64_t> count;
  RawJson raw;

  bool isFolder() const noexcept { return type == "folder"; }
  bool isFile() const noexcept { return type == "file"; }
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, FileEntry& entry);

/// Workspace storage figures (bytes; -1 means unlimited).
struct StorageInfo {
  std::int64_t free = 0;
  std::int64_t total = 0;
  std::int64_t used = 0;
};

/// Size of a file, or total size and entry count of a folder.
struct PathInfo {
  std::string path;
  std::string type;
  std::int64_t size = 0;
  std::int64_t count = 0;
};

struct ListFilesOptions {
  /// Include dotfiles.
  bool showHidden = false;
};

/// Options of an upload or a download.
struct TransferOptions {
  /// Called as the body's bytes move, on the calling thread: for uploads the
  /// request body (the file and its multipart framing), for downloads the
  /// file. A retried transfer reports from 0 again.
  ProgressCallback onProgress;
};

/// The largest upload the platform accepts in one request (100 MB).
inline constexpr std::uint64_t kMaxUploadBytes = 100ull * 1024 * 1024;
/// The most ids one batch copy, move or remove accepts.
inline constexpr std::size_t kMaxBatchIds = 250;

/// The files of one workspace. Paths are workspace-relative ("/a/b.txt" and
/// "a/b.txt" are the same file); a path containing a `..` segment is refused
/// before any request. Creating, writing and uploading create the missing
/// folders on the way (like `mkdir -p`), and copies and moves create a
/// missing target folder; a file standing where a folder is needed raises
/// BadRequestError.
///
/// @par Thread safety
/// Safe to use from several threads at once.
class WorkspaceFiles {
 public:
  WorkspaceFiles(std::shared_ptr<internal::ServiceClient> storage, std::string workspaceId);

  const std::string& workspaceId() const noexcept { return workspaceId_; }

  /// Entries of a folder ("/" for the root), folders first.
  std::vector<FileEntry> list(const std::string& folder = "/",
                              const ListFilesOptions& options = {}) const;
  /// Creates a folder (and any missing folder above it).
  FileEntry createFolder(const std::string& path) const;
  /// Creates a file with text contents; fails with ConflictError if it exists.
  FileEntry createFile(const std::string& path, const std::string& contents = {}) const;
  /// Replaces (or creates) a file's contents.
  FileEntry write(const std::string& path, const std::string& contents) const;
  /// Uploads bytes from memory to `path` (created or replaced). More than
  /// kMaxUploadBytes raise FileTooLargeError before anything is sent.
  FileEntry upload(const std::string& path, std::string_view bytes,
                   const TransferOptions& options = {}) const;
  /// Uploads a local file to `path`, streamed from disk. Files above
  /// kMaxUploadBytes raise FileTooLargeError before anything is sent.
  FileEntry uploadFile(const std::string& localFile, const std::string& path,
                       const TransferOptions& options = {}) const;
  /// The contents of a file.
  std::string download(const std::string& path, const TransferOptions& options = {}) const;
  /// Streams a file to `localFile`. The data goes to a temporary file beside
  /// it that is renamed into place only when complete, so an interrupted
  /// download never leaves a truncated file under the real name.
  void downloadTo(const std::string& path, const std::string& localFile,
                  const TransferOptions& options = {}) const;
  /// Renames a file or folder within its folder.
  FileEntry rename(const std::string& path, const std::string& newName) const;
  /// Moves a file or folder into `targetFolder`.
  FileEntry move(const std::string& path, const std::string& targetFolder) const;
  /// Copies a file or folder into `targetFolder`.
  FileEntry copy(const std::string& path, const std::string& targetFolder) const;
  /// Moves up to kMaxBatchIds entries into `targetFolder`; returns their new
  /// paths.
  std::vector<std::string> moveMany(const std::vector<std::string>& paths,
                                    const std::string& targetFolder) const;
  /// Copies up to kMaxBatchIds entries into `targetFolder`; returns the new
  /// paths.
  std::vector<std::string> copyMany(const std::vector<std::string>& paths,
                                    const std::string& targetFolder) const;
  /// Deletes a file or a folder (recursively).
  void remove(const std::string& path) const;
  /// Deletes up to kMaxBatchIds entries; returns how many were deleted.
  std::int64_t removeMany(const std::vector<std::string>& paths) const;
  /// Storage figures of the workspace.
  StorageInfo info() const;
  /// Size (and entry count for folders) of a path.
  PathInfo info(const std::string& path) const;

  /// @name Non-blocking forms
  /// The transfers of the same name on the client's asynchronous engine;
  /// TransferOptions::onProgress runs where completions run (inside
  /// RunTools::poll() in game-loop mode), so it can drive a loading bar.
  /// @{
  Operation<FileEntry> uploadAsync(const std::string& path, std::string bytes,
                                   const TransferOptions& options = {}) const;
  Operation<FileEntry> uploadFileAsync(const std::string& localFile, const std::string& path,
                                       const TransferOptions& options = {}) const;
  Operation<std::string> downloadAsync(const std::string& path,
                                       const TransferOptions& options = {}) const;
  Operation<void> downloadToAsync(const std::string& path, const std::string& localFile,
                                  const TransferOptions& options = {}) const;
  Operation<std::vector<FileEntry>> listAsync(const std::string& folder = "/",
                                              const ListFilesOptions& options = {}) const;
  /// @}

 private:
  std::vector<std::string> batch(const char* operation, const std::vector<std::string>& paths,
                                 const std::string& targetFolder) const;
  FileEntry update(const std::string& path, nlohmann::json body) const;
  FileEntry create(const std::string& path, nlohmann::json body) const;
  FileEntry uploadSource(const std::string& path, std::shared_ptr<internal::MultipartUpload> body,
                         const TransferOptions& options) const;

  std::shared_ptr<internal::ServiceClient> storage_;
  std::string workspaceId_;
};

/// Workspace metadata and files (`rt.workspace`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class WorkspaceClient {
 public:
  WorkspaceClient(std::shared_ptr<internal::ServiceClient> api,
                  std::shared_ptr<internal::ServiceClient> storage);

  /// Every workspace of the organization, plus its storage usage.
  WorkspaceList list() const;
  Workspace create(const CreateWorkspaceOptions& options) const;
  Workspace get(const std::string& id) const;
  WorkspaceUsage usage(const std::string& id) const;
  Workspace rename(const std::string& id, const std::string& name) const;
  /// Deletes a workspace and its files. A workspace still in use raises
  /// ConflictError with code `WORKSPACE_IN_USE` unless `force` is set.
  void remove(const std::string& id, const RemoveWorkspaceOptions& options = {}) const;
  /// The files of workspace `id` (no request made).
  WorkspaceFiles files(const std::string& id) const;

 private:
  std::shared_ptr<internal::ServiceClient> api_;
  std::shared_ptr<internal::ServiceClient> storage_;
};

}  // namespace runtools
