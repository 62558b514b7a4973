#pragma once

/// @file
/// The exception hierarchy of the SDK. Every exception the SDK throws derives
/// from runtools::Error. No message ever contains a credential.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace runtools {

/// Base class of every exception thrown by the SDK.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The client is misconfigured (no credential, malformed base URL, ...).
/// The message names the option or environment variable to set.
class ConfigurationError : public Error {
 public:
  using Error::Error;
};

/// An argument was rejected before any request was sent.
class InvalidArgumentError : public Error {
 public:
  using Error::Error;
};

/// No complete HTTP response arrived: connection refused, DNS failure, TLS
/// failure, connection reset.
class TransportError : public Error {
 public:
  enum class Kind {
    ConnectionFailed,  ///< TCP connection could not be established
    HostNotFound,      ///< DNS resolution failed
    Tls,               ///< TLS handshake or certificate verification failed
    Network,           ///< the connection broke after the request may have been sent
  };

  TransportError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}

  Kind kind() const noexcept { return kind_; }

  /// True when the failure happened before any byte of the request could
  /// reach the server, so that repeating it cannot duplicate a side effect.
  bool beforeRequestSent() const noexcept { return kind_ != Kind::Network; }

 private:
  Kind kind_;
};

/// A local file could not be read or written (uploads from disk, downloads
/// to disk). The message names the file and the system's reason.
class FileError : public Error {
 public:
  using Error::Error;
};

/// A deadline passed: an HTTP request timed out, or a wait such as
/// Sandbox::waitForReady ran out of time.
class TimeoutError : public Error {
 public:
  using Error::Error;
};

/// A call was given up through its CancellationToken.
class CancelledError : public Error {
 public:
  using Error::Error;
};

/// A streamed response ended before its final frame (the connection closed
/// mid-stream), so the result would have been partial.
class StreamError : public Error {
 public:
  using Error::Error;
};

/// The server answered 2xx with a body that could not be understood
/// (malformed JSON where JSON was expected).
class InvalidResponseError : public Error {
 public:
  InvalidResponseError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// The server answered with an HTTP error status.
///
/// `code()` is the `error.code` of the response body as received (compare it
/// with hasCode(), which ignores case: the platform sends both `not_found` and
/// `WORKSPACE_IN_USE`). When the body carries no code, code() is the generic
/// code of the status (`bad_request`, `unauthorized`, `not_found`, ...).
class ApiError : public Error {
 public:
  ApiError(int status, std::string code, std::string message, std::string requestId,
           std::string body, int attempts = 1);

  /// HTTP status code.
  int status() const noexcept { return status_; }
  /// Machine-readable error code.
  const std::string& code() const noexcept { return code_; }
  /// Human-readable message from the server (or a short snippet of a non-JSON body).
  const std::string& message() const noexcept { return message_; }
  /// Request id from the error body or the X-Request-ID header; empty when absent.
  const std::string& requestId() const noexcept { return requestId_; }
  /// Raw response body (credentials redacted, truncated at 64 KiB).
  const std::string& body() const noexcept { return body_; }
  /// Case-insensitive comparison with code().
  bool hasCode(std::string_view code) const noexcept;
  /// How many attempts were made before this error was raised.
  int attempts() const noexcept { return attempts_; }

 private:
  int attempts_;
  int status_;
  std::string code_;
  std::string message_;
  std::string requestId_;
  std::string body_;
};

/// Name used by the TypeScript SDK.
using RunToolsApiError = ApiError;

/// 400 (and 422): the request was malformed or failed validation.
class BadRequestError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 401: missing, unknown, revoked or expired credential.
class AuthenticationError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 402: the organization cannot afford the operation (`insufficient_credits`).
class PaymentRequiredError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 403: the credential lacks the scope or role for the operation.
class PermissionDeniedError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 404: the resource does not exist (or belongs to another organization).
class NotFoundError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 409: conflict with the resource's state (`already_exists`,
/// `sandbox_not_running`, `invalid_state_transition`, `WORKSPACE_IN_USE`, ...).
class ConflictError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 413: the request body is too large (uploads above 100 MB).
class PayloadTooLargeError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// 429: rate limited. retryAfter() is the wait the server asked for, if any.
class RateLimitError : public ApiError {
 public:
  RateLimitError(int status, std::string code, std::string message, std::string requestId,
                 std::string body, std::optional<std::chrono::milliseconds> retryAfter,
                 int attempts = 1);

  std::optional<std::chrono::milliseconds> retryAfter() const noexcept { return retryAfter_; }

 private:
  std::optional<std::chrono::milliseconds> retryAfter_;
};

/// 5xx: the server failed.
class ServerError : public ApiError {
 public:
  using ApiError::ApiError;
};

/// A sandbox reached a state it cannot leave (`failed`, `error`, `destroyed`,
/// ...) while Sandbox::waitForReady or Sandbox::waitForStatus was waiting.
/// Its code() is `sandbox_failed` and its status() is 0: no HTTP request
/// failed.
class SandboxFailedError : public ApiError {
 public:
  SandboxFailedError(std::string sandboxId, std::string sandboxStatus);

  const std::string& sandboxId() const noexcept { return sandboxId_; }
  /// The sandbox status that ended the wait (`failed`, `destroyed`, ...).
  const std::string& sandboxStatus() const noexcept { return sandboxStatus_; }

 private:
  std::string sandboxId_;
  std::string sandboxStatus_;
};

}  // namespace runtools
