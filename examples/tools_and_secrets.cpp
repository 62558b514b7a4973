// Tool Hub and secrets: find and install tools, run them, keep an API key
// as a secret that a tool picks up, and see that values never come back
// except through reveal().

#include <iostream>

#include <runtools/runtools.hpp>

int main() try {
  runtools::RunTools rt;

  std::cout << "tools matching \"weather\":\n";
  for (const auto& tool : rt.tools.search("weather")) {
    std::cout << "  " << tool.slug << " (" << tool.credentialMode << "): " << tool.description
              << "\n";
  }

  // A tool without credentials.
  rt.tools.install("math");
  runtools::ExecuteToolOptions add;
  add.action = "add";
  add.params = {{"a", 19}, {"b", 23}};
  std::cout << "math.add -> " << rt.tools.execute("math", add).result.dump() << "\n";

  // A tool that needs an API key: the failure is a value, not an exception.
  auto installed = rt.tools.install("weather");
  std::cout << "weather needs:";
  for (const auto& field : installed.requiredCredentialFields)
    std::cout << " " << field;
  std::cout << "\n";
  runtools::ExecuteToolOptions forecast;
  forecast.action = "forecast";
  forecast.params = {{"city", "Lisbon"}};
  auto first = rt.tools.execute("weather", forecast);
  if (!first.success) std::cout << "without a key: " << first.error->code << "\n";

  // Store the key as a secret; the tool finds it by name (WEATHER_API_KEY).
  runtools::SetSecretOptions options;
  options.category = "tool";
  options.description = "weather provider key";
  rt.secrets.set("weather_api_key", "wk-example-value-123", options);
  auto second = rt.tools.execute("weather", forecast);
  std::cout << "with the secret: " << second.result.value("forecast", "?") << " (credential from "
            << second.result.value("credentialSource", "?") << ")\n";

  // Listing shows metadata only; a revealed value prints as [REDACTED].
  for (const auto& secret : rt.secrets.list()) {
    std::cout << "secret " << secret.name << " (" << secret.category << ")\n";
  }
  runtools::SecretString value = rt.secrets.reveal("WEATHER_API_KEY");
  std::cout << "revealed: " << value << " (" << value.reveal().size() << " characters)\n";

  rt.secrets.remove("WEATHER_API_KEY");
  rt.tools.uninstall("weather");
  rt.tools.uninstall("math");
  return second.success ? 0 : 1;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
