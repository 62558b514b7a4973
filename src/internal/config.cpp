#include "internal/config.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <limits>
#include <memory>

#include "internal/http_syntax.hpp"
#include "runtools/errors.hpp"

namespace runtools::internal {
namespace {

constexpr const char* kDefaultApiUrl = "https://api.runtools.ai";
constexpr const char* kDefaultToolsUrl = "https://tools.runtools.ai";
constexpr const char* kDefaultAuthUrl = "https://auth.runtools.ai";
constexpr const char* kDefaultStorageUrl = "https://storage.runtools.ai";

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

long long parseInteger(const std::string& text, const char* envName, const std::string& secret) {
  std::size_t pos = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != text.size()) {
    const bool hide = !secret.empty() && text.find(secret) != std::string::npos;
    throw ConfigurationError(std::string(envName) + " must be an integer, got " +
                             (hide ? std::string("(hidden)") : "\"" + text + "\""));
  }
  return value;
}

}  // namespace

std::optional<std::string> processEnvironment(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

namespace {

// What a refused URL is shown as: nothing after user information or a query
// (either may carry a secret), control characters escaped, at most 200
// characters; "(hidden)" when it contains the credential.
std::string displayUrl(const std::string& url, const std::string& secret) {
  if (url.find('@') != std::string::npos ||
      (!secret.empty() && url.find(secret) != std::string::npos)) {
    return "(hidden)";
  }
  constexpr std::size_t kMaxShown = 200;
  const std::size_t cut = url.find_first_of("?#");
  std::string shown = "\"";
  for (std::size_t i = 0; i < url.size() && i < cut && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (c < 0x20 || c == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      shown += "\\x";
      shown += kHex[c >> 4];
      shown += kHex[c & 0xF];
    } else {
      shown += url[i];
    }
  }
  if (cut != std::string::npos || url.size() > kMaxShown) shown += "...";
  return shown + "\"";
}

// libcurl's own verdict on `url`: the reason it would refuse it, nullopt
// when it parses. Only the URL API is used, which needs no global init.
std::optional<std::string> curlUrlProblem(const std::string& url) {
  const std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), &curl_url_cleanup);
  if (!handle) return std::string("out of memory while parsing the URL");
  // Flags 0: only schemes this libcurl supports, no spaces, no guessing.
  const CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) return std::string("libcurl: ") + curl_url_strerror(rc);
  char* port = nullptr;
  std::optional<std::string> problem;
  if (curl_url_get(handle.get(), CURLUPART_PORT, &port, 0) == CURLUE_OK && port != nullptr &&
      std::string(port) == "0") {
    problem = "port must be between 1 and 65535";
  }
  curl_free(port);
  return problem;
}

}  // namespace

std::string normalizeBaseUrl(const std::string& url, const char* optionName, const char* envName,
                             const std::string& secret) {
  auto fail = [&](const std::string& why) -> ConfigurationError {
    return ConfigurationError("invalid base URL " + displayUrl(url, secret) + " (" + why +
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
  // The requests go to `<base>/v1/...`: check what libcurl will be given.
  if (auto problem = curlUrlProblem(out + "/v1/")) throw fail(*problem);
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

void validateSharedSettings(const char* owner, const SharedSettings& settings,
                            const SettingNames& names) {
  auto name = [&](const char* field, const char* override) {
    return override != nullptr ? std::string(override) : std::string(owner) + "::" + field;
  };
  if (settings.timeout && settings.timeout->count() <= 0) {
    throw ConfigurationError(name("timeout", names.timeout) + " must be a positive duration");
  }
  if (settings.maxRetries &&
      (*settings.maxRetries < 0 || *settings.maxRetries > kMaxRetriesLimit)) {
    throw ConfigurationError(name("maxRetries", names.maxRetries) + " must be between 0 and " +
                             std::to_string(kMaxRetriesLimit));
  }
  if (const RetryPolicy* policy = settings.retryPolicy) {
    const std::string field = std::string(owner) + "::retryPolicy";
    if (policy->initialDelay.count() < 0 || policy->maxRetryAfter.count() < 0) {
      throw ConfigurationError(field + ": delays must not be negative");
    }
    if (policy->maxDelay < policy->initialDelay) {
      throw ConfigurationError(field + ": maxDelay must not be shorter than initialDelay");
    }
    // Written so that NaN fails too.
    if (!(policy->jitter >= 0.0 && policy->jitter <= 1.0)) {
      throw ConfigurationError(field + ": jitter must be within [0, 1]");
    }
  }
  if (settings.headers != nullptr) {
    if (auto problem = extraHeadersProblem(*settings.headers)) {
      throw ConfigurationError(std::string(owner) + "::headers: " + *problem);
    }
  }
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
                                   "apiUrl", "RUNTOOLS_API_URL", config.credential);
  config.toolsUrl =
      normalizeBaseUrl(pick(options.toolsUrl, env, "RUNTOOLS_TOOLS_URL", kDefaultToolsUrl),
                       "toolsUrl", "RUNTOOLS_TOOLS_URL", config.credential);
  config.authUrl =
      normalizeBaseUrl(pick(options.authUrl, env, "RUNTOOLS_AUTH_URL", kDefaultAuthUrl), "authUrl",
                       "RUNTOOLS_AUTH_URL", config.credential);
  config.storageUrl =
      normalizeBaseUrl(pick(options.storageUrl, env, "RUNTOOLS_STORAGE_URL", kDefaultStorageUrl),
                       "storageUrl", "RUNTOOLS_STORAGE_URL", config.credential);

  // The settings CallOptions shares go through the same check as there.
  SharedSettings shared;
  shared.timeout = options.timeout;
  shared.maxRetries = options.maxRetries;
  shared.retryPolicy = &options.retryPolicy;
  shared.headers = &options.headers;
  validateSharedSettings("ClientOptions", shared);
  SharedSettings fromEnv;
  if (!options.timeout) {
    if (auto text = nonEmpty(env("RUNTOOLS_TIMEOUT_MS"))) {
      const long long ms = parseInteger(*text, "RUNTOOLS_TIMEOUT_MS", config.credential);
      fromEnv.timeout = std::chrono::milliseconds(ms);
    }
  }
  if (!options.maxRetries) {
    if (auto text = nonEmpty(env("RUNTOOLS_MAX_RETRIES"))) {
      fromEnv.maxRetries = parseInteger(*text, "RUNTOOLS_MAX_RETRIES", config.credential);
    }
  }
  validateSharedSettings("environment", fromEnv, {"RUNTOOLS_TIMEOUT_MS", "RUNTOOLS_MAX_RETRIES"});
  if (auto timeout = options.timeout ? options.timeout : fromEnv.timeout) config.timeout = *timeout;
  if (options.maxRetries) {
    config.maxRetries = *options.maxRetries;
  } else if (fromEnv.maxRetries) {
    config.maxRetries = static_cast<int>(*fromEnv.maxRetries);
  }
  config.retryPolicy = options.retryPolicy;
  config.headers = options.headers;

  if (options.connectTimeout.count() <= 0) {
    throw ConfigurationError("ClientOptions::connectTimeout must be positive");
  }
  config.connectTimeout = options.connectTimeout;
  for (const char ch : options.userAgentSuffix) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      throw ConfigurationError("ClientOptions::userAgentSuffix contains control characters");
    }
  }
  config.userAgentSuffix = options.userAgentSuffix;
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
  config.completions = options.completions;
  return config;
}

}  // namespace runtools::internal
