// Help, usage errors, exit codes, configuration failures and the bash
// completion script.

#include <catch2/catch.hpp>

#include "cli_harness.hpp"

using namespace rtcli_test;

namespace {

const std::vector<std::vector<std::string>> kCommands = {{"sandbox", "create"},
                                                         {"sandbox", "list"},
                                                         {"sandbox", "get"},
                                                         {"sandbox", "exec"},
                                                         {"sandbox", "pause"},
                                                         {"sandbox", "resume"},
                                                         {"sandbox", "destroy"},
                                                         {"sandbox", "url"},
                                                         {"sandbox", "ssh"},
                                                         {"workspace", "create"},
                                                         {"workspace", "list"},
                                                         {"workspace", "delete"},
                                                         {"workspace", "ls"},
                                                         {"workspace", "upload"},
                                                         {"workspace", "download"},
                                                         {"workspace", "rm"},
                                                         {"agent", "run"},
                                                         {"agent", "list"},
                                                         {"thread", "list"},
                                                         {"thread", "events"},
                                                         {"tool", "search"},
                                                         {"tool", "install"},
                                                         {"tool", "list"},
                                                         {"tool", "exec"},
                                                         {"secret", "set"},
                                                         {"secret", "list"},
                                                         {"secret", "get"},
                                                         {"secret", "delete"},
                                                         {"auth", "keys", "list"},
                                                         {"auth", "keys", "create"},
                                                         {"auth", "keys", "revoke"},
                                                         {"auth", "keys", "rotate"},
                                                         {"ssh-key", "add"},
                                                         {"oauth", "connect"},
                                                         {"oauth", "status"},
                                                         {"oauth", "disconnect"},
                                                         {"whoami"},
                                                         {"login"},
                                                         {"logout"},
                                                         {"completion", "bash"}};

std::string completions(const CliFixture& cli, const std::string& line) {
  const Result script = cli.run({"completion", "bash"});
  REQUIRE(script.exitCode == 0);
  const auto file = cli.file("completion.bash");
  std::ofstream(file) << script.out;
  // COMP_WORDS as bash splits `line` (a trailing space starts an empty word).
  const std::string probe = "source '" + file.string() + "'; COMP_WORDS=(" + line +
                            (line.back() == ' ' ? "''" : "") +
                            "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _runtools; "
                            "printf '%s\\n' \"${COMPREPLY[@]}\"";
  Child bash({"/bin/bash", "-c", probe}, {{"PATH", "/usr/bin:/bin"}});
  bash.closeStdin();
  REQUIRE(bash.wait() == 0);
  return "\n" + bash.stdoutText();
}

}  // namespace

TEST_CASE("--help documents every command group and the exit codes") {
  CliFixture cli;
  const Result help = cli.run({"--help"});
  REQUIRE(help.exitCode == 0);
  for (const char* group : {"sandbox", "workspace", "agent", "thread", "tool", "secret", "auth",
                            "ssh-key", "oauth", "whoami", "login", "logout", "completion"}) {
    CHECK(help.out.find(group) != std::string::npos);
  }
  for (const char* code : {"130", "124", "rate limited", "not found", "conflict", "network"}) {
    CHECK(help.out.find(code) != std::string::npos);
  }
}

TEST_CASE("every documented command answers --help") {
  CliFixture cli;
  for (auto args : kCommands) {
    args.push_back("--help");
    const Result r = cli.run(args);
    INFO(args.front() << " " << args[1 < args.size() ? 1 : 0]);
    CHECK(r.exitCode == 0);
    CHECK(r.out.find("Usage:") != std::string::npos);
  }
}

TEST_CASE("usage errors exit 2 with one error line") {
  CliFixture cli;
  const Result missing = cli.run({"sandbox", "exec"});
  CHECK(missing.exitCode == 2);
  CHECK(missing.err.rfind("error: usage: ", 0) == 0);

  const Result unknown = cli.run({"sandbox", "explode"});
  CHECK(unknown.exitCode == 2);

  const Result noGroup = cli.run({"workspace"});
  CHECK(noGroup.exitCode == 2);

  const Result pair = cli.run({"sandbox", "create", "--env", "NOEQUALS"});
  CHECK(pair.exitCode == 2);
  CHECK(pair.err.find("error: usage: --env takes KEY=VALUE") != std::string::npos);

  const Result params = cli.run({"tool", "exec", "echo", "--action", "echo", "--params", "[1"});
  CHECK(params.exitCode == 2);
}

TEST_CASE("no credential exits 3 then a refused key exits 3 with the request id") {
  CliFixture cli;
  const Result none = cli.run({"sandbox", "list"}, cli.env(false));
  CHECK(none.exitCode == 3);
  CHECK(none.err.rfind("error: unauthenticated: not logged in", 0) == 0);

  Env env = cli.env();
  env["RUNTOOLS_API_KEY"] = "rt_test_NotAKeyTheEmulatorKnows000000";
  const Result refused = cli.run({"sandbox", "list"}, env);
  CHECK(refused.exitCode == 3);
  // The platform's own code and message, and its request id.
  CHECK_THAT(refused.err, Catch::Matches("error: (unauthorized|invalid_token): .+ \\(request "
                                         "req_[0-9a-z]+\\)\n"));
  CHECK(keepsSecret(refused, env["RUNTOOLS_API_KEY"]));
}

TEST_CASE("not found exits 4, conflict 5, network failure 7, bad URL 2") {
  CliFixture cli;
  const Result missing = cli.run({"sandbox", "get", "sbx_doesnotexist"});
  CHECK(missing.exitCode == 4);
  CHECK(missing.err.rfind("error: not_found: ", 0) == 0);

  const auto ws = cli.json({"workspace", "create", "conflicts"});
  const auto sandbox =
      cli.json({"sandbox", "create", "--mount", ws["id"].get<std::string>() + ":/workspace/data"});
  const Result inUse = cli.run({"workspace", "delete", ws["id"].get<std::string>()});
  CHECK(inUse.exitCode == 5);
  CHECK(inUse.err.find("(request ") != std::string::npos);
  CHECK(cli.run({"sandbox", "destroy", sandbox["id"].get<std::string>()}).exitCode == 0);

  Env env = cli.env();
  env["RUNTOOLS_API_URL"] = "http://127.0.0.1:1";
  const Result refused = cli.run({"sandbox", "list"}, env);
  CHECK(refused.exitCode == 7);
  CHECK(refused.err.rfind("error: connection_failed: ", 0) == 0);

  const Result badUrl = cli.run({"sandbox", "list", "--api-url", "ftp://example.com"});
  CHECK(badUrl.exitCode == 2);
  CHECK(badUrl.err.rfind("error: configuration_error: ", 0) == 0);
}

TEST_CASE("rate limiting exits 6") {
  CliFixture cli({"--rate-limit-rpm", "2"});
  int last = 0;
  for (int i = 0; i < 4 && last != 6; ++i)
    last = cli.run({"sandbox", "list"}).exitCode;
  CHECK(last == 6);
}

TEST_CASE("the bash completion script follows the command tree") {
  CliFixture cli;
  const std::string top = completions(cli, "runtools ");
  for (const char* word : {"sandbox", "workspace", "secret", "completion", "--json"})
    CHECK(top.find(std::string("\n") + word + "\n") != std::string::npos);
  const std::string sandbox = completions(cli, "runtools sandbox ");
  for (const auto& command : kCommands) {
    if (command.front() != "sandbox") continue;
    CHECK(sandbox.find("\n" + command[1] + "\n") != std::string::npos);
  }
  const std::string exec = completions(cli, "runtools sandbox exec --");
  for (const char* flag : {"--cwd", "--timeout", "--env", "--json", "--api-url"})
    CHECK(exec.find(std::string("\n") + flag + "\n") != std::string::npos);
  const std::string keys = completions(cli, "runtools auth keys r");
  CHECK(keys == "\nrevoke\nrotate\n");
}
