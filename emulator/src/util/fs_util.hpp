// Durable file-system helpers shared by the stores and the workspace files: atomic writes
// (temporary file + fsync + rename + directory fsync) and size walks that never follow
// symlinks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace rtemu {

// An open descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// write() until everything is written (EINTR retried); false on error (errno set).
bool writeAll(int fd, const char* data, std::size_t size);
// fsync() of a directory, so that a rename or a new entry in it survives a crash.
void fsyncDirectory(const std::filesystem::path& dir);

// Writes `content` to `file` atomically: a temporary file in the same directory, fsync'd and
// renamed over `file`, then the directory fsync'd. Mode 0600 when `ownerOnly`, else 0644.
// Returns false on any failure (the previous content stays).
bool writeFileAtomically(const std::filesystem::path& file, const std::string& content,
                         bool ownerOnly);

// Sum of the sizes of the regular files under `dir` (symlinks are never followed; entries
// that vanish meanwhile are skipped).
std::int64_t directorySizeBytes(const std::filesystem::path& dir);

// Removes a directory tree, best effort: retried briefly, because a process killed a moment
// ago may still be finishing a write. Never follows symlinks (a link inside the tree is
// removed, not its target).
void removeTree(const std::filesystem::path& dir);

}  // namespace rtemu
