// runtools: the command-line tool of the RunTools platform.

#include <signal.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <runtools/version.hpp>

#include "context.hpp"
#include "errors.hpp"
#include "signals.hpp"

namespace {

void addGlobalOptions(CLI::App& app, rtcli::GlobalOptions& global) {
  app.add_flag("--json", global.json, "Print the platform's objects as one JSON document");
  app.add_option("--api-url", global.apiUrl, "API base URL [RUNTOOLS_API_URL]");
  app.add_option("--tools-url", global.toolsUrl, "Tool Hub base URL [RUNTOOLS_TOOLS_URL]");
  app.add_option("--auth-url", global.authUrl, "Auth base URL [RUNTOOLS_AUTH_URL]");
  app.add_option("--storage-url", global.storageUrl, "Storage base URL [RUNTOOLS_STORAGE_URL]");
}

const char* const kFooter =
    "Configuration: flags, then RUNTOOLS_API_KEY / RUNTOOLS_ACCESS_TOKEN and the other\n"
    "RUNTOOLS_* variables, then the file written by `runtools login`\n"
    "($XDG_CONFIG_HOME/runtools/config.json or ~/.config/runtools/config.json).\n"
    "Credentials are never taken on the command line.\n";

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  runtools::CancellationToken cancellation;
  rtcli::InterruptWatcher watcher(cancellation);  // before any other thread starts
  rtcli::Context ctx(cancellation, watcher);

  CLI::App app("Command-line tool of the RunTools platform", "runtools");
  app.set_version_flag("--version", RUNTOOLS_VERSION_STRING);
  app.footer(std::string("\n") + kFooter + "\n" + rtcli::exitCodeHelp());
  app.require_subcommand(1);
  app.fallthrough();
  addGlobalOptions(app, ctx.global);

  rtcli::addSandboxCommands(app, ctx);
  rtcli::addWorkspaceCommands(app, ctx);
  rtcli::addAgentCommands(app, ctx);
  rtcli::addToolCommands(app, ctx);
  rtcli::addSecretCommands(app, ctx);
  rtcli::addAuthCommands(app, ctx);
  rtcli::addCompletionCommand(app);

  int code = rtcli::kExitOk;
  try {
    app.parse(argc, argv);
    code = ctx.exitCode;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "error: usage: " << e.what() << "\n"
              << "Run with --help for more information.\n";
    code = rtcli::kExitUsage;
  } catch (...) {
    const rtcli::Failure failure = rtcli::describeCurrentException();
    if (failure.exitCode != rtcli::kExitInterrupted || !watcher.interrupted()) {
      std::cerr << failure.line() << "\n";
    }
    code = failure.exitCode;
  }
  if (watcher.interrupted()) {
    std::cerr << "interrupted\n";
    code = rtcli::kExitInterrupted;
  }
  return code;
}
