// runtools sandbox ...: lifecycle, --json shapes, streamed exec and its exit
// codes, Ctrl-C stopping a remote command.

#include <catch2/catch.hpp>

#include "cli_harness.hpp"

using namespace rtcli_test;

namespace {

std::string createSandbox(const CliFixture& cli, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"sandbox", "create"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto doc = cli.json(args);
  REQUIRE(doc["status"] == "running");
  return doc["id"].get<std::string>();
}

// Processes running `program` inside sandbox `id` (the emulator runs
// commands on this host, with RUNTOOLS_SANDBOX_ID in their environment).
int processesOf(const std::string& id, const std::string& program) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto read = [&](const char* name) {
      std::ifstream in(entry.path() / name, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const std::string environ = read("environ");
    if (environ.find("RUNTOOLS_SANDBOX_ID=" + id + '\0') == std::string::npos) continue;
    if (read("cmdline").rfind(program + '\0', 0) == 0) ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("sandbox create waits until ready then list, get, pause, resume, url, ssh, destroy") {
  CliFixture cli;
  const auto created = cli.json({"sandbox", "create", "--name", "cli-box", "--tag", "cli", "--tag",
                                 "second", "--env", "GREETING=hi", "--idle-timeout", "600"});
  CHECK(created["status"] == "running");
  CHECK(created["name"] == "cli-box");
  CHECK(created["tags"] == nlohmann::json({"cli", "second"}));
  const std::string id = created["id"];

  const auto notWaited = cli.json({"sandbox", "create", "--no-wait", "--tag", "other"});
  CHECK(notWaited["status"] != "running");

  const auto tagged = cli.json({"sandbox", "list", "--tag", "cli"});
  REQUIRE(tagged.is_array());
  REQUIRE(tagged.size() == 1);
  CHECK(tagged[0]["id"] == id);
  CHECK(cli.json({"sandbox", "list"}).size() == 2);
  const auto running = cli.json({"sandbox", "list", "--status", "running"});
  CHECK(std::any_of(running.begin(), running.end(), [&](const auto& s) { return s["id"] == id; }));

  const Result table = cli.run({"sandbox", "list"});
  REQUIRE(table.exitCode == 0);
  CHECK(table.out.rfind("ID ", 0) == 0);
  CHECK(table.out.find(id) != std::string::npos);
  CHECK(table.out.find("cli,second") != std::string::npos);

  CHECK(cli.json({"sandbox", "get", id})["id"] == id);
  const Result details = cli.run({"sandbox", "get", "cli-box"});
  CHECK(details.out.find("status:") != std::string::npos);
  CHECK(details.out.find(id) != std::string::npos);

  const auto url = cli.json({"sandbox", "url", id, "--port", "8080"});
  CHECK(url["port"] == 8080);
  CHECK(url["url"].get<std::string>().find("http") == 0);
  const auto ssh = cli.json({"sandbox", "ssh", id});
  CHECK(ssh.contains("host"));
  const Result sshLine = cli.run({"sandbox", "ssh", id});
  CHECK(sshLine.out == ssh["command"].get<std::string>() + "\n");

  const auto paused = cli.json({"sandbox", "pause", id, "--wait"});
  CHECK(paused["id"] == id);
  CHECK(paused["status"] == "paused");
  CHECK(cli.json({"sandbox", "get", id})["status"] == "paused");
  CHECK(cli.run({"sandbox", "pause", id}).out == "sandbox " + id + " is paused\n");
  CHECK(cli.json({"sandbox", "resume", id, "--wait"})["status"] == "running");

  CHECK(cli.json({"sandbox", "destroy", id})["status"] == "destroyed");
  const auto after = cli.json({"sandbox", "list", "--tag", "cli"});
  CHECK(std::none_of(after.begin(), after.end(),
                     [&](const auto& s) { return s["status"] == "running"; }));
}

TEST_CASE("sandbox exec streams output as it arrives and exits with the remote exit code") {
  CliFixture cli;
  const std::string id = createSandbox(cli);

  Child child = cli.start({"sandbox", "exec", id, "--",
                           "echo first; echo oops >&2; sleep 2; "
                           "echo second; exit 7"});
  child.closeStdin();
  REQUIRE(child.waitForStdout("first\n", 10s));
  // Streamed: the first line is here while the command still runs.
  CHECK(child.stdoutText().find("second") == std::string::npos);
  CHECK(child.wait() == 7);
  CHECK(child.stdoutText() == "first\nsecond\n");
  CHECK(child.stderrText() == "oops\n");

  const Result words = cli.run({"sandbox", "exec", id, "--env", "A=1", "--env", "B=two words",
                                "--cwd", "/workspace", "--", "printf", "%s|", "a b", "$A", "it's"});
  CHECK(words.exitCode == 0);
  CHECK(words.out == "a b|$A|it's|");
  const Result env =
      cli.run({"sandbox", "exec", id, "--env", "B=two words", "--", "echo \"$B\" && pwd"});
  CHECK(env.out.rfind("two words\n", 0) == 0);

  const Result timeout = cli.run({"sandbox", "exec", id, "--timeout", "1", "--", "sleep 5"});
  CHECK(timeout.exitCode == 124);

  const Result exec =
      cli.run({"--json", "sandbox", "exec", id, "--", "echo out; echo err >&2; exit 3"});
  CHECK(exec.exitCode == 3);  // --json keeps the remote exit code
  const auto json = exec.json();
  CHECK(json["exitCode"] == 3);
  CHECK(json["stdout"] == "out\n");
  CHECK(json["stderr"] == "err\n");
  CHECK(json["timedOut"] == false);
}

TEST_CASE("Ctrl-C stops a long remote command and exits 130 promptly") {
  CliFixture cli;
  const std::string id = createSandbox(cli);
  Child child =
      cli.start({"sandbox", "exec", id, "--timeout", "120", "--", "echo started; sleep 60"});
  child.closeStdin();
  REQUIRE(child.waitForStdout("started\n", 10s));
  // The shell starts sleep right after the echo.
  for (auto until = Clock::now() + 5s; processesOf(id, "sleep") == 0 && Clock::now() < until;)
    std::this_thread::sleep_for(20ms);
  REQUIRE(processesOf(id, "sleep") == 1);

  const auto sent = Clock::now();
  child.signal(SIGINT);
  const auto code = child.wait(10s);
  const auto took = Clock::now() - sent;
  REQUIRE(code.has_value());
  CHECK(*code == 130);
  CHECK(took < 3s);
  CHECK(child.stderrText().find("interrupted") != std::string::npos);

  // The remote command is stopped too.
  const auto deadline = Clock::now() + 5s;
  while (processesOf(id, "sleep") > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  CHECK(processesOf(id, "sleep") == 0);
}
