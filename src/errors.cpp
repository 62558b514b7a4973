#include "runtools/errors.hpp"

#include <algorithm>
#include <cctype>

#include "internal/http_syntax.hpp"

namespace runtools {
namespace {

std::string describe(int status, const std::string& code, const std::string& message,
                     const std::string& requestId, int attempts) {
  std::string text = code.empty() ? std::string("error") : code;
  text += ": ";
  text += message.empty() ? std::string("(no message)") : message;
  if (status != 0) {
    text += " (HTTP " + std::to_string(status);
    if (!requestId.empty()) text += ", request " + requestId;
    text += ")";
  }
  if (attempts > 1) text += " (gave up after " + std::to_string(attempts) + " attempts)";
  return text;
}

}  // namespace

ApiError::ApiError(int status, std::string code, std::string message, std::string requestId,
                   std::string body, int attempts)
    : Error(describe(status, code, message, requestId, attempts)),
      attempts_(attempts),
      status_(status),
      code_(std::move(code)),
      message_(std::move(message)),
      requestId_(std::move(requestId)),
      body_(std::move(body)) {}

bool ApiError::hasCode(std::string_view code) const noexcept {
  return internal::equalsIgnoreCase(code_, code);
}

RateLimitError::RateLimitError(int status, std::string code, std::string message,
                               std::string requestId, std::string body,
                               std::optional<std::chrono::milliseconds> retryAfter, int attempts)
    : ApiError(status, std::move(code), std::move(message), std::move(requestId), std::move(body),
               attempts),
      retryAfter_(retryAfter) {}

SandboxFailedError::SandboxFailedError(std::string sandboxId, std::string sandboxStatus)
    : Error("sandbox_failed: sandbox " + sandboxId + " reached status '" + sandboxStatus +
            "', which it cannot leave"),
      sandboxId_(std::move(sandboxId)),
      sandboxStatus_(std::move(sandboxStatus)) {}

}  // namespace runtools
