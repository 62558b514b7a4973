// Prints a long-running command's output line by line as the command
// produces it.

#include <iostream>
#include <string>

#include <runtools/runtools.hpp>

int main() try {
  runtools::RunTools rt;
  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady();

  std::string pending;  // output arrives in chunks; print whole lines
  runtools::ExecOptions options;
  options.timeout = std::chrono::minutes(2);
  options.onStdout = [&](std::string_view chunk) {
    pending.append(chunk);
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
      std::cout << "| " << pending.substr(0, end) << std::endl;
      pending.erase(0, end + 1);
    }
    return true;  // false would stop the command
  };
  options.onStderr = [](std::string_view chunk) {
    std::cerr << chunk;
    return true;
  };

  auto result = sandbox.exec(
      "for step in 1 2 3 4 5; do echo \"step $step of 5\"; sleep 0.3; done; echo done", options);
  if (!pending.empty()) std::cout << "| " << pending << "\n";
  std::cout << "exit code " << result.exitCode << " after "
            << result.durationMs.value_or(std::chrono::milliseconds(0)).count() << " ms\n";

  sandbox.destroy();
  return result.exitCode;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
