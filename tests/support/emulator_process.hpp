#pragma once

// The runtools-emulator binary as a child process, for tests that must kill
// it (SIGKILL persistence) or keep its memory out of the test process's own
// figures.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace runtools::test {

class EmulatorProcess {
 public:
  /// Starts `binary --port 0 --state-dir stateDir --api-key apiKey` and waits
  /// for its "listening on" line.
  EmulatorProcess(const std::string& binary, const std::string& stateDir,
                  const std::string& apiKey) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> args = {
        binary,      "--host", "127.0.0.1",         "--port", "0", "--state-dir", stateDir,
        "--api-key", apiKey,   "--create-delay-ms", "20"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start " + binary);
    }
    std::string line;
    char c = 0;
    while (::read(out[0], &c, 1) == 1 && c != '\n')
      line += c;
    ::close(out[0]);
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) {
      kill(SIGKILL);
      throw std::runtime_error("emulator did not start: \"" + line + "\"");
    }
    baseUrl_ = line.substr(prefix.size());
  }

  ~EmulatorProcess() { kill(SIGKILL); }
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  const std::string& baseUrl() const { return baseUrl_; }

  /// Sends `signal` and reaps the process; returns its wait status.
  int kill(int signal) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, signal);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  std::string baseUrl_;
};

}  // namespace runtools::test
