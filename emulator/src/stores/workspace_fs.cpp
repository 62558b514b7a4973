#include "stores/workspace_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <system_error>
#include <utility>

#include "http/api_error.hpp"
#include "util/time_util.hpp"

namespace rtemu {

namespace fs = std::filesystem;

namespace {

constexpr char kTempPrefix[] = ".rtemu-tmp-";
constexpr std::size_t kMaxNameBytes = 255;

ApiError escapes(const char* field) {
  return validationError(field, "resolves outside the workspace");
}

ApiError ioError(const std::string& what) {
  return ApiError(500, "internal_error", what + ": " + std::strerror(errno));
}

std::int64_t mtimeMillis(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

std::string dirnameOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool startsWithDir(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

// rename() that refuses to replace an existing destination: 0 or an errno value.
int renameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) return EEXIST;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

// Copies the regular file `from` (already opened nowhere) to the new file `to`, fsync'd.
bool copyFile(const std::string& from, const std::string& to, mode_t mode) {
  const UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return false;
  const UniqueFd out(
      ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode & 07777));
  if (!out) return false;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(in.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    if (!writeAll(out.get(), buf, static_cast<std::size_t>(n))) return false;
  }
  return ::fsync(out.get()) == 0;
}

// Copies the tree at `from` to the new path `to`, never following symlinks (they are copied
// as links); sockets, fifos and devices are skipped.
bool copyTree(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return false;
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    const ssize_t n = ::readlink(from.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<std::size_t>(n) >= target.size()) return false;
    target.resize(static_cast<std::size_t>(n));
    return ::symlink(target.c_str(), to.c_str()) == 0;
  }
  if (S_ISREG(st.st_mode)) return copyFile(from, to, st.st_mode);
  if (!S_ISDIR(st.st_mode)) return true;
  if (::mkdir(to.c_str(), (st.st_mode & 07777) | S_IRWXU) != 0) return false;
  DIR* dir = ::opendir(from.c_str());
  if (!dir) return false;
  bool ok = true;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || isEmulatorTempName(name)) continue;
    if (!copyTree(from + "/" + name, to + "/" + name)) {
      ok = false;
      break;
    }
  }
  ::closedir(dir);
  if (ok) fsyncDirectory(to);
  return ok;
}

void removeTreeNoFollow(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // removes a symlink itself, never its target
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw ApiError(500, "internal_error", "Could not delete: " + ec.message());
  }
}

}  // namespace

// ---- paths ---------------------------------------------------------------------------------

std::string displayPath(const RelPath& path) {
  if (path.empty()) return "/";
  std::string out;
  for (const std::string& segment : path)
    out += "/" + segment;
  return out;
}

RelPath pathFromSegments(const std::vector<std::string>& segments, std::size_t from,
                         const char* field) {
  RelPath path;
  for (std::size_t i = from; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    if (segment.empty()) continue;
    if (segment == "." || segment == "..") {
      throw validationError(field, "must not contain '.' or '..' segments");
    }
    if (segment.find_first_of(std::string("/\\\0", 3)) != std::string::npos) {
      throw validationError(field, "a path segment must not contain '/', '\\' or NUL");
    }
    path.push_back(segment);
  }
  return path;
}

RelPath pathFromString(const std::string& text, const char* field) {
  if (text.find('\0') != std::string::npos) throw validationError(field, "must not contain NUL");
  RelPath path;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t slash = text.find('/', start);
    if (slash == std::string::npos) slash = text.size();
    const std::string segment = text.substr(start, slash - start);
    if (segment == "." || segment == "..") {
      throw validationError(field, "must not contain '.' or '..' segments");
    }
    if (!segment.empty()) path.push_back(segment);
    start = slash + 1;
  }
  return path;
}

void validateEntryName(const std::string& name, const char* field) {
  if (name.empty()) throw validationError(field, "must not be empty");
  if (name.size() > kMaxNameBytes) throw validationError(field, "must be at most 255 bytes");
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    throw validationError(field, "must be a single name without '/' or NUL");
  }
  if (name == "." || name == "..") throw validationError(field, "must not be '.' or '..'");
  if (isEmulatorTempName(name)) throw validationError(field, "is reserved by the emulator");
}

bool isEmulatorTempName(const std::string& name) {
  return name.compare(0, sizeof(kTempPrefix) - 1, kTempPrefix) == 0;
}

std::string guessMimeType(const std::string& name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"txt", "text/plain"},
      {"log", "text/plain"},
      {"md", "text/markdown"},
      {"markdown", "text/markdown"},
      {"html", "text/html"},
      {"htm", "text/html"},
      {"css", "text/css"},
      {"csv", "text/csv"},
      {"tsv", "text/tab-separated-values"},
      {"js", "text/javascript"},
      {"mjs", "text/javascript"},
      {"cjs", "text/javascript"},
      {"jsx", "text/javascript"},
      {"ts", "text/typescript"},
      {"tsx", "text/typescript"},
      {"json", "application/json"},
      {"xml", "application/xml"},
      {"yaml", "application/yaml"},
      {"yml", "application/yaml"},
      {"toml", "application/toml"},
      {"py", "text/x-python"},
      {"rb", "text/x-ruby"},
      {"go", "text/x-go"},
      {"rs", "text/x-rust"},
      {"java", "text/x-java"},
      {"c", "text/x-c"},
      {"h", "text/x-c"},
      {"cc", "text/x-c++"},
      {"cpp", "text/x-c++"},
      {"hpp", "text/x-c++"},
      {"sh", "application/x-sh"},
      {"sql", "application/sql"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"svg", "image/svg+xml"},
      {"ico", "image/x-icon"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tgz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"wasm", "application/wasm"},
      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
  };
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) {
    return "application/octet-stream";
  }
  std::string ext = name.substr(dot + 1);
  for (char& c : ext)
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (const auto& [known, type] : kTypes) {
    if (ext == known) return type;
  }
  return "application/octet-stream";
}

// ---- WorkspaceFiles ------------------------------------------------------------------------

WorkspaceFiles::WorkspaceFiles(const fs::path& dir) {
  char* real = ::realpath(dir.c_str(), nullptr);
  if (!real) throw notFound("Workspace not found");
  root_ = real;
  std::free(real);
}

bool WorkspaceFiles::inside(const std::string& real) const {
  return real == root_ || startsWithDir(real, root_);
}

WorkspaceFiles::Resolved WorkspaceFiles::resolve(const RelPath& path, bool followFinal) const {
  Resolved out;
  if (path.empty()) {
    out.real = root_;
    out.parentReal = root_;
    out.exists = ::stat(root_.c_str(), &out.st) == 0;
    if (!out.exists) throw notFound("Workspace not found");
    return out;
  }
  std::string current = root_;  // always a real path inside the workspace
  for (std::size_t i = 0; i < path.size(); ++i) {
    const bool last = i + 1 == path.size();
    const std::string next = current + "/" + path[i];
    struct stat lst {};
    if (::lstat(next.c_str(), &lst) != 0) {
      if (errno == ENAMETOOLONG) throw validationError("path", "is too long");
      if (errno != ENOENT && errno != ENOTDIR) throw ioError("Cannot read " + displayPath(path));
      if (!last) throw notFound("No such folder: " + displayPath(path));
      out.parentReal = current;
      out.real = next;
      out.exists = false;
      return out;
    }
    std::string resolved = next;
    struct stat st = lst;
    if (S_ISLNK(lst.st_mode)) {
      if (last && !followFinal) {
        out.parentReal = current;
        out.real = next;
        out.exists = true;
        out.st = lst;
        return out;
      }
      // Followed only when the real target is inside the workspace. A dangling link is
      // refused as well: whether an outside path exists must not be observable.
      char* real = ::realpath(next.c_str(), nullptr);
      if (!real) throw escapes("path");
      resolved = real;
      std::free(real);
      if (!inside(resolved) || ::stat(resolved.c_str(), &st) != 0) throw escapes("path");
    }
    if (last) {
      out.parentReal = current;
      out.real = resolved;
      out.exists = true;
      out.st = st;
      return out;
    }
    if (!S_ISDIR(st.st_mode)) throw notFound("No such folder: " + displayPath(path));
    current = resolved;
  }
  return out;  // not reached
}

WorkspaceFiles::Resolved WorkspaceFiles::requireExisting(const RelPath& path,
                                                         bool followFinal) const {
  Resolved r = resolve(path, followFinal);
  if (!r.exists) throw notFound("No such file or folder: " + displayPath(path));
  return r;
}

WorkspaceFiles::FolderPlan WorkspaceFiles::planFolder(const RelPath& dir, const char* field) const {
  FolderPlan plan;
  plan.existing = resolve({}, true);
  RelPath prefix;
  for (const std::string& segment : dir) {
    prefix.push_back(segment);
    Resolved next = resolve(prefix, true);
    if (!next.exists) break;
    if (!S_ISDIR(next.st.st_mode)) {
      throw validationError(field, displayPath(prefix) + " is a file, not a folder");
    }
    plan.existing = std::move(next);
    ++plan.depth;
  }
  plan.wouldBe = plan.existing.real;
  for (std::size_t i = plan.depth; i < dir.size(); ++i)
    plan.wouldBe += "/" + dir[i];
  return plan;
}

WorkspaceFiles::Resolved WorkspaceFiles::ensureFolder(const RelPath& dir, const char* field) const {
  const FolderPlan plan = planFolder(dir, field);
  std::string current = plan.existing.real;
  for (std::size_t i = plan.depth; i < dir.size(); ++i) {
    const std::string next = current + "/" + dir[i];
    if (::mkdir(next.c_str(), 0755) != 0 && errno != EEXIST) {
      if (errno == ENAMETOOLONG) throw validationError(field, "is too long");
      throw ioError(
          "Cannot create the folder " +
          displayPath(RelPath(dir.begin(), dir.begin() + static_cast<std::ptrdiff_t>(i) + 1)));
    }
    fsyncDirectory(current);
    current = next;
  }
  // Walked again, so that confinement and type are checked on what is there now.
  Resolved out = resolve(dir, true);
  if (!out.exists || !S_ISDIR(out.st.st_mode)) {
    throw validationError(field, displayPath(dir) + " is a file, not a folder");
  }
  return out;
}

std::size_t WorkspaceFiles::countChildren(const std::string& dir) const {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  std::size_t count = 0;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != ".." && !isEmulatorTempName(name)) ++count;
  }
  ::closedir(d);
  return count;
}

Json WorkspaceFiles::describe(const RelPath& path, const std::string& real,
                              const struct stat& st) const {
  const std::string name = path.empty() ? std::string() : path.back();
  const std::string shown = displayPath(path);
  const std::string date = isoTimestamp(mtimeMillis(st));
  const bool folder = S_ISDIR(st.st_mode);
  const std::size_t count = folder ? countChildren(real) : 0;
  // A symlink that is not followed (it leaves the workspace or dangles) is shown as an empty
  // file: nothing about its target is revealed.
  const std::int64_t size = S_ISREG(st.st_mode) ? static_cast<std::int64_t>(st.st_size) : 0;
  return Json{
      {"id", shown},
      {"value", name},
      {"name", name},
      {"path", shown},
      {"type", folder ? "folder" : "file"},
      {"date", date},
      {"mtime", date},
      {"size", size},
      {"mimeType", folder ? Json() : Json(guessMimeType(name))},
      {"lazy", folder && count > 0},
      {"count", count},
  };
}

Json WorkspaceFiles::entry(const RelPath& path) const {
  const Resolved r = requireExisting(path, false);
  if (S_ISLNK(r.st.st_mode)) {
    char* real = ::realpath(r.real.c_str(), nullptr);
    if (real) {
      const std::string target = real;
      std::free(real);
      struct stat st {};
      if (inside(target) && ::stat(target.c_str(), &st) == 0) return describe(path, target, st);
    }
  }
  return describe(path, r.real, r.st);
}

Json WorkspaceFiles::list(const RelPath& path, bool showHidden) const {
  const Resolved r = requireExisting(path, true);
  if (!S_ISDIR(r.st.st_mode)) throw validationError("path", "is a file, not a folder");
  DIR* d = ::opendir(r.real.c_str());
  if (!d) throw ioError("Cannot list " + displayPath(path));
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || isEmulatorTempName(name)) continue;
    if (!showHidden && name.front() == '.') continue;
    names.push_back(name);
  }
  ::closedir(d);
  std::vector<Json> folders;
  std::vector<Json> files;
  for (const std::string& name : names) {
    RelPath child = path;
    child.push_back(name);
    Json item;
    try {
      item = entry(child);
    } catch (const ApiError&) {
      continue;  // vanished meanwhile
    }
    (item["type"] == "folder" ? folders : files).push_back(std::move(item));
  }
  const auto byName = [](const Json& a, const Json& b) {
    return a["name"].get_ref<const std::string&>() < b["name"].get_ref<const std::string&>();
  };
  std::sort(folders.begin(), folders.end(), byName);
  std::sort(files.begin(), files.end(), byName);
  Json out = Json::array();
  for (Json& item : folders)
    out.push_back(std::move(item));
  for (Json& item : files)
    out.push_back(std::move(item));
  return out;
}

std::string WorkspaceFiles::makeTempFile(const std::string& dir, UniqueFd& fd) const {
  std::string path = dir + "/" + kTempPrefix + "XXXXXX";
  fd = UniqueFd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) throw notFound("The folder no longer exists");
    throw ioError("Cannot create a file");
  }
  return path;
}

void WorkspaceFiles::writeFileInto(const std::string& target, const std::string& contents,
                                   bool replace) const {
  const std::string dir = dirnameOf(target);
  UniqueFd fd;
  const std::string tmp = makeTempFile(dir, fd);
  const bool written = ::fchmod(fd.get(), 0644) == 0 &&
                       writeAll(fd.get(), contents.data(), contents.size()) &&
                       ::fsync(fd.get()) == 0;
  fd.reset();
  if (!written) {
    ::unlink(tmp.c_str());
    throw ioError("Cannot write the file");
  }
  const int rc = replace ? (::rename(tmp.c_str(), target.c_str()) == 0 ? 0 : errno)
                         : renameNoReplace(tmp, target);
  if (rc != 0) {
    ::unlink(tmp.c_str());
    if (rc == EEXIST || rc == ENOTEMPTY || rc == EISDIR) {
      throw ApiError(409, "already_exists", "An entry with that name already exists");
    }
    errno = rc;
    throw ioError("Cannot write the file");
  }
  fsyncDirectory(dir);
}

Json WorkspaceFiles::create(const RelPath& parent, const std::string& name, bool folder,
                            const std::optional<std::string>& contents) const {
  validateEntryName(name, "name");
  const Resolved p = ensureFolder(parent, "path");
  const std::string target = p.real + "/" + name;
  RelPath created = parent;
  created.push_back(name);
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0) {
    throw ApiError(409, "already_exists", displayPath(created) + " already exists")
        .withDetails("name", "already exists");
  }
  if (folder) {
    if (::mkdir(target.c_str(), 0755) != 0) {
      if (errno == EEXIST) {
        throw ApiError(409, "already_exists", displayPath(created) + " already exists")
            .withDetails("name", "already exists");
      }
      throw ioError("Cannot create the folder");
    }
    fsyncDirectory(p.real);
  } else {
    writeFileInto(target, contents.value_or(std::string()), false);
  }
  return entry(created);
}

Json WorkspaceFiles::write(const RelPath& path, const std::string& contents) const {
  if (path.empty()) throw validationError("path", "is a folder");
  validateEntryName(path.back(), "path");
  ensureFolder(RelPath(path.begin(), path.end() - 1), "path");
  const Resolved r = resolve(path, true);
  if (r.exists && S_ISDIR(r.st.st_mode)) throw validationError("path", "is a folder");
  if (r.exists && !S_ISREG(r.st.st_mode)) throw validationError("path", "is not a regular file");
  writeFileInto(r.real, contents, true);
  return entry(path);
}

Json WorkspaceFiles::rename(const RelPath& path, const std::string& newName) const {
  validateEntryName(newName, "target");
  if (path.empty()) throw validationError("path", "the workspace root cannot be renamed");
  const Resolved r = requireExisting(path, false);
  const std::string target = r.parentReal + "/" + newName;
  RelPath renamed(path.begin(), path.end() - 1);
  renamed.push_back(newName);
  const int rc = renameNoReplace(r.real, target);
  if (rc == EEXIST || rc == ENOTEMPTY) {
    throw ApiError(409, "already_exists", displayPath(renamed) + " already exists")
        .withDetails("target", "already exists");
  }
  if (rc != 0) {
    errno = rc;
    throw ioError("Cannot rename");
  }
  fsyncDirectory(r.parentReal);
  return entry(renamed);
}

std::vector<RelPath> WorkspaceFiles::transfer(const std::vector<RelPath>& sources,
                                              const RelPath& target, bool move) const {
  // First every check, so that a refused request changes nothing (a missing target folder is
  // created only once they have all passed).
  const FolderPlan plan = planFolder(target, "target");
  const std::string& destReal = plan.wouldBe;
  std::vector<Resolved> resolved;
  for (const RelPath& source : sources) {
    if (source.empty())
      throw validationError("ids", "the workspace root cannot be moved or copied");
    resolved.push_back(requireExisting(source, false));
  }
  for (std::size_t i = 0; i < resolved.size(); ++i) {
    for (std::size_t j = 0; j < resolved.size(); ++j) {
      if (i != j && startsWithDir(resolved[i].real, resolved[j].real)) {
        throw validationError("ids",
                              displayPath(sources[i]) + " is inside " + displayPath(sources[j]));
      }
    }
  }
  std::set<std::string> names;
  std::vector<RelPath> results;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::string& name = sources[i].back();
    RelPath result = target;
    result.push_back(name);
    struct stat st {};
    if (::lstat((destReal + "/" + name).c_str(), &st) == 0 || !names.insert(name).second) {
      throw ApiError(409, "already_exists", displayPath(result) + " already exists")
          .withDetails("target", "already exists");
    }
    if (S_ISDIR(resolved[i].st.st_mode) &&
        (destReal == resolved[i].real || startsWithDir(destReal, resolved[i].real))) {
      throw validationError("target", "is inside " + displayPath(sources[i]));
    }
    results.push_back(std::move(result));
  }
  const Resolved dest = ensureFolder(target, "target");
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const std::string destination = dest.real + "/" + sources[i].back();
    int rc = 0;
    if (move) {
      rc = renameNoReplace(resolved[i].real, destination);
    } else {
      UniqueFd unused;
      const std::string tmp = makeTempFile(dest.real, unused);
      unused.reset();
      ::unlink(tmp.c_str());  // only its unique name is used
      if (!copyTree(resolved[i].real, tmp)) {
        const int saved = errno;
        removeTreeNoFollow(tmp);
        errno = saved;
        throw ioError("Cannot copy " + displayPath(sources[i]));
      }
      rc = renameNoReplace(tmp, destination);
      if (rc != 0) removeTreeNoFollow(tmp);
    }
    if (rc == EEXIST || rc == ENOTEMPTY) {
      throw ApiError(409, "already_exists", displayPath(results[i]) + " already exists");
    }
    if (rc != 0) {
      errno = rc;
      throw ioError(std::string(move ? "Cannot move " : "Cannot copy ") + displayPath(sources[i]));
    }
    if (move) fsyncDirectory(resolved[i].parentReal);
  }
  fsyncDirectory(dest.real);
  return results;
}

std::size_t WorkspaceFiles::remove(const std::vector<RelPath>& paths) const {
  std::vector<Resolved> resolved;
  for (const RelPath& path : paths) {
    if (path.empty()) throw validationError("ids", "the workspace root cannot be deleted");
    resolved.push_back(requireExisting(path, false));
  }
  for (const Resolved& r : resolved) {
    if (S_ISDIR(r.st.st_mode)) {
      removeTreeNoFollow(r.real);
    } else if (::unlink(r.real.c_str()) != 0 && errno != ENOENT) {
      throw ioError("Cannot delete");
    }
    fsyncDirectory(r.parentReal);
  }
  return paths.size();
}

Json WorkspaceFiles::info(const RelPath& path) const {
  const Resolved r = requireExisting(path, true);
  const bool folder = S_ISDIR(r.st.st_mode);
  std::int64_t size = S_ISREG(r.st.st_mode) ? static_cast<std::int64_t>(r.st.st_size) : 0;
  std::int64_t count = 0;
  if (folder) {
    std::vector<std::string> pending{r.real};
    while (!pending.empty()) {
      const std::string current = std::move(pending.back());
      pending.pop_back();
      DIR* d = ::opendir(current.c_str());
      if (!d) continue;
      while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == ".." || isEmulatorTempName(name)) continue;
        const std::string child = current + "/" + name;
        struct stat st {};
        if (::lstat(child.c_str(), &st) != 0) continue;
        ++count;
        if (S_ISDIR(st.st_mode)) {
          pending.push_back(child);
        } else if (S_ISREG(st.st_mode)) {
          size += static_cast<std::int64_t>(st.st_size);
        }
      }
      ::closedir(d);
    }
  }
  return Json{{"path", displayPath(path)},
              {"type", folder ? "folder" : "file"},
              {"size", size},
              {"count", count}};
}

WorkspaceFiles::OpenedFile WorkspaceFiles::openForReading(const RelPath& path) const {
  const Resolved r = requireExisting(path, true);
  if (S_ISDIR(r.st.st_mode)) throw validationError("id", "is a folder, not a file");
  if (!S_ISREG(r.st.st_mode)) throw validationError("id", "is not a regular file");
  OpenedFile out;
  out.fd = UniqueFd(::open(r.real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!out.fd) {
    if (errno == ENOENT) throw notFound("No such file: " + displayPath(path));
    throw ioError("Cannot read " + displayPath(path));
  }
  struct stat st {};
  if (::fstat(out.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw validationError("id", "is not a regular file");
  }
  out.size = static_cast<std::uint64_t>(st.st_size);
  return out;
}

// ---- uploads -------------------------------------------------------------------------------

void WorkspaceFiles::requireFolder(const RelPath& dir) const {
  planFolder(dir, "path");
}

WorkspaceFiles::Upload WorkspaceFiles::beginUpload(const RelPath& dir) const {
  // The missing folders are created at commit, so that a refused upload leaves nothing.
  const FolderPlan plan = planFolder(dir, "path");
  UniqueFd fd;
  std::string temp = makeTempFile(plan.existing.real, fd);
  return Upload(*this, dir, std::move(temp), std::move(fd));
}

WorkspaceFiles::Upload::Upload(const WorkspaceFiles& owner, RelPath dir, std::string tempPath,
                               UniqueFd fd)
    : owner_(&owner), dir_(std::move(dir)), tempPath_(std::move(tempPath)), fd_(std::move(fd)) {}

WorkspaceFiles::Upload::Upload(Upload&& other) noexcept
    : owner_(other.owner_),
      dir_(std::move(other.dir_)),
      tempPath_(std::move(other.tempPath_)),
      fd_(std::move(other.fd_)) {
  other.tempPath_.clear();
}

WorkspaceFiles::Upload::~Upload() {
  discard();
}

bool WorkspaceFiles::Upload::append(const char* data, std::size_t size) {
  return fd_ && writeAll(fd_.get(), data, size);
}

void WorkspaceFiles::Upload::discard() {
  fd_.reset();
  if (!tempPath_.empty()) ::unlink(tempPath_.c_str());
  tempPath_.clear();
}

Json WorkspaceFiles::Upload::commit(const std::string& name) {
  validateEntryName(name, "name");
  if (!fd_ || ::fchmod(fd_.get(), 0644) != 0 || ::fsync(fd_.get()) != 0) {
    throw ioError("Cannot write the file");
  }
  fd_.reset();
  RelPath path = dir_;
  path.push_back(name);
  // The folder is walked again (it may have changed while the body was streaming), its
  // missing folders created.
  owner_->ensureFolder(dir_, "path");
  const Resolved target = owner_->resolve(path, true);
  if (target.exists && !S_ISREG(target.st.st_mode)) {
    throw ApiError(409, "already_exists", displayPath(path) + " already exists and is a folder")
        .withDetails("name", "already exists");
  }
  if (::rename(tempPath_.c_str(), target.real.c_str()) != 0) throw ioError("Cannot store the file");
  const std::string tempDir = dirnameOf(tempPath_);
  tempPath_.clear();
  fsyncDirectory(dirnameOf(target.real));
  if (tempDir != dirnameOf(target.real)) fsyncDirectory(tempDir);
  return owner_->entry(path);
}

}  // namespace rtemu
