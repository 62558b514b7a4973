#include <catch2/catch.hpp>

#include "internal/sse.hpp"
#include "runtools/errors.hpp"

using runtools::internal::SseEvent;
using runtools::internal::SseParser;

namespace {

// A run stream as the platform sends it, comments and keep-alives included.
const std::string kRecorded =
    ": connected\n\n"
    "event: run_started\n"
    "data: {\"type\":\"run_started\",\"runId\":\"run_1\",\"sequence\":1}\n\n"
    ": ping\n\n"
    "event: assistant_message_delta\n"
    "data: {\"type\":\"assistant_message_delta\",\"delta\":\"Hel\",\"sequence\":2}\n\n"
    "event: assistant_message_delta\n"
    "data: {\"type\":\"assistant_message_delta\",\"delta\":\"lo \\u00e9\",\"sequence\":3}\n\n"
    "event: some_future_type\n"
    "id: 7\n"
    "retry: 1500\n"
    "x-unknown-field: ignored\n"
    "data: {\"type\":\"some_future_type\"}\n\n"
    "data: {\"type\":\"tool_result\",\"output\":\"line one\"}\n\n"
    "event: run_completed\n"
    "data: {\"type\":\"run_completed\",\n"
    "data: \"result\":\"Hello \\u00e9\"}\n\n";

std::vector<SseEvent> parseChunks(const std::string& stream, const std::vector<std::size_t>& cuts,
                                  bool* complete = nullptr) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) {
    events.push_back(e);
    return true;
  });
  std::size_t start = 0;
  for (std::size_t cut : cuts) {
    parser.feed(std::string_view(stream).substr(start, cut - start));
    start = cut;
  }
  parser.feed(std::string_view(stream).substr(start));
  const bool done = parser.finish();
  if (complete != nullptr) *complete = done;
  return events;
}

bool same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id ||
        a[i].retry != b[i].retry) {
      return false;
    }
  }
  return true;
}

std::string toCrlf(const std::string& lf) {
  std::string out;
  for (char c : lf)
    out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

std::string toCr(const std::string& lf) {
  std::string out = lf;
  for (auto& c : out)
    c = c == '\n' ? '\r' : c;
  return out;
}

}  // namespace

TEST_CASE("a recorded stream parses into its events") {
  bool complete = false;
  const auto events = parseChunks(kRecorded, {}, &complete);
  CHECK(complete);
  REQUIRE(events.size() == 6);
  CHECK(events[0].event == "run_started");
  CHECK(events[1].data == R"({"type":"assistant_message_delta","delta":"Hel","sequence":2})");
  CHECK(events[3].event == "some_future_type");
  CHECK(events[3].id == "7");
  CHECK(events[3].retry == 1500L);
  CHECK(events[4].event.empty());  // data-only frame: the type is inside the data
  CHECK(events[5].event == "run_completed");
  CHECK(events[5].data == "{\"type\":\"run_completed\",\n\"result\":\"Hello \\u00e9\"}");
}

TEST_CASE("every split point of a recorded stream gives the same events") {
  for (const auto& stream : {kRecorded, toCrlf(kRecorded), toCr(kRecorded)}) {
    const auto whole = parseChunks(stream, {});
    REQUIRE(whole.size() == 6);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
      INFO("cut at " << cut);
      REQUIRE(same(parseChunks(stream, {cut}), whole));
    }
    // Three chunks, across a spread of positions.
    for (std::size_t a = 1; a < stream.size(); a += 7) {
      for (std::size_t b = a + 1; b < stream.size(); b += 13) {
        INFO("cuts at " << a << " and " << b);
        REQUIRE(same(parseChunks(stream, {a, b}), whole));
      }
    }
  }
}

TEST_CASE("one byte at a time, with LF, CRLF and CR line ends") {
  for (const auto& stream : {kRecorded, toCrlf(kRecorded), toCr(kRecorded)}) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i)
      cuts.push_back(i);
    bool complete = false;
    CHECK(same(parseChunks(stream, cuts, &complete), parseChunks(kRecorded, {})));
    CHECK(complete);
  }
}

TEST_CASE("a byte order mark is skipped even when split") {
  const std::string bom = "\xEF\xBB\xBF";
  const std::string stream = bom + "data: x\n\n";
  for (std::size_t cut = 1; cut < 5; ++cut) {
    const auto events = parseChunks(stream, {cut});
    REQUIRE(events.size() == 1);
    CHECK(events[0].data == "x");
  }
  // Bytes that only look like the start of a mark are data.
  const auto other = parseChunks(
      "\xEF"
      "data: y\n\n",
      {1});
  CHECK(other.empty());  // the first line is "\xEF" + "data: y": an unknown field
}

TEST_CASE("field syntax: one optional space, colons in values, empty data") {
  const auto events =
      parseChunks("data:no-space\n\ndata:  two spaces\n\ndata: a:b:c\n\ndata\n\ndata:\n\n", {});
  REQUIRE(events.size() == 5);
  CHECK(events[0].data == "no-space");
  CHECK(events[1].data == " two spaces");
  CHECK(events[2].data == "a:b:c");
  CHECK(events[3].data.empty());
  CHECK(events[4].data.empty());
}

TEST_CASE("comments, blank lines and event names without data dispatch nothing") {
  const auto events = parseChunks(": a comment\n\n\n\nevent: lonely\n\n:ping\n\n", {});
  CHECK(events.empty());
}

TEST_CASE("a stream cut inside an event is reported incomplete and the event is dropped") {
  const std::string truncated = "data: {\"type\":\"run_started\"}\n\nevent: run_completed\ndata: {";
  bool complete = true;
  const auto events = parseChunks(truncated, {}, &complete);
  CHECK_FALSE(complete);
  REQUIRE(events.size() == 1);
  const std::string noFinalBlank = "data: one\n\ndata: two\n";
  CHECK(parseChunks(noFinalBlank, {}, &complete).size() == 1);
  CHECK_FALSE(complete);
  CHECK(parseChunks("data: one\n\n", {}, &complete).size() == 1);
  CHECK(complete);
}

TEST_CASE("the handler stops the parser") {
  int seen = 0;
  SseParser parser([&](const SseEvent&) { return ++seen < 2; });
  CHECK(parser.feed("data: 1\n\n"));
  CHECK_FALSE(parser.feed("data: 2\n\ndata: 3\n\n"));
  CHECK(seen == 2);
  CHECK_FALSE(parser.feed("data: 4\n\n"));
  CHECK(seen == 2);
  CHECK(parser.stopped());
}

TEST_CASE("an oversized event is a StreamError, not unbounded memory") {
  SseParser parser([](const SseEvent&) { return true; }, 1024);
  const std::string big(600, 'x');
  parser.feed("data: " + big + "\n");
  CHECK_THROWS_AS(parser.feed("data: " + big + "\n"), runtools::StreamError);
}
