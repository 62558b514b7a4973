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

// The same error with code bad_request when it is a validation_error: the auth-service
// families (API keys, SSH keys, OAuth) report malformed input as 400 bad_request.
inline ApiError asBadRequest(const ApiError& error) {
  if (error.code() != "validation_error") return error;
  ApiError out(400, "bad_request", error.what());
  if (error.field()) out.withDetails(*error.field(), error.reason().value_or(""));
  return out;
}

}  // namespace rtemu
