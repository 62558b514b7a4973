// Connects an account with the device-code flow, the way a tool with no
// browser at hand does: show a code, poll until the user has approved it.

#include <iostream>

#include <runtools/runtools.hpp>

int main() try {
  runtools::RunTools rt;

  auto flow = rt.auth.startDeviceFlow("openai-codex");
  std::cout << "Open " << flow.verificationUri << " and enter the code " << flow.userCode << "\n"
            << "(or open " << flow.verificationUriComplete << ")\n";

  runtools::PollDeviceFlowOptions options;
  options.onPending = [](const runtools::DeviceFlowStatus& status) {
    std::cout << "  still " << status.status << "...\n";
  };
  auto status = rt.auth.pollDeviceFlow(flow, options);  // honours the server's interval
  if (!status.connected()) {
    std::cout << "not connected: " << status.status << "\n";
    return 1;
  }
  std::cout << "connected as " << status.displayName << "\n";

  for (const auto& connection : rt.auth.listConnections()) {
    std::cout << "  " << connection.provider << " " << connection.displayName
              << (connection.isDefault ? " (default)" : "") << "\n";
  }
  rt.auth.disconnect(*status.connectionId);
  std::cout << "disconnected\n";
  return 0;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
