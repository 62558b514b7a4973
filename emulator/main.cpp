// runtools-emulator: command-line entry point (docs/wire-contract.md §8.1).
//
// stdout carries exactly the "listening on ..." line and, when the key was generated, the
// "api key: ..." line. Everything else goes to stderr.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>

#include "rtemu/emulator.hpp"

namespace {

constexpr int kUsageError = 2;

const char kUsage[] =
    "Usage: runtools-emulator [options]\n"
    "\n"
    "A local emulator of the RunTools API (sandboxes with real command execution).\n"
    "\n"
    "Options (environment fallback in brackets):\n"
    "  --host H               address to bind [RUNTOOLS_EMULATOR_HOST] (default 127.0.0.1)\n"
    "  --port N               port to bind, 0 = any free port [RUNTOOLS_EMULATOR_PORT]\n"
    "                         (default 8080)\n"
    "  --state-dir D          state directory, reused when it exists\n"
    "                         [RUNTOOLS_EMULATOR_STATE_DIR] (default: a temporary directory\n"
    "                         removed on exit)\n"
    "  --api-key K            key of the default organization [RUNTOOLS_EMULATOR_API_KEY]\n"
    "                         (default: generated and printed)\n"
    "  --create-delay-ms N    creating -> running delay (default 300)\n"
    "  --pause-delay-ms N     pausing -> paused delay (default 200)\n"
    "  --resume-delay-ms N    resuming -> running delay (default 200)\n"
    "  --stream-delay-ms N    delay between streamed agent-run deltas (default 20)\n"
    "  --device-interval-s N  OAuth device flow poll interval advertised (default 1)\n"
    "  --device-auto-approve-ms N\n"
    "                         approve OAuth device attempts N ms after they start\n"
    "                         (default: only POST /_emu/oauth/approve approves)\n"
    "  --rate-limit-rpm N     requests per minute per credential, 0 = unlimited (default 0)\n"
    "  --verbose              log each request (method, path, status) on stderr\n"
    "  --help                 show this help\n";

struct UsageError {
  std::string message;
};

std::optional<std::string> envValue(const char* name) {
  const char* value = std::getenv(name);
  if (value && *value) return std::string(value);
  return std::nullopt;
}

long parseNumber(const std::string& flag, const std::string& text, long min, long max) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
      text.size() > 9) {
    throw UsageError{flag + " expects a non-negative integer, got '" + text + "'"};
  }
  const long value = std::strtol(text.c_str(), nullptr, 10);
  if (value < min || value > max) {
    throw UsageError{flag + " must be between " + std::to_string(min) + " and " +
                     std::to_string(max)};
  }
  return value;
}

bool isValueFlag(const std::string& flag) {
  for (const char* known :
       {"--host", "--port", "--state-dir", "--api-key", "--create-delay-ms", "--pause-delay-ms",
        "--resume-delay-ms", "--stream-delay-ms", "--device-interval-s", "--device-auto-approve-ms",
        "--rate-limit-rpm"}) {
    if (flag == known) return true;
  }
  return false;
}

// Returns nullopt when --help was given.
std::optional<rtemu::Config> parseArgs(int argc, char** argv) {
  rtemu::Config config;
  config.port = 8080;
  config.quiet = true;
  if (auto host = envValue("RUNTOOLS_EMULATOR_HOST")) config.host = *host;
  if (auto port = envValue("RUNTOOLS_EMULATOR_PORT")) {
    config.port = static_cast<int>(parseNumber("RUNTOOLS_EMULATOR_PORT", *port, 0, 65535));
  }
  if (auto dir = envValue("RUNTOOLS_EMULATOR_STATE_DIR")) config.stateDir = *dir;
  if (auto key = envValue("RUNTOOLS_EMULATOR_API_KEY")) config.apiKey = *key;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--verbose") {
      config.quiet = false;
      continue;
    }
    std::string flag = arg;
    std::optional<std::string> inlineValue;
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      inlineValue = arg.substr(eq + 1);
    }
    if (!isValueFlag(flag)) throw UsageError{"unknown option " + flag};
    std::string value;
    if (inlineValue) {
      value = *inlineValue;
    } else {
      if (i + 1 >= argc) throw UsageError{"missing value for " + flag};
      value = argv[++i];
    }
    if (flag == "--host") {
      if (value.empty()) throw UsageError{"--host must not be empty"};
      config.host = value;
    } else if (flag == "--port") {
      config.port = static_cast<int>(parseNumber(flag, value, 0, 65535));
    } else if (flag == "--state-dir") {
      if (value.empty()) throw UsageError{"--state-dir must not be empty"};
      config.stateDir = value;
    } else if (flag == "--api-key") {
      if (value.empty()) throw UsageError{"--api-key must not be empty"};
      config.apiKey = value;
    } else if (flag == "--create-delay-ms") {
      config.createDelay = std::chrono::milliseconds(parseNumber(flag, value, 0, 86'400'000));
    } else if (flag == "--pause-delay-ms") {
      config.pauseDelay = std::chrono::milliseconds(parseNumber(flag, value, 0, 86'400'000));
    } else if (flag == "--resume-delay-ms") {
      config.resumeDelay = std::chrono::milliseconds(parseNumber(flag, value, 0, 86'400'000));
    } else if (flag == "--stream-delay-ms") {
      config.streamDelay = std::chrono::milliseconds(parseNumber(flag, value, 0, 60'000));
    } else if (flag == "--device-interval-s") {
      config.deviceInterval = std::chrono::seconds(parseNumber(flag, value, 0, 3600));
    } else if (flag == "--device-auto-approve-ms") {
      config.deviceAutoApprove = std::chrono::milliseconds(parseNumber(flag, value, 0, 3'600'000));
    } else if (flag == "--rate-limit-rpm") {
      config.rateLimitRpm = static_cast<int>(parseNumber(flag, value, 0, 1'000'000));
    } else {
      throw UsageError{"unknown option " + flag};
    }
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<rtemu::Config> config;
  try {
    config = parseArgs(argc, argv);
  } catch (const UsageError& error) {
    std::fprintf(stderr, "runtools-emulator: %s\nTry 'runtools-emulator --help'.\n",
                 error.message.c_str());
    return kUsageError;
  }
  if (!config) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const bool generatedKey = config->apiKey.empty();

  // Block the termination signals in every thread (they inherit the mask) and wait for them
  // synchronously below. Writes to closed sockets must never kill the process.
  sigset_t termination;
  sigemptyset(&termination);
  sigaddset(&termination, SIGINT);
  sigaddset(&termination, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &termination, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    rtemu::Emulator emulator(*config);
    emulator.start();
    std::string hostShown = config->host;
    if (hostShown.find(':') != std::string::npos) hostShown = "[" + hostShown + "]";
    std::printf("listening on http://%s:%d\n", hostShown.c_str(), emulator.port());
    std::fflush(stdout);
    if (generatedKey) {
      std::printf("api key: %s\n", emulator.apiKey().c_str());
      std::fflush(stdout);
    }
    int sig = 0;
    while (sigwait(&termination, &sig) != 0) {
    }
    std::fprintf(stderr, "runtools-emulator: received %s, shutting down\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
    emulator.stop();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "runtools-emulator: %s\n", error.what());
    return 1;
  }
  return 0;
}
