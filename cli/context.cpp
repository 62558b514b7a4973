#include "context.hpp"

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "errors.hpp"

namespace rtcli {

namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || value[0] == '\0') return std::nullopt;
  return std::string(value);
}

// A flag, else the environment variable, else the stored value.
std::optional<std::string> pick(const std::string& flag, const char* variable,
                                const std::optional<std::string>& stored) {
  if (!flag.empty()) return flag;
  if (auto value = environment(variable)) return value;
  return stored;
}

}  // namespace

runtools::ClientOptions Context::clientOptions(const std::optional<std::string>& apiKey) const {
  const StoredConfig stored = loadConfig(configFilePath());
  runtools::ClientOptions options;
  options.apiUrl = pick(global.apiUrl, "RUNTOOLS_API_URL", stored.apiUrl);
  options.toolsUrl = pick(global.toolsUrl, "RUNTOOLS_TOOLS_URL", stored.toolsUrl);
  options.authUrl = pick(global.authUrl, "RUNTOOLS_AUTH_URL", stored.authUrl);
  options.storageUrl = pick(global.storageUrl, "RUNTOOLS_STORAGE_URL", stored.storageUrl);
  options.userAgentSuffix = "runtools-cli";
  if (apiKey) {
    options.apiKey = apiKey;
    return options;
  }
  options.apiKey = environment("RUNTOOLS_API_KEY");
  options.accessToken = environment("RUNTOOLS_ACCESS_TOKEN");
  if (!options.apiKey && !options.accessToken) options.apiKey = stored.apiKey;
  if (!options.apiKey && !options.accessToken) {
    throw CommandError("unauthenticated",
                       "not logged in: run `runtools login` or set RUNTOOLS_API_KEY", kExitAuth);
  }
  return options;
}

StoredConfig Context::effectiveUrls() const {
  StoredConfig urls;
  urls.apiUrl = pick(global.apiUrl, "RUNTOOLS_API_URL", std::nullopt);
  urls.toolsUrl = pick(global.toolsUrl, "RUNTOOLS_TOOLS_URL", std::nullopt);
  urls.authUrl = pick(global.authUrl, "RUNTOOLS_AUTH_URL", std::nullopt);
  urls.storageUrl = pick(global.storageUrl, "RUNTOOLS_STORAGE_URL", std::nullopt);
  return urls;
}

CLI::App* addGroup(CLI::App& parent, const std::string& name, const std::string& description) {
  CLI::App* group = parent.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

runtools::RunTools& Context::client() {
  if (!client_) {
    runtools::CallOptions call;
    call.cancellation = cancellation_;
    client_ = runtools::RunTools(clientOptions()).with(call);
  }
  return *client_;
}

runtools::RunTools Context::cleanupClient() {
  runtools::ClientOptions options = clientOptions();
  options.timeout = std::chrono::seconds(5);
  options.maxRetries = 0;
  return runtools::RunTools(options);
}

}  // namespace rtcli
