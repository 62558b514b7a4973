#include "errors.hpp"

#include <exception>

#include <runtools/errors.hpp>

namespace rtcli {

namespace {

struct ExitCodeRow {
  int code;
  const char* meaning;
};

constexpr ExitCodeRow kExitCodes[] = {
    {kExitOk, "success"},
    {kExitError, "the platform or a local file refused the operation (any other error)"},
    {kExitUsage, "usage error: bad command line, argument or configuration"},
    {kExitAuth, "authentication: not logged in, credential refused (401) or lacking scope (403)"},
    {kExitNotFound, "not found (404)"},
    {kExitConflict, "conflict with the resource's state (409)"},
    {kExitRateLimited, "rate limited (429)"},
    {kExitNetwork, "network failure: no connection, or a stream cut off"},
    {kExitTimeout, "timed out (a request, or waiting for a sandbox)"},
    {kExitRemoteTimeout, "sandbox exec: the remote command hit its --timeout"},
    {kExitInterrupted, "interrupted (Ctrl-C): the call in flight was cancelled"},
};

std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

int exitCodeForStatus(int status) {
  switch (status) {
    case 401:
    case 403:
      return kExitAuth;
    case 404:
      return kExitNotFound;
    case 409:
      return kExitConflict;
    case 429:
      return kExitRateLimited;
    default:
      return kExitError;
  }
}

const char* transportCode(runtools::TransportError::Kind kind) {
  switch (kind) {
    case runtools::TransportError::Kind::ConnectionFailed:
      return "connection_failed";
    case runtools::TransportError::Kind::HostNotFound:
      return "host_not_found";
    case runtools::TransportError::Kind::Tls:
      return "tls_error";
    case runtools::TransportError::Kind::Network:
      break;
  }
  return "network_error";
}

Failure make(int exitCode, std::string code, const std::string& message,
             std::string requestId = {}) {
  return Failure{exitCode, std::move(code), oneLine(message), std::move(requestId)};
}

}  // namespace

std::string Failure::line() const {
  std::string text = "error: " + code + ": " + message;
  if (!requestId.empty()) text += " (request " + requestId + ")";
  return text;
}

Failure describeCurrentException() {
  try {
    throw;
  } catch (const runtools::ApiError& e) {
    return make(exitCodeForStatus(e.status()), e.code(),
                e.message().empty() ? e.what() : e.message(), e.requestId());
  } catch (const runtools::TransportError& e) {
    return make(kExitNetwork, transportCode(e.kind()), e.what());
  } catch (const runtools::StreamError& e) {
    return make(kExitNetwork, "stream_error", e.what());
  } catch (const runtools::TimeoutError& e) {
    return make(kExitTimeout, "timeout", e.what());
  } catch (const runtools::CancelledError&) {
    return make(kExitInterrupted, "cancelled", "interrupted");
  } catch (const runtools::ConfigurationError& e) {
    return make(kExitUsage, "configuration_error", e.what());
  } catch (const runtools::FileTooLargeError& e) {
    return make(kExitUsage, "file_too_large", e.what());
  } catch (const runtools::InvalidArgumentError& e) {
    return make(kExitUsage, "invalid_argument", e.what());
  } catch (const runtools::FileError& e) {
    return make(kExitError, "file_error", e.what());
  } catch (const runtools::InvalidResponseError& e) {
    return make(kExitError, "invalid_response", e.what());
  } catch (const runtools::SandboxFailedError& e) {
    return make(kExitError, e.code(),
                "sandbox " + e.sandboxId() + " ended up " + e.sandboxStatus());
  } catch (const runtools::Error& e) {
    return make(kExitError, "error", e.what());
  } catch (const UsageError& e) {
    return make(kExitUsage, "usage", e.what());
  } catch (const CommandError& e) {
    return make(e.exitCode(), e.code(), e.what());
  } catch (const std::exception& e) {
    return make(kExitError, "internal_error", e.what());
  } catch (...) {
    return make(kExitError, "internal_error", "unknown failure");
  }
}

std::string exitCodeHelp() {
  std::string text = "Exit codes:\n";
  for (const auto& row : kExitCodes) {
    std::string code = std::to_string(row.code);
    text +=
        "  " + code + std::string(code.size() < 5 ? 5 - code.size() : 1, ' ') + row.meaning + "\n";
  }
  text += "  sandbox exec otherwise exits with the remote command's own exit code.\n";
  return text;
}

}  // namespace rtcli
