// The files of one workspace (docs/wire-contract.md §4.3): path parsing, confinement, entries, and
// the operations behind the storage routes.
//
// Confinement: every path is workspace-relative and made of validated segments (never "." or
// ".."). Resolution walks it one segment at a time from the workspace directory; a symlink met
// on the way (made by a command in a mounted sandbox) is followed only when its real target
// lies inside the workspace directory, otherwise the request is refused with 400
// validation_error. Nothing outside the workspace directory is read, written or deleted, and
// the existence of outside paths is never revealed. (Commands in sandboxes run on the host
// and could race a check with a swap; the emulator is a development stand-in, not an
// isolation boundary, see README.)
//
// Writes are atomic: a temporary file in the destination directory, fsync'd, renamed into
// place, then the directory fsync'd.
//
// Missing parent folders: create (file or folder), write and upload create the folders on the
// way to the new entry (like `mkdir -p`), and copy/move (single or batch) create a missing
// target folder, once every other check has passed. A file standing where a folder is needed
// is 400 validation_error; rename and delete never create anything.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/fs_util.hpp"
#include "util/json_util.hpp"

namespace rtemu {

// A workspace-relative path: validated segments; empty = the root "/".
using RelPath = std::vector<std::string>;

// "/a/b" ("/" for the root).
std::string displayPath(const RelPath& path);
// From percent-decoded URL segments (`segments[from..]`): empty segments are skipped; "." or
// "..", or a segment containing '/', '\\' or NUL -> 400 validation_error (`field`).
RelPath pathFromSegments(const std::vector<std::string>& segments, std::size_t from,
                         const char* field = "path");
// From a body or query string such as "/src/index.ts" (leading slash optional, trailing slash
// ignored, repeated slashes collapse): NUL or a "."/".." segment -> 400 validation_error.
RelPath pathFromString(const std::string& text, const char* field);
// A single entry name: non-empty, at most 255 bytes, no '/', no NUL, not "." or "..".
void validateEntryName(const std::string& name, const char* field);
// MIME type guessed from the file name's extension ("application/octet-stream" when unknown).
std::string guessMimeType(const std::string& name);

// Names of the temporary files the emulator writes (hidden from every listing).
bool isEmulatorTempName(const std::string& name);

class WorkspaceFiles {
 public:
  // `dir` = the workspace's files directory; 404 not_found when it is missing.
  explicit WorkspaceFiles(const std::filesystem::path& dir);

  // GET files[/{path}]: bare array of entries, folders first then files, each by name.
  Json list(const RelPath& path, bool showHidden) const;
  // POST files[/{parent}]: a new file (with `contents`) or folder named `name`; missing
  // folders on the way to `parent` are created.
  Json create(const RelPath& parent, const std::string& name, bool folder,
              const std::optional<std::string>& contents) const;
  // PUT files/{path} operation "write": replaces (or creates) a file's contents; missing
  // parent folders are created.
  Json write(const RelPath& path, const std::string& contents) const;
  // PUT files/{path} operation "rename": `newName` in the same folder.
  Json rename(const RelPath& path, const std::string& newName) const;
  // Copy or move of `sources` into the folder `target`, created when missing (every check
  // first, then the work); returns the new paths in order.
  std::vector<RelPath> transfer(const std::vector<RelPath>& sources, const RelPath& target,
                                bool move) const;
  // DELETE files: every path must exist (checked first); folders are removed recursively
  // without following symlinks. Returns the count.
  std::size_t remove(const std::vector<RelPath>& paths) const;
  // GET info/{path}: {path, type, size, count}.
  Json info(const RelPath& path) const;
  // The entry describing `path` (which must exist).
  Json entry(const RelPath& path) const;

  // GET direct: an open descriptor on the regular file at `path`, and its size.
  struct OpenedFile {
    UniqueFd fd;
    std::uint64_t size = 0;
  };
  OpenedFile openForReading(const RelPath& path) const;

  // Upload support: a temporary file in the deepest existing folder on the way to `dir`, later
  // committed as `dir/name` (creating the missing folders of `dir`, replacing a file of that
  // name) or discarded (creating nothing).
  class Upload {
   public:
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;
    Upload(Upload&& other) noexcept;
    Upload& operator=(Upload&&) = delete;
    ~Upload();  // removes the temporary file unless committed

    bool append(const char* data, std::size_t size);  // false on a write error
    void discard();                                   // removes the temporary file now
    // fsync + rename into place; throws ApiError (409 when `name` is a folder).
    Json commit(const std::string& name);

   private:
    friend class WorkspaceFiles;
    Upload(const WorkspaceFiles& owner, RelPath dir, std::string tempPath, UniqueFd fd);

    const WorkspaceFiles* owner_;
    RelPath dir_;
    std::string tempPath_;
    UniqueFd fd_;
  };
  // Checks, before any byte is read, that `dir` is a folder or can be created as one (400 when
  // a file stands in the way or the path leaves the workspace).
  void requireFolder(const RelPath& dir) const;
  Upload beginUpload(const RelPath& dir) const;

 private:
  // The outcome of walking a path from the root.
  struct Resolved {
    std::string real;        // real path (symlink-free up to the parent; see followFinal)
    std::string parentReal;  // real path of the containing folder (the root for the root)
    bool exists = false;
    struct stat st {};  // stat (or lstat when the final symlink was not followed)
  };
  // Walks `path`: every intermediate segment must be an existing folder (404 otherwise);
  // symlinks are followed only to targets inside the workspace (400 otherwise, also when they
  // dangle). With `followFinal` false a final symlink is not followed (delete/move/copy act on
  // the link itself). A missing final segment gives exists == false.
  Resolved resolve(const RelPath& path, bool followFinal) const;
  Resolved requireExisting(const RelPath& path, bool followFinal) const;
  // The deepest existing folder on the way to `dir` (`dir` itself when it exists) and how many
  // of `dir`'s segments it covers; `wouldBe` is the real path `dir` has or will have. A file
  // on the way -> 400 validation_error (`field`).
  struct FolderPlan {
    Resolved existing;
    std::size_t depth = 0;
    std::string wouldBe;
  };
  FolderPlan planFolder(const RelPath& dir, const char* field) const;
  // Creates the missing folders of `dir` (like `mkdir -p`) and returns the resolved folder.
  Resolved ensureFolder(const RelPath& dir, const char* field) const;
  bool inside(const std::string& real) const;
  Json describe(const RelPath& path, const std::string& real, const struct stat& st) const;
  std::size_t countChildren(const std::string& dir) const;
  std::string makeTempFile(const std::string& dir, UniqueFd& fd) const;
  void writeFileInto(const std::string& target, const std::string& contents, bool replace) const;

  std::string root_;  // real path of the workspace directory
};

}  // namespace rtemu
