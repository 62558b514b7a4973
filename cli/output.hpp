#pragma once

// Everything a command prints: one JSON document on stdout with --json,
// otherwise aligned tables, key/value blocks and short sentences. Warnings
// go to stderr.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <runtools/common.hpp>

namespace rtcli {

using Row = std::vector<std::string>;
using Fields = std::vector<std::pair<std::string, std::string>>;

class Output {
 public:
  explicit Output(bool json) : json_(json) {}

  bool json() const noexcept { return json_; }

  /// With --json: `doc` on stdout. Without: `human()` is called instead.
  template <class Human>
  void show(const nlohmann::json& doc, Human human) const {
    if (json_) {
      document(doc);
    } else {
      human();
    }
  }

  void document(const nlohmann::json& doc) const;
  /// Columns aligned under `headers`; `empty` when there are no rows.
  void table(const Row& headers, const std::vector<Row>& rows, std::string_view empty) const;
  /// `name:  value` lines, values aligned.
  void fields(const Fields& fields) const;
  /// A sentence on stdout (human mode only).
  void message(std::string_view text) const;

 private:
  bool json_;
};

/// `warning: <text>` on stderr.
void warn(std::string_view text);

/// An ISO timestamp, or "-".
std::string timeText(const std::optional<runtools::Timestamp>& time);
/// "a,b,c" ("-" when empty).
std::string listText(const std::vector<std::string>& items);
/// `value` or "-".
std::string orDash(const std::optional<std::string>& value);
/// 1536 -> "1.5 KiB".
std::string bytesText(std::uint64_t bytes);
/// Writes everything to a file descriptor; false when it is closed.
bool writeFd(int fd, std::string_view bytes);

}  // namespace rtcli
