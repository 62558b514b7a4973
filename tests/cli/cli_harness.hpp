#pragma once

// Drives the `runtools` binary as a subprocess against a runtools-emulator
// binary started for the test: spawning with pipes (or a pseudo-terminal),
// reading output as it arrives, signals, exit statuses.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace rtcli_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Env = std::map<std::string, std::string>;

/// A child process with its stdout and stderr on pipes (stdin too, unless
/// attached to a pseudo-terminal).
class Child {
 public:
  /// Starts `argv` with exactly `env` as its environment.
  Child(const std::vector<std::string>& argv, const Env& env) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        ::pipe2(err, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    auto args = cStrings(argv);
    auto envp = environment(env);
    const int rc =
        ::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
  }

  /// Starts `argv` with a pseudo-terminal as stdin and stderr, and stdout on
  /// a pipe; the terminal's output (the child's stderr) is read as stderr().
  static Child withTerminal(const std::vector<std::string>& argv, const Env& env) {
    Child child;
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    auto args = cStrings(argv);
    auto envp = environment(env);
    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid < 0) throw std::runtime_error("forkpty failed");
    if (pid == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::execve(argv[0].c_str(), args.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    child.pid_ = pid;
    child.stdout_ = out[0];
    child.stderr_ = master;
    child.terminal_ = true;
    return child;
  }

  Child(Child&& other) noexcept { *this = std::move(other); }
  Child& operator=(Child&& other) noexcept {
    std::swap(pid_, other.pid_);
    std::swap(stdin_, other.stdin_);
    std::swap(stdout_, other.stdout_);
    std::swap(stderr_, other.stderr_);
    std::swap(terminal_, other.terminal_);
    std::swap(out_, other.out_);
    std::swap(err_, other.err_);
    return *this;
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {stdin_, stdout_, stderr_})
      if (fd >= 0) ::close(fd);
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }

  void writeStdin(const std::string& text) {
    if (::write(stdin_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("cannot write to the child's stdin");
    }
  }
  void closeStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  /// Reads whatever arrives within `timeout`; true once `needle` is in stdout.
  bool waitForStdout(const std::string& needle, std::chrono::milliseconds timeout) {
    return waitFor(out_, needle, timeout);
  }
  /// The same for stderr (the terminal's output with withTerminal()).
  bool waitForStderr(const std::string& needle, std::chrono::milliseconds timeout) {
    return waitFor(err_, needle, timeout);
  }

  /// Types `text` on the pseudo-terminal (withTerminal() only).
  void typeOnTerminal(const std::string& text) {
    if (!terminal_ ||
        ::write(stderr_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("cannot write to the terminal");
    }
  }

  /// Waits for the exit (reading all output); nullopt after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout = 60s) {
    const auto end = Clock::now() + timeout;
    while (stdout_ >= 0 || stderr_ >= 0) {
      if (Clock::now() >= end || !pump(end)) break;
    }
    for (;;) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        drain();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (Clock::now() >= end) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
  }

  const std::string& stdoutText() const { return out_; }
  const std::string& stderrText() const { return err_; }

 private:
  Child() = default;

  static std::vector<char*> cStrings(const std::vector<std::string>& items) {
    std::vector<char*> out;
    for (const auto& item : items)
      out.push_back(const_cast<char*>(item.c_str()));
    out.push_back(nullptr);
    return out;
  }

  // The strings live in a static store for the exec, kept per call.
  static std::vector<char*> environment(const Env& env) {
    static thread_local std::vector<std::string> store;
    store.clear();
    for (const auto& [name, value] : env)
      store.push_back(name + "=" + value);
    return cStrings(store);
  }

  bool waitFor(const std::string& text, const std::string& needle,
               std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    while (text.find(needle) == std::string::npos) {
      if (Clock::now() >= end || !pump(end)) return text.find(needle) != std::string::npos;
    }
    return true;
  }

  // One poll round; false when both streams are closed or the time is up.
  bool pump(Clock::time_point end) {
    std::vector<pollfd> fds;
    if (stdout_ >= 0) fds.push_back({stdout_, POLLIN, 0});
    if (stderr_ >= 0) fds.push_back({stderr_, POLLIN, 0});
    if (fds.empty()) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left.count(), 100))) < 0) {
      return true;
    }
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      readFrom(p.fd == stdout_ ? stdout_ : stderr_, p.fd == stdout_ ? out_ : err_);
    }
    return true;
  }

  static void readFrom(int& fd, std::string& into) {
    char buffer[65536];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {  // EIO: the terminal closed
      ::close(fd);
      fd = -1;
    }
  }

  void drain() {
    const auto end = Clock::now() + 2s;
    while ((stdout_ >= 0 || stderr_ >= 0) && pump(end)) {
    }
  }

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  bool terminal_ = false;
  std::string out_;
  std::string err_;
};

struct Result {
  int exitCode = -1;
  std::string out;
  std::string err;

  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

/// True when no output of `result` contains `secret`.
inline bool keepsSecret(const Result& result, const std::string& secret) {
  return result.out.find(secret) == std::string::npos &&
         result.err.find(secret) == std::string::npos;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "rt-cli-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// A runtools-emulator binary on a free loopback port.
class Emulator {
 public:
  explicit Emulator(const std::string& apiKey, const std::vector<std::string>& extra = {})
      : child_(arguments(apiKey, extra), Env{{"PATH", "/usr/bin:/bin"}}) {
    if (!child_.waitForStdout("\n", 20s)) throw std::runtime_error("emulator did not start");
    const std::string line = child_.stdoutText().substr(0, child_.stdoutText().find('\n'));
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) throw std::runtime_error("emulator said: " + line);
    baseUrl_ = line.substr(prefix.size());
  }
  const std::string& baseUrl() const { return baseUrl_; }

 private:
  static std::vector<std::string> arguments(const std::string& apiKey,
                                            const std::vector<std::string>& extra) {
    std::vector<std::string> args = {
        RUNTOOLS_EMULATOR_BINARY, "--host", "127.0.0.1",         "--port", "0", "--api-key", apiKey,
        "--create-delay-ms",      "20",     "--stream-delay-ms", "20"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  Child child_;
  std::string baseUrl_;
};

/// An emulator, a private HOME and XDG_CONFIG_HOME, and the environment that
/// points the CLI at the emulator with the test key.
class CliFixture {
 public:
  static constexpr const char* kKey = "rt_test_CliSuiteKeyCliSuiteKeyCliSuite0";

  explicit CliFixture(const std::vector<std::string>& emulatorFlags = {})
      : emulator_(kKey, emulatorFlags) {
    fs::create_directories(home());
  }

  const std::string& baseUrl() const { return emulator_.baseUrl(); }
  fs::path home() const { return dir_.path / "home"; }
  fs::path configDir() const { return dir_.path / "config"; }
  fs::path configFile() const { return configDir() / "runtools" / "config.json"; }
  fs::path file(const std::string& name) const { return dir_.path / name; }

  /// The CLI's environment: nothing of the test's own, the emulator's URLs
  /// and the key. `withKey` false leaves out the credential.
  Env env(bool withKey = true) const {
    Env env{{"PATH", "/usr/bin:/bin"},
            {"HOME", home().string()},
            {"XDG_CONFIG_HOME", configDir().string()},
            {"RUNTOOLS_API_URL", baseUrl()},
            {"RUNTOOLS_TOOLS_URL", baseUrl()},
            {"RUNTOOLS_AUTH_URL", baseUrl()},
            {"RUNTOOLS_STORAGE_URL", baseUrl()},
            {"RUNTOOLS_MAX_RETRIES", "0"}};
    if (withKey) env["RUNTOOLS_API_KEY"] = kKey;
    return env;
  }

  static std::vector<std::string> argv(const std::vector<std::string>& args) {
    std::vector<std::string> out = {RUNTOOLS_CLI_BINARY};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  Child start(const std::vector<std::string>& args, const Env& env) const {
    return Child(argv(args), env);
  }
  Child start(const std::vector<std::string>& args) const { return start(args, env()); }

  /// Runs the CLI to its end; stdin gets `input` and is closed.
  Result run(const std::vector<std::string>& args, const Env& env,
             const std::string& input = {}) const {
    Child child = start(args, env);
    if (!input.empty()) child.writeStdin(input);
    child.closeStdin();
    const auto code = child.wait(90s);
    Result result{code.value_or(-1), child.stdoutText(), child.stderrText()};
    // No output of any command ever carries the credential.
    CHECK(keepsSecret(result, kKey));
    return result;
  }
  Result run(const std::vector<std::string>& args, const std::string& input = {}) const {
    return run(args, env(), input);
  }

  /// `run --json` that must succeed, returning its stdout parsed.
  nlohmann::json json(std::vector<std::string> args, const std::string& input = {}) const {
    args.insert(args.begin(), "--json");
    const Result result = run(args, input);
    INFO("runtools " << args[1] << " ...: " << result.err);
    REQUIRE(result.exitCode == 0);
    return result.json();
  }

 private:
  TempDir dir_;
  Emulator emulator_;
};

}  // namespace rtcli_test
