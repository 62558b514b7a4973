// runtools login|logout|whoami, auth keys, ssh-key, oauth: the 0600 config
// file, keys that never reach stdout unless asked, the device flow.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "cli_harness.hpp"

using namespace rtcli_test;

namespace {

mode_t modeOf(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("login stores the key in a 0600 file that later commands use then logout removes it") {
  CliFixture cli;
  Env bare = cli.env(false);
  bare.erase("RUNTOOLS_API_URL");
  bare.erase("RUNTOOLS_TOOLS_URL");
  bare.erase("RUNTOOLS_AUTH_URL");
  bare.erase("RUNTOOLS_STORAGE_URL");

  const Result wrong =
      cli.run({"login", "--api-url", cli.baseUrl()}, bare, "rt_test_WrongWrongWrongWrong0000\n");
  CHECK(wrong.exitCode == 3);
  CHECK_FALSE(fs::exists(cli.configFile()));

  const Result login = cli.run({"login", "--api-url", cli.baseUrl(), "--tools-url", cli.baseUrl(),
                                "--auth-url", cli.baseUrl(), "--storage-url", cli.baseUrl()},
                               bare, std::string(CliFixture::kKey) + "\n");
  REQUIRE(login.exitCode == 0);
  CHECK(login.out.find("logged in as ") != std::string::npos);
  REQUIRE(fs::exists(cli.configFile()));
  CHECK(modeOf(cli.configFile()) == 0600);
  CHECK(modeOf(cli.configFile().parent_path()) == 0700);
  const auto stored = nlohmann::json::parse(readFile(cli.configFile()));
  CHECK(stored["apiUrl"] == cli.baseUrl());
  CHECK(stored.contains("apiKey"));

  // With neither RUNTOOLS_API_KEY nor any URL variable: the file is enough.
  const Result whoami = cli.run({"whoami", "--json"}, bare);
  REQUIRE(whoami.exitCode == 0);
  CHECK(whoami.json()["user"].contains("email"));
  CHECK(whoami.json()["organization"].contains("id"));
  CHECK(cli.run({"whoami"}, bare).out.find("organization:") != std::string::npos);
  CHECK(cli.run({"workspace", "list"}, bare).exitCode == 0);

  // The environment wins over the file.
  Env override = bare;
  override["RUNTOOLS_API_KEY"] = "rt_test_EnvironmentWinsOverTheFile00";
  CHECK(cli.run({"whoami"}, override).exitCode == 3);

  const Result logout = cli.run({"logout"}, bare);
  CHECK(logout.exitCode == 0);
  if (fs::exists(cli.configFile())) {
    CHECK_FALSE(nlohmann::json::parse(readFile(cli.configFile())).contains("apiKey"));
  }
  CHECK(cli.run({"whoami"}, bare).exitCode == 3);
}

TEST_CASE("login prompts on a terminal without echoing the key") {
  CliFixture cli;
  Child login = Child::withTerminal(CliFixture::argv({"login"}), cli.env(false));
  REQUIRE(login.waitForStderr("RunTools API key: ", 10s));
  login.typeOnTerminal(std::string(CliFixture::kKey) + "\n");
  REQUIRE(login.wait() == 0);
  CHECK(login.stderrText().find(CliFixture::kKey) == std::string::npos);  // echo was off
  CHECK(login.stdoutText().find(CliFixture::kKey) == std::string::npos);
  CHECK(login.stdoutText().find("logged in as ") != std::string::npos);
  CHECK(modeOf(cli.configFile()) == 0600);
  CHECK(cli.run({"whoami"}, cli.env(false)).exitCode == 0);
}

TEST_CASE("login --device runs the device flow the emulator approves") {
  CliFixture cli({"--device-auto-approve-ms", "300", "--device-interval-s", "1"});
  const Result login = cli.run({"login", "--device", "--json"});
  REQUIRE(login.exitCode == 0);
  CHECK(login.json()["status"] == "connected");
  CHECK(login.json()["provider"] == "openai-codex");
  CHECK(login.err.find("enter the code ") != std::string::npos);

  const auto connections = cli.json({"oauth", "status", "openai-codex"});
  REQUIRE(connections.size() == 1);
  CHECK(connections[0]["id"] == login.json()["connectionId"]);
}

TEST_CASE("auth keys create, list, rotate, revoke: the key goes to a 0600 file only") {
  CliFixture cli;
  CHECK(cli.run({"auth", "keys", "create", "ci"}).exitCode == 2);  // no destination

  const auto keyFile = cli.file("ci.key");
  const Result created =
      cli.run({"auth", "keys", "create", "ci", "--key-file", keyFile.string(), "--json"});
  REQUIRE(created.exitCode == 0);
  CHECK(modeOf(keyFile) == 0600);
  std::string key = readFile(keyFile);
  key.pop_back();
  CHECK(key.rfind("rt_", 0) == 0);
  CHECK(keepsSecret(created, key));
  const std::string id = created.json()["apiKey"]["id"];

  Env withNewKey = cli.env();
  withNewKey["RUNTOOLS_API_KEY"] = key;
  const Result list = cli.run({"auth", "keys", "list", "--json"}, withNewKey);
  REQUIRE(list.exitCode == 0);
  CHECK(keepsSecret(list, key));
  const auto keys = list.json();
  CHECK(std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return k["id"] == id; }));
  CHECK(cli.run({"auth", "keys", "list"}).out.find("ci") != std::string::npos);

  const auto rotatedFile = cli.file("rotated.key");
  const Result rotated =
      cli.run({"auth", "keys", "rotate", id, "--key-file", rotatedFile.string()});
  REQUIRE(rotated.exitCode == 0);
  CHECK(cli.run({"whoami"}, withNewKey).exitCode == 3);  // the old key is revoked
  std::string newKey = readFile(rotatedFile);
  newKey.pop_back();
  CHECK(keepsSecret(rotated, newKey));

  const Result revealed = cli.run({"auth", "keys", "create", "shown", "--reveal"});
  REQUIRE(revealed.exitCode == 0);
  CHECK(revealed.out.rfind("rt_", 0) == 0);  // printed only because --reveal asked
  const auto all = cli.json({"auth", "keys", "list"});
  for (const auto& k : all) {
    if (k["name"] != "shown") continue;
    CHECK(cli.json({"auth", "keys", "revoke", k["id"]})["revoked"] == true);
  }
  CHECK(cli.run({"auth", "keys", "revoke", "key_unknown"}).exitCode == 4);
}

TEST_CASE("ssh-key add reads a public key file then oauth connect, status, disconnect") {
  CliFixture cli;
  const auto pub = cli.file("id_ed25519.pub");
  std::ofstream(pub) << "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn0lmM0cvWm3dnyJvNP0nKkq4EwcSEGbCzmA"
                        "T7bNhAn cli@test\n";
  const auto added = cli.json({"ssh-key", "add", "laptop", "--file", pub.string()});
  CHECK(added["name"] == "laptop");
  CHECK(added["fingerprint"].get<std::string>().rfind("SHA256:", 0) == 0);
  const auto listed = cli.json({"ssh-key", "list"});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["id"] == added["id"]);
  const auto priv = cli.file("id_ed25519");
  std::ofstream(priv) << "-----BEGIN OPENSSH PRIVATE KEY-----\nxxx\n";
  CHECK(cli.run({"ssh-key", "add", "oops", "--file", priv.string()}).exitCode == 2);

  const auto connect = cli.json({"oauth", "connect", "github"});
  const std::string authUrl = connect["authUrl"];
  CHECK(authUrl.find("http") == 0);
  CHECK(cli.json({"oauth", "status"}).empty());
  CHECK(cli.run({"oauth", "status"}).out == "No connections.\n");
  CHECK(cli.run({"oauth", "disconnect", "conn_unknown"}).exitCode == 4);
}

TEST_CASE("oauth connect --device, then disconnect") {
  CliFixture cli({"--device-auto-approve-ms", "200", "--device-interval-s", "1"});
  const auto connected = cli.json({"oauth", "connect", "openai-codex", "--device"});
  REQUIRE(connected["status"] == "connected");
  const std::string id = connected["connectionId"];
  CHECK(cli.run({"oauth", "status"}).out.find(id) != std::string::npos);
  CHECK(cli.json({"oauth", "disconnect", id})["disconnected"] == true);
  CHECK(cli.json({"oauth", "status"}).empty());
}
