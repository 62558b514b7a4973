// Workspace tests against the emulator binary in its own process: files
// survive SIGKILL, and a 50 MB round trip stays streamed (the test process's
// own peak resident set is measured, the emulator's is not counted).

#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "emulator_process.hpp"
#include "internal/random.hpp"
#include "internal/streams.hpp"
#include "process_memory.hpp"
#include "runtools/client.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("rt-proc-" + internal::randomHex(8));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

const std::string kKey = "rt_test_ProcessProcessProcessProcess0";

RunTools clientFor(const test::EmulatorProcess& emulator) {
  ClientOptions options;
  options.apiKey = kKey;
  options.apiUrl = emulator.baseUrl();
  options.storageUrl = emulator.baseUrl();
  return RunTools(options);
}

using test::resetPeakRss;
using test::statusKb;

void writePattern(const fs::path& path, std::size_t size) {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(1 << 16, '\0');
  std::uint32_t x = 12345;
  for (std::size_t written = 0; written < size; written += chunk.size()) {
    for (auto& c : chunk) {
      x = x * 1103515245u + 12345u;
      c = static_cast<char>(x >> 24);
    }
    out.write(chunk.data(), static_cast<std::streamsize>(std::min(chunk.size(), size - written)));
  }
}

bool sameBytes(const fs::path& a, const fs::path& b) {
  if (fs::file_size(a) != fs::file_size(b)) return false;
  std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
  std::string bx(1 << 16, '\0'), by(1 << 16, '\0');
  while (x && y) {
    x.read(bx.data(), static_cast<std::streamsize>(bx.size()));
    y.read(by.data(), static_cast<std::streamsize>(by.size()));
    if (x.gcount() != y.gcount() || bx.compare(0, static_cast<std::size_t>(x.gcount()), by, 0,
                                               static_cast<std::size_t>(y.gcount())) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("workspace files survive an emulator killed with SIGKILL") {
  TempDir dir;
  const auto state = (dir.path / "state").string();
  const std::string binary("\0\x01\xfe\xff", 4);
  std::string workspaceId;
  {
    test::EmulatorProcess emulator(RUNTOOLS_EMULATOR_BINARY, state, kKey);
    RunTools rt = clientFor(emulator);
    CreateWorkspaceOptions options;
    options.name = "durable";
    workspaceId = rt.workspace.create(options).id;
    auto files = rt.workspace.files(workspaceId);
    files.createFolder("/docs");
    files.createFile("/docs/a.txt", "first");
    files.write("/docs/a.txt", "second");
    files.upload("/blob.bin", binary);
    files.rename("/blob.bin", "renamed.bin");
    CHECK(WIFSIGNALED(emulator.kill(SIGKILL)));
  }
  test::EmulatorProcess restarted(RUNTOOLS_EMULATOR_BINARY, state, kKey);
  RunTools rt = clientFor(restarted);
  const auto workspace = rt.workspace.get(workspaceId);
  CHECK(workspace.name == "durable");
  CHECK(workspace.slug == "durable");
  auto files = rt.workspace.files(workspaceId);
  CHECK(files.download("/docs/a.txt") == "second");
  CHECK(files.download("/renamed.bin") == binary);
  CHECK_THROWS_AS(files.download("/blob.bin"), NotFoundError);
}

TEST_CASE("a 50 MB file round-trips from disk to disk without being held in memory") {
  TempDir dir;
  constexpr std::size_t kSize = 50u * 1024 * 1024;
  writePattern(dir.path / "in.bin", kSize);

  test::EmulatorProcess emulator(RUNTOOLS_EMULATOR_BINARY, (dir.path / "state").string(), kKey);
  RunTools rt = clientFor(emulator);
  CreateWorkspaceOptions options;
  options.name = "big";
  auto files = rt.workspace.files(rt.workspace.create(options).id);
  files.list();  // warm up: connections, buffers

  const bool peakReset = resetPeakRss();
  const long before = peakReset ? statusKb("VmRSS") : statusKb("VmHWM");
  CHECK(files.uploadFile((dir.path / "in.bin").string(), "/big.bin").size ==
        static_cast<std::int64_t>(kSize));
  files.downloadTo("/big.bin", (dir.path / "out.bin").string());
  const long peak = statusKb("VmHWM");

  CHECK(sameBytes(dir.path / "in.bin", dir.path / "out.bin"));
  const long growthKb = peak - before;
  INFO("peak resident set grew by " << growthKb << " kB for a " << kSize / 1024 << " kB file");
  CHECK(growthKb < static_cast<long>(kSize / 1024 / 4));
}
