// Real command execution for sandboxes: /bin/sh -c COMMAND in its own process group, with a
// private working directory, an explicit environment, full stdout/stderr capture and a
// timeout that kills the whole group.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rtemu {

struct CommandSpec {
  std::string command;                   // run as: /bin/sh -c command
  std::string workingDir;                // host directory (must exist)
  std::vector<std::string> environment;  // complete environment, "NAME=value"
  std::chrono::milliseconds timeout{30000};
  std::size_t maxOutputBytes = 64u << 20;  // per stream; the rest is discarded
};

struct CommandResult {
  std::string stdoutText;
  std::string stderrText;
  int exitCode = 0;  // 124 on timeout; 128+N when killed by signal N
  bool timedOut = false;
  std::int64_t durationMs = 0;
};

// Runs `spec`. `onStarted` is called with the new process group id right after the spawn;
// when it returns false the group is killed at once (the sandbox went away meanwhile).
// Throws std::system_error when the shell cannot be started.
CommandResult runCommand(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted);

// Sends `sig` to every process of group `pgid`; a group that no longer exists is ignored.
void signalProcessGroup(pid_t pgid, int sig);
// True while at least one process of group `pgid` exists.
bool processGroupExists(pid_t pgid);

}  // namespace rtemu
