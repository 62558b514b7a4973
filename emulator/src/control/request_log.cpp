#include "control/request_log.hpp"

#include <algorithm>
#include <cctype>

#include "util/encoding.hpp"

namespace rtemu {
namespace {

constexpr char kRedacted[] = "[redacted]";
// Per entry, header values beyond this many bytes in total are left out (the entry then says
// "headersTruncated": true), which bounds the log's memory whatever the clients send.
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

bool isCredentialHeader(const std::string& name) {
  for (const char* secret : {"X-API-Key", "Authorization", "Proxy-Authorization", "Cookie"}) {
    if (equalsIgnoreCase(name, secret)) return true;
  }
  return false;
}

bool isCredentialParameter(const std::string& name) {
  for (const char* secret : {"api_key", "apiKey", "token", "access_token"}) {
    if (equalsIgnoreCase(name, secret)) return true;
  }
  return false;
}

// The raw query with the values of credential parameters replaced.
std::string redactQuery(const std::string& query) {
  std::string out;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const std::size_t eq = pair.find('=');
    const std::string name = pair.substr(0, eq);
    if (!out.empty() || start > 0) out += '&';
    if (isCredentialParameter(percentDecode(name, true))) {
      out += name + "=" + kRedacted;
    } else {
      out += pair;
    }
    start = end + 1;
  }
  return out;
}

bool matchesPath(const std::string& pattern, const std::string& path) {
  if (pattern.empty() || pattern == "*") return true;
  if (pattern.back() == '*')
    return path.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return path == pattern;
}

}  // namespace

RequestLog::RequestLog(const Clock& clock, std::size_t capacity)
    : clock_(clock), capacity_(std::max<std::size_t>(capacity, 1)) {}

bool RequestLog::excluded(const std::vector<std::string>& segments) {
  return segments.size() == 2 && segments[0] == "_emu" && segments[1] == "requests";
}

void RequestLog::add(RequestRecord record) {
  Json headers = Json::object();
  std::size_t bytes = 0;
  bool truncated = false;
  for (const auto& [name, value] : record.headers) {
    const std::string shown = isCredentialHeader(name) ? kRedacted : value;
    bytes += name.size() + shown.size();
    if (bytes > kMaxHeaderBytes) {
      truncated = true;
      break;
    }
    if (headers.contains(name)) {
      headers[name] = headers[name].get<std::string>() + ", " + shown;
    } else {
      headers[name] = shown;
    }
  }
  Json entry{
      {"requestId", record.requestId},
      {"method", record.method},
      {"path", record.path},
      {"query", record.query.empty() ? std::string() : redactQuery(record.query)},
      {"status", record.status ? Json(*record.status) : Json(nullptr)},
      {"fault", record.fault},
      {"idempotencyKey", record.idempotencyKey ? Json(*record.idempotencyKey) : Json(nullptr)},
      {"replayed", record.replayed},
      {"headers", std::move(headers)},
      {"timestamp", isoTimestamp(clock_.nowMs())},
  };
  if (truncated) entry["headersTruncated"] = true;
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity_)
    entries_.pop_front();
}

Json RequestLog::query(const std::string& path, const std::string& method) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::array();
  for (const Json& entry : entries_) {
    if (!matchesPath(path, entry["path"].get_ref<const std::string&>())) continue;
    if (!method.empty() &&
        !equalsIgnoreCase(entry["method"].get_ref<const std::string&>(), method.c_str())) {
      continue;
    }
    out.push_back(entry);
  }
  return out;
}

void RequestLog::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

void addRequestLogRoutes(Router& router, RequestLog& log) {
  RequestLog* requests = &log;
  router.add("GET", "/_emu/requests", Access::kControl, [requests](ApiRequest& request) {
    return okReply(requests->query(request.queryValue("path").value_or(""),
                                   request.queryValue("method").value_or("")));
  });
  router.add("DELETE", "/_emu/requests", Access::kControl, [requests](ApiRequest&) {
    requests->clear();
    return okReply(Json{{"cleared", true}});
  });
}

}  // namespace rtemu
