#pragma once

// Reading a secret (an API key, a secret's value) without echoing it and
// without it ever being an argument.

#include <string>

#include <runtools/secret_string.hpp>

namespace rtcli {

/// From a terminal: `prompt` on stderr and a line read with echo off. From a
/// pipe or with `fromStdin`: all of stdin, minus one trailing newline.
/// Throws UsageError when nothing was given.
runtools::SecretString readSecret(const std::string& prompt, bool fromStdin);

}  // namespace rtcli
