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
  CompletionMode completions = CompletionMode::IoThread;
};

/// Reads one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

/// The process environment.
std::optional<std::string> processEnvironment(const char* name);

/// Why `headers` cannot be sent as extra headers (a header the SDK owns, an
/// invalid name, a value with control characters); nullopt when they can.
std::optional<std::string> extraHeadersProblem(const HttpHeaders& headers);

/// The most automatic retries a client may be configured with.
inline constexpr int kMaxRetriesLimit = 20;

/// The settings ClientOptions and CallOptions have in common. Unset ones
/// (nullopt, null) are not checked.
struct SharedSettings {
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<long long> maxRetries;
  const RetryPolicy* retryPolicy = nullptr;
  const HttpHeaders* headers = nullptr;
};

/// How a setting is named in a message when it came from elsewhere than
/// `<owner>::<field>` (an environment variable).
struct SettingNames {
  const char* timeout = nullptr;
  const char* maxRetries = nullptr;
};

/// The one check of the settings above, used by resolveConfig (for
/// ClientOptions and the RUNTOOLS_* variables) and by RunTools::with (for
/// CallOptions): a positive timeout, 0..kMaxRetriesLimit retries, a
/// consistent retry policy, extra headers the SDK may send. `owner` names
/// where the settings came from ("ClientOptions", "CallOptions").
/// Throws ConfigurationError naming the setting.
void validateSharedSettings(const char* owner, const SharedSettings& settings,
                            const SettingNames& names = {});

/// Applies option > environment variable > default, and validates the result.
/// Empty strings count as unset. Throws ConfigurationError.
ResolvedConfig resolveConfig(const ClientOptions& options,
                             const EnvLookup& env = processEnvironment);

/// Validates and normalises a base URL: http(s) scheme, a host, a port in
/// 1..65535, no user information, query or fragment, and nothing libcurl's
/// own URL parser refuses; trailing slashes and a trailing `/v1` are
/// removed. Throws ConfigurationError naming `optionName` and `envName`; the
/// message never shows user information, a query, or `secret` (the
/// configured credential) if the URL contains it.
std::string normalizeBaseUrl(const std::string& url, const char* optionName, const char* envName,
                             const std::string& secret = {});

}  // namespace runtools::internal
