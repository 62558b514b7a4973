#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

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
    CHECK_THROWS_AS(rt.with(badCall), InvalidArgumentError);
  }
  ClientOptions split = options;
  split.headers.set("X-Trace-Id", "a\r\nX-Injected: 1");
  CHECK_THROWS_WITH(RunTools(split), Catch::Contains("control characters"));
  ClientOptions badName = options;
  badName.headers.set("Bad Name", "x");
  CHECK_THROWS_AS(RunTools(badName), ConfigurationError);
}
