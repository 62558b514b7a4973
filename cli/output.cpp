#include "output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iostream>

namespace rtcli {

void Output::document(const nlohmann::json& doc) const {
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

void Output::table(const Row& headers, const std::vector<Row>& rows, std::string_view empty) const {
  if (rows.empty()) {
    message(empty);
    return;
  }
  std::vector<std::size_t> width(headers.size(), 0);
  auto measure = [&](const Row& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(headers);
  for (const auto& row : rows)
    measure(row);
  auto print = [&](const Row& row) {
    std::string line;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < width.size()) line += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    std::cout << line << "\n";
  };
  print(headers);
  for (const auto& row : rows)
    print(row);
  std::cout.flush();
}

void Output::fields(const Fields& fields) const {
  std::size_t width = 0;
  for (const auto& [name, value] : fields)
    width = std::max(width, name.size());
  for (const auto& [name, value] : fields)
    std::cout << name << ":" << std::string(width - name.size() + 2, ' ') << value << "\n";
  std::cout.flush();
}

void Output::message(std::string_view text) const {
  if (json_) return;
  std::cout << text << "\n";
  std::cout.flush();
}

void warn(std::string_view text) {
  std::cerr << "warning: " << text << std::endl;
}

std::string timeText(const std::optional<runtools::Timestamp>& time) {
  return time ? runtools::formatTimestamp(*time) : "-";
}

std::string listText(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items)
    text += (text.empty() ? "" : ",") + item;
  return text.empty() ? "-" : text;
}

std::string orDash(const std::optional<std::string>& value) {
  return value && !value->empty() ? *value : "-";
}

std::string bytesText(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

bool writeFd(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace rtcli
