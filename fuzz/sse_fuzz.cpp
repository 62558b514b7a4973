// libFuzzer target: the server-sent events parser. The same bytes fed whole
// and fed in pieces (cut where the input says) must give the same events.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "internal/sse.hpp"
#include "runtools/errors.hpp"

namespace {

struct Parsed {
  std::vector<runtools::internal::SseEvent> events;
  bool complete = false;
  bool oversized = false;
};

Parsed parse(const std::string& stream, std::size_t step) {
  Parsed out;
  runtools::internal::SseParser parser(
      [&](const runtools::internal::SseEvent& e) {
        out.events.push_back(e);
        return true;
      },
      64 * 1024);
  try {
    for (std::size_t i = 0; i < stream.size(); i += step)
      parser.feed(stream.substr(i, step));
    out.complete = parser.finish();
  } catch (const runtools::StreamError&) {
    out.oversized = true;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 17;
  const std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Parsed whole = parse(stream, stream.size() + 1);
  const Parsed pieces = parse(stream, step);
  if (whole.oversized || pieces.oversized) return 0;
  if (whole.events.size() != pieces.events.size() || whole.complete != pieces.complete)
    std::abort();
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    const auto& a = whole.events[i];
    const auto& b = pieces.events[i];
    if (a.event != b.event || a.data != b.data || a.id != b.id || a.retry != b.retry) std::abort();
  }
  return 0;
}
