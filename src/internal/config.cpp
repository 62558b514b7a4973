#include "internal/config.hpp"

#include <cctype>
#include <cstdlib>
#include <limits>

#include "internal/http_syntax.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

constexpr const char* kDefaultApiUrl = "https://api.runtools.ai";
constexpr const char* kDefaultToolsUrl = "https://tools.runtools.ai";
constexpr const char* kDefaultAuthUrl = "https://auth.runtools.ai";
constexpr const char* kDefaultStorageUrl = "https://storage.runtools.ai";
constexpr int kMaxRetriesLimit = 20;

std::optional<std::string> nonEmpty(const std::optional<std::string>& value) {
  if (value && !value->empty()) return value;
  return std::nullopt;
}

std::string pick(const std::optional<std::string>& option, const EnvLookup& env,
                 const char* envName, const char* fallback) {
  if (auto v = nonEmpty(option)) return *v;
  if (auto v = nonEmpty(env(envName))) return *v;
  return fallback;
}

// A credential travels in a header: reject what cannot be sent verbatim
// without echoing the value.
void validateCredential(const std::string& credential, const char* what) {
  for (const char ch : credential) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c == 0x7F) {
      throw ConfigurationError(std::string("the configured ") + what +
                               " contains whitespace or control characters; "
                               "set it to the value exactly as issued");
    }
  }
}

long long parseInteger(const std::string& text, const char* envName) {
  std::size_t pos = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != text.size()) {
    throw ConfigurationError(std::string(envName) + " must be an integer, got \"" + text + "\"");
  }
  return value;
}

}  // namespace

std::optional<std::string> processEnvironment(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string normalizeBaseUrl(const std::string& url, const char* optionName, const char* envName) {
  // A URL with user information may carry a password: never echo it.
  const std::string shown = url.find('@') == std::string::npos ? "\"" + url + "\"" : "(hidden)";
  auto fail = [&](const std::string& why) -> ConfigurationError {
    return ConfigurationError("invalid base URL " + shown + " (" + why +
                              "); set ClientOptions::" + optionName + " or " + envName +
                              " to a URL such as https://api.runtools.ai");
  };
  std::string out = url;
  std::size_t schemeEnd = std::string::npos;
  if (out.rfind("https://", 0) == 0) {
    schemeEnd = 8;
  } else if (out.rfind("http://", 0) == 0) {
    schemeEnd = 7;
  } else {
    throw fail("scheme must be http or https");
  }
  for (const char ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) throw fail("contains whitespace or control characters");
  }
  if (out.find_first_of("?#") != std::string::npos) throw fail("must not contain a query");
  while (out.size() > schemeEnd && out.back() == '/')
    out.pop_back();
  if (out.size() >= schemeEnd + 3 && out.compare(out.size() - 3, 3, "/v1") == 0) {
    out.erase(out.size() - 3);
    while (out.size() > schemeEnd && out.back() == '/')
      out.pop_back();
  }
  const std::size_t hostEnd = out.find('/', schemeEnd);
  const std::string host = out.substr(schemeEnd, hostEnd - schemeEnd);
  if (host.empty() || host.front() == ':' || host.find('@') != std::string::npos) {
    throw fail(host.find('@') != std::string::npos ? "must not carry user information"
                                                   : "missing host");
  }
  return out;
}

std::optional<std::string> extraHeadersProblem(const HttpHeaders& headers) {
  static constexpr const char* kOwned[] = {"X-API-Key",      "Authorization",     "Host",
                                           "Content-Length", "Transfer-Encoding", "Content-Type",
                                           "Idempotency-Key"};
  for (const auto& [name, value] : headers) {
    if (!isToken(name)) return "\"" + name + "\" is not a valid header name";
    for (const char* owned : kOwned) {
      if (equalsIgnoreCase(name, owned)) return name + " is set by the SDK";
    }
    if (hasControlCharacters(value)) {
      return name + " contains CR, LF or other control characters";
    }
  }
  return std::nullopt;
}

ResolvedConfig resolveConfig(const ClientOptions& options, const EnvLookup& env) {
  ResolvedConfig config;

  if (auto key = nonEmpty(options.apiKey)) {
    config.credentialKind = CredentialKind::ApiKey;
    config.credential = *key;
  } else if (auto token = nonEmpty(options.accessToken)) {
    config.credentialKind = CredentialKind::AccessToken;
    config.credential = *token;
  } else if (auto envKey = nonEmpty(env("RUNTOOLS_API_KEY"))) {
    config.credentialKind = CredentialKind::ApiKey;
    config.credential = *envKey;
  } else if (auto envToken = nonEmpty(env("RUNTOOLS_ACCESS_TOKEN"))) {
    config.credentialKind = CredentialKind::AccessToken;
    config.credential = *envToken;
  } else {
    throw ConfigurationError(
        "no RunTools credential configured: set ClientOptions::apiKey or the "
        "RUNTOOLS_API_KEY environment variable (or ClientOptions::accessToken / "
        "RUNTOOLS_ACCESS_TOKEN for a session token)");
  }
  validateCredential(config.credential,
                     config.credentialKind == CredentialKind::ApiKey ? "API key" : "access token");

  config.apiUrl = normalizeBaseUrl(pick(options.apiUrl, env, "RUNTOOLS_API_URL", kDefaultApiUrl),
                                   "apiUrl", "RUNTOOLS_API_URL");
  config.toolsUrl =
      normalizeBaseUrl(pick(options.toolsUrl, env, "RUNTOOLS_TOOLS_URL", kDefaultToolsUrl),
                       "toolsUrl", "RUNTOOLS_TOOLS_URL");
  config.authUrl =
      normalizeBaseUrl(pick(options.authUrl, env, "RUNTOOLS_AUTH_URL", kDefaultAuthUrl), "authUrl",
                       "RUNTOOLS_AUTH_URL");
  config.storageUrl =
      normalizeBaseUrl(pick(options.storageUrl, env, "RUNTOOLS_STORAGE_URL", kDefaultStorageUrl),
                       "storageUrl", "RUNTOOLS_STORAGE_URL");

  if (options.timeout) {
    if (options.timeout->count() <= 0) {
      throw ConfigurationError("ClientOptions::timeout must be positive");
    }
    config.timeout = *options.timeout;
  } else if (auto text = nonEmpty(env("RUNTOOLS_TIMEOUT_MS"))) {
    const long long ms = parseInteger(*text, "RUNTOOLS_TIMEOUT_MS");
    if (ms <= 0) throw ConfigurationError("RUNTOOLS_TIMEOUT_MS must be a positive number of ms");
    config.timeout = std::chrono::milliseconds(ms);
  }

  if (options.maxRetries) {
    if (*options.maxRetries < 0 || *options.maxRetries > kMaxRetriesLimit) {
      throw ConfigurationError("ClientOptions::maxRetries must be between 0 and " +
                               std::to_string(kMaxRetriesLimit));
    }
    config.maxRetries = *options.maxRetries;
  } else if (auto text = nonEmpty(env("RUNTOOLS_MAX_RETRIES"))) {
    const long long n = parseInteger(*text, "RUNTOOLS_MAX_RETRIES");
    if (n < 0 || n > kMaxRetriesLimit) {
      throw ConfigurationError("RUNTOOLS_MAX_RETRIES must be between 0 and " +
                               std::to_string(kMaxRetriesLimit));
    }
    config.maxRetries = static_cast<int>(n);
  }

  if (options.connectTimeout.count() <= 0) {
    throw ConfigurationError("ClientOptions::connectTimeout must be positive");
  }
  config.connectTimeout = options.connectTimeout;
  const auto& policy = options.retryPolicy;
  if (policy.initialDelay.count() < 0 || policy.maxDelay < policy.initialDelay ||
      policy.jitter < 0.0 || policy.jitter > 1.0 || policy.maxRetryAfter.count() < 0) {
    throw ConfigurationError(
        "ClientOptions::retryPolicy is inconsistent: delays must be non-negative, "
        "maxDelay >= initialDelay and jitter within [0, 1]");
  }
  config.retryPolicy = policy;
  for (const char ch : options.userAgentSuffix) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      throw ConfigurationError("ClientOptions::userAgentSuffix contains control characters");
    }
  }
  config.userAgentSuffix = options.userAgentSuffix;
  if (auto problem = extraHeadersProblem(options.headers)) {
    throw ConfigurationError("ClientOptions::headers: " + *problem);
  }
  config.headers = options.headers;
  config.authHeaderStyle = options.authHeaderStyle;
  config.logger = options.logger;
  config.logLevel = options.logLevel;
  auto setting = [](const std::optional<std::string>& value, const char* name) {
    if (!value) return std::string();
    for (const char ch : *value) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7F) {
        throw ConfigurationError(std::string("ClientOptions::") + name +
                                 " contains control characters");
      }
    }
    return *value;
  };
  config.transportOptions.caBundlePath = setting(options.caBundlePath, "caBundlePath");
  config.transportOptions.caDirectory = setting(options.caDirectory, "caDirectory");
  config.transportOptions.proxy = setting(options.proxy, "proxy");
  config.transportOptions.insecureSkipTlsVerification = options.insecureSkipTlsVerification;
  return config;
}

}  // namespace runtools::internal
