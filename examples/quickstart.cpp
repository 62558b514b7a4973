// Create a sandbox, wait until it is ready, run a command, print its output,
// destroy the sandbox. Reads RUNTOOLS_API_KEY (and RUNTOOLS_API_URL to point
// at a local runtools-emulator).

#include <iostream>

#include <runtools/runtools.hpp>

int main() try {
  runtools::RunTools rt;

  auto sandbox = rt.sandbox.create();
  sandbox.waitForReady();

  auto result = sandbox.exec("echo 'Hello from RunTools' && uname -s");
  std::cout << result.stdoutText;
  std::cout << "exit code " << result.exitCode << "\n";

  sandbox.destroy();
  return result.exitCode;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
