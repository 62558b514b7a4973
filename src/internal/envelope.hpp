#pragma once

// The response envelope `{data, meta}` and the error envelope
// `{error: {code, message, requestId}}` of docs/wire-contract.md §3, in one place.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "internal/redact.hpp"
#include "runtools/http.hpp"

namespace runtools::internal {

/// A successful response, unwrapped.
struct Envelope {
  /// `data` of an envelope; the whole body for the documented raw responses.
  nlohmann::json data;
  /// The whole parsed body.
  nlohmann::json body;
  std::string requestId;
  /// Pagination, from `meta` or (as a fallback) the top level.
  bool hasMore = false;
  std::optional<std::string> nextCursor;
};

/// Unwraps a parsed 2xx body. An object with a `data` member is an envelope;
/// anything else (bare arrays, status objects) is passed through as data.
Envelope unwrapEnvelope(nlohmann::json body);

/// Parses a 2xx response body (empty body = null data). Throws
/// InvalidResponseError for malformed JSON.
Envelope parseSuccess(const HttpResponse& response, const Redactor& redact);

/// What an error response says, read leniently from any body.
struct ErrorInfo {
  std::string code;
  std::string message;
  std::string requestId;
};

/// Reads the error envelope (or tolerated variants) of a body; non-JSON
/// bodies give a message with the status and a short, printable snippet.
ErrorInfo parseErrorBody(int status, const HttpHeaders& headers, std::string_view body);

/// Generic code of an HTTP status ("not_found" for 404, ...).
std::string defaultCodeForStatus(int status);

/// Throws the ApiError subclass matching the response's status.
/// `attempts` is how many attempts the call made (mentioned when above 1).
[[noreturn]] void throwApiError(const HttpResponse& response, const Redactor& redact,
                                int attempts = 1);

}  // namespace runtools::internal
