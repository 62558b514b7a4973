// runtools sandbox create|list|get|exec|pause|resume|destroy|url|ssh

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <CLI/CLI.hpp>
#include <runtools/errors.hpp>
#include <runtools/sandbox.hpp>

#include "args.hpp"
#include "context.hpp"
#include "errors.hpp"
#include "signals.hpp"

namespace rtcli {

namespace {

// How often waits poll the sandbox's state.
constexpr std::chrono::milliseconds kPollInterval{250};

Row sandboxRow(const runtools::SandboxInfo& s) {
  return {s.id, orDash(s.name), s.status, s.templateName, listText(s.tags), timeText(s.createdAt)};
}

const Row kSandboxHeaders = {"ID", "NAME", "STATUS", "TEMPLATE", "TAGS", "CREATED"};

void showSandbox(const Context& ctx, const runtools::SandboxInfo& s) {
  ctx.out().show(s.raw, [&] {
    std::vector<std::string> mounts;
    for (const auto& m : s.mounts)
      mounts.push_back(m.workspaceId + ":" + m.path + (m.readOnly ? ":ro" : ""));
    ctx.out().fields({{"id", s.id},
                      {"name", orDash(s.name)},
                      {"status", s.status},
                      {"template", s.templateName},
                      {"tags", listText(s.tags)},
                      {"mounts", listText(mounts)},
                      {"ssh ready", s.sshReady ? "yes" : "no"},
                      {"created", timeText(s.createdAt)}});
  });
}

void addCreate(CLI::App& group, Context& ctx) {
  struct Args {
    std::string name, templateName = "base-ubuntu";
    std::vector<std::string> tags, env, mounts;
    int idleTimeout = -1;
    bool noWait = false;
    int waitTimeout = 120;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = group.add_subcommand("create", "Create a sandbox and wait until it is ready");
  cmd->add_option("--name", args->name, "Sandbox name");
  cmd->add_option("--template", args->templateName, "base-ubuntu or desktop-ubuntu")
      ->capture_default_str();
  addRepeated(*cmd, "--tag", args->tags, "Tag (repeatable)");
  addRepeated(*cmd, "--env", args->env, "Environment variable K=V (repeatable)");
  addRepeated(*cmd, "--mount", args->mounts, "Mount WORKSPACE:/workspace/PATH[:ro] (repeatable)");
  cmd->add_option("--idle-timeout", args->idleTimeout, "Seconds idle before auto-pause (0: never)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-wait", args->noWait, "Return as soon as the platform accepted it");
  cmd->add_option("--wait-timeout", args->waitTimeout, "Seconds to wait for ready")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([args, &ctx] {
    runtools::CreateSandboxOptions options;
    options.templateName = args->templateName;
    if (!args->name.empty()) options.name = args->name;
    options.tags = args->tags;
    options.env = parseKeyValues(args->env, "--env");
    for (const auto& m : args->mounts)
      options.mounts.push_back(parseMount(m));
    if (args->idleTimeout >= 0) options.idleTimeout = std::chrono::seconds(args->idleTimeout);
    auto sandbox = ctx.client().sandbox.create(options);
    runtools::SandboxInfo info;
    if (args->noWait) {
      info = sandbox.state().value_or(runtools::SandboxInfo{});
      if (info.id.empty()) info = sandbox.refresh();
    } else {
      runtools::WaitOptions wait;
      wait.timeout = std::chrono::seconds(args->waitTimeout);
      wait.pollInterval = kPollInterval;
      wait.cancellation = ctx.cancellation();
      info = sandbox.waitForReady(wait);
    }
    ctx.out().show(info.raw,
                   [&] { ctx.out().message("sandbox " + info.id + " is " + info.status); });
  });
}

void addList(CLI::App& group, Context& ctx) {
  auto filters = std::make_shared<runtools::ListSandboxesOptions>();
  auto status = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("list", "List sandboxes");
  cmd->add_option("--status", *status, "Only sandboxes with this status");
  addRepeated(*cmd, "--tag", filters->tags, "Only sandboxes carrying this tag (repeatable)");
  cmd->callback([filters, status, &ctx] {
    if (!status->empty()) filters->status = *status;
    const auto sandboxes = ctx.client().sandbox.list(*filters);
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& s : sandboxes) {
      doc.push_back(s.raw);
      rows.push_back(sandboxRow(s));
    }
    ctx.out().show(doc, [&] { ctx.out().table(kSandboxHeaders, rows, "No sandboxes."); });
  });
}

// A subcommand taking the sandbox id, whose action gets the handle.
CLI::App* addWithId(CLI::App& group, const std::string& name, const std::string& description,
                    std::shared_ptr<std::string>& id) {
  id = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand(name, description);
  cmd->add_option("ID", *id, "Sandbox id or name")->required();
  return cmd;
}

void addExec(CLI::App& group, Context& ctx) {
  struct Args {
    std::string id, cwd;
    int timeout = 0;
    std::vector<std::string> env, command;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = group.add_subcommand(
      "exec", "Run a command in a sandbox, streaming its output; exits with its exit code");
  cmd->add_option("ID", args->id, "Sandbox id or name")->required();
  cmd->add_option("--cwd", args->cwd, "Working directory (default /workspace)");
  cmd->add_option("--timeout", args->timeout, "Seconds the command may run (platform default 30)")
      ->check(CLI::PositiveNumber);
  addRepeated(*cmd, "--env", args->env, "Environment variable K=V (repeatable)");
  cmd->add_option("COMMAND", args->command,
                  "After --: one word is a shell command line; several are quoted as arguments")
      ->required();
  cmd->footer("Example: runtools sandbox exec sbx_123 -- 'ls -la && uname -a'");
  cmd->callback([args, &ctx] {
    runtools::ExecOptions options;
    if (!args->cwd.empty()) options.cwd = args->cwd;
    if (args->timeout > 0) options.timeout = std::chrono::seconds(args->timeout);
    options.env = parseKeyValues(args->env, "--env");
    options.cancellation = ctx.cancellation();
    const bool json = ctx.global.json;
    if (!json) {
      options.onStdout = [](std::string_view chunk) { return writeFd(STDOUT_FILENO, chunk); };
      options.onStderr = [](std::string_view chunk) { return writeFd(STDERR_FILENO, chunk); };
    }
    const auto result =
        ctx.client().sandbox.get(args->id).exec(commandLine(args->command), options);
    if (json) {
      nlohmann::json doc{{"exitCode", result.exitCode},
                         {"stdout", result.stdoutText},
                         {"stderr", result.stderrText},
                         {"timedOut", result.timedOut}};
      doc["durationMs"] = result.durationMs ? nlohmann::json(result.durationMs->count()) : nullptr;
      ctx.out().document(doc);
    }
    if (result.timedOut) {
      ctx.exitCode = kExitRemoteTimeout;
    } else if (result.stopped) {
      ctx.exitCode = kExitError;  // our output is gone (a closed pipe)
    } else {
      ctx.exitCode = result.exitCode;
    }
  });
}

void addLifecycle(CLI::App& group, Context& ctx) {
  struct Action {
    const char* name;
    const char* description;
    const char* settled;  // what --wait waits for (none: no --wait)
    std::string (*run)(const runtools::Sandbox&);
  };
  static const Action kActions[] = {
      {"pause", "Pause a sandbox", "paused", [](const runtools::Sandbox& s) { return s.pause(); }},
      {"resume", "Resume a paused sandbox", "running",
       [](const runtools::Sandbox& s) { return s.resume(); }},
      {"destroy", "Destroy a sandbox permanently", nullptr,
       [](const runtools::Sandbox& s) {
         s.destroy();
         return std::string("destroyed");
       }},
  };
  for (const Action& action : kActions) {
    std::shared_ptr<std::string> id;
    auto wait = std::make_shared<bool>(false);
    auto* cmd = addWithId(group, action.name, action.description, id);
    if (action.settled != nullptr) {
      cmd->add_flag("--wait", *wait, std::string("Wait until the sandbox is ") + action.settled);
    }
    cmd->callback([id, wait, &ctx, action] {
      const auto sandbox = ctx.client().sandbox.get(*id);
      std::string status = action.run(sandbox);
      if (*wait && status != action.settled) {
        runtools::WaitOptions options;
        options.cancellation = ctx.cancellation();
        options.pollInterval = kPollInterval;
        status = sandbox.waitForStatus(action.settled, options).status;
      }
      ctx.out().show(nlohmann::json{{"id", *id}, {"status", status}},
                     [&] { ctx.out().message("sandbox " + *id + " is " + status); });
    });
  }
}

void addGet(CLI::App& group, Context& ctx) {
  std::shared_ptr<std::string> id;
  auto* cmd = addWithId(group, "get", "Show a sandbox", id);
  cmd->callback([id, &ctx] { showSandbox(ctx, ctx.client().sandbox.get(*id).refresh()); });
}

void addUrl(CLI::App& group, Context& ctx) {
  std::shared_ptr<std::string> id;
  auto port = std::make_shared<int>(0);
  auto* cmd = addWithId(group, "url", "Public URL of a port inside a sandbox", id);
  cmd->add_option("--port", *port, "Port inside the sandbox")
      ->required()
      ->check(CLI::Range(1, 65535));
  cmd->callback([id, port, &ctx] {
    const auto url = ctx.client().sandbox.get(*id).url(*port);
    nlohmann::json doc{{"url", url.url}, {"port", url.port}};
    doc["expiresAt"] = url.expiresAt ? nlohmann::json(timeText(url.expiresAt)) : nullptr;
    ctx.out().show(doc, [&] { ctx.out().message(url.url); });
  });
}

void addSsh(CLI::App& group, Context& ctx) {
  std::shared_ptr<std::string> id;
  auto connect = std::make_shared<bool>(false);
  auto* cmd = addWithId(group, "ssh", "Print the ssh command of a sandbox (or run it)", id);
  cmd->add_flag("--connect", *connect, "Run ssh instead of printing the command");
  cmd->callback([id, connect, &ctx] {
    const auto ssh = ctx.client().sandbox.get(*id).ssh();
    if (*connect) {
      const std::string port = std::to_string(ssh.port);
      const std::string target = (ssh.user.empty() ? "" : ssh.user + "@") + ssh.host;
      ctx.watcher().release();  // ssh gets the terminal's signals itself
      ::signal(SIGPIPE, SIG_DFL);
      ::execlp("ssh", "ssh", "-p", port.c_str(), target.c_str(), static_cast<char*>(nullptr));
      throw CommandError("exec_failed", std::string("cannot run ssh: ") + std::strerror(errno));
    }
    nlohmann::json doc{
        {"host", ssh.host}, {"port", ssh.port}, {"user", ssh.user}, {"command", ssh.command}};
    doc["keyId"] = ssh.keyId ? nlohmann::json(*ssh.keyId) : nullptr;
    ctx.out().show(doc, [&] { ctx.out().message(ssh.command); });
  });
}

}  // namespace

void addSandboxCommands(CLI::App& root, Context& ctx) {
  CLI::App* group = addGroup(root, "sandbox", "Sandboxes: Linux VMs that run commands");
  addCreate(*group, ctx);
  addList(*group, ctx);
  addGet(*group, ctx);
  addExec(*group, ctx);
  addLifecycle(*group, ctx);
  addUrl(*group, ctx);
  addSsh(*group, ctx);
}

}  // namespace rtcli
