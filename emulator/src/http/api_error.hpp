// ApiError: a documented HTTP error (status + code + message [+ details]) thrown by handlers
// and rendered by the dispatcher as {"error":{"code","message","requestId","details"?}}.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace rtemu {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}

  // Attaches {field, reason} details (used for validation failures).
  ApiError& withDetails(std::string field, std::string reason) {
    field_ = std::move(field);
    reason_ = std::move(reason);
    return *this;
  }

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::optional<std::string>& field() const { return field_; }
  const std::optional<std::string>& reason() const { return reason_; }

 private:
  int status_;
  std::string code_;
  std::optional<std::string> field_;
  std::optional<std::string> reason_;
};

// 400 validation_error with details {field, reason}; the message names the field.
inline ApiError validationError(const std::string& field, const std::string& reason) {
  ApiError error(400, "validation_error", "Invalid " + field + ": " + reason);
  error.withDetails(field, reason);
  return error;
}

inline ApiError notFound(const std::string& message) {
  return ApiError(404, "not_found", message);
}

// The error code of an answer with HTTP status `status` when nothing more specific applies
// (errors raised by the HTTP library itself, injected faults).
inline std::string errorCodeForStatus(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 429:
      return "rate_limited";
    case 431:
      return "request_header_fields_too_large";
    case 501:
      return "not_implemented";
    case 502:
      return "bad_gateway";
    case 503:
      return "service_unavailable";
    case 504:
      return "timeout";
    default:
      return status >= 500 ? "internal_error" : "bad_request";
  }
}

// The same error with code bad_request when it is a validation_error: the auth-service
// families (API keys, SSH keys, OAuth) report malformed input as 400 bad_request.
inline ApiError asBadRequest(const ApiError& error) {
  if (error.code() != "validation_error") return error;
  ApiError out(400, "bad_request", error.what());
  if (error.field()) out.withDetails(*error.field(), error.reason().value_or(""));
  return out;
}

}  // namespace rtemu
