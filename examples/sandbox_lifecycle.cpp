// A tour of the sandbox lifecycle: named sandboxes with tags and environment,
// pagination, pause and resume, and the typed errors the SDK raises.

#include <iostream>
#include <string>
#include <vector>

#include <runtools/runtools.hpp>

using namespace std::chrono_literals;

int main() try {
  runtools::RunTools rt;
  const std::string tag = "lifecycle-example";

  // Three sandboxes sharing a tag.
  std::vector<runtools::Sandbox> sandboxes;
  for (int i = 0; i < 3; ++i) {
    runtools::CreateSandboxOptions options;
    options.tags = {tag};
    options.env = {{"WORKER_INDEX", std::to_string(i)}};
    options.idleTimeout = 10min;
    sandboxes.push_back(rt.sandbox.create(options));
    std::cout << "created " << sandboxes.back().id() << "\n";
  }

  // Pagination: page by page with listPage(), or everything with list().
  runtools::ListSandboxesOptions filters;
  filters.tags = {tag};
  filters.limit = 2;
  int pageNumber = 0;
  for (;;) {
    auto page = rt.sandbox.listPage(filters);
    std::cout << "page " << ++pageNumber << ": " << page.data.size() << " sandbox(es)\n";
    if (!page.hasMore) break;
    filters.cursor = page.nextCursor;
  }
  filters.cursor.reset();
  std::cout << "list() found " << rt.sandbox.list(filters).size() << " tagged sandboxes\n";

  auto& first = sandboxes.front();
  first.waitForReady();
  std::cout << first.exec("echo worker $WORKER_INDEX").stdoutText;

  // A failing command is a result, not an exception.
  auto failed = first.exec("ls /definitely/missing");
  std::cout << "ls exited with " << failed.exitCode << "\n";

  // Pause, and see exec refused while paused.
  std::cout << "pause -> " << first.pause() << "\n";
  first.waitForStatus("paused");
  try {
    first.exec("true");
  } catch (const runtools::ConflictError& e) {
    std::cout << "exec while " << first.refresh().status << ": " << e.code() << "\n";
  }

  // Resume and run again.
  std::cout << "resume -> " << first.resume() << "\n";
  first.waitForReady();
  std::cout << first.exec("echo back again").stdoutText;

  // Errors are typed: a sandbox that does not exist.
  try {
    rt.sandbox.get("sandbox-000000000000").refresh();
  } catch (const runtools::NotFoundError& e) {
    std::cout << "lookup failed: " << e.code() << " (HTTP " << e.status() << ")\n";
  }

  for (auto& sandbox : sandboxes)
    sandbox.destroy();
  std::cout << "destroyed " << sandboxes.size() << " sandboxes\n";
  return 0;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
