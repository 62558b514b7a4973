#include "config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "errors.hpp"
#include "output.hpp"

namespace rtcli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFields[] = {"apiKey", "apiUrl", "toolsUrl", "authUrl", "storageUrl"};

// The member of `config` named `name` (one of kFields).
template <class Config>
auto field(Config& config, const std::string& name) -> decltype(&config.apiKey) {
  if (name == "apiUrl") return &config.apiUrl;
  if (name == "toolsUrl") return &config.toolsUrl;
  if (name == "authUrl") return &config.authUrl;
  if (name == "storageUrl") return &config.storageUrl;
  return &config.apiKey;
}

[[noreturn]] void fail(const std::string& what, const fs::path& path, int error) {
  throw CommandError("config_error", what + " " + path.string() + ": " + std::strerror(error));
}

// Creates `dir` (and its parents) and makes it private to the user.
void makePrivateDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) fail("cannot read", dir, errno);
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0)
    fail("cannot protect", dir, errno);
}

void writeAll(int fd, const std::string& text, const fs::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write", path, errno);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

fs::path configFilePath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return fs::path(xdg) / "runtools" / "config.json";
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] == '\0') {
    throw CommandError("config_error", "neither XDG_CONFIG_HOME nor HOME is set");
  }
  return fs::path(home) / ".config" / "runtools" / "config.json";
}

StoredConfig loadConfig(const fs::path& file) {
  StoredConfig config;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return config;
    fail("cannot read", file, errno);
  }
  if ((st.st_mode & 077) != 0) {
    warn("configuration file " + file.string() + " is accessible by other users; run: chmod 600 " +
         file.string());
  }
  std::ifstream in(file);
  if (!in) fail("cannot open", file, errno);
  std::stringstream text;
  text << in.rdbuf();
  const auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_object()) {
    throw CommandError("config_error",
                       "configuration file " + file.string() +
                           " is not a JSON object; remove it or run runtools login");
  }
  for (const char* name : kFields) {
    const auto it = doc.find(name);
    if (it != doc.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      *field(config, name) = it->get<std::string>();
    }
  }
  return config;
}

void writePrivateFile(const fs::path& file, const std::string& contents) {
  const fs::path temporary = file.string() + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str());  // a leftover of an earlier crash with this pid
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create", temporary, errno);
  try {
    writeAll(fd, contents, temporary);
    if (::fsync(fd) != 0) fail("cannot write", temporary, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("cannot replace", file, error);
  }
}

void saveConfig(const fs::path& file, const StoredConfig& config) {
  makePrivateDirectory(file.parent_path());
  nlohmann::json doc = nlohmann::json::object();
  for (const char* name : kFields) {
    if (const auto& value = *field(config, name)) doc[name] = *value;
  }
  writePrivateFile(file, doc.dump(2) + "\n");
}

void removeConfig(const fs::path& file) {
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) fail("cannot remove", file, errno);
}

}  // namespace rtcli
