// libFuzzer target: how runtools-emulator reads a request. The input is a
// request in HTTP/1.1 shape ("METHOD TARGET\n", header lines, a blank line,
// the body); each part goes through the parser the emulator uses for it:
// path segments and percent-decoding, the query string, cursors, workspace
// paths (whose confinement rules are checked as invariants), X-Emu-Fault
// headers, and JSON bodies (also as /_emu/faults schedules).
// Parsers may refuse input with rtemu::ApiError (a 4xx); anything else that
// escapes, or a broken invariant, is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/fault_injector.hpp"
#include "http/api_error.hpp"
#include "stores/workspace_fs.hpp"
#include "util/encoding.hpp"
#include "util/json_util.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

// A workspace path never holds a segment that could leave the workspace.
void checkConfined(const rtemu::RelPath& path) {
  for (const auto& segment : path) {
    require(!segment.empty());
    require(segment != "." && segment != "..");
    require(segment.find('/') == std::string::npos);
    require(segment.find('\0') == std::string::npos);
  }
}

void workspacePathFromSegments(const std::vector<std::string>& segments) {
  try {
    checkConfined(rtemu::pathFromSegments(segments, 0));
  } catch (const rtemu::ApiError&) {
  }
}

void workspacePathFromString(const std::string& text) {
  try {
    checkConfined(rtemu::pathFromString(text, "path"));
  } catch (const rtemu::ApiError&) {
  }
}

void cursor(const std::string& text) {
  const auto decoded = rtemu::base64UrlDecode(text);
  if (!decoded) return;
  const auto again = rtemu::base64UrlDecode(rtemu::base64UrlEncode(*decoded));
  require(again && *again == *decoded);
}

void faultHeader(const std::string& value) {
  try {
    std::string key;
    const rtemu::FaultSpec spec = rtemu::parseFaultHeader(value, key);
    require(!key.empty());
    require(spec.count >= 1);
    (void)rtemu::dumpJson(spec.toJson());
  } catch (const rtemu::ApiError&) {
  }
}

void faultSchedule(const rtemu::Json& parsed) {
  try {
    const rtemu::FaultSpec spec = rtemu::parseFaultBody(parsed);
    require(spec.count >= 1);
    (void)spec.matches("GET", "/v1/sandboxes");
    (void)rtemu::dumpJson(spec.toJson());
  } catch (const rtemu::ApiError&) {
  }
}

void body(const std::string& text) {
  try {
    const rtemu::Json parsed = rtemu::parseJsonObjectBody(text);
    faultSchedule(parsed);
    require(parsed.is_object());
    (void)rtemu::dumpJson(parsed);  // invalid UTF-8 never escapes as an exception
    (void)rtemu::readString(parsed, "name");
    (void)rtemu::readInteger(parsed, "timeout");
    (void)rtemu::readBool(parsed, "force");
    (void)rtemu::readStringArray(parsed, "ids");
    (void)rtemu::readEnvMap(parsed, "env");
    if (const auto path = rtemu::readString(parsed, "path")) workspacePathFromString(*path);
  } catch (const rtemu::ApiError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto lineEnd = std::min(input.find('\n'), input.size());
  const std::string requestLine = input.substr(0, lineEnd);
  const auto headEnd = input.find("\n\n", lineEnd);
  const std::string headers = headEnd == std::string::npos
                                  ? input.substr(lineEnd)
                                  : input.substr(lineEnd, headEnd - lineEnd);
  const std::string payload = headEnd == std::string::npos ? "" : input.substr(headEnd + 2);

  const auto space = requestLine.find(' ');
  const std::string target =
      space == std::string::npos ? requestLine : requestLine.substr(space + 1);
  const auto question = target.find('?');
  const std::string path = target.substr(0, question);
  const std::string query = question == std::string::npos ? "" : target.substr(question + 1);

  const auto segments = rtemu::splitPathSegments(path);
  for (const auto& segment : segments) {
    require(rtemu::percentDecode(rtemu::percentEncode(segment), false) == segment);
  }
  workspacePathFromSegments(segments);

  for (const auto& [key, value] : rtemu::parseQuery(query)) {
    require(rtemu::percentDecode(rtemu::percentEncode(value), true) == value);
    if (key == "cursor") cursor(value);
    if (key == "id" || key == "path" || key == "target") workspacePathFromString(value);
  }
  std::size_t start = 0;
  while (start < headers.size()) {
    const auto end = std::min(headers.find('\n', start), headers.size());
    const std::string line = headers.substr(start, end - start);
    const auto colon = line.find(':');
    if (colon != std::string::npos && line.compare(0, colon, "X-Emu-Fault") == 0) {
      faultHeader(line.substr(line.find_first_not_of(' ', colon + 1) == std::string::npos
                                  ? line.size()
                                  : line.find_first_not_of(' ', colon + 1)));
    }
    start = end + 1;
  }
  body(payload);
  return 0;
}
