#include "internal/envelope.hpp"

#include <cctype>

#include "internal/retry.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

constexpr std::size_t kSnippetLength = 200;
constexpr std::size_t kMaxKeptBody = 64 * 1024;

using nlohmann::json;

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string stringMember(const json& object, const char* key) {
  const json* value = member(object, key);
  if (value == nullptr) return {};
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number()) return value->dump();
  return {};
}

// A short, single-line, printable excerpt of a body for messages.
std::string snippet(std::string_view body) {
  std::string out;
  bool lastSpace = true;
  for (const char ch : body) {
    if (out.size() >= kSnippetLength) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c) || c < 0x20 || c == 0x7F) {
      if (!lastSpace) out += ' ';
      lastSpace = true;
    } else {
      out += ch;
      lastSpace = false;
    }
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

bool isBlank(std::string_view body) {
  for (const char c : body) {
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Envelope unwrapEnvelope(json body) {
  Envelope envelope;
  if (body.is_object() && body.contains("data")) {
    envelope.data = body["data"];
    const json* meta = member(body, "meta");
    const json empty = json::object();
    const json& m = meta != nullptr ? *meta : empty;
    envelope.requestId = stringMember(m, "requestId");
    if (envelope.requestId.empty()) envelope.requestId = stringMember(body, "requestId");

    // Both pagination fields come from one place: `meta` when it has
    // them, else the top level. No cursor is reported without more pages.
    const json* hasMore = member(m, "hasMore");
    const json& source = hasMore != nullptr && hasMore->is_boolean() ? m : body;
    hasMore = member(source, "hasMore");
    envelope.hasMore = hasMore != nullptr && hasMore->is_boolean() && hasMore->get<bool>();
    const json* cursor = member(source, "nextCursor");
    if (envelope.hasMore && cursor != nullptr && cursor->is_string() &&
        !cursor->get<std::string>().empty()) {
      envelope.nextCursor = cursor->get<std::string>();
    }
  } else {
    envelope.data = body;
  }
  envelope.body = std::move(body);
  return envelope;
}

Envelope parseSuccess(const HttpResponse& response, const Redactor& redact) {
  if (isBlank(response.body)) return unwrapEnvelope(json());
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // Redact the whole body before cutting it, so that no part of a secret
    // straddling the cut survives.
    throw InvalidResponseError(
        response.status, "HTTP " + std::to_string(response.status) +
                             " response is not valid JSON: " + snippet(redact(response.body)));
  }
  return unwrapEnvelope(std::move(parsed));
}

std::string defaultCodeForStatus(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 402:
      return "payment_required";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 422:
      return "validation_error";
    case 429:
      return "rate_limited";
    case 500:
      return "internal_error";
    case 501:
      return "not_implemented";
    case 502:
      return "bad_gateway";
    case 503:
      return "service_unavailable";
    case 504:
      return "timeout";
    default:
      return status >= 500 ? "server_error" : "http_error";
  }
}

ErrorInfo parseErrorBody(int status, const HttpHeaders& headers, std::string_view body) {
  ErrorInfo info;
  const json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    const json* error = member(parsed, "error");
    if (error != nullptr && error->is_object()) {
      info.code = stringMember(*error, "code");
      info.message = stringMember(*error, "message");
      info.requestId = stringMember(*error, "requestId");
    } else if (error != nullptr && error->is_string()) {
      info.code = error->get<std::string>();
      info.message = stringMember(parsed, "message");
    } else {
      info.code = stringMember(parsed, "code");
      info.message = stringMember(parsed, "message");
    }
    if (info.requestId.empty()) {
      const json* meta = member(parsed, "meta");
      if (meta != nullptr) info.requestId = stringMember(*meta, "requestId");
    }
    if (info.requestId.empty()) info.requestId = stringMember(parsed, "requestId");
    if (info.message.empty()) info.message = snippet(body);
  } else if (isBlank(body)) {
    info.message = "HTTP " + std::to_string(status) + " with an empty body";
  } else {
    info.message = "HTTP " + std::to_string(status) + " with a non-JSON body: " + snippet(body);
  }
  if (info.requestId.empty()) info.requestId = headers.get("X-Request-ID").value_or("");
  if (info.code.empty()) info.code = defaultCodeForStatus(status);
  return info;
}

void throwApiError(const HttpResponse& response, const Redactor& redact, int attempts) {
  const int status = response.status;
  // Redact first, cut afterwards: a secret straddling a cut would otherwise
  // escape the redactor.
  std::string body = redact(response.body);
  ErrorInfo info = parseErrorBody(status, response.headers, body);
  std::string code = redact(std::move(info.code));
  std::string message = redact(std::move(info.message));
  std::string requestId = redact(std::move(info.requestId));
  if (body.size() > kMaxKeptBody) body.resize(kMaxKeptBody);

  switch (status) {
    case 400:
    case 422:
      throw BadRequestError(status, code, message, requestId, body, attempts);
    case 401:
      throw AuthenticationError(status, code, message, requestId, body, attempts);
    case 402:
      throw PaymentRequiredError(status, code, message, requestId, body, attempts);
    case 403:
      throw PermissionDeniedError(status, code, message, requestId, body, attempts);
    case 404:
      throw NotFoundError(status, code, message, requestId, body, attempts);
    case 409:
      throw ConflictError(status, code, message, requestId, body, attempts);
    case 413:
      throw PayloadTooLargeError(status, code, message, requestId, body, attempts);
    case 429:
      throw RateLimitError(
          status, code, message, requestId, body,
          serverRetryAfter(status, response.headers, std::chrono::system_clock::now()), attempts);
    default:
      if (status >= 500) throw ServerError(status, code, message, requestId, body, attempts);
      throw ApiError(status, code, message, requestId, body, attempts);
  }
}

}  // namespace runtools::internal
