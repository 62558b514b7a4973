#pragma once

/// @file
/// The exception hierarchy of the SDK. Every exception the SDK throws derives
/// from runtools::Error. No message ever contains a credential.
///
/// ApiError and its subclasses mean one thing only: the server answered with
/// an HTTP error status. Every outcome that comes from no HTTP error answer
/// derives from Error by another path, so `catch (const ApiError&)` never
/// catches it:
///
///     Error
///     ├── ConfigurationError      invalid ClientOptions / CallOptions / RUNTOOLS_*
///     ├── InvalidArgumentError    an argument refused before anything was sent
///     │   └── FileTooLargeError   an upload above kMaxUploadBytes, refused locally
///     ├── TransportError, TimeoutError, CancelledError, FileError, StreamError,
///     │   InvalidResponseError
///     ├── SandboxFailedError      a wait saw the sandbox end (a polling outcome)
///     └── ApiError                an HTTP error status (BadRequestError, ...,
///                                 PayloadTooLargeError, ..., ServerError)

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// Base class of every exception thrown by the SDK.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The client is misconfigured: no credential, a base URL libcurl would
/// refuse, an out-of-range setting, an extra header the SDK cannot send.
/// Raised by the RunTools constructor (for ClientOptions and the RUNTOOLS_*
/// environment variables) and by RunTools::with (for CallOptions), which run
/// the same checks on the settings they share. The message names the option
/// or environment variable to fix and never contains the credential.
class ConfigurationError : public Error {
 public:
  using Error::Error;
};

/// An argument of a call was rejected before any request was sent. (Invalid
/// client settings, including extra headers, are ConfigurationError.)
class InvalidArgumentError : public Error {
 public:
  using Error::Error;
};

/// Data to upload is larger than one request may carry (kMaxUploadBytes,
/// 100 MB), so nothing was sent. It is an InvalidArgumentError because the
/// refusal is about the argument — the bytes or the file given — and happens
/// before any request, like every other InvalidArgumentError; it is neither a
/// FileError (the file was readable: nothing failed locally) nor a
/// PayloadTooLargeError, which is the server's 413 answer.
class FileTooLargeError : public InvalidArgumentError {
 public:
  FileTooLargeError(const std::string& message, std::uint64_t size, std::uint64_t limit)
      : InvalidArgumentError(message), size_(size), limit_(limit) {}

  /// Size of the data in bytes.
  std::uint64_t size() const noexcept { return size_; }
  /// The largest size accepted, in bytes.
  std::uint64_t limit() const noexcept { return limit_; }

 private:
  std::uint64_t size_;
  std::uint64_t limit_;
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

/// A streamed response ended before its final frame, so its result would
/// have been partial. Streamed agent runs end with a `run_completed` or
/// `error` event, streamed exec with an `exit` event.
///
/// Once a stream has begun (the status and headers of its 2xx answer have
/// arrived),
/// any end before the final frame is a StreamError, however it happened: the
/// connection reset mid-body, a body cut short of its Content-Length, chunked
/// encoding cut off, a close before the final frame, a body that is no event
/// stream, an event larger than 16 MiB. The
/// message keeps the description of the underlying failure (never a
/// credential). What fails before the stream begins stays what it is:
/// TransportError (connection refused, reset before any answer), ApiError
/// (an error status). A timeout stays TimeoutError and a cancellation
/// CancelledError, before or during the stream. A connection that breaks
/// after the final frame arrived is no error: the result is complete.
///
/// received() says what had arrived, so that a caller can show or keep the
/// partial output, or find the run again (AgentClient::getRun, the thread's
/// durable events after received().lastSequence).
class StreamError : public Error {
 public:
  /// What a stream had delivered before it broke off.
  struct Received {
    /// Complete events handed over (to the callback, or folded into the
    /// result); an event cut in the middle is not counted.
    std::size_t events = 0;
    /// Runs: the assistant's text so far (the text deltas joined, or the
    /// last `assistant_message`).
    std::string text;
    /// Exec: the command's output so far.
    std::string stdoutText;
    std::string stderrText;
    /// Runs: the ids the events carried (empty when none arrived).
    std::string runId;
    std::string threadId;
    /// Runs: the `sequence` of the last event received, if any carried one.
    std::optional<std::int64_t> lastSequence;
  };

  explicit StreamError(const std::string& message) : StreamError(message, Received{}) {}
  StreamError(const std::string& message, Received received)
      : Error(message), received_(std::make_shared<const Received>(std::move(received))) {}

  /// Everything that had arrived.
  const Received& received() const noexcept { return *received_; }
  /// How many complete events had arrived.
  std::size_t eventsReceived() const noexcept { return received_->events; }
  /// Runs: the answer text so far.
  const std::string& partialText() const noexcept { return received_->text; }
  /// Exec: standard output and standard error so far.
  const std::string& partialStdout() const noexcept { return received_->stdoutText; }
  const std::string& partialStderr() const noexcept { return received_->stderrText; }

 private:
  // Shared, so that copying the exception never throws.
  std::shared_ptr<const Received> received_;
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

/// 413: the server refused the request body as too large. (An upload the SDK
/// can tell is too large is refused before sending with FileTooLargeError.)
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

/// A sandbox reached a state it cannot leave (`failed`, `error`, `stopped`,
/// `orphaned`, `destroying`, `destroyed`) while Sandbox::waitForReady or
/// Sandbox::waitForStatus was waiting for another one. A sandbox that
/// disappears during the wait — the platform answers its poll with 404 —
/// ends it the same way, with sandboxStatus() `destroyed`.
///
/// This is the outcome of a wait whose polls succeeded, not an HTTP error, so
/// it derives from Error and not from ApiError (a `catch (const ApiError&)`
/// does not see it).
class SandboxFailedError : public Error {
 public:
  SandboxFailedError(std::string sandboxId, std::string sandboxStatus);

  const std::string& sandboxId() const noexcept { return sandboxId_; }
  /// The sandbox status that ended the wait (`failed`, `destroyed`, ...).
  const std::string& sandboxStatus() const noexcept { return sandboxStatus_; }
  /// Always `sandbox_failed` (the code the TypeScript SDK uses).
  const std::string& code() const noexcept { return code_; }

 private:
  std::string sandboxId_;
  std::string sandboxStatus_;
  std::string code_ = "sandbox_failed";
};

}  // namespace runtools
