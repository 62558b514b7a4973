// Server-sent events: frame formatting, and an incremental UTF-8 cleaner for command output
// streamed as JSON strings.
#pragma once

#include <cstddef>
#include <string>

#include "util/json_util.hpp"

namespace rtemu {

// "event: <event>\ndata: <data as single-line JSON>\n\n".
std::string sseFrame(const std::string& event, const Json& data);
// A comment line (": <text>\n\n"), ignored by clients; used as a keep-alive.
std::string sseComment(const std::string& text);

// Turns a byte stream into valid UTF-8, chunk by chunk: invalid sequences become U+FFFD (one
// per maximal invalid subpart), and an incomplete sequence at the end of a chunk is held back
// and completed by the next chunk, so that a character is never split across two outputs.
class Utf8Stream {
 public:
  std::string feed(const char* data, std::size_t size);
  // The held-back bytes of an unfinished sequence, as U+FFFD (empty when none).
  std::string finish();

 private:
  std::string decode(const std::string& in, bool final);
  std::string pending_;
};

}  // namespace rtemu
