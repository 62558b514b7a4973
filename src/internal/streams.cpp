#include "internal/streams.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "internal/random.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

std::string systemReason() {
  return std::strerror(errno);
}

// A quoted-string parameter value for Content-Disposition.
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  return out + "\"";
}

[[noreturn]] void throwClosed(const std::string& temp) {
  throw FileError("\"" + temp + "\" was already committed or discarded");
}

}  // namespace

// ------------------------------------------------------------ ContentSource

std::shared_ptr<ContentSource> ContentSource::fromFile(const std::string& localFile) {
  std::shared_ptr<ContentSource> source(new ContentSource());
  source->path_ = localFile;
  source->file_ = std::fopen(localFile.c_str(), "rb");
  if (source->file_ == nullptr) {
    throw FileError("cannot open \"" + localFile + "\" for upload: " + systemReason());
  }
  struct stat info {};
  if (::fstat(::fileno(source->file_), &info) != 0 || !S_ISREG(info.st_mode)) {
    throw FileError("\"" + localFile + "\" is not a regular file");
  }
  source->size_ = static_cast<std::uint64_t>(info.st_size);
  return source;
}

std::shared_ptr<ContentSource> ContentSource::fromBytes(std::string bytes) {
  std::shared_ptr<ContentSource> source(new ContentSource());
  source->size_ = bytes.size();
  source->bytes_ = std::move(bytes);
  return source;
}

ContentSource::~ContentSource() {
  if (file_ != nullptr) std::fclose(file_);
}

std::size_t ContentSource::read(char* buffer, std::size_t capacity) {
  const auto wanted =
      static_cast<std::size_t>(std::min<std::uint64_t>(capacity, size_ - position_));
  if (file_ == nullptr) {
    std::memcpy(buffer, bytes_.data() + position_, wanted);
  } else if (std::fread(buffer, 1, wanted, file_) < wanted) {
    // Never send fewer bytes than the Content-Length announced.
    throw FileError("\"" + path_ + "\" " +
                    (std::ferror(file_) ? "could not be read: " + systemReason()
                                        : std::string("shrank while it was being uploaded")));
  }
  position_ += wanted;
  return wanted;
}

void ContentSource::rewind() {
  position_ = 0;
  if (file_ != nullptr && std::fseek(file_, 0, SEEK_SET) != 0) {
    throw FileError("cannot rewind \"" + path_ + "\": " + systemReason());
  }
}

// ------------------------------------------------------------ MultipartUpload

MultipartUpload::MultipartUpload(std::shared_ptr<ContentSource> content,
                                 const std::string& fileName, const Fields& fields)
    : content_(std::move(content)) {
  boundary_ = "runtools-" + randomHex(32);
  head_ = "--" + boundary_ +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=" + quoted(fileName) +
          "\r\nContent-Type: application/octet-stream\r\n\r\n";
  tail_ = "\r\n";
  for (const auto& [name, value] : fields) {
    tail_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=" + quoted(name) +
             "\r\n\r\n" + value + "\r\n";
  }
  tail_ += "--" + boundary_ + "--\r\n";
}

std::string MultipartUpload::contentType() const {
  return "multipart/form-data; boundary=" + boundary_;
}

std::uint64_t MultipartUpload::size() const {
  return head_.size() + content_->size() + tail_.size();
}

std::size_t MultipartUpload::read(char* buffer, std::size_t capacity) {
  const std::uint64_t contentEnd = head_.size() + content_->size();
  std::size_t written = 0;
  while (written < capacity && position_ < size()) {
    std::size_t n = 0;
    if (position_ < head_.size()) {
      n = std::min<std::size_t>(capacity - written, head_.size() - position_);
      std::memcpy(buffer + written, head_.data() + position_, n);
    } else if (position_ < contentEnd) {
      n = content_->read(buffer + written, capacity - written);
    } else {
      const std::uint64_t offset = position_ - contentEnd;
      n = std::min<std::size_t>(capacity - written, tail_.size() - offset);
      std::memcpy(buffer + written, tail_.data() + offset, n);
    }
    written += n;
    position_ += n;
  }
  return written;
}

void MultipartUpload::rewind() {
  position_ = 0;
  content_->rewind();
}

// ------------------------------------------------------------ AtomicFileSink

AtomicFileSink::AtomicFileSink(std::string target) : target_(std::move(target)) {
  if (target_.empty()) throw InvalidArgumentError("the local file name must not be empty");
  temp_ = target_ + ".rtpart-" + randomHex(12);
  file_ = std::fopen(temp_.c_str(), "wb");
  if (file_ == nullptr) {
    throw FileError("cannot create \"" + temp_ + "\": " + systemReason());
  }
}

AtomicFileSink::~AtomicFileSink() {
  discard();
}

void AtomicFileSink::discard() noexcept {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  std::remove(temp_.c_str());
}

void AtomicFileSink::write(const char* data, std::size_t size) {
  if (file_ == nullptr) throwClosed(temp_);
  if (std::fwrite(data, 1, size, file_) != size) {
    throw FileError("cannot write \"" + temp_ + "\": " + systemReason());
  }
}

void AtomicFileSink::reset() {
  if (file_ == nullptr) throwClosed(temp_);
  if (std::fflush(file_) != 0 || ::ftruncate(::fileno(file_), 0) != 0 ||
      std::fseek(file_, 0, SEEK_SET) != 0) {
    throw FileError("cannot truncate \"" + temp_ + "\": " + systemReason());
  }
}

void AtomicFileSink::commit() {
  if (file_ == nullptr) throwClosed(temp_);
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    const std::string reason = systemReason();
    discard();
    throw FileError("cannot flush \"" + temp_ + "\": " + reason);
  }
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) {
    const std::string reason = systemReason();
    std::remove(temp_.c_str());
    throw FileError("cannot close \"" + temp_ + "\": " + reason);
  }
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    const std::string reason = systemReason();
    std::remove(temp_.c_str());
    throw FileError("cannot rename \"" + temp_ + "\" to \"" + target_ + "\": " + reason);
  }
}

}  // namespace runtools::internal
