// Prints request latency, exec round trips, and workspace transfer
// throughput and memory against a runtools-emulator process on loopback,
// the asynchronous engine under load, then cancellation latencies against
// silent local peers.
//
//   runtools_bench [--emulator PATH] [--mb N] [--requests N] [--cancel-rounds N]
//                  [--list-items N] [--only pagination]

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "async_bench.hpp"
#include "cancel_latency.hpp"
#include "emulator_process.hpp"
#include "pagination_bench.hpp"
#include "process_memory.hpp"
#include "runtools/runtools.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using runtools::test::resetPeakRss;
using runtools::test::statusKb;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) try {
  std::string emulator = RUNTOOLS_EMULATOR_BINARY;
  std::size_t megabytes = 50;
  int requests = 1000;
  int cancelRounds = 20;
  int listItems = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--emulator") == 0) emulator = argv[i + 1];
    if (std::strcmp(argv[i], "--mb") == 0) megabytes = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--requests") == 0) requests = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--cancel-rounds") == 0) cancelRounds = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--list-items") == 0) listItems = std::stoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--only") == 0 && std::strcmp(argv[i + 1], "pagination") == 0) {
      printPaginationMemory(listItems);
      return 0;
    }
  }

  const fs::path dir = fs::temp_directory_path() / "runtools-bench";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string key = "rt_test_BenchBenchBenchBenchBenchBench";
  runtools::test::EmulatorProcess process(emulator, (dir / "state").string(), key);

  runtools::ClientOptions options;
  options.apiKey = key;
  options.apiUrl = process.baseUrl();
  options.storageUrl = process.baseUrl();
  runtools::RunTools rt(options);

  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady(std::chrono::seconds(30), std::chrono::milliseconds(20));

  auto start = Clock::now();
  for (int i = 0; i < requests; ++i)
    sandbox.refresh();
  double elapsed = secondsSince(start);
  std::printf("GET sandbox (keep-alive):  %d requests, %.1f us each, %.0f requests/s\n", requests,
              elapsed / requests * 1e6, requests / elapsed);

  printAsyncFigures(options, sandbox.id());

  const int execs = 100;
  start = Clock::now();
  for (int i = 0; i < execs; ++i)
    sandbox.exec("true");
  elapsed = secondsSince(start);
  std::printf("exec round trip:           %d commands, %.2f ms each\n", execs,
              elapsed / execs * 1e3);

  const std::size_t size = megabytes * 1024 * 1024;
  {
    std::ofstream out(dir / "in.bin", std::ios::binary);
    std::string chunk(1 << 20, 'r');
    for (std::size_t written = 0; written < size; written += chunk.size()) {
      out.write(chunk.data(), static_cast<std::streamsize>(std::min(chunk.size(), size - written)));
    }
  }
  runtools::CreateWorkspaceOptions create;
  create.name = "bench";
  auto files = rt.workspace.files(rt.workspace.create(create).id);
  files.list();

  const bool reset = resetPeakRss();
  const long baseKb = reset ? statusKb("VmRSS") : statusKb("VmHWM");
  start = Clock::now();
  files.uploadFile((dir / "in.bin").string(), "/in.bin");
  const double up = secondsSince(start);
  start = Clock::now();
  files.downloadTo("/in.bin", (dir / "out.bin").string());
  const double down = secondsSince(start);
  const long peakKb = statusKb("VmHWM");

  const double mb = static_cast<double>(size) / (1024.0 * 1024.0);
  std::printf("upload %zu MB from disk:    %.2f s, %.0f MB/s\n", megabytes, up, mb / up);
  std::printf("download %zu MB to disk:    %.2f s, %.0f MB/s\n", megabytes, down, mb / down);
  std::printf("client peak RSS growth:    %ld kB during both transfers (%s)\n", peakKb - baseKb,
              reset ? "peak reset before" : "peak since start");
  std::printf("client RSS now:            %ld kB\n", statusKb("VmRSS"));

  sandbox.destroy();
  fs::remove_all(dir);
  printCancelLatency(cancelRounds);
  printPaginationMemory(listItems);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench failed: " << e.what() << "\n";
  return 1;
}
