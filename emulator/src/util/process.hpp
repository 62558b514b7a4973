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
  bool aborted = false;  // an observer callback asked to stop: the group was killed
};

// Watches a command as it runs (streamCommand).
struct CommandObserver {
  // Each chunk as it is read: `stream` is 1 (stdout) or 2 (stderr). Returning false kills the
  // process group and stops reading.
  std::function<bool(int stream, const char* data, std::size_t size)> onOutput;
  // Called about every 25 ms while the command runs (and before each chunk); returning false
  // kills the process group and stops reading. May be empty.
  std::function<bool()> onTick;
};

// Runs `spec`. `onStarted` is called with the new process group id right after the spawn;
// when it returns false the group is killed at once (the sandbox went away meanwhile).
// Throws std::system_error when the shell cannot be started.
CommandResult runCommand(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted);

// Like runCommand, but hands the output to `observer` as it is produced instead of capturing
// it (the result's stdoutText stays empty; stderrText carries only the timeout note, if any).
// No output limit applies.
CommandResult streamCommand(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted,
                            const CommandObserver& observer);

// Sends `sig` to every process of group `pgid`; a group that no longer exists is ignored.
void signalProcessGroup(pid_t pgid, int sig);
// True while at least one process of group `pgid` exists.
bool processGroupExists(pid_t pgid);

}  // namespace rtemu
