#include "internal/sse.hpp"

#include <charconv>

#include "runtools/errors.hpp"

namespace runtools::internal {

SseParser::SseParser(Handler handler, std::size_t maxEventBytes)
    : handler_(std::move(handler)), maxEventBytes_(maxEventBytes) {}

void SseParser::reset() {
  line_.clear();
  bomPrefix_.clear();
  lastWasCr_ = false;
  bomChecked_ = false;
  stopped_ = false;
  pending_ = SseEvent{};
  hasData_ = false;
  pendingFields_ = false;
}

bool SseParser::feed(std::string_view chunk) {
  if (stopped_) return false;
  if (!bomChecked_) {
    // A UTF-8 byte order mark may start the stream, and may arrive split.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    while (!chunk.empty() && bomPrefix_.size() < kBom.size()) {
      bomPrefix_ += chunk.front();
      chunk.remove_prefix(1);
      if (kBom.substr(0, bomPrefix_.size()) != bomPrefix_) break;
    }
    if (bomPrefix_.size() < kBom.size() && kBom.substr(0, bomPrefix_.size()) == bomPrefix_) {
      return true;  // not enough bytes yet to tell
    }
    bomChecked_ = true;
    const std::string head = bomPrefix_ == kBom ? std::string() : std::move(bomPrefix_);
    bomPrefix_.clear();
    if (!feedBytes(head)) return false;
  }
  return feedBytes(chunk);
}

bool SseParser::feedBytes(std::string_view chunk) {
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    if (lastWasCr_ && c == '\n') {
      lastWasCr_ = false;
      continue;  // the LF of a CRLF split from its CR
    }
    lastWasCr_ = false;
    if (c == '\r' || c == '\n') {
      lastWasCr_ = c == '\r';
      processLine(line_);
      line_.clear();
      if (stopped_) return false;
      continue;
    }
    // Copy the run of ordinary bytes at once.
    std::size_t end = i;
    while (end < chunk.size() && chunk[end] != '\r' && chunk[end] != '\n')
      ++end;
    line_.append(chunk.substr(i, end - i));
    if (line_.size() + pending_.data.size() > maxEventBytes_) {
      throw StreamError("server-sent event larger than " + std::to_string(maxEventBytes_) +
                        " bytes");
    }
    i = end - 1;
  }
  return !stopped_;
}

void SseParser::processLine(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  pendingFields_ = true;
  if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "data") {
    if (hasData_) pending_.data += '\n';
    pending_.data.append(value);
    hasData_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) pending_.id = std::string(value);
  } else if (field == "retry") {
    long ms = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size()) pending_.retry = ms;
  }
}

void SseParser::dispatch() {
  if (hasData_ && !stopped_) {
    if (!handler_(pending_)) stopped_ = true;
  }
  pending_.event.clear();
  pending_.data.clear();
  pending_.retry.reset();
  hasData_ = false;
  pendingFields_ = false;
}

bool SseParser::finish() {
  const bool complete = line_.empty() && bomPrefix_.empty() && !pendingFields_;
  bomPrefix_.clear();
  line_.clear();
  pending_ = SseEvent{};
  hasData_ = false;
  pendingFields_ = false;
  return complete;
}

}  // namespace runtools::internal
