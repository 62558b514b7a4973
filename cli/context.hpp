#pragma once

// What every command shares: the global options, the output, the client
// (built on first use from flags, then RUNTOOLS_* variables, then the
// configuration file) and the cancellation token Ctrl-C trips.

#include <optional>
#include <string>

#include <runtools/client.hpp>

#include "config_file.hpp"
#include "output.hpp"

namespace CLI {
class App;
}

namespace rtcli {

class InterruptWatcher;

struct GlobalOptions {
  std::string apiUrl;
  std::string toolsUrl;
  std::string authUrl;
  std::string storageUrl;
  bool json = false;
};

class Context {
 public:
  Context(runtools::CancellationToken cancellation, InterruptWatcher& watcher)
      : cancellation_(std::move(cancellation)), watcher_(watcher) {}

  GlobalOptions global;
  /// What the process exits with when the command succeeded (sandbox exec: the
  /// remote exit code).
  int exitCode = 0;

  Output out() const { return Output(global.json); }
  const runtools::CancellationToken& cancellation() const { return cancellation_; }
  InterruptWatcher& watcher() { return watcher_; }

  /// The client for this invocation; its calls are cancelled by Ctrl-C.
  /// Throws CommandError (exit 3) when no credential is configured.
  runtools::RunTools& client();
  /// A client that Ctrl-C does not cancel, with a short timeout: for the
  /// clean-up after an interruption (cancelling a run).
  runtools::RunTools cleanupClient();

  /// Options from flags, then the environment, then the configuration file,
  /// with `apiKey` instead of any configured credential when given.
  runtools::ClientOptions clientOptions(const std::optional<std::string>& apiKey = {}) const;
  /// The URLs in effect from flags and the environment (for `login`).
  StoredConfig effectiveUrls() const;

 private:
  runtools::CancellationToken cancellation_;
  InterruptWatcher& watcher_;
  std::optional<runtools::RunTools> client_;
};

/// A command group (`runtools sandbox ...`) that needs one of its subcommands.
CLI::App* addGroup(CLI::App& parent, const std::string& name, const std::string& description);

// Each file of commands adds its subcommands to the root.
void addSandboxCommands(CLI::App& root, Context& ctx);
void addWorkspaceCommands(CLI::App& root, Context& ctx);
void addAgentCommands(CLI::App& root, Context& ctx);
void addToolCommands(CLI::App& root, Context& ctx);
void addSecretCommands(CLI::App& root, Context& ctx);
void addAuthCommands(CLI::App& root, Context& ctx);
void addCompletionCommand(CLI::App& root);

}  // namespace rtcli
