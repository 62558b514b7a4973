#pragma once

// A server-sent events parser (WHATWG HTML §9.2), fed arbitrary chunks:
// lines end with CRLF, LF or CR (a CR at the end of one chunk and an LF at
// the start of the next are one line end); `data:` lines accumulate; lines
// starting with ':' are comments; unknown fields are ignored; an event is
// dispatched at a blank line, and one still open when the stream ends is
// discarded (and reported by finish()).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtools/http.hpp"

namespace runtools::internal {

struct SseEvent {
  /// The `event:` field; empty when the frame had none (the default type).
  std::string event;
  /// The `data:` lines joined with '\n'.
  std::string data;
  std::string id;
  std::optional<long> retry;
};

class SseParser {
 public:
  /// Returns false to stop: no further event is dispatched.
  using Handler = std::function<bool(const SseEvent&)>;

  explicit SseParser(Handler handler, std::size_t maxEventBytes = 16 * 1024 * 1024);

  /// Parses a chunk. Returns false once the handler asked to stop. Throws
  /// StreamError when one event grows beyond maxEventBytes.
  bool feed(std::string_view chunk);
  /// Ends the stream: true when nothing was pending (every event complete).
  bool finish();
  /// Forgets everything (the stream starts over).
  void reset();
  bool stopped() const noexcept { return stopped_; }

 private:
  bool feedBytes(std::string_view chunk);
  void processLine(std::string_view line);
  void dispatch();

  Handler handler_;
  std::size_t maxEventBytes_;
  std::string line_;
  std::string bomPrefix_;
  bool lastWasCr_ = false;
  bool bomChecked_ = false;
  bool stopped_ = false;
  SseEvent pending_;
  bool hasData_ = false;
  bool pendingFields_ = false;
};

/// A BodySink that parses a 2xx body as server-sent events.
class SseSink final : public BodySink {
 public:
  explicit SseSink(SseParser::Handler handler) : parser_(std::move(handler)) {}

  /// Thrown through the transport when the handler returns false; the
  /// caller catches it to end the stream early.
  struct Stop {};

  void begin(int, const HttpHeaders&) override { began_ = true; }
  void write(const char* data, std::size_t size) override {
    began_ = true;
    bytes_ += size;
    if (!parser_.feed(std::string_view(data, size))) throw Stop{};
  }
  void reset() override {
    began_ = false;
    bytes_ = 0;
    parser_.reset();
  }
  bool finish() { return parser_.finish(); }
  /// Body bytes received since the stream (last) started.
  std::uint64_t bytesReceived() const noexcept { return bytes_; }
  /// Whether the 2xx answer has begun: its headers (or body bytes) arrived.
  bool began() const noexcept { return began_; }

 private:
  SseParser parser_;
  bool began_ = false;
  std::uint64_t bytes_ = 0;
};

}  // namespace runtools::internal
