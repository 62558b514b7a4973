// Checks and small helpers shared by the emulator's raw-HTTP tests (tests/emulator/), on top of
// their client (test_support.hpp): the error envelope, id and timestamp shapes, and the places
// where the emulator keeps a sandbox's or a workspace's files.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace rtemu_test {

inline const std::regex kRequestIdPattern("req_[0-9a-f]{24}");
inline const std::regex kUuidV4(
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
inline const std::regex kTimestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");

// REQUIREs an error answer: status `status`, the documented envelope with code `code`, a
// message and a request id (the one of the X-Request-ID header), and, when `field` is given,
// details.field.
inline void requireError(const Response& r, int status, const std::string& code,
                         const std::string& field = "") {
  INFO(r.raw);
  REQUIRE(r.status == status);
  REQUIRE(r.errorCode() == code);
  REQUIRE(r.body["error"].contains("message"));
  const std::string requestId = r.body["error"].value("requestId", std::string());
  REQUIRE(std::regex_match(requestId, kRequestIdPattern));
  REQUIRE(r.header("X-Request-ID") == requestId);
  if (!field.empty()) REQUIRE(r.body["error"]["details"]["field"] == field);
}

// `id` is a string: `prefix` then `length` lower-case letters and digits.
inline bool isLowerAlnumId(const Json& id, const std::string& prefix, std::size_t length) {
  if (!id.is_string()) return false;
  const std::string s = id;
  if (s.size() != prefix.size() + length || s.rfind(prefix, 0) != 0) return false;
  for (std::size_t i = prefix.size(); i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// The `id` of each element of a JSON array, in order.
inline std::vector<std::string> ids(const Json& items) {
  std::vector<std::string> out;
  for (const Json& item : items)
    out.push_back(item["id"].get<std::string>());
  return out;
}

// The whole content of a file (empty when it cannot be read).
inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Where the emulator keeps sandbox `id`'s /workspace.
inline std::filesystem::path workspaceOf(const rtemu::Emulator& emu, const std::string& id) {
  return std::filesystem::path(emu.stateDir()) / "sandboxes" / id / "workspace";
}

// A managed agent body (no sandbox needed).
inline Json managedAgent(const std::string& slug) {
  return Json{{"slug", slug}, {"executionMode", "managed"}};
}

}  // namespace rtemu_test
