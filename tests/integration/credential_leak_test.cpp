// No credential reaches an exception text, an error body kept by the SDK, or
// a log record — on every error path, even when the server echoes it back.

#include <catch2/catch.hpp>

#include <mutex>
#include <vector>

#include "emulator_env.hpp"
#include "local_server.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;

namespace {

const std::string kKey = "rt_test_LeakCheckLeakCheckLeakCheck0";
const std::string kToken = "eyJleak.check.session-token-value";

// Everything the SDK let out for one failed call.
struct Exposure {
  std::mutex mutex;
  std::vector<std::string> texts;

  void add(std::string text) {
    std::lock_guard<std::mutex> lock(mutex);
    texts.push_back(std::move(text));
  }
  void add(const std::exception& e) {
    add(std::string(e.what()));
    if (const auto* api = dynamic_cast<const ApiError*>(&e)) {
      add(api->message());
      add(api->body());
      add(api->code());
      add(api->requestId());
    }
  }
  bool contains(const std::string& secret) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& text : texts) {
      // Any run of 12 characters of the secret counts as a leak.
      for (std::size_t i = 0; i + 12 <= secret.size(); ++i) {
        if (text.find(secret.substr(i, 12)) != std::string::npos) return true;
      }
    }
    return false;
  }
};

ClientOptions options(const std::string& url, Exposure& exposure, bool token = false) {
  ClientOptions o;
  if (token) {
    o.accessToken = kToken;
  } else {
    o.apiKey = kKey;
    o.authHeaderStyle = AuthHeaderStyle::Both;
  }
  o.apiUrl = url;
  o.toolsUrl = url;
  o.authUrl = url;
  o.storageUrl = url;
  o.maxRetries = 1;
  o.retryPolicy.initialDelay = milliseconds(1);
  o.retryPolicy.maxDelay = milliseconds(2);
  o.timeout = milliseconds(1500);
  o.logLevel = LogLevel::Debug;
  o.logger = [&exposure](const LogRecord& r) {
    exposure.add(r.message);
    exposure.add(r.url);
    for (const auto& [name, value] : r.headers)
      exposure.add(name + ": " + value);
  };
  return o;
}

}  // namespace

TEST_CASE("servers that echo the credential back cannot make the SDK leak it") {
  // Answers /v1/sandboxes/<status> with that status and a body quoting every
  // request header, the credential included, as a careless proxy might.
  test::LocalServer echo;
  echo.server().Get(R"(/v1/sandboxes/(\d+))", [](const httplib::Request& req,
                                                 httplib::Response& res) {
    std::string quoted;
    for (const auto& [name, value] : req.headers)
      quoted += name + ": " + value + "\n";
    res.status = std::stoi(req.matches[1]);
    if (res.status == 299) {
      res.status = 200;
      res.set_content("<html>not json " + quoted + "</html>", "text/html");
    } else if (res.status % 2 == 0) {
      res.set_content(
          nlohmann::json{{"error", {{"code", "echo"}, {"message", quoted}, {"requestId", quoted}}}}
              .dump(),
          "application/json");
    } else {
      res.set_content("<pre>" + quoted + "</pre>", "text/html");
    }
  });
  echo.server().Get("/v1/sandboxes/hang", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    res.set_content("{}", "application/json");
  });

  for (const bool token : {false, true}) {
    Exposure exposure;
    RunTools rt(options(echo.url(), exposure, token));
    for (const char* id : {"400", "401", "402", "403", "404", "409", "413", "422", "429", "500",
                           "502", "503", "504", "405", "501", "299", "hang"}) {
      INFO(id);
      try {
        rt.sandbox.get(id).refresh();
        FAIL("expected an error");
      } catch (const Error& e) {
        exposure.add(e);
      }
    }
    const std::string& secret = token ? kToken : kKey;
    CHECK_FALSE(exposure.texts.empty());
    CHECK_FALSE(exposure.contains(secret));
  }
}

TEST_CASE("the emulator's error paths never carry the credential into the SDK's output") {
  test::EmulatorEnv env;
  Exposure exposure;
  // The client's key is the emulator's, so requests authenticate.
  ClientOptions o = options(env.baseUrl(), exposure);
  o.apiKey = env.apiKey();
  RunTools rt(o);
  auto attempt = [&](auto call) {
    try {
      call();
    } catch (const Error& e) {
      exposure.add(e);
    }
  };
  attempt([&] { rt.sandbox.get("sandbox-000000000000").refresh(); });
  attempt([&] {
    CreateSandboxOptions unknownTemplate;
    unknownTemplate.templateName = "nope";
    rt.sandbox.create(unknownTemplate);
  });
  attempt([&] { rt.workspace.files("missing").list(); });
  attempt([&] { rt.secrets.reveal("MISSING"); });
  attempt([&] { rt.agent.run("missing", "hi"); });
  attempt([&] {
    ExecuteToolOptions call;
    call.action = "x";
    rt.tools.execute("missing", call);
  });
  attempt([&] { rt.auth.apiKeys.revoke("missing"); });
  attempt([&] { RunTools(options(env.baseUrl(), exposure)).sandbox.list(); });  // wrong key
  attempt([&] {
    ClientOptions refused = options("http://127.0.0.1:9", exposure);
    RunTools(refused).sandbox.list();
  });
  CHECK(exposure.texts.size() > 10);
  CHECK_FALSE(exposure.contains(env.apiKey()));
  CHECK_FALSE(exposure.contains(kKey));
}

TEST_CASE("a malformed credential is refused without being echoed") {
  for (const std::string& bad :
       std::vector<std::string>{kKey + "\r\nX-Injected: 1", kKey + " trailing"}) {
    ClientOptions o;
    o.apiKey = bad;
    try {
      RunTools rt(o);
      FAIL("expected ConfigurationError");
    } catch (const ConfigurationError& e) {
      CHECK(std::string(e.what()).find("LeakCheck") == std::string::npos);
    }
  }
}
