#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace rtemu {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After the shell exits, background processes may keep the pipes open; stop reading once
// they have been silent this long.
constexpr milliseconds kSilenceAfterExit{100};
// How often the loop checks whether the shell has exited while its pipes are still open.
constexpr milliseconds kExitPollInterval{10};
// Hard bound on reading after the deadline (a writer that escaped the process group).
constexpr milliseconds kDrainGrace{1000};

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  FileDescriptor read;
  FileDescriptor write;
};

void makePipe(Pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  p.read = FileDescriptor(fds[0]);
  p.write = FileDescriptor(fds[1]);
}

// RAII wrappers for the posix_spawn attribute objects.
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

struct SpawnAttributes {
  posix_spawnattr_t attr;
  SpawnAttributes() { posix_spawnattr_init(&attr); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

void check(int rc, const char* what) {
  if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

pid_t spawnShell(const CommandSpec& spec, int stdoutFd, int stderrFd) {
  SpawnActions fa;
  check(posix_spawn_file_actions_addopen(&fa.actions, 0, "/dev/null", O_RDONLY, 0), "addopen");
  check(posix_spawn_file_actions_adddup2(&fa.actions, stdoutFd, 1), "adddup2");
  check(posix_spawn_file_actions_adddup2(&fa.actions, stderrFd, 2), "adddup2");
  check(posix_spawn_file_actions_addchdir_np(&fa.actions, spec.workingDir.c_str()), "addchdir");
  // Never leak the server's sockets or other sandboxes' pipes into the command.
  check(posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3), "addclosefrom");

  SpawnAttributes sa;
  sigset_t noSignals;
  sigemptyset(&noSignals);
  sigset_t allSignals;
  sigfillset(&allSignals);
  // New process group (pgid = pid), no blocked signals, default dispositions: the emulator's
  // main thread blocks SIGINT/SIGTERM for sigwait and those masks must not be inherited.
  check(posix_spawnattr_setflags(
            &sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
        "setflags");
  check(posix_spawnattr_setpgroup(&sa.attr, 0), "setpgroup");
  check(posix_spawnattr_setsigmask(&sa.attr, &noSignals), "setsigmask");
  check(posix_spawnattr_setsigdefault(&sa.attr, &allSignals), "setsigdefault");

  std::string shell = "/bin/sh";
  std::string dashC = "-c";
  std::string command = spec.command;
  char* argv[] = {shell.data(), dashC.data(), command.data(), nullptr};
  std::vector<std::string> envStrings = spec.environment;
  std::vector<char*> envp;
  envp.reserve(envStrings.size() + 1);
  for (std::string& entry : envStrings)
    envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  check(posix_spawn(&pid, shell.c_str(), &fa.actions, &sa.attr, argv, envp.data()), "posix_spawn");
  return pid;
}

// One output pipe of the command.
struct OutputPipe {
  FileDescriptor fd;
  int stream = 1;  // 1 = stdout, 2 = stderr

  bool open() const { return fd.get() >= 0; }
  // Reads what is available into `buf`; returns the byte count (0 when nothing arrived; the
  // pipe is closed on EOF or error).
  std::size_t read(char* buf, std::size_t size) {
    const ssize_t n = ::read(fd.get(), buf, size);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0 || (errno != EINTR && errno != EAGAIN)) fd.reset();
    return 0;
  }
};

// Chunks read from the command: false = stop (the group is killed).
using ChunkSink = std::function<bool(int stream, const char* data, std::size_t size)>;

void appendNote(std::string& text, const std::string& note) {
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  text += note;
  text.push_back('\n');
}

}  // namespace

void signalProcessGroup(pid_t pgid, int sig) {
  if (pgid > 1) ::kill(-pgid, sig);
}

bool processGroupExists(pid_t pgid) {
  return pgid > 1 && (::kill(-pgid, 0) == 0 || errno == EPERM);
}

namespace {

// How often CommandObserver::onTick runs while the command is alive.
constexpr milliseconds kTickInterval{25};

// A spawned command whose output is being read: the steps of pump().
class RunningCommand {
 public:
  RunningCommand(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted)
      : start_(SteadyClock::now()), deadline_(start_ + spec.timeout) {
    Pipe out;
    Pipe err;
    makePipe(out);
    makePipe(err);
    pid_ = spawnShell(spec, out.write.get(), err.write.get());
    out.write.reset();
    err.write.reset();
    if (onStarted && !onStarted(pid_)) signalProcessGroup(pid_, SIGKILL);
    pipes_[0].fd = std::move(out.read);
    pipes_[0].stream = 1;
    pipes_[1].fd = std::move(err.read);
    pipes_[1].stream = 2;
    lastActivity_ = start_;
    lastTick_ = start_;
  }

  // Notices (without waiting) that the shell has exited.
  void checkExited() {
    if (exited_) return;
    const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      exited_ = true;
      statusKnown_ = r == pid_;  // ECHILD: the host application reaps children itself
      lastActivity_ = SteadyClock::now();
    }
  }

  // The shell has exited and its pipes are closed, silent for a while, or past the grace.
  bool drained(SteadyClock::time_point now) const {
    const bool anyOpen = pipes_[0].open() || pipes_[1].open();
    return exited_ &&
           (!anyOpen || now - lastActivity_ >= kSilenceAfterExit || now >= deadline_ + kDrainGrace);
  }

  // Kills the group once the deadline has passed.
  void enforceDeadline(SteadyClock::time_point now) {
    if (!exited_ && !result_.timedOut && now >= deadline_) {
      signalProcessGroup(pid_, SIGKILL);
      result_.timedOut = true;
    }
  }

  // True every kTickInterval while the shell runs.
  bool tickDue(SteadyClock::time_point now) {
    if (exited_ || now - lastTick_ < kTickInterval) return false;
    lastTick_ = now;
    return true;
  }

  // How long the next poll may wait.
  milliseconds pollTimeout(SteadyClock::time_point now) const {
    milliseconds wait =
        exited_ ? kSilenceAfterExit - std::chrono::duration_cast<milliseconds>(now - lastActivity_)
                : kExitPollInterval;
    if (!result_.timedOut && !exited_) {
      wait = std::min(wait,
                      std::chrono::duration_cast<milliseconds>(deadline_ - now) + milliseconds(1));
    }
    return std::max(wait, milliseconds(1));
  }

  // Waits up to `wait` for output and hands what arrives to `sink`; false when the sink asked
  // to stop.
  bool readOutput(const ChunkSink& sink, milliseconds wait) {
    pollfd fds[2] = {};
    nfds_t count = 0;
    OutputPipe* owners[2] = {nullptr, nullptr};
    for (OutputPipe& p : pipes_) {
      if (!p.open()) continue;
      fds[count] = pollfd{p.fd.get(), POLLIN, 0};
      owners[count++] = &p;
    }
    const int ready = ::poll(count ? fds : nullptr, count, static_cast<int>(wait.count()));
    if (ready <= 0) return true;  // timeout or EINTR
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      const std::size_t n = owners[i]->read(buf_.data(), buf_.size());
      if (n == 0) continue;
      if (exited_) lastActivity_ = SteadyClock::now();
      if (!sink(owners[i]->stream, buf_.data(), n)) return false;
    }
    return true;
  }

  void killAndReap() {
    result_.aborted = true;
    signalProcessGroup(pid_, SIGKILL);
    if (exited_) return;
    // The shell was just killed: reap it (background processes of the group died too).
    pid_t r = -1;
    do {
      r = ::waitpid(pid_, &status_, 0);
    } while (r < 0 && errno == EINTR);
    statusKnown_ = r == pid_;
    exited_ = true;
  }

  // The result: duration and exit code (124 on timeout, 128+N when killed by signal N).
  CommandResult finish() {
    result_.durationMs =
        std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start_).count();
    if (result_.timedOut) {
      result_.exitCode = 124;
    } else if (!statusKnown_) {
      result_.exitCode = -1;
    } else if (WIFEXITED(status_)) {
      result_.exitCode = WEXITSTATUS(status_);
    } else if (WIFSIGNALED(status_)) {
      result_.exitCode = 128 + WTERMSIG(status_);
    }
    return result_;
  }

 private:
  const SteadyClock::time_point start_;
  const SteadyClock::time_point deadline_;
  pid_t pid_ = -1;
  OutputPipe pipes_[2];
  CommandResult result_;
  bool exited_ = false;
  bool statusKnown_ = true;
  int status_ = 0;
  SteadyClock::time_point lastActivity_;
  SteadyClock::time_point lastTick_;
  std::vector<char> buf_ = std::vector<char>(65536);
};

// Spawns the command and pumps its output into `sink` until it has exited and its pipes are
// drained (or silent), the deadline passed, or a callback asked to stop.
CommandResult pump(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted,
                   const ChunkSink& sink, const std::function<bool()>& onTick) {
  RunningCommand command(spec, onStarted);
  while (true) {
    command.checkExited();
    const SteadyClock::time_point now = SteadyClock::now();
    if (command.drained(now)) break;
    command.enforceDeadline(now);
    if (onTick && command.tickDue(now) && !onTick()) {
      command.killAndReap();
      break;
    }
    if (!command.readOutput(sink, command.pollTimeout(now))) {
      command.killAndReap();
      break;
    }
  }
  return command.finish();
}

std::string timeoutNote(const CommandSpec& spec) {
  return "[runtools-emulator: command timed out after " + std::to_string(spec.timeout.count()) +
         " ms]";
}

}  // namespace

CommandResult runCommand(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted) {
  std::string texts[2];
  bool truncated[2] = {false, false};
  CommandResult result = pump(
      spec, onStarted,
      [&](int stream, const char* data, std::size_t size) {
        const int i = stream == 1 ? 0 : 1;
        std::string& text = texts[i];
        const std::size_t room =
            spec.maxOutputBytes > text.size() ? spec.maxOutputBytes - text.size() : 0;
        const std::size_t keep = std::min(room, size);
        text.append(data, keep);
        if (keep < size) truncated[i] = true;
        return true;
      },
      nullptr);
  result.stdoutText = std::move(texts[0]);
  result.stderrText = std::move(texts[1]);
  if (truncated[0]) {
    appendNote(result.stderrText, "[runtools-emulator: stdout truncated after " +
                                      std::to_string(spec.maxOutputBytes) + " bytes]");
  }
  if (truncated[1]) {
    appendNote(result.stderrText, "[runtools-emulator: stderr truncated after " +
                                      std::to_string(spec.maxOutputBytes) + " bytes]");
  }
  if (result.timedOut) appendNote(result.stderrText, timeoutNote(spec));
  return result;
}

CommandResult streamCommand(const CommandSpec& spec, const std::function<bool(pid_t)>& onStarted,
                            const CommandObserver& observer) {
  CommandResult result = pump(
      spec, onStarted,
      [&](int stream, const char* data, std::size_t size) {
        if (observer.onTick && !observer.onTick()) return false;
        return !observer.onOutput || observer.onOutput(stream, data, size);
      },
      observer.onTick);
  if (result.timedOut) result.stderrText = timeoutNote(spec) + "\n";
  return result;
}

}  // namespace rtemu
