#include "control/fault_injector.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "http/api_error.hpp"
#include "util/ids.hpp"

namespace rtemu {
namespace {

constexpr std::int64_t kMaxCount = 1000000;
constexpr std::int64_t kMaxDelayMs = 600000;
constexpr std::int64_t kMaxHintSeconds = 365LL * 24 * 3600;
constexpr std::size_t kMaxKeyLength = 256;
// Header-scoped faults are remembered (used up ones too) up to this many keys; beyond it, the
// used-up ones are forgotten.
constexpr std::size_t kMaxKeys = 100000;
constexpr char kFaultHeader[] = "X-Emu-Fault";

const std::pair<FaultAction, const char*> kActionNames[] = {
    {FaultAction::kResetBefore, "reset-before"},
    {FaultAction::kResetMidBody, "reset-mid-body"},
    {FaultAction::kTruncate, "truncate"},
    {FaultAction::kMalformedJson, "malformed-json"},
    {FaultAction::kHtml, "html"},
    {FaultAction::kEmpty, "empty"},
};

const char* actionName(FaultAction action) {
  for (const auto& [value, name] : kActionNames) {
    if (value == action) return name;
  }
  return nullptr;
}

bool hasControlCharacter(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::optional<std::int64_t> boundedInteger(const Json& body, const char* field, std::int64_t min,
                                           std::int64_t max) {
  const auto value = readInteger(body, field);
  if (value && (*value < min || *value > max)) {
    throw validationError(
        field, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

// Shared by both forms; `requirePath` for POST /_emu/faults (a header fault is scoped by its
// key instead).
FaultSpec parseFaultSpec(const Json& body, bool requirePath) {
  FaultSpec spec;
  if (auto method = readString(body, "method")) {
    if (method->empty() || !std::all_of(method->begin(), method->end(), [](char c) {
          return std::isalpha(static_cast<unsigned char>(c)) != 0;
        })) {
      throw validationError("method", "must be an HTTP method name");
    }
    std::transform(method->begin(), method->end(), method->begin(), [](char c) {
      return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    spec.method = *method;
  }
  if (auto path = readString(body, "path")) {
    if (path->empty() || (path->front() != '/' && *path != "*")) {
      throw validationError("path", "must start with '/'");
    }
    if (path->find('*') < path->size() - 1) {
      throw validationError("path", "may contain '*' only as its last character");
    }
    if (hasControlCharacter(*path))
      throw validationError("path", "must not contain control characters");
    spec.path = *path;
  } else if (requirePath) {
    throw validationError("path", "is required");
  }
  spec.count = boundedInteger(body, "count", 1, kMaxCount).value_or(1);
  if (auto status = boundedInteger(body, "status", 100, 599))
    spec.status = static_cast<int>(*status);
  spec.retryAfter = boundedInteger(body, "retryAfter", 0, kMaxHintSeconds);
  spec.retryAfterDate = boundedInteger(body, "retryAfterDate", 0, kMaxHintSeconds);
  spec.retryAfterMs = boundedInteger(body, "retryAfterMs", 0, kMaxHintSeconds * 1000);
  spec.rateLimitReset = boundedInteger(body, "rateLimitReset", 0, kMaxHintSeconds);
  spec.delayMs = boundedInteger(body, "delayMs", 0, kMaxDelayMs).value_or(0);
  if (auto action = readString(body, "action")) {
    bool known = false;
    for (const auto& [value, name] : kActionNames) {
      if (*action == name) {
        spec.action = value;
        known = true;
      }
    }
    if (!known) {
      throw validationError("action",
                            "must be one of reset-before, reset-mid-body, truncate, "
                            "malformed-json, html, empty");
    }
  }
  if (auto location = readString(body, "location")) {
    if (location->empty() || hasControlCharacter(*location)) {
      throw validationError("location", "must be a non-empty URL without control characters");
    }
    spec.location = *location;
  }

  // Combinations that would be ignored are refused, so that a test never relies on a fault
  // that does not do what it says.
  const FaultAction action = spec.action;
  if (spec.status && (action == FaultAction::kResetBefore || action == FaultAction::kResetMidBody ||
                      action == FaultAction::kTruncate)) {
    throw validationError("status", std::string("cannot be combined with action ") +
                                        actionName(action) + " (the true status is sent, or none)");
  }
  if (action == FaultAction::kNone && spec.status && *spec.status < 300) {
    throw validationError("status", "must be 300..599 unless an action is given");
  }
  if (spec.location &&
      (!spec.status || *spec.status < 300 || *spec.status > 399 || action != FaultAction::kNone)) {
    throw validationError("location", "is only valid with a 3xx status and no action");
  }
  if (spec.retryAfter && spec.retryAfterDate) {
    throw validationError("retryAfterDate", "cannot be combined with retryAfter");
  }
  const bool hints =
      spec.retryAfter || spec.retryAfterDate || spec.retryAfterMs || spec.rateLimitReset;
  if (!spec.status && action == FaultAction::kNone && spec.delayMs == 0) {
    throw validationError("status", "is required unless action or delayMs is given");
  }
  if (hints &&
      ((!spec.status && action == FaultAction::kNone) || action == FaultAction::kResetBefore)) {
    const char* field = spec.retryAfter       ? "retryAfter"
                        : spec.retryAfterDate ? "retryAfterDate"
                        : spec.retryAfterMs   ? "retryAfterMs"
                                              : "rateLimitReset";
    throw validationError(field,
                          "needs a fault that answers (a status, or an action other than "
                          "reset-before)");
  }
  return spec;
}

std::string trim(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return std::string();
  const std::size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

ApiError headerError(const std::string& reason) {
  return validationError(kFaultHeader, reason);
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), independent of the locale.
std::string imfFixdate(std::int64_t unixSeconds) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Server Error" : "Error";
  }
}

}  // namespace

FaultStage FaultSpec::stage() const {
  switch (action) {
    case FaultAction::kNone:
      return status ? FaultStage::kBefore : FaultStage::kDelayOnly;
    case FaultAction::kResetBefore:
    case FaultAction::kHtml:
      return FaultStage::kBefore;
    case FaultAction::kResetMidBody:
    case FaultAction::kTruncate:
    case FaultAction::kMalformedJson:
    case FaultAction::kEmpty:
      return FaultStage::kAfter;
  }
  return FaultStage::kDelayOnly;
}

bool FaultSpec::matches(const std::string& requestMethod, const std::string& rawPath) const {
  if (method && *method != requestMethod) return false;
  if (path.empty() || path == "*") return true;
  if (path.back() == '*') return rawPath.compare(0, path.size() - 1, path, 0, path.size() - 1) == 0;
  return rawPath == path;
}

Json FaultSpec::toJson() const {
  Json out = Json::object();
  out["method"] = method ? Json(*method) : Json(nullptr);
  out["path"] = path.empty() ? Json(nullptr) : Json(path);
  out["count"] = count;
  out["status"] = status ? Json(*status) : Json(nullptr);
  out["action"] = action == FaultAction::kNone ? Json(nullptr) : Json(actionName(action));
  out["delayMs"] = delayMs;
  const std::pair<const char*, const std::optional<std::int64_t>*> hints[] = {
      {"retryAfter", &retryAfter},
      {"retryAfterDate", &retryAfterDate},
      {"retryAfterMs", &retryAfterMs},
      {"rateLimitReset", &rateLimitReset}};
  for (const auto& [name, value] : hints) {
    if (*value) out[name] = **value;
  }
  if (location) out["location"] = *location;
  return out;
}

Json AppliedFault::toJson() const {
  Json out = spec.toJson();
  out["id"] = id;
  out["key"] = key ? Json(*key) : Json(nullptr);
  return out;
}

FaultSpec parseFaultBody(const Json& body) {
  return parseFaultSpec(body, true);
}

FaultSpec parseFaultHeader(const std::string& value, std::string& key) {
  static const char* const kIntegerFields[] = {"count",          "status",       "retryAfter",
                                               "retryAfterDate", "retryAfterMs", "rateLimitReset",
                                               "delayMs"};
  static const char* const kStringFields[] = {"method", "path", "action", "location"};
  Json fields = Json::object();
  bool haveKey = false;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(';', start);
    if (end == std::string::npos) end = value.size();
    const std::string part = trim(value.substr(start, end - start));
    start = end + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    if (eq == std::string::npos) throw headerError("'" + part + "' is not name=value");
    const std::string name = trim(part.substr(0, eq));
    const std::string text = trim(part.substr(eq + 1));
    if (name == "key") {
      if (haveKey) throw headerError("key is given twice");
      if (text.empty() || text.size() > kMaxKeyLength || hasControlCharacter(text)) {
        throw headerError("key must be 1.." + std::to_string(kMaxKeyLength) +
                          " characters without control characters");
      }
      key = text;
      haveKey = true;
      continue;
    }
    if (fields.contains(name)) throw headerError(name + " is given twice");
    bool known = false;
    for (const char* field : kIntegerFields) {
      if (name != field) continue;
      known = true;
      const bool digits =
          !text.empty() && text.size() <= 15 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) throw headerError(name + " must be a non-negative integer");
      fields[name] = std::stoll(text);
    }
    for (const char* field : kStringFields) {
      if (name != field) continue;
      known = true;
      fields[name] = text;
    }
    if (!known) throw headerError("unknown field '" + name + "'");
  }
  if (!haveKey) throw headerError("key is required");
  try {
    return parseFaultSpec(fields, false);
  } catch (const ApiError& error) {
    throw headerError(error.field().value_or("value") + " " +
                      error.reason().value_or("is invalid"));
  }
}

FaultInjector::FaultInjector(const Clock& clock) : clock_(clock) {}

std::string FaultInjector::add(FaultSpec spec) {
  Entry entry;
  entry.id = "flt_" + randomLowerAlnum(20);
  entry.remaining = spec.count;
  entry.spec = std::move(spec);
  std::lock_guard<std::mutex> lock(mutex_);
  scheduled_.push_back(entry);
  return entry.id;
}

Json FaultInjector::entryJson(const Entry& entry) {
  Json out = entry.spec.toJson();
  out["id"] = entry.id;
  out["key"] = entry.key ? Json(*entry.key) : Json(nullptr);
  out["remaining"] = entry.remaining;
  return out;
}

Json FaultInjector::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json out = Json::array();
  for (const Entry& entry : scheduled_)
    out.push_back(entryJson(entry));
  std::vector<const Entry*> keyed;
  for (const auto& [key, entry] : keyed_) {
    if (entry.remaining > 0) keyed.push_back(&entry);
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const Entry* a, const Entry* b) { return *a->key < *b->key; });
  for (const Entry* entry : keyed)
    out.push_back(entryJson(*entry));
  return out;
}

bool FaultInjector::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = std::find_if(scheduled_.begin(), scheduled_.end(),
                               [&](const Entry& entry) { return entry.id == id; });
  if (it != scheduled_.end()) {
    scheduled_.erase(it);
    return true;
  }
  for (auto& [key, entry] : keyed_) {
    if (entry.id == id && entry.remaining > 0) {
      entry.remaining = 0;
      return true;
    }
  }
  return false;
}

std::size_t FaultInjector::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t pending = scheduled_.size();
  for (const auto& [key, entry] : keyed_) {
    if (entry.remaining > 0) ++pending;
  }
  scheduled_.clear();
  keyed_.clear();
  return pending;
}

bool FaultInjector::exempt(const std::vector<std::string>& segments) {
  if (segments.empty()) return false;
  return segments[0] == "_emu" || (segments.size() == 1 && segments[0] == "health");
}

std::optional<AppliedFault> FaultInjector::take(const std::string& method,
                                                const std::string& rawPath,
                                                const std::vector<std::string>& segments,
                                                const std::optional<std::string>& faultHeader) {
  if (exempt(segments)) return std::nullopt;
  std::optional<FaultSpec> headerSpec;
  std::string key;
  if (faultHeader) headerSpec = parseFaultHeader(*faultHeader, key);

  std::lock_guard<std::mutex> lock(mutex_);
  if (headerSpec) {
    auto it = keyed_.find(key);
    if (it == keyed_.end()) {
      if (keyed_.size() >= kMaxKeys) {
        for (auto k = keyed_.begin(); k != keyed_.end();) {
          k = k->second.remaining > 0 ? std::next(k) : keyed_.erase(k);
        }
      }
      Entry entry;
      entry.id = "flt_" + randomLowerAlnum(20);
      entry.key = key;
      entry.remaining = headerSpec->count;
      entry.spec = std::move(*headerSpec);
      it = keyed_.emplace(key, std::move(entry)).first;
    }
    Entry& entry = it->second;
    if (entry.remaining > 0 && entry.spec.matches(method, rawPath)) {
      --entry.remaining;
      return AppliedFault{entry.id, entry.key, entry.spec};
    }
  }
  for (auto it = scheduled_.begin(); it != scheduled_.end(); ++it) {
    if (!it->spec.matches(method, rawPath)) continue;
    AppliedFault applied{it->id, std::nullopt, it->spec};
    if (--it->remaining <= 0) scheduled_.erase(it);
    return applied;
  }
  return std::nullopt;
}

void FaultInjector::delay(const FaultSpec& spec) {
  if (spec.delayMs <= 0) return;
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(spec.delayMs), [this] { return stopping_; });
}

void FaultInjector::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

std::vector<std::pair<std::string, std::string>> FaultInjector::retryHeaders(
    const FaultSpec& spec) const {
  std::vector<std::pair<std::string, std::string>> headers;
  // Whole seconds from now, rounded up, so that a client never waits less than asked.
  const std::int64_t nowSeconds = (clock_.nowMs() + 999) / 1000;
  if (spec.retryAfter) headers.emplace_back("Retry-After", std::to_string(*spec.retryAfter));
  if (spec.retryAfterDate) {
    headers.emplace_back("Retry-After", imfFixdate(nowSeconds + *spec.retryAfterDate));
  }
  if (spec.retryAfterMs) headers.emplace_back("retry-after-ms", std::to_string(*spec.retryAfterMs));
  if (spec.rateLimitReset) {
    headers.emplace_back("X-RateLimit-Remaining", "0");
    headers.emplace_back("X-RateLimit-Reset", std::to_string(nowSeconds + *spec.rateLimitReset));
  }
  return headers;
}

FaultAnswer FaultInjector::beforeAnswer(const FaultSpec& spec, const std::string& requestId) const {
  FaultAnswer answer;
  if (spec.action == FaultAction::kHtml) {
    answer.status = spec.status.value_or(502);
    const std::string title = std::to_string(answer.status) + " " + reasonPhrase(answer.status);
    answer.contentType = "text/html";
    answer.body = "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head><body><h1>" +
                  title + "</h1><p>runtools-emulator: injected fault</p></body></html>\n";
    return answer;
  }
  answer.status = spec.status.value_or(503);
  if (answer.status < 400) {  // a redirect: no body
    if (spec.location) answer.headers.emplace_back("Location", *spec.location);
    return answer;
  }
  const std::string code = errorCodeForStatus(answer.status);
  answer.contentType = "application/json";
  answer.body = dumpJson(Json{
      {"error",
       {{"code", code},
        {"message", "Injected fault: HTTP " + std::to_string(answer.status) + " (" + code + ")"},
        {"requestId", requestId}}}});
  return answer;
}

void addFaultRoutes(Router& router, FaultInjector& faults) {
  FaultInjector* injector = &faults;
  router.add("POST", "/_emu/faults", Access::kControl, [injector](ApiRequest& request) {
    const FaultSpec spec = parseFaultBody(parseJsonObjectBody(request.bodyText()));
    Json data = spec.toJson();
    data["id"] = injector->add(spec);
    data["remaining"] = spec.count;
    return okReply(std::move(data), 201);
  });
  router.add("GET", "/_emu/faults", Access::kControl,
             [injector](ApiRequest&) { return okReply(injector->list()); });
  router.add("DELETE", "/_emu/faults", Access::kControl, [injector](ApiRequest&) {
    return okReply(Json{{"cleared", injector->clear()}});
  });
  router.add("DELETE", "/_emu/faults/:id", Access::kControl, [injector](ApiRequest& request) {
    const std::string& id = request.param("id");
    if (!injector->remove(id)) throw notFound("Fault not found");
    return okReply(Json{{"id", id}, {"deleted", true}});
  });
}

}  // namespace rtemu
