#include "http/router.hpp"

#include <algorithm>
#include <cctype>

#include "http/api_error.hpp"

namespace rtemu {

std::optional<std::string> ApiRequest::queryValue(const std::string& key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

bool ApiRequest::queryFlag(const std::string& key) const {
  const auto value = queryValue(key);
  if (!value || value->empty() || *value == "false" || *value == "0") return false;
  if (*value == "true" || *value == "1") return true;
  throw validationError(key, "must be true or false");
}

std::string ApiRequest::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return std::string();
}

std::vector<std::string> ApiRequest::queryValues(const std::string& key) const {
  std::vector<std::string> values;
  for (const auto& [k, v] : query) {
    if (k == key) values.push_back(v);
  }
  return values;
}

const std::string& ApiRequest::param(const std::string& name) const {
  static const std::string kEmpty;
  const auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

const std::string& ApiRequest::bodyText() const {
  static const std::string kEmpty;
  return body ? *body : kEmpty;
}

Handler withBadRequestErrors(Handler handler) {
  return [handler = std::move(handler)](ApiRequest& request) {
    try {
      return handler(request);
    } catch (const ApiError& error) {
      throw asBadRequest(error);
    }
  };
}

void Router::add(const std::string& method, const std::string& pattern, Access access,
                 Handler handler, BodyMode bodyMode, std::uint64_t maxBodyBytes) {
  Route route;
  route.bodyMode = bodyMode;
  route.maxBodyBytes = maxBodyBytes;
  route.method = method;
  route.pattern = splitPathSegments(pattern);
  route.access = access;
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

namespace {

bool matchPattern(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
                  std::map<std::string, std::string>& params) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p == "*" && i + 1 == pattern.size()) return true;
    if (i >= segments.size()) return false;
    if (!p.empty() && p.front() == ':') {
      if (segments[i].empty()) return false;  // an empty segment is never an id
      params[p.substr(1)] = segments[i];
    } else if (p != segments[i]) {
      return false;
    }
  }
  return pattern.size() == segments.size();
}

}  // namespace

Router::Match Router::match(const std::string& method,
                            const std::vector<std::string>& segments) const {
  Match result;
  const std::string effective = method == "HEAD" ? "GET" : method;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!matchPattern(route.pattern, segments, params)) continue;
    if (route.method == "*" || route.method == effective) {
      result.outcome = Outcome::kMatched;
      result.route = &route;
      result.params = std::move(params);
      return result;
    }
    result.outcome = Outcome::kMethodNotAllowed;
    if (std::find(result.allowedMethods.begin(), result.allowedMethods.end(), route.method) ==
        result.allowedMethods.end()) {
      result.allowedMethods.push_back(route.method);
    }
  }
  return result;
}

namespace {

// Parses a decimal integer made only of digits; nullopt otherwise or on overflow.
std::optional<std::size_t> parseUnsigned(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

}  // namespace

PageRequest parsePageRequest(const ApiRequest& request, std::size_t defaultLimit,
                             std::size_t maxLimit) {
  PageRequest page;
  page.limit = defaultLimit;
  if (auto limitText = request.queryValue("limit")) {
    const auto limit = parseUnsigned(*limitText);
    if (!limit || *limit < 1 || *limit > maxLimit) {
      throw validationError("limit",
                            "must be an integer between 1 and " + std::to_string(maxLimit));
    }
    page.limit = *limit;
  }
  if (auto cursor = request.queryValue("cursor")) {
    if (cursor->empty()) return page;
    const auto decoded = base64UrlDecode(*cursor);
    const Json parsed = decoded ? Json::parse(*decoded, nullptr, false) : Json();
    const auto it = parsed.is_object() ? parsed.find("offset") : parsed.end();
    if (!decoded || !parsed.is_object() || it == parsed.end() || !it->is_number_unsigned()) {
      throw validationError("cursor", "is not a valid pagination cursor");
    }
    page.offset = it->get<std::size_t>();
  }
  return page;
}

std::string encodeCursor(std::size_t offset) {
  return base64UrlEncode(dumpJson(Json{{"offset", offset}}));
}

Json slicePage(const Json& items, const PageRequest& page, Pagination& pagination) {
  Json slice = Json::array();
  const std::size_t total = items.size();
  const std::size_t begin = std::min(page.offset, total);
  const std::size_t end = begin + std::min(page.limit, total - begin);
  for (std::size_t i = begin; i < end; ++i)
    slice.push_back(items[i]);
  pagination.hasMore = end < total;
  pagination.nextCursor =
      pagination.hasMore ? std::optional<std::string>(encodeCursor(end)) : std::nullopt;
  return slice;
}

}  // namespace rtemu
