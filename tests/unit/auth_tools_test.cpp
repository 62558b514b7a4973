#include <catch2/catch.hpp>

#include <sstream>

#include "fake_services.hpp"
#include "runtools/auth.hpp"
#include "runtools/errors.hpp"
#include "runtools/secrets.hpp"
#include "runtools/tools.hpp"

using nlohmann::json;
using namespace runtools;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

ClientOptions allServices() {
  ClientOptions options;
  options.toolsUrl = "https://tools.example.test";
  options.authUrl = "https://auth.example.test";
  return options;
}

json apiError(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

}  // namespace

TEST_CASE("SecretString never prints its value") {
  SecretString secret("hunter2-value");
  std::ostringstream out;
  out << secret;
  CHECK(out.str() == "[REDACTED]");
  CHECK(secret.reveal() == "hunter2-value");
  SecretString copy = secret;
  CHECK(copy == secret);
  SecretString moved = std::move(copy);
  CHECK(moved.reveal() == "hunter2-value");
}

TEST_CASE("a tool failure inside the tool is a value, an unknown tool is an exception") {
  test::FakeServices fake(allServices());
  ToolsClient tools(fake.services->tools);
  fake.transport->enqueueJson(200, test::envelope({{"success", false},
                                                   {"result", nullptr},
                                                   {"durationMs", 3},
                                                   {"error",
                                                    {{"code", "missing_credentials"},
                                                     {"message", "connect GitHub"},
                                                     {"statusCode", 401}}}}));
  ExecuteToolOptions options;
  options.action = "list_repos";
  const auto failed = tools.execute("github", options);
  CHECK_FALSE(failed.success);
  REQUIRE(failed.error);
  CHECK(failed.error->code == "missing_credentials");
  CHECK(failed.error->statusCode == 401);
  CHECK(fake.transport->lastRequest().url == "https://tools.example.test/v1/tools/github/execute");

  fake.transport->enqueueJson(404, apiError("not_found", "Tool not found"));
  CHECK_THROWS_AS(tools.execute("nope", options), NotFoundError);
  fake.transport->enqueueJson(401, apiError("invalid_token", "bad key"));
  CHECK_THROWS_AS(tools.execute("github", options), AuthenticationError);
  CHECK_THROWS_AS(tools.execute("github", ExecuteToolOptions{}), InvalidArgumentError);
}

TEST_CASE("per-request tool credentials never reach an error message") {
  test::FakeServices fake(allServices());
  ToolsClient tools(fake.services->tools);
  ExecuteToolOptions options;
  options.action = "list_repos";
  options.credentials = {{"accessToken", "ghp_SuperSecretTokenValue123"}};
  options.credentialOverrides = {{"accessToken", "GITHUB_TOKEN"}};
  fake.transport->enqueueJson(
      400, apiError("bad_request", "token ghp_SuperSecretTokenValue123 is malformed"));
  try {
    tools.execute("github", options);
    FAIL("expected BadRequestError");
  } catch (const BadRequestError& e) {
    CHECK(std::string(e.what()).find("ghp_SuperSecret") == std::string::npos);
    CHECK(e.body().find("ghp_SuperSecret") == std::string::npos);
  }
  const auto body = json::parse(fake.transport->lastRequest().body);
  CHECK(body["credentials"]["accessToken"] == "ghp_SuperSecretTokenValue123");
  CHECK(body["credentialOverrides"]["accessToken"] == "GITHUB_TOKEN");
}

TEST_CASE("secrets: set sends the value once and keeps it out of errors, reveal wraps it") {
  test::FakeServices fake(allServices());
  SecretsClient secrets(fake.services->tools);
  fake.transport->enqueueJson(
      201,
      test::envelope({{"id", "s1"}, {"name", "BARS_TOKEN"}, {"created", true}, {"scope", "all"}}));
  SetSecretOptions options;
  options.category = "tool";
  const auto set = secrets.set("bars_token", "value-of-the-secret", options);
  CHECK(set.created);
  CHECK(set.secret.name == "BARS_TOKEN");
  CHECK(json::parse(fake.transport->lastRequest().body) ==
        json{{"name", "bars_token"}, {"value", "value-of-the-secret"}, {"category", "tool"}});

  fake.transport->enqueueJson(500, apiError("internal_error", "failed on value-of-the-secret"));
  try {
    secrets.set("bars_token", "value-of-the-secret");
    FAIL("expected ServerError");
  } catch (const ServerError& e) {
    CHECK(std::string(e.what()).find("value-of-the-secret") == std::string::npos);
  }

  fake.transport->enqueueJson(
      200, test::envelope({{"name", "BARS_TOKEN"}, {"value", "value-of-the-secret"}}));
  const auto value = secrets.reveal("bars_token", SecretLookupOptions{true});
  CHECK(value.reveal() == "value-of-the-secret");
  CHECK(fake.transport->lastRequest().url ==
        "https://tools.example.test/v1/secrets/bars_token/reveal?orgWide=true");

  fake.transport->enqueueJson(200,
                              test::envelope(json::array({{{"name", "A_B"},
                                                           {"created_at", "2026-01-01T00:00:00Z"},
                                                           {"value", "should-not-be-here"}}})));
  const auto listed =
      secrets.list(ListSecretsOptions{true, false, false, std::nullopt, std::nullopt});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].createdAt.has_value());
  CHECK_FALSE(listed[0].raw.contains("value"));
  CHECK(fake.transport->lastRequest().url == "https://tools.example.test/v1/secrets?userOnly=true");
}

TEST_CASE("a created API key is a SecretString and stays out of the metadata") {
  test::FakeServices fake(allServices());
  ApiKeyClient keys(fake.api());
  fake.transport->enqueueJson(
      201, {{"data",
             {{"id", "k1"},
              {"name", "ci"},
              {"keyPrefix", "rt_live_"},
              {"scopes", {"sandbox:*"}},
              {"key", "rt_live_0123456789abcdefghijABCDEFGHIJ"}}},
            {"message", "Store this key securely. You will not be able to see it again."}});
  CreateApiKeyOptions options;
  options.name = "ci";
  options.scopes = {"sandbox:*"};
  options.expiresIn = "30d";
  const auto created = keys.create(options);
  CHECK(created.key.reveal() == "rt_live_0123456789abcdefghijABCDEFGHIJ");
  CHECK(created.message.rfind("Store this key", 0) == 0);
  CHECK(created.apiKey.scopes == std::vector<std::string>{"sandbox:*"});
  CHECK(created.apiKey.raw.dump().find("0123456789abcdef") == std::string::npos);
  CHECK(json::parse(fake.transport->lastRequest().body) ==
        json{{"name", "ci"}, {"scopes", {"sandbox:*"}}, {"expiresIn", "30d"}});

  fake.transport->enqueueJson(200, test::envelope({{"id", "k1"}}));
  CHECK_THROWS_AS(keys.rotate("k1"), InvalidResponseError);  // no key in the answer
}

TEST_CASE("connect validates the redirect URI and asks for JSON") {
  test::FakeServices fake(allServices());
  AuthClient auth(fake.api(), fake.services->auth);
  ConnectOptions bad;
  bad.redirectUri = "https://evil.example/callback";
  CHECK_THROWS_AS(auth.connect("github", bad), InvalidArgumentError);

  fake.transport->enqueueJson(
      200, test::envelope({{"authUrl", "https://github.example/authorize"}, {"state", "st"}}));
  ConnectOptions options;
  options.scopes = {"repo", "read:user"};
  options.redirectUri = "http://127.0.0.1:9000/cb";
  const auto result = auth.connect("github", options);
  CHECK(result.authUrl == "https://github.example/authorize");
  CHECK(fake.transport->lastRequest().url ==
        "https://auth.example.test/v1/oauth/start/github?scopes=repo%2Cread%3Auser&redirect_uri="
        "http%3A%2F%2F127.0.0.1%3A9000%2Fcb");
  CHECK(fake.transport->lastRequest().headers.get("Accept") == "application/json");
}

TEST_CASE("device flow polling honours the interval, slow_down and expiry") {
  test::FakeServices fake(allServices());
  AuthClient auth(fake.api(), fake.services->auth);
  fake.transport->enqueueJson(200, test::envelope({{"provider", "openai-codex"},
                                                   {"attemptToken", "attempt-secret-token"},
                                                   {"userCode", "ABCD-EFGH"},
                                                   {"verificationUri", "https://x/device"},
                                                   {"interval", 2}}));
  const auto flow = auth.startDeviceFlow("openai-codex");
  CHECK(flow.userCode == "ABCD-EFGH");
  CHECK(flow.interval == seconds(2));

  fake.transport->enqueueJson(200, test::envelope({{"status", "pending"}, {"interval", 2}}));
  fake.transport->enqueueJson(200, test::envelope({{"status", "slow_down"}, {"interval", 2}}));
  fake.transport->enqueueJson(200,
                              test::envelope({{"status", "connected"}, {"connectionId", "c1"}}));
  int pending = 0;
  PollDeviceFlowOptions options;
  options.onPending = [&](const DeviceFlowStatus&) { ++pending; };
  const auto status = auth.pollDeviceFlow(flow, options);
  CHECK(status.connected());
  CHECK(status.connectionId == std::optional<std::string>("c1"));
  CHECK(pending == 2);
  // 2 s after the first poll, then 2 + 5 s after slow_down.
  milliseconds slept{0};
  for (auto s : fake.clock->sleeps())
    slept += s;
  CHECK(slept == milliseconds(9000));
  const auto body = json::parse(fake.transport->lastRequest().body);
  CHECK(body == json{{"attemptToken", "attempt-secret-token"}});
}

TEST_CASE("device flow polling stops at expiry and on cancellation") {
  test::FakeServices fake(allServices());
  AuthClient auth(fake.api(), fake.services->auth);
  DeviceFlow flow;
  flow.provider = "github";
  flow.attemptToken = SecretString("tok-abcdef");
  flow.interval = seconds(1);
  const auto expires = fake.clock->wallNow() + seconds(3);
  fake.transport->setHandler([&](const HttpRequest&) {
    return HttpResponse{
        200,
        {},
        test::envelope(
            {{"status", "pending"}, {"interval", 1}, {"expiresAt", formatTimestamp(expires)}})
            .dump()};
  });
  const auto status = auth.pollDeviceFlow(flow);
  CHECK(status.status == "expired");
  CHECK(fake.transport->requests().size() == 4);

  fake.transport->setHandler([&](const HttpRequest&) {
    return HttpResponse{200, {}, test::envelope({{"status", "pending"}, {"interval", 1}}).dump()};
  });
  CancellationToken token;
  PollDeviceFlowOptions options;
  options.cancellation = token;
  options.onPending = [&](const DeviceFlowStatus&) { token.cancel(); };
  CHECK_THROWS_AS(auth.pollDeviceFlow(flow, options), CancelledError);
}

TEST_CASE("provider configs go snake_case on the wire and never keep the secret") {
  test::FakeServices fake(allServices());
  AuthClient auth(fake.api(), fake.services->auth);
  fake.transport->enqueueJson(200, test::envelope({{"id", "cfg1"}, {"provider", "github"}}));
  ProviderConfig config;
  config.clientId = "client-1";
  config.clientSecret = SecretString("client-secret-value");
  config.scopes = "repo,user";
  const auto info = auth.setProviderConfig("github", config);
  CHECK(info.id == "cfg1");
  CHECK(json::parse(fake.transport->lastRequest().body) ==
        json{{"provider", "github"},
             {"client_id", "client-1"},
             {"scopes", "repo,user"},
             {"client_secret", "client-secret-value"}});

  fake.transport->enqueueJson(200, test::envelope(json::array({{{"id", "cfg1"},
                                                                {"provider", "github"},
                                                                {"client_id", "client-1"},
                                                                {"scopes", "repo"},
                                                                {"enabled", true},
                                                                {"client_secret", "leak"}}})));
  const auto configs = auth.listProviderConfigs();
  REQUIRE(configs.size() == 1);
  CHECK(configs[0].clientId == "client-1");
  CHECK_FALSE(configs[0].raw.contains("client_secret"));
}

TEST_CASE("SSH keys are sent as one public_key line") {
  test::FakeServices fake(allServices());
  SshKeyClient keys(fake.api());
  fake.transport->enqueueJson(
      201,
      test::envelope({{"id", "k"}, {"fingerprint", "SHA256:abc"}, {"key_type", "ssh-ed25519"}}));
  const auto key = keys.add("laptop", "ssh-ed25519 AAAAC3Nza me@host\n");
  CHECK(key.keyType == "ssh-ed25519");
  CHECK(json::parse(fake.transport->lastRequest().body) ==
        json{{"name", "laptop"}, {"public_key", "ssh-ed25519 AAAAC3Nza me@host"}});
  CHECK_THROWS_AS(keys.add("x", "ssh-ed25519 AAAA\nssh-rsa BBBB"), InvalidArgumentError);
  CHECK_THROWS_AS(keys.add("", "ssh-ed25519 AAAA"), InvalidArgumentError);
}
