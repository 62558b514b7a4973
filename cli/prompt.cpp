#include "prompt.hpp"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "errors.hpp"
#include "output.hpp"
#include "signals.hpp"

namespace rtcli {

namespace {

std::string readAll(int fd, bool lineOnly) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, lineOnly ? 1 : sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (lineOnly && buffer[0] == '\n') break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  std::fill(std::begin(buffer), std::end(buffer), '\0');
  return text;
}

std::string readWithoutEcho(const std::string& prompt) {
  termios saved{};
  const bool terminal = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  auto restore = [saved, terminal] {
    if (terminal) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  };
  // Echo goes off before the prompt shows: what is typed once it is visible
  // must neither be echoed nor discarded by the flush of the mode change.
  if (terminal) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  writeFd(STDERR_FILENO, prompt);
  std::string line;
  {
    ImmediateInterrupt guard([restore] {
      restore();
      writeFd(STDERR_FILENO, "\n");
    });
    line = readAll(STDIN_FILENO, true);
  }
  restore();
  return line;
}

}  // namespace

runtools::SecretString readSecret(const std::string& prompt, bool fromStdin) {
  std::string value;
  if (!fromStdin && ::isatty(STDIN_FILENO)) {
    value = readWithoutEcho(prompt);
  } else {
    value = readAll(STDIN_FILENO, false);
    if (!value.empty() && value.back() == '\n') value.pop_back();
    if (!value.empty() && value.back() == '\r') value.pop_back();
  }
  runtools::SecretString secret(std::move(value));
  if (secret.empty()) throw UsageError("no value given (empty input)");
  return secret;
}

}  // namespace rtcli
