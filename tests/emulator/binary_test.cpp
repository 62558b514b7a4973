// The runtools-emulator executable: stdout contract, signals, exit codes.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

extern char** environ;

using namespace rtemu_test;

namespace {

// A child process with its stdout on a pipe.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<std::string> argvStrings = args;
    std::vector<char*> argv;
    for (std::string& a : argvStrings)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
    REQUIRE(rc == 0);
  }
  ~Child() {
    if (out_ >= 0) ::close(out_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads one line from stdout (without '\n'); empty optional on EOF or after 30 s.
  std::optional<std::string> readLine() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{out_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(out_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Waits up to 30 s for the exit; returns the raw wait status, or -1 on timeout.
  int wait() {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

}  // namespace

TEST_CASE("the binary prints its address and key, serves, and exits 0 on SIGTERM") {
  Child child({RTEMU_BINARY, "--port", "0", "--create-delay-ms", "10"});
  const auto first = child.readLine();
  REQUIRE(first);
  std::smatch match;
  REQUIRE(std::regex_match(*first, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))")));
  const int port = std::stoi(match[1]);
  REQUIRE(port > 0);
  const auto second = child.readLine();
  REQUIRE(second);
  REQUIRE(std::regex_match(*second, std::regex("api key: rt_test_[A-Za-z0-9]{32}")));
  const std::string key = second->substr(std::string("api key: ").size());

  Api anonymous(port, "", Auth::kNone);
  REQUIRE(anonymous.get("/health").status == 200);
  Api api(port, key);
  const std::string id = api.runningSandbox()["id"];
  REQUIRE(api.exec(id, "echo hi")["stdout"] == "hi\n");

  REQUIRE(::kill(child.pid(), SIGTERM) == 0);
  const int status = child.wait();
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE_FALSE(child.readLine());  // nothing else was printed on stdout
}

TEST_CASE("the binary uses a given key, prints only the address, and stops on SIGINT") {
  Child child({RTEMU_BINARY, "--port=0", "--api-key", "rt_test_givengivengivengivengivengiven12"});
  const auto first = child.readLine();
  REQUIRE(first);
  std::smatch match;
  REQUIRE(std::regex_match(*first, match, std::regex(R"(listening on http://127\.0\.0\.1:(\d+))")));
  Api api(std::stoi(match[1]), "rt_test_givengivengivengivengivengiven12");
  REQUIRE(api.get("/v1/sandboxes").status == 200);
  REQUIRE(::kill(child.pid(), SIGINT) == 0);
  const int status = child.wait();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  REQUIRE_FALSE(child.readLine());
}

TEST_CASE("the binary rejects bad flags with exit status 2") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{RTEMU_BINARY, "--bogus"},
        std::vector<std::string>{RTEMU_BINARY, "--port", "70000"},
        std::vector<std::string>{RTEMU_BINARY, "--port"},
        std::vector<std::string>{RTEMU_BINARY, "--rate-limit-rpm", "-1"}}) {
    Child child(args);
    const int status = child.wait();
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 2);
    REQUIRE_FALSE(child.readLine());  // the message went to stderr
  }
}
