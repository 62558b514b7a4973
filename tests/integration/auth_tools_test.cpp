#include <catch2/catch.hpp>

#include <httplib.h>

#include <algorithm>
#include <future>
#include <thread>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

HttpResponse raw(const test::EmulatorEnv& env, const std::string& method, const std::string& path,
                 const std::string& body = "", bool withKey = true) {
  return env.raw(method, path, body, withKey);
}

std::string queryValue(const std::string& url, const std::string& key) {
  const auto start = url.find(key + "=");
  if (start == std::string::npos) return "";
  const auto end = url.find('&', start);
  return url.substr(start + key.size() + 1,
                    end == std::string::npos ? std::string::npos : end - start - key.size() - 1);
}

const char* const kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@host";

}  // namespace

TEST_CASE("an API key created through the API works for a second client until revoked") {
  test::EmulatorEnv env;
  RunTools admin = env.client();
  CreateApiKeyOptions options;
  options.name = "ci";
  options.expiresIn = "30d";
  const auto created = admin.auth.apiKeys.create(options);
  CHECK(created.key.reveal().rfind(created.apiKey.keyPrefix, 0) == 0);
  CHECK(created.apiKey.status == "active");
  CHECK(created.apiKey.expiresAt.has_value());

  RunTools second = env.client(created.key.reveal());
  CHECK_NOTHROW(second.sandbox.list());
  const auto listed = admin.auth.apiKeys.list();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == created.apiKey.id);
  CHECK(listed[0].raw.dump().find(created.key.reveal()) == std::string::npos);
  CHECK(admin.auth.apiKeys.get(created.apiKey.id).name == "ci");

  UpdateApiKeyOptions rename;
  rename.name = "ci-renamed";
  CHECK(admin.auth.apiKeys.update(created.apiKey.id, rename).name == "ci-renamed");

  const auto rotated = admin.auth.apiKeys.rotate(created.apiKey.id);
  CHECK(rotated.key != created.key);
  try {
    second.sandbox.list();
    FAIL("a rotated-away key must be refused");
  } catch (const AuthenticationError& e) {
    CHECK(e.hasCode("invalid_token"));
    CHECK(std::string(e.what()).find(created.key.reveal()) == std::string::npos);
  }
  RunTools third = env.client(rotated.key.reveal());
  CHECK_NOTHROW(third.sandbox.list());
  admin.auth.apiKeys.revoke(rotated.apiKey.id);
  CHECK_THROWS_AS(third.sandbox.list(), AuthenticationError);
  CHECK(admin.auth.apiKeys.list().empty());
  CHECK_THROWS_AS(admin.auth.apiKeys.revoke(rotated.apiKey.id), NotFoundError);
}

TEST_CASE("a scoped key is refused outside its scope, and an expired key says so") {
  test::EmulatorEnv env;
  RunTools admin = env.client();
  CreateApiKeyOptions options;
  options.name = "reader";
  options.scopes = {"sandbox:read"};
  options.expiresIn = "1d";
  const auto created = admin.auth.apiKeys.create(options);
  RunTools reader = env.client(created.key.reveal());
  CHECK_NOTHROW(reader.sandbox.list());
  try {
    reader.sandbox.create();
    FAIL("sandbox:read cannot create sandboxes");
  } catch (const PermissionDeniedError& e) {
    CHECK(e.hasCode("forbidden"));
  }
  CHECK_THROWS_AS(reader.tools.list(), PermissionDeniedError);
  CHECK_THROWS_AS(reader.auth.apiKeys.create(options), PermissionDeniedError);

  UpdateApiKeyOptions widen;
  widen.scopes = std::vector<std::string>{"sandbox:*"};
  admin.auth.apiKeys.update(created.apiKey.id, widen);
  CHECK_NOTHROW(reader.sandbox.create());

  CHECK(raw(env, "POST", "/_emu/clock", R"({"advanceMs": 172800000})").status == 200);
  try {
    reader.sandbox.list();
    FAIL("an expired key must be refused");
  } catch (const AuthenticationError& e) {
    CHECK(e.hasCode("token_expired"));
  }
  CreateApiKeyOptions bad;
  bad.name = "bad";
  bad.expiresIn = "tomorrow";
  CHECK_THROWS_AS(admin.auth.apiKeys.create(bad), BadRequestError);
}

TEST_CASE("SSH keys: add, fingerprint, duplicates, list, remove") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto key = rt.sshKeys.add("laptop", kEd25519);
  CHECK(key.keyType == "ssh-ed25519");
  CHECK(key.fingerprint.rfind("SHA256:", 0) == 0);
  CHECK(key.fingerprint.size() == 7 + 43);
  try {
    rt.auth.sshKeys.add("again", kEd25519);
    FAIL("a duplicate key must be refused");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("conflict"));
  }
  CHECK_THROWS_AS(rt.sshKeys.add("bad", "ssh-ed25519 not-base64!"), BadRequestError);
  CHECK_THROWS_AS(rt.sshKeys.add("bad", "ssh-dss AAAAB3NzaC1kc3MAAACBAP"), BadRequestError);
  REQUIRE(rt.sshKeys.list().size() == 1);
  rt.sshKeys.remove(key.id);
  CHECK(rt.sshKeys.list().empty());
  CHECK_THROWS_AS(rt.sshKeys.remove(key.id), NotFoundError);
}

TEST_CASE("identity: me and the current organization") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto me = rt.auth.me();
  CHECK_FALSE(me.id.empty());
  CHECK(me.isAdmin);
  const auto org = rt.auth.organization();
  CHECK(org.id == env.emulator().defaultOrgId());
  CHECK(org.plan == "free");
}

TEST_CASE("secrets: values only through reveal, never in lists or error text") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const std::string value = "sk-VerySecretValue-0123456789";
  SetSecretOptions options;
  options.description = "the bars API";
  const auto set = rt.secrets.set("bars_token", value, options);
  CHECK(set.created);
  CHECK(set.secret.name == "BARS_TOKEN");
  CHECK_FALSE(rt.secrets.set("BARS_TOKEN", value + "-2").created);  // rotated

  const auto listed = rt.secrets.list();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].name == "BARS_TOKEN");
  CHECK(listed[0].lastRotatedAt.has_value());
  CHECK(rt.secrets.get("bars-token").description == "the bars API");
  CHECK(rt.secrets.reveal("bars_token").reveal() == value + "-2");

  // The wire itself never carries the value outside reveal.
  for (const char* path : {"/v1/secrets", "/v1/secrets/BARS_TOKEN"}) {
    const auto response = raw(env, "GET", path);
    CHECK(response.status == 200);
    CHECK(response.body.find("sk-VerySecret") == std::string::npos);
  }
  try {
    rt.secrets.set("x", value);  // too short a name after normalisation
    FAIL("expected BadRequestError");
  } catch (const BadRequestError& e) {
    CHECK(std::string(e.what()).find("sk-VerySecret") == std::string::npos);
  }
  rt.secrets.remove("bars_token");
  CHECK_THROWS_AS(rt.secrets.reveal("BARS_TOKEN"), NotFoundError);
  CHECK_THROWS_AS(rt.secrets.get("BARS_TOKEN"), NotFoundError);
}

TEST_CASE("the whole OAuth redirect flow completes with plain HTTP requests") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  CHECK(rt.auth.providers().size() == 9);
  CHECK_FALSE(rt.auth.isConnected("github"));

  // The application's local callback listener.
  httplib::Server listener;
  std::promise<std::string> landed;
  listener.Get("/cb", [&](const httplib::Request& req, httplib::Response& res) {
    landed.set_value(req.target);
    res.set_content("you may close this window", "text/plain");
  });
  const int port = listener.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { listener.listen_after_bind(); });

  ConnectOptions options;
  options.scopes = {"repo"};
  options.redirectUri = "http://127.0.0.1:" + std::to_string(port) + "/cb";
  const auto start = rt.auth.connect("github", options);
  CHECK_FALSE(start.state.empty());

  // What the user's browser does: open authUrl, follow the redirects.
  auto transport = makeCurlTransport();
  std::string url = start.authUrl;
  for (int hop = 0; hop < 3; ++hop) {
    HttpRequest request;
    request.url = url;
    const auto response = transport->send(request);
    if (response.status != 307 && response.status != 302) break;
    url = response.headers.get("Location").value_or("");
  }
  const auto target = landed.get_future().get();
  listener.stop();
  serving.join();
  CHECK(queryValue(target, "status") == "success");
  const std::string connectionId = queryValue(target, "connection_id");
  REQUIRE_FALSE(connectionId.empty());

  CHECK(rt.auth.isConnected("github"));
  const auto connections = rt.auth.listConnections();
  REQUIRE(connections.size() == 1);
  CHECK(connections[0].id == connectionId);
  CHECK(connections[0].isDefault);
  CHECK(connections[0].authType == "redirect");
  CHECK(rt.auth.setDefault(connectionId).isDefault);
  rt.auth.disconnect(connectionId);
  CHECK_FALSE(rt.auth.isConnected("github"));
  CHECK_THROWS_AS(rt.auth.connect("myspace"), NotFoundError);
}

TEST_CASE("the device flow turns connected once approved, and can be denied") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto flow = rt.auth.startDeviceFlow("openai-codex");
  CHECK_FALSE(flow.userCode.empty());
  CHECK(rt.auth.deviceFlowStatus(flow).status == "pending");

  bool approved = false;
  PollDeviceFlowOptions options;
  options.onPending = [&](const DeviceFlowStatus&) {
    if (!approved) {
      approved = true;  // the user enters the code on another device
      CHECK(raw(env, "POST", "/_emu/oauth/approve", json{{"userCode", flow.userCode}}.dump())
                .status == 200);
    }
  };
  const auto status = rt.auth.pollDeviceFlow(flow, options);
  CHECK(status.connected());
  REQUIRE(status.connectionId);
  const auto connections = rt.auth.listConnections();
  REQUIRE(connections.size() == 1);
  CHECK(connections[0].authType == "device_code");

  const auto denied = rt.auth.startDeviceFlow("openai-codex");
  raw(env, "POST", "/_emu/oauth/approve",
      json{{"userCode", denied.userCode}, {"deny", true}}.dump());
  CHECK(rt.auth.pollDeviceFlow(denied).status == "denied");

  const auto expiring = rt.auth.startDeviceFlow("openai-codex");
  raw(env, "POST", "/_emu/clock", R"({"advanceMs": 700000})");
  CHECK(rt.auth.pollDeviceFlow(expiring).status == "expired");
}

TEST_CASE("provider configs: set, list without the secret, delete") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  ProviderConfig config;
  config.clientId = "my-client";
  config.clientSecret = SecretString("my-client-secret-value");
  config.scopes = "repo,user";
  CHECK(rt.auth.setProviderConfig("github", config).provider == "github");
  const auto configs = rt.auth.listProviderConfigs();
  REQUIRE(configs.size() == 1);
  CHECK(configs[0].clientId == "my-client");
  CHECK(configs[0].scopes == "repo,user");
  CHECK(raw(env, "GET", "/v1/oauth/configs").body.find("my-client-secret") == std::string::npos);
  CHECK_THROWS_AS(rt.auth.setProviderConfig("telegram", config), BadRequestError);
  rt.auth.deleteProviderConfig("github");
  CHECK(rt.auth.listProviderConfigs().empty());
}

TEST_CASE("Tool Hub: search, install, execute, in-body errors, visibility") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto all = rt.tools.list();
  CHECK(all.size() >= 4);
  const auto found = rt.tools.search("math");
  REQUIRE(found.size() == 1);
  CHECK(found[0].slug == "math");
  ToolListOptions paged;
  paged.limit = 1;
  CHECK(rt.tools.listPage(paged).hasMore);
  CHECK(rt.tools.list(paged).size() == all.size());

  ExecuteToolOptions add;
  add.action = "add";
  add.params = {{"a", 2}, {"b", 40}};
  const auto notInstalled = rt.tools.execute("math", add);
  CHECK_FALSE(notInstalled.success);
  CHECK(notInstalled.error->code == "not_installed");

  const auto installation = rt.tools.install("math");
  CHECK(installation.installed);
  CHECK_FALSE(installation.credentialsRequired);
  ToolListOptions installedOnly;
  installedOnly.installed = true;
  CHECK(rt.tools.list(installedOnly).size() == 1);
  const auto sum = rt.tools.execute("math", add);
  CHECK(sum.success);
  CHECK(sum.result["sum"] == 42);

  ExecuteToolOptions unknown;
  unknown.action = "divide";
  const auto wrong = rt.tools.execute("math", unknown);
  CHECK_FALSE(wrong.success);
  CHECK(wrong.error->code == "unknown_action");
  CHECK_THROWS_AS(rt.tools.execute("no-such-tool", add), NotFoundError);
  CHECK(rt.tools.setVisibility("math", "org").visibility == "org");
  rt.tools.uninstall("math");
  CHECK_FALSE(rt.tools.get("math").installed);
}

TEST_CASE("tool credentials resolve in the documented order") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto installation = rt.tools.install("github");
  CHECK(installation.credentialMode == "oauth");
  CHECK(installation.requiredCredentialFields == std::vector<std::string>{"accessToken"});

  ExecuteToolOptions call;
  call.action = "list_repos";
  auto source = [&]() -> std::string {
    const auto result = rt.tools.execute("github", call);
    if (!result.success) return result.error ? result.error->code : "failed";
    return result.result.value("credentialSource", "");
  };
  CHECK(source() == "missing_credentials");

  // 5: an OAuth connection (through the device flow).
  const auto flow = rt.auth.startDeviceFlow("github");
  raw(env, "POST", "/_emu/oauth/approve", json{{"userCode", flow.userCode}}.dump());
  CHECK(rt.auth.pollDeviceFlow(flow).connected());
  CHECK(source() == "oauth");
  // 4: a secret named after the tool and field.
  rt.secrets.set("GITHUB_ACCESS_TOKEN", "from-secret");
  CHECK(source() == "secret");
  // 3: stored credentials.
  const auto stored = rt.tools.storeCredentials("github", {{"accessToken", "stored-token"}});
  CHECK(stored.configured);
  CHECK(rt.tools.credentials("github").fields == std::vector<std::string>{"accessToken"});
  CHECK(source() == "stored");
  // 2: an override naming a secret.
  rt.secrets.set("MY_GH", "override-token");
  call.credentialOverrides = {{"accessToken", "MY_GH"}};
  CHECK(source() == "override");
  // 1: per-request credentials.
  call.credentials = {{"accessToken", "request-token"}};
  CHECK(source() == "request");

  // And back down, one source at a time.
  call.credentials.clear();
  CHECK(source() == "override");
  call.credentialOverrides.clear();
  CHECK(source() == "stored");
  rt.tools.clearCredentials("github");
  CHECK_FALSE(rt.tools.credentials("github").configured);
  CHECK(source() == "secret");
  rt.secrets.remove("GITHUB_ACCESS_TOKEN");
  CHECK(source() == "oauth");
  call.credentialOverrides = {{"accessToken", "NO_SUCH_SECRET"}};
  CHECK(source() == "secret_not_found");
}
