// runtools workspace ...: files round trip, --json shapes, and the progress
// bar: drawn on a terminal, absent when stderr is a pipe.

#include <catch2/catch.hpp>

#include "cli_harness.hpp"

using namespace rtcli_test;

namespace {

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeFile(const fs::path& path, std::size_t size) {
  std::string bytes(size, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("workspace create, list, upload, ls, download, rm, delete") {
  CliFixture cli;
  const auto ws = cli.json({"workspace", "create", "cli-files"});
  CHECK(ws["name"] == "cli-files");
  const std::string id = ws["id"];
  const auto list = cli.json({"workspace", "list"});
  CHECK(std::any_of(list.begin(), list.end(), [&](const auto& w) { return w["id"] == id; }));
  CHECK(cli.run({"workspace", "list"}).out.find("cli-files") != std::string::npos);
  CHECK(cli.run({"workspace", "ls", id}).out == "Empty folder.\n");

  const auto local = cli.file("data.bin");
  writeFile(local, 300 * 1024);
  const auto uploaded = cli.json({"workspace", "upload", id, local.string(), "/dir/data.bin"});
  CHECK(uploaded["size"] == 300 * 1024);
  const Result text = cli.run({"workspace", "upload", id, local.string(), "/copy.bin"});
  CHECK(text.exitCode == 0);
  CHECK(text.out.find("uploaded") != std::string::npos);
  CHECK(text.err.empty());  // no progress bar into a pipe

  const auto root = cli.json({"workspace", "ls", id});
  REQUIRE(root.is_array());
  CHECK(root.size() == 2);
  const auto dir = cli.json({"workspace", "ls", id, "/dir"});
  REQUIRE(dir.size() == 1);
  CHECK(dir[0]["name"] == "data.bin");
  CHECK(cli.run({"workspace", "ls", id, "/dir"}).out.find("/dir/data.bin") != std::string::npos);

  const auto back = cli.file("back.bin");
  const auto downloaded = cli.json({"workspace", "download", id, "/dir/data.bin", back.string()});
  CHECK(downloaded["bytes"] == 300 * 1024);
  CHECK(readFile(back) == readFile(local));
  const Result missing = cli.run({"workspace", "download", id, "/nope.bin", back.string()});
  CHECK(missing.exitCode == 4);
  CHECK(readFile(back) == readFile(local));  // an error leaves the old file alone

  CHECK(cli.json({"workspace", "rm", id, "/dir", "/copy.bin"})["deleted"] == 2);
  CHECK(cli.json({"workspace", "ls", id}).empty());

  CHECK(cli.json({"workspace", "delete", id})["deleted"] == true);
  CHECK(cli.run({"workspace", "ls", id}).exitCode == 4);
}

TEST_CASE("workspace delete --force removes a workspace in use") {
  CliFixture cli;
  const std::string id = cli.json({"workspace", "create", "busy"})["id"];
  cli.json({"sandbox", "create", "--mount", id + ":/workspace/busy"});
  CHECK(cli.run({"workspace", "delete", id}).exitCode == 5);
  CHECK(cli.run({"workspace", "delete", id, "--force"}).exitCode == 0);
}

TEST_CASE("uploads and downloads draw a progress bar on a terminal, none into a pipe") {
  CliFixture cli;
  const std::string id = cli.json({"workspace", "create", "progress"})["id"];
  const auto local = cli.file("big.bin");
  writeFile(local, 8 * 1024 * 1024);

  Child up = Child::withTerminal(
      CliFixture::argv({"workspace", "upload", id, local.string(), "/big.bin"}), cli.env());
  REQUIRE(up.wait() == 0);
  // The terminal is stderr: the bar is there, redrawn with \r, ending at 100 %.
  const std::string bar = up.stderrText();
  CHECK(bar.find("\rupload big.bin [") != std::string::npos);
  CHECK(bar.find("100%") != std::string::npos);
  CHECK(bar.find("8.0 MiB") != std::string::npos);
  CHECK(up.stdoutText().find('\r') == std::string::npos);
  CHECK(up.stdoutText().find("uploaded") != std::string::npos);

  const auto back = cli.file("back.bin");
  Child down = Child::withTerminal(
      CliFixture::argv({"workspace", "download", id, "/big.bin", back.string()}), cli.env());
  REQUIRE(down.wait() == 0);
  CHECK(down.stderrText().find("\rdownload big.bin [") != std::string::npos);
  CHECK(down.stderrText().find("100%") != std::string::npos);
  CHECK(readFile(back) == readFile(local));

  // The same transfers into pipes print no bar at all.
  const Result piped = cli.run({"workspace", "download", id, "/big.bin", back.string()});
  CHECK(piped.exitCode == 0);
  CHECK(piped.err.empty());
  CHECK(piped.out.find('%') == std::string::npos);
  // --json on a terminal: the document only, no bar either.
  Child json = Child::withTerminal(
      CliFixture::argv({"workspace", "upload", id, local.string(), "/big2.bin", "--json"}),
      cli.env());
  REQUIRE(json.wait() == 0);
  CHECK(json.stderrText().find('%') == std::string::npos);
  CHECK(nlohmann::json::parse(json.stdoutText())["size"] == 8 * 1024 * 1024);
}
