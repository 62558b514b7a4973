#include "util/fs_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace rtemu {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void fsyncDirectory(const std::filesystem::path& dir) {
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

bool writeFileAtomically(const std::filesystem::path& file, const std::string& content,
                         bool ownerOnly) {
  std::string tmp = file.string() + ".tmp-XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return false;
  const bool ok = ::fchmod(fd.get(), ownerOnly ? 0600 : 0644) == 0 &&
                  writeAll(fd.get(), content.data(), content.size()) && ::fsync(fd.get()) == 0;
  fd.reset();
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  fsyncDirectory(file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path());
  return true;
}

std::int64_t directorySizeBytes(const std::filesystem::path& dir) {
  std::int64_t total = 0;
  std::vector<std::string> pending{dir.string()};
  while (!pending.empty()) {
    const std::string current = std::move(pending.back());
    pending.pop_back();
    DIR* d = ::opendir(current.c_str());
    if (!d) continue;
    while (const dirent* entry = ::readdir(d)) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = current + "/" + name;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        pending.push_back(path);
      } else if (S_ISREG(st.st_mode)) {
        total += static_cast<std::int64_t>(st.st_size);
      }
    }
    ::closedir(d);
  }
  return total;
}

void removeTree(const std::filesystem::path& dir) {
  std::error_code ec;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::filesystem::remove_all(dir, ec);
    if (!ec) return;
  }
}

}  // namespace rtemu
