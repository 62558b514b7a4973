#pragma once

// Streamed request and response bodies: a multipart/form-data upload whose
// file part is read from disk (or memory) as it is sent, and a download sink
// that writes to a temporary file renamed into place only when complete.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtools/http.hpp"

namespace runtools::internal {

/// Raw bytes from a local file (read as they are sent) or from memory.
class ContentSource final : public BodySource {
 public:
  /// Throws FileError when the file cannot be opened or is not a regular file.
  static std::shared_ptr<ContentSource> fromFile(const std::string& localFile);
  static std::shared_ptr<ContentSource> fromBytes(std::string bytes);
  ~ContentSource() override;
  ContentSource(const ContentSource&) = delete;
  ContentSource& operator=(const ContentSource&) = delete;

  std::uint64_t size() const override { return size_; }
  std::size_t read(char* buffer, std::size_t capacity) override;
  void rewind() override;

 private:
  ContentSource() = default;

  std::string path_;
  std::FILE* file_ = nullptr;
  std::string bytes_;
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;
};

/// multipart/form-data with one file part (its content streamed from a
/// ContentSource), then text fields.
class MultipartUpload final : public BodySource {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;

  MultipartUpload(std::shared_ptr<ContentSource> content, const std::string& fileName,
                  const Fields& fields);

  /// `multipart/form-data; boundary=...`
  std::string contentType() const;
  /// Bytes of file content (without the multipart framing).
  std::uint64_t contentSize() const noexcept { return content_->size(); }

  std::uint64_t size() const override;
  std::size_t read(char* buffer, std::size_t capacity) override;
  void rewind() override;

 private:
  std::shared_ptr<ContentSource> content_;
  std::string boundary_;
  std::string head_;
  std::string tail_;
  std::uint64_t position_ = 0;  // over head + content + tail
};

/// Writes a download to `<target>.rtpart-<random>` and renames it to
/// `target` on commit(); the partial file is removed by discard(), by a
/// failed commit(), and at the latest when the sink is destroyed. `target`
/// itself is only ever touched by the rename.
class AtomicFileSink final : public BodySink {
 public:
  explicit AtomicFileSink(std::string target);
  ~AtomicFileSink() override;
  AtomicFileSink(const AtomicFileSink&) = delete;
  AtomicFileSink& operator=(const AtomicFileSink&) = delete;

  /// Throws FileError, also once the sink was committed or discarded.
  void write(const char* data, std::size_t size) override;
  void reset() override;
  /// Flushes to disk and renames into place. Throws FileError (the partial
  /// file is then removed).
  void commit();
  /// Closes and removes the partial file now, whoever else still holds the
  /// sink (a transport may keep a copy of the request). Idempotent; never
  /// throws.
  void discard() noexcept;

 private:
  std::string target_;
  std::string temp_;
  std::FILE* file_ = nullptr;
};

/// A sink collecting the body in memory.
class StringSink final : public BodySink {
 public:
  void write(const char* data, std::size_t size) override { text_.append(data, size); }
  void reset() override { text_.clear(); }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace runtools::internal
