#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <vector>

#include "internal/config.hpp"
#include "runtools/client.hpp"
#include "runtools/errors.hpp"
#include "runtools/testing/fake_transport.hpp"

using runtools::ClientOptions;
using runtools::ConfigurationError;
using runtools::internal::CredentialKind;
using runtools::internal::resolveConfig;

namespace {

struct Env {
  std::map<std::string, std::string> vars;
  runtools::internal::EnvLookup lookup() const {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

}  // namespace

TEST_CASE("an explicit option beats the environment, which beats the default") {
  Env env{{{"RUNTOOLS_API_KEY", "rt_test_fromenv"},
           {"RUNTOOLS_API_URL", "http://env.example:1"},
           {"RUNTOOLS_TOOLS_URL", "http://tools.env:2"}}};
  ClientOptions options;
  options.apiUrl = "http://option.example:3";

  auto config = resolveConfig(options, env.lookup());
  CHECK(config.credential == "rt_test_fromenv");
  CHECK(config.credentialKind == CredentialKind::ApiKey);
  CHECK(config.apiUrl == "http://option.example:3");
  CHECK(config.toolsUrl == "http://tools.env:2");
  CHECK(config.authUrl == "https://auth.runtools.ai");
  CHECK(config.storageUrl == "https://storage.runtools.ai");
  CHECK(config.timeout == std::chrono::milliseconds(60000));
  CHECK(config.maxRetries == 2);

  options.apiKey = "rt_test_fromoption";
  CHECK(resolveConfig(options, env.lookup()).credential == "rt_test_fromoption");
}

TEST_CASE("an empty option or variable counts as unset") {
  Env env{
      {{"RUNTOOLS_API_KEY", ""}, {"RUNTOOLS_ACCESS_TOKEN", "eyJtoken"}, {"RUNTOOLS_API_URL", ""}}};
  ClientOptions options;
  options.apiKey = "";
  auto config = resolveConfig(options, env.lookup());
  CHECK(config.credentialKind == CredentialKind::AccessToken);
  CHECK(config.credential == "eyJtoken");
  CHECK(config.apiUrl == "https://api.runtools.ai");
}

TEST_CASE("an API key wins over an access token, explicit options win over the environment") {
  Env env{{{"RUNTOOLS_API_KEY", "rt_test_env"}, {"RUNTOOLS_ACCESS_TOKEN", "eyJenv"}}};
  ClientOptions both;
  both.apiKey = "rt_test_opt";
  both.accessToken = "eyJopt";
  CHECK(resolveConfig(both, env.lookup()).credential == "rt_test_opt");

  ClientOptions tokenOnly;
  tokenOnly.accessToken = "eyJopt";
  auto config = resolveConfig(tokenOnly, env.lookup());
  CHECK(config.credentialKind == CredentialKind::AccessToken);
  CHECK(config.credential == "eyJopt");

  CHECK(resolveConfig(ClientOptions{}, env.lookup()).credential == "rt_test_env");
}

TEST_CASE("no credential anywhere names the option and the variable to set") {
  Env env;
  try {
    resolveConfig(ClientOptions{}, env.lookup());
    FAIL("expected ConfigurationError");
  } catch (const ConfigurationError& e) {
    const std::string text = e.what();
    CHECK(text.find("apiKey") != std::string::npos);
    CHECK(text.find("RUNTOOLS_API_KEY") != std::string::npos);
    CHECK(text.find("RUNTOOLS_ACCESS_TOKEN") != std::string::npos);
  }
}

TEST_CASE("a credential with control characters is refused without echoing it") {
  ClientOptions options;
  options.apiKey = "rt_test_secretvalue\r\nX-Evil: 1";
  try {
    resolveConfig(options, Env{}.lookup());
    FAIL("expected ConfigurationError");
  } catch (const ConfigurationError& e) {
    CHECK(std::string(e.what()).find("secretvalue") == std::string::npos);
  }
}

TEST_CASE("base URLs are normalised and validated") {
  Env env{{{"RUNTOOLS_API_KEY", "rt_test_k"}}};
  ClientOptions options;
  options.apiUrl = "http://127.0.0.1:8080/";
  options.toolsUrl = "https://tools.example/v1/";
  options.storageUrl = "https://proxy.example/runtools/storage";
  auto config = resolveConfig(options, env.lookup());
  CHECK(config.apiUrl == "http://127.0.0.1:8080");
  CHECK(config.toolsUrl == "https://tools.example");
  CHECK(config.storageUrl == "https://proxy.example/runtools/storage");

  for (const char* bad : {"ftp://x", "api.runtools.ai", "http://", "https://h/x?y=1",
                          "http://user:pw@host", "http://ho st"}) {
    ClientOptions o;
    o.apiUrl = bad;
    INFO(bad);
    try {
      resolveConfig(o, env.lookup());
      FAIL("expected ConfigurationError");
    } catch (const ConfigurationError& e) {
      const std::string text = e.what();
      CHECK(text.find("RUNTOOLS_API_URL") != std::string::npos);
      CHECK(text.find("pw@") == std::string::npos);
    }
  }
}

TEST_CASE("timeout and retries come from options or the environment and are validated") {
  Env env{{{"RUNTOOLS_API_KEY", "rt_test_k"},
           {"RUNTOOLS_TIMEOUT_MS", "1500"},
           {"RUNTOOLS_MAX_RETRIES", "5"}}};
  auto config = resolveConfig(ClientOptions{}, env.lookup());
  CHECK(config.timeout == std::chrono::milliseconds(1500));
  CHECK(config.maxRetries == 5);

  ClientOptions options;
  options.timeout = std::chrono::seconds(3);
  options.maxRetries = 0;
  config = resolveConfig(options, env.lookup());
  CHECK(config.timeout == std::chrono::milliseconds(3000));
  CHECK(config.maxRetries == 0);

  Env bad{{{"RUNTOOLS_API_KEY", "rt_test_k"}, {"RUNTOOLS_TIMEOUT_MS", "soon"}}};
  CHECK_THROWS_WITH(resolveConfig(ClientOptions{}, bad.lookup()),
                    Catch::Contains("RUNTOOLS_TIMEOUT_MS"));
  Env negative{{{"RUNTOOLS_API_KEY", "rt_test_k"}, {"RUNTOOLS_MAX_RETRIES", "-1"}}};
  CHECK_THROWS_AS(resolveConfig(ClientOptions{}, negative.lookup()), ConfigurationError);
  options.maxRetries = 100;
  CHECK_THROWS_AS(resolveConfig(options, env.lookup()), ConfigurationError);
}

TEST_CASE("the RunTools constructor reads the process environment") {
  // Catch2 runs test cases one at a time, so changing the environment here
  // races with nothing.
  const char* names[] = {"RUNTOOLS_API_KEY",    "RUNTOOLS_ACCESS_TOKEN", "RUNTOOLS_API_URL",
                         "RUNTOOLS_TOOLS_URL",  "RUNTOOLS_AUTH_URL",     "RUNTOOLS_STORAGE_URL",
                         "RUNTOOLS_TIMEOUT_MS", "RUNTOOLS_MAX_RETRIES"};
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* name : names) {
    saved[name] = runtools::internal::processEnvironment(name);
    ::unsetenv(name);
  }
  CHECK_THROWS_AS(runtools::RunTools(), ConfigurationError);

  ::setenv("RUNTOOLS_API_KEY", "rt_test_fromtheprocessenvironment", 1);
  ::setenv("RUNTOOLS_API_URL", "http://127.0.0.1:9/", 1);
  runtools::RunTools rt;
  CHECK(rt.apiUrl() == "http://127.0.0.1:9");
  CHECK(rt.toolsUrl() == "https://tools.runtools.ai");

  for (const auto& [name, value] : saved) {
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
}

TEST_CASE("extra headers go with every request, per call too, and never replace the SDK's own") {
  using namespace runtools;
  auto transport = std::make_shared<testing::FakeTransport>();
  transport->setHandler([](const HttpRequest&) {
    return HttpResponse{200, {}, R"({"data":{"id":"s","status":"running"}})"};
  });
  ClientOptions options;
  options.apiKey = "rt_test_extraheadersextraheaders00";
  options.apiUrl = "https://api.example.test";
  options.headers.set("X-Trace-Id", "trace-1");
  options.headers.set("X-Team", "engine");
  options.transport = transport;
  RunTools rt(options);

  rt.sandbox.get("s").refresh();
  auto sent = transport->lastRequest().headers;
  CHECK(sent.get("X-Trace-Id") == "trace-1");
  CHECK(sent.get("X-Team") == "engine");
  CHECK(sent.get("X-API-Key") == "rt_test_extraheadersextraheaders00");

  CallOptions call;
  call.headers.set("x-trace-id", "trace-2");  // names compare case-insensitively
  rt.with(call).sandbox.get("s").refresh();
  sent = transport->lastRequest().headers;
  CHECK(sent.get("X-Trace-Id") == "trace-2");
  CHECK(sent.get("X-Team") == "engine");

  rt.sandbox.get("s").refresh();  // the original client is unchanged
  CHECK(transport->lastRequest().headers.get("X-Trace-Id") == "trace-1");

  for (const char* owned : {"X-API-Key", "authorization", "Host", "Content-Length", "Content-Type",
                            "Transfer-Encoding", "Idempotency-Key"}) {
    ClientOptions bad = options;
    bad.headers.set(owned, "x");
    CHECK_THROWS_AS(RunTools(bad), ConfigurationError);
    CallOptions badCall;
    badCall.headers.set(owned, "x");
    CHECK_THROWS_AS(rt.with(badCall), ConfigurationError);
  }
  ClientOptions split = options;
  split.headers.set("X-Trace-Id", "a\r\nX-Injected: 1");
  CHECK_THROWS_WITH(RunTools(split), Catch::Contains("control characters"));
  ClientOptions badName = options;
  badName.headers.set("Bad Name", "x");
  CHECK_THROWS_AS(RunTools(badName), ConfigurationError);
}

namespace {

struct UrlSetting {
  const char* option;
  const char* env;
  std::optional<std::string> ClientOptions::*field;
};

const UrlSetting kUrlSettings[] = {
    {"apiUrl", "RUNTOOLS_API_URL", &ClientOptions::apiUrl},
    {"toolsUrl", "RUNTOOLS_TOOLS_URL", &ClientOptions::toolsUrl},
    {"authUrl", "RUNTOOLS_AUTH_URL", &ClientOptions::authUrl},
    {"storageUrl", "RUNTOOLS_STORAGE_URL", &ClientOptions::storageUrl},
};

constexpr const char* kUrlKey = "rt_test_urlcheckurlcheckurlcheck00";

// Base URLs libcurl would refuse when the first request is made (or that
// cannot be a base URL at all): each must be refused at construction.
const std::vector<std::string> kRefusedUrls = {
    "http://[::1",                  // unterminated IPv6 literal
    "http://[::1]x",                // garbage after the IPv6 literal
    "http://[::g]:80",              // not an IPv6 address
    "http://host:99999",            // port out of range
    "http://host:0",                // port 0
    "http://host:http",             // port not a number
    "http://host:80:90",            // two ports
    "http://",                      // empty host
    "http://:8080",                 // empty host with a port
    "http:///v1",                   // empty host with a path
    "ftp://host",                   // not http(s)
    "file:///etc/passwd",           // not http(s)
    "host.example",                 // no scheme
    "http:/host.example",           // one slash
    "http://ho st",                 // space
    "http://host/a b",              // space in the path
    "http://host\t",                // tab
    std::string("http://h\x01st"),  // control character
    "http://host\x7f",              // DEL
    "http://host{}",                // characters no host name has
    "http://host%20name",           // an encoded space in the host
    "http://host\\x",               // backslash
    "https://host/x?y=1",           // query
    "https://host/#frag",           // fragment
    "http://user:pw@host",          // user information
};

}  // namespace

TEST_CASE("every base URL libcurl would refuse is refused by the constructor, naming its setting") {
  using namespace runtools;
  for (const auto& setting : kUrlSettings) {
    for (const auto& bad : kRefusedUrls) {
      INFO(setting.option << " = " << bad);
      // From the option, through the RunTools constructor itself.
      ClientOptions options;
      options.apiKey = kUrlKey;
      options.*setting.field = bad;
      options.transport = std::make_shared<testing::FakeTransport>();
      try {
        RunTools rt(options);
        FAIL("expected ConfigurationError");
      } catch (const ConfigurationError& e) {
        const std::string text = e.what();
        CHECK(text.find(std::string("ClientOptions::") + setting.option) != std::string::npos);
        CHECK(text.find(setting.env) != std::string::npos);
        CHECK(text.find(kUrlKey) == std::string::npos);
        CHECK(text.find("pw@") == std::string::npos);
        CHECK(text.find("y=1") == std::string::npos);
      }
      // From the environment variable.
      Env env{{{"RUNTOOLS_API_KEY", kUrlKey}, {setting.env, bad}}};
      try {
        resolveConfig(ClientOptions{}, env.lookup());
        FAIL("expected ConfigurationError");
      } catch (const ConfigurationError& e) {
        const std::string text = e.what();
        CHECK(text.find(setting.env) != std::string::npos);
        CHECK(text.find(kUrlKey) == std::string::npos);
      }
    }
  }
}

TEST_CASE("the refusal of a base URL quotes libcurl's reason and escapes control characters") {
  Env env{{{"RUNTOOLS_API_KEY", kUrlKey}}};
  ClientOptions options;
  options.apiUrl = "http://[::1";
  CHECK_THROWS_WITH(resolveConfig(options, env.lookup()), Catch::Contains("IPv6"));
  options.apiUrl = "http://host:99999";
  CHECK_THROWS_WITH(resolveConfig(options, env.lookup()), Catch::Contains("Port"));
  options.apiUrl = "http://host:0";
  CHECK_THROWS_WITH(resolveConfig(options, env.lookup()), Catch::Contains("port"));
  options.apiUrl = std::string("http://h\x01st");
  CHECK_THROWS_WITH(resolveConfig(options, env.lookup()), Catch::Contains("h\\x01st"));
}

TEST_CASE("a base URL that contains the credential is never echoed") {
  const std::string key = "rt_test_pastedintotheurlpastedinto00";
  for (const std::string& bad :
       {"ftp://" + key, key, "http://host/" + key + " x", "http://[" + key + "]"}) {
    ClientOptions options;
    options.apiKey = key;
    options.toolsUrl = bad;
    try {
      resolveConfig(options, Env{}.lookup());
      FAIL("expected ConfigurationError");
    } catch (const ConfigurationError& e) {
      CHECK(std::string(e.what()).find(key) == std::string::npos);
      CHECK(std::string(e.what()).find("RUNTOOLS_TOOLS_URL") != std::string::npos);
    }
  }
  Env env{{{"RUNTOOLS_API_KEY", key}, {"RUNTOOLS_TIMEOUT_MS", key}}};
  try {
    resolveConfig(ClientOptions{}, env.lookup());
    FAIL("expected ConfigurationError");
  } catch (const ConfigurationError& e) {
    CHECK(std::string(e.what()).find(key) == std::string::npos);
    CHECK(std::string(e.what()).find("RUNTOOLS_TIMEOUT_MS") != std::string::npos);
  }
}

TEST_CASE("base URLs libcurl accepts still work, IPv6 literals included") {
  Env env{{{"RUNTOOLS_API_KEY", kUrlKey}}};
  ClientOptions options;
  options.apiUrl = "http://[::1]:8080/v1";
  options.toolsUrl = "http://127.0.0.1:65535";
  options.authUrl = "https://auth.example.test:1/";
  options.storageUrl = "https://proxy.example/storage/v1/";
  const auto config = resolveConfig(options, env.lookup());
  CHECK(config.apiUrl == "http://[::1]:8080");
  CHECK(config.toolsUrl == "http://127.0.0.1:65535");
  CHECK(config.authUrl == "https://auth.example.test:1");
  CHECK(config.storageUrl == "https://proxy.example/storage");
}

namespace {

// One invalid value of a setting ClientOptions and CallOptions share, applied
// to each.
struct SharedCase {
  const char* what;
  std::function<void(ClientOptions&)> client;
  std::function<void(runtools::CallOptions&)> call;
};

runtools::RetryPolicy policyWith(const std::function<void(runtools::RetryPolicy&)>& change) {
  runtools::RetryPolicy policy;
  change(policy);
  return policy;
}

std::vector<SharedCase> sharedCases() {
  using runtools::RetryPolicy;
  using std::chrono::milliseconds;
  std::vector<SharedCase> cases;
  auto both = [&](const char* what, auto apply) {
    cases.push_back({what, [apply](ClientOptions& o) { apply(o); },
                     [apply](runtools::CallOptions& o) { apply(o); }});
  };
  both("zero timeout", [](auto& o) { o.timeout = milliseconds(0); });
  both("negative timeout", [](auto& o) { o.timeout = milliseconds(-5); });
  both("negative maxRetries", [](auto& o) { o.maxRetries = -1; });
  both("maxRetries above the cap", [](auto& o) { o.maxRetries = 21; });
  both("huge maxRetries", [](auto& o) { o.maxRetries = std::numeric_limits<int>::max(); });
  both("negative initialDelay", [](auto& o) {
    o.retryPolicy = policyWith([](RetryPolicy& p) { p.initialDelay = milliseconds(-1); });
  });
  both("maxDelay below initialDelay", [](auto& o) {
    o.retryPolicy = policyWith([](RetryPolicy& p) {
      p.initialDelay = milliseconds(1000);
      p.maxDelay = milliseconds(999);
    });
  });
  both("jitter above 1",
       [](auto& o) { o.retryPolicy = policyWith([](RetryPolicy& p) { p.jitter = 1.5; }); });
  both("negative jitter",
       [](auto& o) { o.retryPolicy = policyWith([](RetryPolicy& p) { p.jitter = -0.1; }); });
  both("NaN jitter", [](auto& o) {
    o.retryPolicy =
        policyWith([](RetryPolicy& p) { p.jitter = std::numeric_limits<double>::quiet_NaN(); });
  });
  both("negative maxRetryAfter", [](auto& o) {
    o.retryPolicy = policyWith([](RetryPolicy& p) { p.maxRetryAfter = milliseconds(-1); });
  });
  both("X-API-Key header", [](auto& o) { o.headers.set("X-API-Key", "rt_test_other"); });
  both("Content-Type header", [](auto& o) { o.headers.set("content-type", "text/plain"); });
  both("Authorization header", [](auto& o) { o.headers.set("Authorization", "Bearer x"); });
  both("header value with CR/LF", [](auto& o) { o.headers.set("X-Trace", "a\r\nX-Evil: 1"); });
  both("header value with LF", [](auto& o) { o.headers.set("X-Trace", "a\nb"); });
  both("header name with a space", [](auto& o) { o.headers.set("Bad Name", "x"); });
  both("header name with a colon", [](auto& o) { o.headers.set("X-A:", "x"); });
  both("empty header name", [](auto& o) { o.headers.set("", "x"); });
  return cases;
}

std::string withoutOwner(std::string text, const std::string& owner) {
  const auto at = text.find(owner + "::");
  if (at != std::string::npos) text.erase(at, owner.size());
  return text;
}

}  // namespace

TEST_CASE(
    "the settings ClientOptions and CallOptions share are refused alike by both entry points") {
  using namespace runtools;
  ClientOptions good;
  good.apiKey = kUrlKey;
  good.apiUrl = "https://api.example.test";
  good.transport = std::make_shared<testing::FakeTransport>();
  const RunTools rt(good);

  for (const auto& c : sharedCases()) {
    INFO(c.what);
    ClientOptions bad = good;
    c.client(bad);
    std::string fromConstructor;
    try {
      RunTools refused(bad);
      FAIL("the constructor accepted it");
    } catch (const ConfigurationError& e) {
      fromConstructor = e.what();
    }
    CallOptions call;
    c.call(call);
    std::string fromWith;
    try {
      (void)rt.with(call);
      FAIL("with() accepted it");
    } catch (const ConfigurationError& e) {
      fromWith = e.what();
    }
    CHECK(fromConstructor.find("ClientOptions::") != std::string::npos);
    CHECK(fromWith.find("CallOptions::") != std::string::npos);
    // One check behind both: the same reason, only the owner differs.
    CHECK(withoutOwner(fromConstructor, "ClientOptions") == withoutOwner(fromWith, "CallOptions"));
    CHECK(fromConstructor.find(kUrlKey) == std::string::npos);
  }
}

TEST_CASE("the limits of the shared settings are the same for both entry points") {
  using namespace runtools;
  ClientOptions options;
  options.apiKey = kUrlKey;
  options.transport = std::make_shared<testing::FakeTransport>();
  for (const int retries : {0, 20}) {
    INFO(retries);
    options.maxRetries = retries;
    options.timeout = std::chrono::milliseconds(1);
    options.retryPolicy.initialDelay = std::chrono::milliseconds(0);
    options.retryPolicy.maxDelay = std::chrono::milliseconds(0);
    options.retryPolicy.jitter = retries == 0 ? 0.0 : 1.0;
    options.headers.set("X-Trace-Id", "t");
    const RunTools rt(options);
    CallOptions call;
    call.maxRetries = retries;
    call.timeout = options.timeout;
    call.retryPolicy = options.retryPolicy;
    call.headers = options.headers;
    CHECK_NOTHROW(rt.with(call));
  }
  // The same cap applies to RUNTOOLS_MAX_RETRIES, and the same timeout rule
  // to RUNTOOLS_TIMEOUT_MS.
  Env atCap{{{"RUNTOOLS_API_KEY", kUrlKey}, {"RUNTOOLS_MAX_RETRIES", "20"}}};
  CHECK(resolveConfig(ClientOptions{}, atCap.lookup()).maxRetries == 20);
  Env aboveCap{{{"RUNTOOLS_API_KEY", kUrlKey}, {"RUNTOOLS_MAX_RETRIES", "21"}}};
  CHECK_THROWS_WITH(resolveConfig(ClientOptions{}, aboveCap.lookup()),
                    Catch::Contains("RUNTOOLS_MAX_RETRIES must be between 0 and 20"));
  Env zeroTimeout{{{"RUNTOOLS_API_KEY", kUrlKey}, {"RUNTOOLS_TIMEOUT_MS", "0"}}};
  CHECK_THROWS_WITH(resolveConfig(ClientOptions{}, zeroTimeout.lookup()),
                    Catch::Contains("RUNTOOLS_TIMEOUT_MS must be a positive duration"));
}

TEST_CASE("with() refuses its own settings with ConfigurationError too") {
  using namespace runtools;
  ClientOptions options;
  options.apiKey = kUrlKey;
  options.transport = std::make_shared<testing::FakeTransport>();
  const RunTools rt(options);
  CallOptions negativeDeadline;
  negativeDeadline.deadline = std::chrono::milliseconds(-1);
  CHECK_THROWS_AS(rt.with(negativeDeadline), ConfigurationError);
  CallOptions badKey;
  badKey.idempotencyKey = "has space";
  CHECK_THROWS_AS(rt.with(badKey), ConfigurationError);
  CallOptions emptyKey;
  emptyKey.idempotencyKey = "";
  CHECK_THROWS_AS(rt.with(emptyKey), ConfigurationError);
}
