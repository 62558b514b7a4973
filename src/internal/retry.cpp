#include "internal/retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "internal/http_syntax.hpp"

#include "runtools/common.hpp"

namespace runtools::internal {
namespace {

using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// A non-negative decimal number (fractions allowed), nullopt otherwise.
std::optional<double> parseNumber(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 32) return std::nullopt;
  bool dot = false;
  bool digit = false;
  for (const char c : text) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else {
      return std::nullopt;
    }
  }
  if (!digit) return std::nullopt;
  return std::strtod(std::string(text).c_str(), nullptr);
}

// A small decimal number of at most `maxDigits` digits.
std::optional<int> smallNumber(std::string_view text, std::size_t maxDigits) {
  if (text.empty() || text.size() > maxDigits) return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Seconds from `now` until `epochSeconds`, within [0, 1e9].
milliseconds untilEpoch(double epochSeconds, std::chrono::system_clock::time_point now) {
  const double nowSeconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double wait = std::clamp(epochSeconds - nowSeconds, 0.0, 1e9);
  return milliseconds(static_cast<std::int64_t>(std::ceil(wait * 1000)));
}

int monthIndex(std::string_view name) {
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (equalsIgnoreCase(name, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return 0;
}

std::vector<std::string_view> splitWords(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ','))
      ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != ',')
      ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

std::optional<std::chrono::system_clock::time_point> build(int year, int month, int day,
                                                           std::string_view hms) {
  if (hms.size() != 8 || hms[2] != ':' || hms[5] != ':') return std::nullopt;
  char iso[32];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%.*sZ", year, month, day,
                static_cast<int>(hms.size()), hms.data());
  return parseTimestamp(iso);
}

}  // namespace

bool isRetryableStatus(int status) noexcept {
  return status == 408 || status == 429 || status == 502 || status == 503 || status == 504;
}

bool isIdempotentMethod(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text) {
  const auto words = splitWords(trim(text));
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (words.size() == 6 && words[5] == "GMT") {
    const auto day = smallNumber(words[1], 2);
    const auto year = smallNumber(words[3], 4);
    const int month = monthIndex(words[2]);
    if (!day || !year || month == 0) return std::nullopt;
    return build(*year, month, *day, words[4]);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  if (words.size() == 4 && words[1].size() == 9 && words[3] == "GMT") {
    const auto d = words[1];
    const auto day = smallNumber(d.substr(0, 2), 2);
    auto year = smallNumber(d.substr(7, 2), 2);
    const int month = monthIndex(d.substr(3, 3));
    if (d[2] != '-' || d[6] != '-' || !day || !year || month == 0) return std::nullopt;
    return build(*year + (*year < 70 ? 2000 : 1900), month, *day, words[2]);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (words.size() == 5) {
    const auto day = smallNumber(words[2], 2);
    const auto year = smallNumber(words[4], 4);
    const int month = monthIndex(words[1]);
    if (!day || !year || month == 0) return std::nullopt;
    return build(*year, month, *day, words[3]);
  }
  return std::nullopt;
}

std::optional<milliseconds> serverRetryAfter(int status, const HttpHeaders& headers,
                                             std::chrono::system_clock::time_point now) {
  if (auto ms = headers.get("retry-after-ms")) {
    if (auto value = parseNumber(*ms)) {
      return milliseconds(static_cast<std::int64_t>(std::ceil(std::min(*value, 1e12))));
    }
  }
  if (auto after = headers.get("Retry-After")) {
    if (auto seconds = parseNumber(*after)) {
      return milliseconds(static_cast<std::int64_t>(std::ceil(std::min(*seconds, 1e9) * 1000)));
    }
    if (auto date = parseHttpDate(*after)) {
      return untilEpoch(std::chrono::duration<double>(date->time_since_epoch()).count(), now);
    }
  }
  // The window's reset time is the wait only when the window is used up: a
  // 429 with requests left in the window comes from another limit (bursts,
  // concurrency), for which the ordinary backoff is the better guess.
  const auto remaining = headers.get("X-RateLimit-Remaining");
  const auto left = remaining ? parseNumber(*remaining) : std::nullopt;
  if (status == 429 && (!left || *left <= 0)) {
    if (auto reset = headers.get("X-RateLimit-Reset")) {
      if (auto epoch = parseNumber(*reset)) return untilEpoch(*epoch, now);
    }
  }
  return std::nullopt;
}

milliseconds backoffDelay(int attempt, const RetryPolicy& policy, double unit) {
  const double base = static_cast<double>(policy.initialDelay.count()) *
                      std::pow(2.0, static_cast<double>(std::clamp(attempt, 0, 30)));
  const double capped = std::min(base, static_cast<double>(policy.maxDelay.count()));
  // Full jitter at 1: a uniform wait in (0, capped]; none at 0. Rounded up,
  // so that a retry never follows its failure without any pause.
  const double factor = 1.0 - std::clamp(policy.jitter, 0.0, 1.0) * std::clamp(unit, 0.0, 1.0);
  return milliseconds(static_cast<std::int64_t>(std::ceil(std::max(0.0, capped * factor))));
}

}  // namespace runtools::internal
