#pragma once

// Resolution of ClientOptions against the environment and the public defaults.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "runtools/options.hpp"

namespace runtools::internal {

/// Which credential the client presents.
enum class CredentialKind { ApiKey, AccessToken };

struct ResolvedConfig {
  CredentialKind credentialKind = CredentialKind::ApiKey;
  std::string credential;
  std::string apiUrl;
  std::string toolsUrl;
  std::string authUrl;
  std::string storageUrl;
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds connectTimeout{10000};
  int maxRetries = 2;
  RetryPolicy retryPolicy;
  std::string userAgentSuffix;
  AuthHeaderStyle authHeaderStyle = AuthHeaderStyle::XApiKey;
  Logger logger;
  LogLevel logLevel = LogLevel::Info;
  HttpHeaders headers;
  /// For the default transport.
  CurlTransportOptions transportOptions;
};

/// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

/// The process environment.
std::optional<std::string> processEnvironment(const char* name);

/// Why `headers` cannot be sent as extra headers (a header the SDK owns, an
/// invalid name, a value with control characters); nullopt when they can.
std::optional<std::string> extraHeadersProblem(const HttpHeaders& headers);

/// Applies option > environment variable > default, and validates the result.
/// Empty strings count as unset. Throws ConfigurationError.
ResolvedConfig resolveConfig(const ClientOptions& options,
                             const EnvLookup& env = processEnvironment);

/// Validates and normalises a base URL: http(s) scheme, a host, no query or
/// fragment; trailing slashes and a trailing `/v1` are removed.
std::string normalizeBaseUrl(const std::string& url, const char* optionName, const char* envName);

}  // namespace runtools::internal
