#pragma once

// Exit codes and the one-line error report. Every failure of a command ends
// in describeFailure(), which maps the exception to a code and a line
// `error: <code>: <message> (request <id>)`.

#include <stdexcept>
#include <string>
#include <utility>

namespace rtcli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitAuth = 3,
  kExitNotFound = 4,
  kExitConflict = 5,
  kExitRateLimited = 6,
  kExitNetwork = 7,
  kExitTimeout = 8,
  kExitRemoteTimeout = 124,
  kExitInterrupted = 130,
};

/// A command line the CLI cannot act on (bad K=V pair, missing value, ...).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure the CLI itself reports: a code, a message and an exit code.
class CommandError : public std::runtime_error {
 public:
  CommandError(std::string code, const std::string& message, int exitCode = kExitError)
      : std::runtime_error(message), code_(std::move(code)), exitCode_(exitCode) {}
  const std::string& code() const noexcept { return code_; }
  int exitCode() const noexcept { return exitCode_; }

 private:
  std::string code_;
  int exitCode_;
};

struct Failure {
  int exitCode = kExitError;
  std::string code;
  std::string message;
  std::string requestId;

  /// `error: <code>: <message>` plus ` (request <id>)` when there is one.
  std::string line() const;
};

/// Describes the exception being handled (call from a catch block).
Failure describeCurrentException();

/// The exit-code table, for `--help`.
std::string exitCodeHelp();

}  // namespace rtcli
