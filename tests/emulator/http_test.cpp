// HTTP-level behaviour: auth, headers, envelopes, routing, pagination, validation, scopes,
// organizations, rate limiting and the control plane.
#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

namespace {

std::string base64Url(const std::string& in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return out;
}

}  // namespace

TEST_CASE("health and status need no credential and carry the standard headers") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api anonymous(emu, "", Auth::kNone);

  const Response health = anonymous.get("/health");
  REQUIRE(health.status == 200);
  REQUIRE(health.body == Json{{"status", "ok"}});
  REQUIRE(health.header("Content-Type").rfind("application/json", 0) == 0);
  REQUIRE(std::regex_match(health.header("X-Request-ID"), kRequestIdPattern));
  REQUIRE(health.header("X-RateLimit-Limit") == "1000");
  REQUIRE(std::stoi(health.header("X-RateLimit-Remaining")) <= 999);
  const long long reset = std::stoll(health.header("X-RateLimit-Reset"));
  REQUIRE(reset % 60 == 0);
  REQUIRE(reset > std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                          .count() -
                      1);

  const Response status = anonymous.get("/v1/status");
  REQUIRE(status.status == 200);
  REQUIRE(status.body["status"] == "ok");
  REQUIRE(status.body["service"] == "runtools-emulator");
  REQUIRE(status.body["version"] == "0.1.0");
  REQUIRE_FALSE(status.body.contains("data"));

  // Each response gets its own request id.
  REQUIRE(anonymous.get("/health").header("X-Request-ID") != health.header("X-Request-ID"));
}

TEST_CASE("authentication: missing, wrong, expired credentials and both headers") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  REQUIRE(std::regex_match(emu.apiKey(), std::regex("rt_test_[A-Za-z0-9]{32}")));

  requireError(Api(emu, "", Auth::kNone).get("/v1/sandboxes"), 401, "unauthorized");
  requireError(Api(emu, "rt_test_wrong").get("/v1/sandboxes"), 401, "invalid_token");
  requireError(Api(emu, "rt_test_wrong", Auth::kBearer).get("/v1/sandboxes"), 401, "invalid_token");
  // An unknown path under /v1 still needs a credential first.
  requireError(Api(emu, "", Auth::kNone).get("/v1/no-such-thing"), 401, "unauthorized");

  REQUIRE(Api(emu, emu.apiKey()).get("/v1/sandboxes").status == 200);
  REQUIRE(Api(emu, emu.apiKey(), Auth::kBearer).get("/v1/sandboxes").status == 200);

  // Authorization wins over X-API-Key when both are present.
  Api keyHeader(emu, emu.apiKey());
  requireError(keyHeader.call("GET", "/v1/sandboxes", std::nullopt,
                              {{"Authorization", "Bearer rt_test_wrong"}}),
               401, "invalid_token");
  Api wrongKeyHeader(emu, "rt_test_wrong");
  REQUIRE(
      wrongKeyHeader
          .call("GET", "/v1/sandboxes", std::nullopt, {{"Authorization", "Bearer " + emu.apiKey()}})
          .status == 200);
  // A non-Bearer Authorization header is not a credential we accept.
  requireError(keyHeader.call("GET", "/v1/sandboxes", std::nullopt,
                              {{"Authorization", "Basic dXNlcjpwYXNz"}}),
               401, "invalid_token");

  // Expired keys are told apart from unknown ones.
  Api admin(emu, emu.apiKey());
  const Response minted = admin.post("/_emu/keys", Json{{"expiresIn", "0s"}});
  REQUIRE(minted.status == 201);
  requireError(Api(emu, minted.data()["key"].get<std::string>()).get("/v1/sandboxes"), 401,
               "token_expired");
  const Response longLived = admin.post("/_emu/keys", Json{{"expiresIn", "30d"}});
  REQUIRE(longLived.status == 201);
  REQUIRE(Api(emu, longLived.data()["key"].get<std::string>()).get("/v1/sandboxes").status == 200);
  requireError(admin.post("/_emu/keys", Json{{"expiresIn", "soon"}}), 400, "validation_error");
}

TEST_CASE("a configured API key is used as the default organization's key") {
  rtemu::Config config = fastConfig();
  config.apiKey = "rt_test_configuredconfiguredconfigured12";
  rtemu::Emulator emu(config);
  emu.start();
  REQUIRE(emu.apiKey() == config.apiKey);
  REQUIRE(Api(emu, config.apiKey).get("/v1/sandboxes").status == 200);
  REQUIRE(emu.baseUrl() == "http://127.0.0.1:" + std::to_string(emu.port()));
}

TEST_CASE("unknown paths are 404 and known paths with the wrong method are 405") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  requireError(api.get("/v1/no-such-thing"), 404, "not_found");
  requireError(api.get("/nowhere"), 404, "not_found");
  const Response put = api.call("PUT", "/v1/sandboxes", Json::object());
  requireError(put, 405, "method_not_allowed");
  REQUIRE(put.header("Allow").find("GET") != std::string::npos);
  REQUIRE(put.header("Allow").find("POST") != std::string::npos);
  requireError(api.call("DELETE", "/v1/sandboxes"), 405, "method_not_allowed");
  requireError(api.call("OPTIONS", "/v1/sandboxes"), 405, "method_not_allowed");
  requireError(api.post("/health"), 405, "method_not_allowed");
  requireError(api.call("GET", "/v1/sandboxes/sandbox-000000000000/exec"), 405,
               "method_not_allowed");
  // Deeper than any route.
  requireError(api.get("/v1/sandboxes/a/b/c/d"), 404, "not_found");
  // An empty segment is never an id.
  requireError(api.get("/v1/sandboxes//exec"), 404, "not_found");
}

TEST_CASE("percent-encoded path segments are decoded one segment at a time") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const Json sandbox = api.createSandbox(Json{{"template", "base-ubuntu"}, {"name", "a/b"}});
  const std::string id = sandbox["id"];

  // "a%2Fb" is ONE segment: the name "a/b", not the path a/b.
  const Response byName = api.get("/v1/sandboxes/a%2Fb");
  REQUIRE(byName.status == 200);
  REQUIRE(byName.data()["id"] == id);
  // "..%2Fx" and "%2E%2E" are plain (unknown) ids, never traversal.
  requireError(api.get("/v1/sandboxes/..%2Fx"), 404, "not_found");
  requireError(api.get("/v1/sandboxes/%2E%2E"), 404, "not_found");
  requireError(api.get("/v1/sandboxes/..%2F..%2Fhealth"), 404, "not_found");
  // An encoded slash cannot smuggle a sub-resource: this is GET /v1/sandboxes/{one id}.
  REQUIRE(api.get("/v1/sandboxes/" + id + "/activity").status == 200);
  requireError(api.get("/v1/sandboxes/" + id + "%2Factivity"), 404, "not_found");
  // ...and POST on that single-id path is the wrong method for /v1/sandboxes/{id}.
  requireError(api.post("/v1/sandboxes/" + id + "%2Fpause"), 405, "method_not_allowed");
  // Encoded characters of a real id decode to it.
  std::string encoded = id;
  encoded.replace(encoded.find('-'), 1, "%2D");
  REQUIRE(api.get("/v1/sandboxes/" + encoded).status == 200);
}

TEST_CASE("list pagination: limit bounds, cursors in meta and at top level") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i)
    created.push_back(api.createSandbox()["id"]);

  const Response first = api.get("/v1/sandboxes?limit=2");
  REQUIRE(first.status == 200);
  REQUIRE(first.data().size() == 2);
  REQUIRE(first.body["hasMore"] == true);
  REQUIRE(first.body["meta"]["hasMore"] == true);
  REQUIRE(first.body["nextCursor"].is_string());
  REQUIRE(first.body["meta"]["nextCursor"] == first.body["nextCursor"]);
  REQUIRE(std::regex_match(first.body["meta"]["requestId"].get<std::string>(), kRequestIdPattern));

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    const Response r =
        api.get("/v1/sandboxes?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    for (const Json& s : r.data())
      seen.push_back(s["id"]);
    if (!r.body["hasMore"].get<bool>()) {
      REQUIRE(r.body["nextCursor"].is_null());
      REQUIRE(r.body["meta"]["nextCursor"].is_null());
      break;
    }
    cursor = r.body["nextCursor"];
  }
  REQUIRE(seen == created);  // creation order, oldest first

  const Response all = api.get("/v1/sandboxes");
  REQUIRE(all.data().size() == 5);
  REQUIRE(all.body["hasMore"] == false);
  REQUIRE(api.get("/v1/sandboxes?limit=500").status == 200);
  REQUIRE(api.get("/v1/sandboxes?limit=1").data().size() == 1);

  for (const char* bad : {"0", "501", "abc", "-1", "2.5", ""}) {
    INFO("limit=" << bad);
    const Response r = api.get(std::string("/v1/sandboxes?limit=") + bad);
    requireError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == "limit");
  }
  for (const std::string& bad :
       {std::string("%21%21%21"), base64Url("not json"), base64Url("{\"offset\":-1}"),
        base64Url("[1]"), base64Url("{\"offset\":\"3\"}")}) {
    INFO("cursor=" << bad);
    const Response r = api.get("/v1/sandboxes?cursor=" + bad);
    requireError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == "cursor");
  }
  // A cursor past the end is an empty last page.
  const Response past = api.get("/v1/sandboxes?cursor=" + base64Url("{\"offset\":99}"));
  REQUIRE(past.status == 200);
  REQUIRE(past.data().empty());
  REQUIRE(past.body["hasMore"] == false);
}

TEST_CASE("request validation answers 400 validation_error with details") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  auto expectInvalid = [&](const Json& body, const std::string& field) {
    INFO(body.dump());
    const Response r = api.post("/v1/sandboxes", body);
    requireError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == field);
  };
  expectInvalid(Json::object(), "template");
  expectInvalid(Json{{"template", "windows-11"}}, "template");
  expectInvalid(Json{{"template", 7}}, "template");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"name", 5}}, "name");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"tags", "a"}}, "tags");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"tags", {1, 2}}}, "tags");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"sshKeys", {{"k", 1}}}}, "sshKeys");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"rootPassword", 1234}}, "rootPassword");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"resources", {{"vcpus", 0}}}},
                "resources.vcpus");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"resources", {{"vcpus", 1.5}}}},
                "resources.vcpus");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"resources", {{"memory", 4}}}},
                "resources.memory");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"env", {{"A", 1}}}}, "env");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"env", {{"A=B", "x"}}}}, "env");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"idleTimeout", -1}}, "idleTimeout");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"idleTimeout", "600"}}, "idleTimeout");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"metadata", "x"}}, "metadata");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"projectId", 3}}, "projectId");
  expectInvalid(Json{{"template", "base-ubuntu"}, {"mounts", Json::object()}}, "mounts");
  for (const char* path :
       {"/etc", "/workspace/../etc", "workspace/x", "/workspacex", "/", "/workspace/a/../../b"}) {
    INFO(path);
    expectInvalid(
        Json{{"template", "base-ubuntu"}, {"mounts", {{{"workspaceId", "w1"}, {"path", path}}}}},
        "mounts.path");
  }
  expectInvalid(Json{{"template", "base-ubuntu"}, {"mounts", {{{"path", "/workspace/x"}}}}},
                "mounts.workspaceId");

  // Malformed bodies.
  requireError(api.callRaw("POST", "/v1/sandboxes", "{\"template\": "), 400, "validation_error");
  requireError(api.callRaw("POST", "/v1/sandboxes", "[1,2]"), 400, "validation_error");
  requireError(api.callRaw("POST", "/v1/sandboxes", "\"base-ubuntu\""), 400, "validation_error");
  requireError(api.callRaw("POST", "/v1/sandboxes", "{\"template\":\"\xff\xfe\"}"), 400,
               "validation_error");

  // Duplicate and nested mount paths.
  for (const char* second : {"/workspace/data", "/workspace/data/x", "/workspace"}) {
    INFO(second);
    expectInvalid(Json{{"template", "base-ubuntu"},
                       {"mounts",
                        {{{"workspaceId", "w1"}, {"path", "/workspace/data"}},
                         {{"workspaceId", "w2"}, {"path", second}}}}},
                  "mounts.path");
  }

  // A valid mount path is normalised and echoed.
  const std::string w1 = api.createWorkspace("w1");
  const Json sandbox = api.createSandbox(
      Json{{"template", "base-ubuntu"},
           {"mounts", {{{"workspaceId", w1}, {"path", "/workspace//data/./x/"}}}}});
  REQUIRE(sandbox["mounts"] ==
          Json::array({{{"workspaceId", w1}, {"path", "/workspace/data/x"}, {"readOnly", false}}}));
  REQUIRE(sandbox["hasWritableWorkspaceMount"] == true);
}

TEST_CASE("bodies over 16 MiB are refused with a JSON 413") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string huge =
      "{\"template\":\"base-ubuntu\",\"metadata\":{\"x\":\"" + std::string(17u << 20, 'a') + "\"}}";
  const Response r = api.callRaw("POST", "/v1/sandboxes", huge);
  requireError(r, 413, "payload_too_large");
}

TEST_CASE("scopes are enforced on sandbox routes") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api admin(emu, emu.apiKey());
  const std::string id = admin.runningSandbox()["id"];

  Api reader(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:read"}));
  REQUIRE(reader.get("/v1/sandboxes").status == 200);
  REQUIRE(reader.get("/v1/sandboxes/" + id).status == 200);
  REQUIRE(reader.get("/v1/sandboxes/" + id + "/activity").status == 200);
  requireError(reader.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}}), 403, "forbidden");
  requireError(reader.post("/v1/sandboxes/" + id + "/exec", Json{{"command", "true"}}), 403,
               "forbidden");
  requireError(reader.call("DELETE", "/v1/sandboxes/" + id), 403, "forbidden");

  Api creator(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:create"}));
  REQUIRE(creator.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}}).status == 201);
  requireError(creator.get("/v1/sandboxes"), 403, "forbidden");
  requireError(creator.post("/v1/sandboxes/" + id + "/pause"), 403, "forbidden");

  Api writer(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:write"}));
  REQUIRE(writer.post("/v1/sandboxes/" + id + "/exec", Json{{"command", "true"}}).status == 200);
  requireError(writer.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}}), 403, "forbidden");

  Api wildcard(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:*"}));
  REQUIRE(wildcard.get("/v1/sandboxes").status == 200);
  REQUIRE(wildcard.post("/v1/sandboxes/" + id + "/exec", Json{{"command", "true"}}).status == 200);

  Api unrelated(emu, emu.mintKey(emu.defaultOrgId(), {"agent:*"}));
  requireError(unrelated.get("/v1/sandboxes"), 403, "forbidden");
}

TEST_CASE("other organizations' sandboxes are invisible (404, never 403)") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api owner(emu, emu.apiKey());
  const Json sandbox = owner.runningSandbox(Json{{"template", "base-ubuntu"}, {"name", "mine"}});
  const std::string id = sandbox["id"];

  const std::string otherKey = emu.mintKey();
  Api other(emu, otherKey);
  requireError(other.get("/v1/sandboxes/" + id), 404, "not_found");
  requireError(other.get("/v1/sandboxes/mine"), 404, "not_found");
  requireError(other.post("/v1/sandboxes/" + id + "/exec", Json{{"command", "true"}}), 404,
               "not_found");
  requireError(other.post("/v1/sandboxes/" + id + "/pause"), 404, "not_found");
  requireError(other.call("PATCH", "/v1/sandboxes/" + id, Json{{"name", "x"}}), 404, "not_found");
  requireError(other.call("DELETE", "/v1/sandboxes/" + id), 404, "not_found");
  requireError(other.get("/v1/sandboxes/" + id + "/activity"), 404, "not_found");
  REQUIRE(other.get("/v1/sandboxes").data().empty());
  // Names are per organization.
  REQUIRE(other.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}, {"name", "mine"}}).status ==
          201);
  // The control plane belongs to the default organization.
  requireError(other.post("/_emu/keys"), 403, "forbidden");
  requireError(other.post("/_emu/reset"), 403, "forbidden");
  requireError(Api(emu, "", Auth::kNone).post("/_emu/reset"), 401, "unauthorized");

  // A key minted for an existing organization sees that organization's sandboxes.
  const Response minted = owner.post("/_emu/keys", Json{{"org", emu.defaultOrgId()}});
  REQUIRE(minted.status == 201);
  REQUIRE(minted.data()["orgId"] == emu.defaultOrgId());
  REQUIRE(Api(emu, minted.data()["key"].get<std::string>()).get("/v1/sandboxes/" + id).status ==
          200);
  const Response fresh = owner.post("/_emu/keys");
  REQUIRE(fresh.status == 201);
  REQUIRE(fresh.data()["orgId"] != emu.defaultOrgId());
  REQUIRE(std::regex_match(fresh.data()["key"].get<std::string>(),
                           std::regex("rt_test_[A-Za-z0-9]{32}")));
}

TEST_CASE("rate limiting answers 429 rate_limited with Retry-After") {
  rtemu::Config config = fastConfig();
  config.rateLimitRpm = 3;
  rtemu::Emulator emu(config);
  emu.start();
  Api api(emu, emu.apiKey());

  // At most one minute boundary can pass during the loop, so a 429 shows up well within 10.
  Response limited;
  for (int i = 0; i < 10 && limited.status != 429; ++i) {
    const Response r = api.get("/v1/templates");
    REQUIRE(r.header("X-RateLimit-Limit") == "3");
    if (r.status == 429) limited = r;
  }
  requireError(limited, 429, "rate_limited");
  REQUIRE(std::stoi(limited.header("Retry-After")) >= 1);
  REQUIRE(std::stoi(limited.header("Retry-After")) <= 60);
  REQUIRE(limited.header("X-RateLimit-Remaining") == "0");

  // Credentials are counted separately.
  Api other(emu, emu.mintKey());
  REQUIRE(other.get("/v1/templates").status == 200);
}

TEST_CASE("templates, not-implemented surfaces and reset") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const Response list = api.get("/v1/templates");
  REQUIRE(list.status == 200);
  std::set<std::string> slugs;
  for (const Json& t : list.data()) {
    slugs.insert(t["slug"].get<std::string>());
    REQUIRE(t["public"] == true);
    REQUIRE(t["status"] == "ready");
    REQUIRE(t["sizeBytes"].get<long long>() > 0);
    REQUIRE(t.contains("name"));
    REQUIRE(t.contains("description"));
  }
  REQUIRE(slugs == std::set<std::string>{"base-ubuntu", "desktop-ubuntu"});
  REQUIRE(api.get("/v1/templates/desktop-ubuntu").data()["slug"] == "desktop-ubuntu");
  requireError(api.get("/v1/templates/nope"), 404, "not_found");
  requireError(api.post("/v1/templates", Json{{"slug", "x"}}), 501, "not_implemented");
  requireError(api.get("/v1/workflows"), 501, "not_implemented");
  requireError(api.post("/v1/workflows/abc/run"), 501, "not_implemented");
  requireError(api.get("/v1/devices"), 501, "not_implemented");
  requireError(api.get("/v1/aip/agents"), 501, "not_implemented");

  const std::string id = api.createSandbox()["id"];
  const std::string minted = emu.mintKey(emu.defaultOrgId());
  const Response reset = api.post("/_emu/reset");
  REQUIRE(reset.status == 200);
  requireError(api.get("/v1/sandboxes/" + id), 404, "not_found");
  REQUIRE(api.get("/v1/sandboxes").data().empty());
  REQUIRE(Api(emu, minted).get("/v1/sandboxes").status == 200);  // keys survive a reset
}
