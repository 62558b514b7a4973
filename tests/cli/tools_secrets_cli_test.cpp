// runtools tool ... and runtools secret ...: values only from stdin, never
// printed unless --reveal.

#include <catch2/catch.hpp>

#include "cli_harness.hpp"

using namespace rtcli_test;

TEST_CASE("tool search, install, list --installed, exec") {
  CliFixture cli;
  const auto found = cli.json({"tool", "search", "math"});
  REQUIRE(found.size() >= 1);
  CHECK(found[0]["slug"] == "math");
  CHECK(cli.run({"tool", "search", "math"}).out.find("add") != std::string::npos);

  CHECK(cli.json({"tool", "list", "--installed"}).empty());
  const auto installed = cli.json({"tool", "install", "math"});
  CHECK(installed["slug"] == "math");
  CHECK(installed["installed"] == true);
  const auto now = cli.json({"tool", "list", "--installed"});
  REQUIRE(now.size() == 1);
  CHECK(now[0]["slug"] == "math");
  CHECK(cli.json({"tool", "list"}).size() > 1);

  cli.json({"tool", "install", "echo"});
  const auto echoed =
      cli.json({"tool", "exec", "echo", "--action", "echo", "--params", R"({"x": [1, 2]})"});
  CHECK(echoed["success"] == true);
  CHECK(echoed.dump().find("[1,2]") != std::string::npos);
  const auto sum =
      cli.run({"tool", "exec", "math", "--action", "add", "--params", R"({"a": 2, "b": 40})"});
  CHECK(sum.exitCode == 0);
  CHECK(sum.out.find("42") != std::string::npos);

  const Result unknownAction = cli.run({"tool", "exec", "math", "--action", "divide"});
  CHECK(unknownAction.exitCode == 1);
  CHECK(unknownAction.err.rfind("error: ", 0) == 0);
  CHECK(cli.run({"tool", "install", "no-such-tool"}).exitCode == 4);
}

TEST_CASE("secret set from stdin then list and get never show the value then --reveal does") {
  CliFixture cli;
  const std::string value = "s3cr3t-Value-Never-Printed-9f8e7d";
  const Result set = cli.run({"secret", "set", "CLI_TOKEN", "--stdin", "--json"}, value + "\n");
  REQUIRE(set.exitCode == 0);
  CHECK(set.json()["created"] == true);
  CHECK(set.json()["secret"]["name"] == "CLI_TOKEN");
  CHECK(keepsSecret(set, value));

  // Without --stdin a piped stdin is read the same way; a second set rotates.
  const Result rotate = cli.run({"secret", "set", "CLI_TOKEN"}, value + "-2");
  CHECK(rotate.exitCode == 0);
  CHECK(rotate.out.find("rotated") != std::string::npos);

  for (const auto& args :
       std::vector<std::vector<std::string>>{{"secret", "list"},
                                             {"secret", "list", "--json"},
                                             {"secret", "get", "CLI_TOKEN"},
                                             {"secret", "get", "CLI_TOKEN", "--json"}}) {
    const Result r = cli.run(args);
    CHECK(r.exitCode == 0);
    CHECK(r.out.find("CLI_TOKEN") != std::string::npos);
    CHECK(keepsSecret(r, value));
  }
  const Result revealed = cli.run({"secret", "get", "CLI_TOKEN", "--reveal"});
  CHECK(revealed.out == value + "-2");
  CHECK(cli.json({"secret", "get", "CLI_TOKEN", "--reveal"})["value"] == value + "-2");

  const Result onCommandLine = cli.run({"secret", "set", "ARGV_SECRET", "visible-value"});
  CHECK(onCommandLine.exitCode == 0);
  CHECK(onCommandLine.err.find("warning: ") != std::string::npos);
  CHECK(onCommandLine.err.find("history") != std::string::npos);
  CHECK(keepsSecret(onCommandLine, "visible-value"));

  CHECK(cli.run({"secret", "set", "EMPTY"}, "").exitCode == 2);
  CHECK(cli.json({"secret", "delete", "CLI_TOKEN"})["deleted"] == true);
  CHECK(cli.run({"secret", "get", "CLI_TOKEN"}).exitCode == 4);
}
