#include "args.hpp"

#include <CLI/CLI.hpp>

#include "errors.hpp"

namespace rtcli {

CLI::Option* addRepeated(CLI::App& app, const std::string& name, std::vector<std::string>& into,
                         const std::string& description) {
  return app.add_option(name, into, description)->allow_extra_args(false)->take_all();
}

std::map<std::string, std::string> parseKeyValues(const std::vector<std::string>& items,
                                                  const std::string& option) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError(option + " takes KEY=VALUE, got \"" + item.substr(0, eq) +
                       (eq == std::string::npos ? "\" (no '=')" : "=...\" (empty key)"));
    }
    const std::string key = item.substr(0, eq);
    if (!out.emplace(key, item.substr(eq + 1)).second) {
      throw UsageError(option + " gives " + key + " twice");
    }
  }
  return out;
}

runtools::Mount parseMount(const std::string& text) {
  runtools::Mount mount;
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw UsageError("--mount takes WORKSPACE:/workspace/PATH[:ro], got \"" + text + "\"");
  }
  mount.workspaceId = text.substr(0, colon);
  mount.path = text.substr(colon + 1);
  const std::string ro = ":ro";
  if (mount.path.size() > ro.size() &&
      mount.path.compare(mount.path.size() - ro.size(), ro.size(), ro) == 0) {
    mount.readOnly = true;
    mount.path.resize(mount.path.size() - ro.size());
  }
  return mount;
}

std::string commandLine(const std::vector<std::string>& words) {
  if (words.size() == 1) return words.front();
  std::string line;
  for (const auto& word : words) {
    if (!line.empty()) line += ' ';
    const bool plain = !word.empty() && word.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-./=:,+@%") == std::string::npos;
    if (plain) {
      line += word;
      continue;
    }
    line += '\'';
    for (char c : word) {
      if (c == '\'') {
        line += "'\\''";
      } else {
        line += c;
      }
    }
    line += '\'';
  }
  return line;
}

nlohmann::json parseJsonObject(const std::string& text, const std::string& option) {
  auto value = nlohmann::json::parse(text, nullptr, false);
  if (!value.is_object()) throw UsageError(option + " takes a JSON object, e.g. '{\"a\": 1}'");
  return value;
}

}  // namespace rtcli
