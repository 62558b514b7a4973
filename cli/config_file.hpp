#pragma once

// The configuration file written by `runtools login`:
// $XDG_CONFIG_HOME/runtools/config.json, else ~/.config/runtools/config.json.
// The directory is 0700 and the file 0600 from the moment it exists (it is
// created with O_CREAT|O_EXCL and mode 0600 under a temporary name, then
// renamed into place).

#include <filesystem>
#include <optional>
#include <string>

namespace rtcli {

struct StoredConfig {
  std::optional<std::string> apiKey;
  std::optional<std::string> apiUrl;
  std::optional<std::string> toolsUrl;
  std::optional<std::string> authUrl;
  std::optional<std::string> storageUrl;

  bool empty() const { return !apiKey && !apiUrl && !toolsUrl && !authUrl && !storageUrl; }
};

/// Where the configuration file lives (it may not exist).
std::filesystem::path configFilePath();

/// The stored configuration; empty when there is no file. Throws
/// CommandError for a file that cannot be read or parsed.
StoredConfig loadConfig(const std::filesystem::path& file);

/// Writes `config` atomically (0600 file in a 0700 directory).
void saveConfig(const std::filesystem::path& file, const StoredConfig& config);

/// Writes `contents` to `file` atomically: a temporary file beside it created
/// with O_CREAT|O_EXCL and mode 0600, then renamed into place.
void writePrivateFile(const std::filesystem::path& file, const std::string& contents);

/// Removes the file.
void removeConfig(const std::filesystem::path& file);

}  // namespace rtcli
