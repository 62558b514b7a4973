#pragma once

// Parsing of argument values: K=V pairs, mounts, command words, JSON.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <runtools/sandbox.hpp>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace rtcli {

/// `--name VALUE`, repeatable, one value per occurrence.
CLI::Option* addRepeated(CLI::App& app, const std::string& name, std::vector<std::string>& into,
                         const std::string& description);

/// {"K=V", ...} -> map; UsageError naming `option` for an item without '='
/// or with an empty key, or a key given twice.
std::map<std::string, std::string> parseKeyValues(const std::vector<std::string>& items,
                                                  const std::string& option);

/// `WORKSPACE:/workspace/path[:ro]` -> Mount.
runtools::Mount parseMount(const std::string& text);

/// One word is a shell command line, as typed; several words are quoted for
/// the remote shell so that each stays one argument.
std::string commandLine(const std::vector<std::string>& words);

/// A JSON object given on the command line (`--params`).
nlohmann::json parseJsonObject(const std::string& text, const std::string& option);

}  // namespace rtcli
