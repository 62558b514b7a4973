// Workspaces: upload a file, mount the workspace in a sandbox, let a command
// read it and write a result, download the result, clean up.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <runtools/runtools.hpp>

int main() try {
  runtools::RunTools rt;
  namespace fs = std::filesystem;

  runtools::CreateWorkspaceOptions create;
  // A name of its own, so that runs never collide on the derived slug.
  create.name = "example-words-" +
                std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  auto workspace = rt.workspace.create(create);
  std::cout << "workspace " << workspace.slug << " (" << workspace.id << ")\n";
  auto files = rt.workspace.files(workspace.id);

  // Upload a local file, streamed from disk.
  const fs::path local = fs::temp_directory_path() / "runtools-example-words.txt";
  std::ofstream(local) << "the quick brown fox\njumps over\nthe lazy dog\n";
  files.createFolder("/input");
  files.uploadFile(local.string(), "/input/words.txt");
  for (const auto& entry : files.list("/input")) {
    std::cout << "  " << entry.id << " " << entry.size << " bytes\n";
  }

  // A sandbox sees the workspace at its mount path.
  runtools::CreateSandboxOptions options;
  options.mounts = {runtools::Mount{workspace.id, "/workspace/data", false}};
  auto sandbox = rt.sandbox.create(options);
  sandbox.waitForReady();

  runtools::ExecOptions exec;
  exec.cwd = "/workspace/data";
  auto result = sandbox.exec("mkdir -p output && wc -w < input/words.txt > output/count.txt", exec);
  std::cout << "command exited with " << result.exitCode << "\n";

  // The result is in the workspace: download it to a local file.
  const fs::path downloaded = fs::temp_directory_path() / "runtools-example-count.txt";
  files.downloadTo("/output/count.txt", downloaded.string());
  std::ifstream in(downloaded);
  std::stringstream count;
  count << in.rdbuf();
  std::cout << "words counted in the sandbox: " << count.str();

  sandbox.destroy();
  rt.workspace.remove(workspace.id);
  fs::remove(local);
  fs::remove(downloaded);
  std::cout << "cleaned up\n";
  return result.exitCode;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
