// Identity (/v1/me, /v1/organizations/current, users and roles of /_emu/keys), API keys
// (/v1/api-keys*) and the emulator clock (/_emu/clock).
#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

Json me(Api& api) {
  const Response r = api.get("/v1/me");
  INFO(r.raw);
  REQUIRE(r.status == 200);
  return r.data();
}

Response createKey(Api& api, const Json& body) {
  return api.post("/v1/api-keys", body);
}

std::string keyOf(const Response& created) {
  INFO(created.raw);
  REQUIRE(created.status == 201);
  return created.data()["key"];
}

}  // namespace

TEST_CASE("identity: /v1/me, the current organization, and users and roles of /_emu/keys") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api admin(emu, emu.apiKey());

  const Json user = me(admin);
  const std::string userId = user["id"];
  REQUIRE(std::regex_match(userId, kUuidV4));
  REQUIRE(user["email"] == userId.substr(0, 8) + "@example.test");
  REQUIRE(user["firstName"] == "Emulator");
  REQUIRE(user["lastName"] == "User");
  REQUIRE(user["profilePictureUrl"].is_null());
  REQUIRE(user["isAdmin"] == true);
  REQUIRE(user["accessGranted"] == true);
  REQUIRE(user["tutorialCompleted"] == false);

  const Response org = admin.get("/v1/organizations/current");
  REQUIRE(org.status == 200);
  REQUIRE(org.data()["id"] == emu.defaultOrgId());
  REQUIRE(std::regex_match(org.data()["workosOrgId"].get<std::string>(),
                           std::regex("org_01H[0-9A-Z]{23}")));
  REQUIRE(org.data()["plan"] == "free");
  REQUIRE(org.data()["enterprise"] == false);
  REQUIRE(org.data()["role"] == "admin");
  REQUIRE(org.data()["orgRole"] == "admin");
  REQUIRE(org.data()["settings"] == Json::object());
  REQUIRE_FALSE(org.data()["name"].get<std::string>().empty());
  REQUIRE_FALSE(org.data()["slug"].get<std::string>().empty());
  parseIsoMs(org.data()["createdAt"]);

  // Without `user`: the organization's default user.
  const Response same = admin.post("/_emu/keys", Json{{"org", emu.defaultOrgId()}});
  REQUIRE(same.status == 201);
  REQUIRE(same.data()["userId"] == userId);
  REQUIRE(same.data()["role"] == "admin");
  Api sameUser(emu, same.data()["key"].get<std::string>());
  REQUIRE(me(sameUser) == user);

  // A named new user with role member.
  const Response member = admin.post(
      "/_emu/keys", Json{{"org", emu.defaultOrgId()}, {"user", "member-1"}, {"role", "member"}});
  REQUIRE(member.status == 201);
  REQUIRE(member.data()["userId"] == "member-1");
  REQUIRE(member.data()["role"] == "member");
  REQUIRE(member.data()["orgId"] == emu.defaultOrgId());
  Api memberApi(emu, member.data()["key"].get<std::string>());
  const Json memberUser = me(memberApi);
  REQUIRE(memberUser["id"] == "member-1");
  REQUIRE(memberUser["email"] == "member-1@example.test");
  REQUIRE(memberUser["isAdmin"] == false);
  REQUIRE(memberApi.get("/v1/organizations/current").data()["role"] == "member");
  REQUIRE(memberApi.get("/v1/organizations/current").data()["id"] == emu.defaultOrgId());
  // A second key of the same user, without a role: the role is kept.
  const Response again =
      admin.post("/_emu/keys", Json{{"org", emu.defaultOrgId()}, {"user", "member-1"}});
  REQUIRE(again.data()["role"] == "member");
  // The role can be changed explicitly.
  const Response promoted = admin.post(
      "/_emu/keys", Json{{"org", emu.defaultOrgId()}, {"user", "member-1"}, {"role", "admin"}});
  REQUIRE(promoted.data()["role"] == "admin");
  REQUIRE(me(memberApi)["isAdmin"] == true);

  // role member without a user: a fresh member of that organization.
  const Response fresh = admin.post("/_emu/keys", Json{{"role", "member"}});
  REQUIRE(fresh.status == 201);
  REQUIRE(fresh.data()["orgId"] != emu.defaultOrgId());
  REQUIRE(std::regex_match(fresh.data()["userId"].get<std::string>(), kUuidV4));
  Api freshApi(emu, fresh.data()["key"].get<std::string>());
  REQUIRE(me(freshApi)["isAdmin"] == false);
  REQUIRE(freshApi.get("/v1/organizations/current").data()["id"] == fresh.data()["orgId"]);

  // Invalid combinations.
  expectError(admin.post("/_emu/keys", Json{{"user", userId}, {"role", "member"}}), 400,
              "validation_error");  // `user` of another organization
  expectError(admin.post("/_emu/keys",
                         Json{{"org", emu.defaultOrgId()}, {"user", userId}, {"role", "member"}}),
              400, "validation_error");  // demoting the default user
  expectError(admin.post("/_emu/keys", Json{{"role", "owner"}}), 400, "validation_error");
  expectError(admin.post("/_emu/keys", Json{{"user", "a/b"}}), 400, "validation_error");

  // The in-process equivalent.
  Api viaLibrary(emu, emu.mintKeyFor(emu.defaultOrgId(), "member-2", "member", {"org:read"}));
  REQUIRE(me(viaLibrary)["id"] == "member-2");
  REQUIRE(me(viaLibrary)["isAdmin"] == false);
  expectError(viaLibrary.get("/v1/sandboxes"), 403, "forbidden");

  // Identity needs org:read (or "*").
  expectError(Api(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:*"})).get("/v1/me"), 403,
              "forbidden");
  expectError(Api(emu, "", Auth::kNone).get("/v1/me"), 401, "unauthorized");
}

TEST_CASE("API keys: create, authenticate, scopes, patch, revoke, rotate and list") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api admin(emu, emu.apiKey());
  const Json owner = me(admin);

  const Response created = createKey(admin, Json{{"name", "ci"}, {"scopes", {"sandbox:read"}}});
  INFO(created.raw);
  REQUIRE(created.status == 201);
  REQUIRE(created.body["message"] ==
          "Store this key securely. You will not be able to see it again.");
  const Json key = created.data();
  REQUIRE(std::regex_match(key["id"].get<std::string>(), kUuidV4));
  REQUIRE(key["name"] == "ci");
  REQUIRE(key["keyPrefix"] == "rt_live_");
  REQUIRE(std::regex_match(key["key"].get<std::string>(), std::regex("rt_live_[A-Za-z0-9]{32}")));
  REQUIRE(key["scopes"] == Json::array({"sandbox:read"}));
  REQUIRE(key["projectId"].is_null());
  REQUIRE(key["expiresAt"].is_null());
  REQUIRE(key["lastUsedAt"].is_null());
  REQUIRE(key["revokedAt"].is_null());
  REQUIRE(key["status"] == "active");
  REQUIRE(key["ownerUserId"] == owner["id"]);
  REQUIRE(key["ownerDisplayName"] == "Emulator User");
  REQUIRE(key["ownerEmail"] == owner["email"]);
  parseIsoMs(key["createdAt"]);
  const std::string id = key["id"];

  // The key works at once, for the creator's organization and user, with its scopes.
  Api reader(emu, key["key"].get<std::string>());
  REQUIRE(reader.get("/v1/sandboxes").status == 200);
  expectError(reader.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}}), 403, "forbidden");
  expectError(reader.get("/v1/tools"), 403, "forbidden");
  expectError(reader.get("/v1/api-keys"), 403, "forbidden");
  expectError(reader.post("/v1/api-keys", Json{{"name", "x"}}), 403, "forbidden");
  expectError(Api(emu, key["key"].get<std::string>(), Auth::kBearer).get("/v1/tools"), 403,
              "forbidden");
  const std::string sandbox = admin.createSandbox()["id"];
  REQUIRE(reader.get("/v1/sandboxes/" + sandbox).status == 200);
  const Json used = admin.get("/v1/api-keys/" + id).data();
  REQUIRE(used["lastUsedAt"].is_string());
  REQUIRE_FALSE(used.contains("key"));

  // PATCH: the new scopes apply at once.
  const Response patched =
      admin.call("PATCH", "/v1/api-keys/" + id,
                 Json{{"name", "ci-tools"}, {"scopes", {"tool:*", "org:read", "tool:*"}}});
  REQUIRE(patched.status == 200);
  REQUIRE(patched.data() == Json{{"success", true}});
  REQUIRE(reader.get("/v1/tools").status == 200);
  expectError(reader.get("/v1/sandboxes"), 403, "forbidden");
  // org:read allows reading keys, never changing them.
  const Json renamed = reader.get("/v1/api-keys/" + id).data();
  REQUIRE(renamed["name"] == "ci-tools");
  REQUIRE(renamed["scopes"] == Json::array({"tool:*", "org:read"}));
  expectError(reader.post("/v1/api-keys", Json{{"name", "escalate"}, {"scopes", {"*"}}}), 403,
              "forbidden");
  expectError(reader.post("/v1/api-keys/" + id + "/rotate"), 403, "forbidden");
  expectError(reader.call("DELETE", "/v1/api-keys/" + id), 403, "forbidden");
  expectError(reader.call("PATCH", "/v1/api-keys/" + id, Json{{"scopes", {"*"}}}), 403,
              "forbidden");

  // More keys: test prefix, snake_case aliases, every expiry form; newest first in the list.
  const Response test = createKey(admin, Json{{"name", "test"},
                                              {"is_test", true},
                                              {"expires_in", "1d"},
                                              {"project_id", "proj-1"},
                                              {"scopes", Json::array()}});
  REQUIRE(test.status == 201);
  REQUIRE(test.data()["keyPrefix"] == "rt_test_");
  REQUIRE(std::regex_match(test.data()["key"].get<std::string>(),
                           std::regex("rt_test_[A-Za-z0-9]{32}")));
  REQUIRE(test.data()["scopes"] == Json::array({"*"}));
  REQUIRE(test.data()["projectId"] == "proj-1");
  REQUIRE(parseIsoMs(test.data()["expiresAt"]) - parseIsoMs(test.data()["createdAt"]) == kDayMs);
  for (const auto& [text, days] : std::vector<std::pair<std::string, std::int64_t>>{
           {"6m", 180}, {"1y", 365}, {"90d", 90}, {"2y", 730}}) {
    INFO(text);
    const Response r = createKey(admin, Json{{"name", "e-" + text}, {"expiresIn", text}});
    REQUIRE(r.status == 201);
    REQUIRE(parseIsoMs(r.data()["expiresAt"]) - parseIsoMs(r.data()["createdAt"]) == days * kDayMs);
  }
  const Response never = createKey(admin, Json{{"name", "never"}, {"expiresIn", "never"}});
  REQUIRE(never.data()["expiresAt"].is_null());

  Response list = admin.get("/v1/api-keys");
  REQUIRE(list.status == 200);
  REQUIRE(list.data().size() == 7);
  REQUIRE(list.data()[0]["name"] == "never");
  REQUIRE(list.data()[6]["id"] == id);
  for (const Json& item : list.data()) {
    REQUIRE_FALSE(item.contains("key"));
    REQUIRE(item["status"] == "active");
  }
  REQUIRE(list.raw.find(key["key"].get<std::string>()) == std::string::npos);
  REQUIRE(list.raw.find(test.data()["key"].get<std::string>()) == std::string::npos);

  // Rotation: a new key with the same scopes, prefix and lifetime; the old one is revoked.
  const Response rotated = admin.post(
      "/v1/api-keys/" + test.data()["id"].get<std::string>() + "/rotate", Json{{"name", "test-2"}});
  INFO(rotated.raw);
  REQUIRE(rotated.status == 201);
  REQUIRE(rotated.body["message"].is_string());
  REQUIRE(rotated.data()["name"] == "test-2");
  REQUIRE(rotated.data()["id"] != test.data()["id"]);
  REQUIRE(rotated.data()["keyPrefix"] == "rt_test_");
  REQUIRE(rotated.data()["scopes"] == Json::array({"*"}));
  REQUIRE(rotated.data()["projectId"] == "proj-1");
  REQUIRE(parseIsoMs(rotated.data()["expiresAt"]) - parseIsoMs(rotated.data()["createdAt"]) ==
          kDayMs);
  expectError(Api(emu, test.data()["key"].get<std::string>()).get("/v1/sandboxes"), 401,
              "invalid_token");
  REQUIRE(Api(emu, rotated.data()["key"].get<std::string>()).get("/v1/sandboxes").status == 200);
  expectError(admin.post("/v1/api-keys/" + test.data()["id"].get<std::string>() + "/rotate"), 404,
              "not_found");
  // Without a name the old one is kept.
  const Response rotatedAgain =
      admin.post("/v1/api-keys/" + rotated.data()["id"].get<std::string>() + "/rotate");
  REQUIRE(rotatedAgain.status == 201);
  REQUIRE(rotatedAgain.data()["name"] == "test-2");

  // Revocation.
  const Response revoked = admin.call("DELETE", "/v1/api-keys/" + id);
  REQUIRE(revoked.status == 200);
  REQUIRE(revoked.data() == Json{{"success", true}});
  expectError(reader.get("/v1/tools"), 401, "invalid_token");
  expectError(admin.get("/v1/api-keys/" + id), 404, "not_found");
  expectError(admin.call("DELETE", "/v1/api-keys/" + id), 404, "not_found");
  expectError(admin.call("PATCH", "/v1/api-keys/" + id, Json{{"name", "x"}}), 404, "not_found");
  list = admin.get("/v1/api-keys");
  std::set<std::string> ids;
  for (const Json& item : list.data())
    ids.insert(item["id"].get<std::string>());
  REQUIRE(list.data().size() == 6);  // 7 - revoked - rotated + rotation - rotated + rotation
  REQUIRE(ids.count(id) == 0);
  REQUIRE(ids.count(test.data()["id"].get<std::string>()) == 0);
  REQUIRE(ids.count(rotated.data()["id"].get<std::string>()) == 0);
  REQUIRE(ids.count(rotatedAgain.data()["id"].get<std::string>()) == 1);
  expectError(admin.get("/v1/api-keys/00000000-0000-4000-8000-000000000000"), 404, "not_found");

  // Keys minted through /_emu/keys are not listed.
  emu.mintKey(emu.defaultOrgId());
  REQUIRE(admin.get("/v1/api-keys").data().size() == 6);

  // Another organization sees none of them and cannot touch them.
  Api other(emu, emu.mintKey());
  REQUIRE(other.get("/v1/api-keys").data().empty());
  const std::string live = rotatedAgain.data()["id"];
  expectError(other.get("/v1/api-keys/" + live), 404, "not_found");
  expectError(other.call("DELETE", "/v1/api-keys/" + live), 404, "not_found");
  expectError(other.post("/v1/api-keys/" + live + "/rotate"), 404, "not_found");
  REQUIRE(Api(emu, rotatedAgain.data()["key"].get<std::string>()).get("/v1/me").data()["id"] ==
          owner["id"]);
}

TEST_CASE("API keys: malformed bodies are 400 bad_request") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api admin(emu, emu.apiKey());
  const std::vector<Json> bad = {
      Json::object(),
      Json{{"name", ""}},
      Json{{"name", 7}},
      Json{{"name", std::string(201, 'n')}},
      Json{{"name", "k"}, {"scopes", {"sandbox:delete"}}},
      Json{{"name", "k"}, {"scopes", {"*", "nope"}}},
      Json{{"name", "k"}, {"scopes", "*"}},
      Json{{"name", "k"}, {"scopes", {1}}},
      Json{{"name", "k"}, {"expiresIn", "0d"}},
      Json{{"name", "k"}, {"expiresIn", "30"}},
      Json{{"name", "k"}, {"expiresIn", "d"}},
      Json{{"name", "k"}, {"expiresIn", "30h"}},
      Json{{"name", "k"}, {"expiresIn", "1w"}},
      Json{{"name", "k"}, {"expiresIn", "-1d"}},
      Json{{"name", "k"}, {"expiresIn", "Never"}},
      Json{{"name", "k"}, {"expiresIn", 30}},
      Json{{"name", "k"}, {"expires_in", "soon"}},
      Json{{"name", "k"}, {"isTest", "yes"}},
      Json{{"name", "k"}, {"projectId", 3}},
  };
  for (const Json& body : bad) {
    INFO(body.dump());
    expectError(admin.post("/v1/api-keys", body), 400, "bad_request");
  }
  REQUIRE(admin.post("/v1/api-keys", Json{{"name", std::string(200, 'n')}}).status == 201);
  expectError(admin.callRaw("POST", "/v1/api-keys", "{\"name\":"), 400, "bad_request");
  const std::string id = admin.get("/v1/api-keys").data()[0]["id"];
  expectError(admin.call("PATCH", "/v1/api-keys/" + id, Json{{"scopes", {"root"}}}), 400,
              "bad_request");
  expectError(admin.call("PATCH", "/v1/api-keys/" + id, Json{{"name", ""}}), 400, "bad_request");
  expectError(admin.post("/v1/api-keys/" + id + "/rotate", Json{{"name", 5}}), 400, "bad_request");
  // Every scope of the documented union (legacy names included) is accepted.
  const Json all = {"*",        "sandbox:*",  "sandbox:create", "sandbox:read",   "sandbox:write",
                    "agent:*",  "agent:run",  "agent:read",     "agent:write",    "workflow:*",
                    "tool:*",   "ssh-key:*",  "files:*",        "files:read",     "files:write",
                    "org:read", "org:write",  "org:members",    "org:*",          "admin:resources",
                    "admin:*",  "template:*", "sandboxes",      "sandboxes:read", "agents",
                    "tools",    "templates"};
  const Response every = admin.post("/v1/api-keys", Json{{"name", "all"}, {"scopes", all}});
  REQUIRE(every.status == 201);
  REQUIRE(every.data()["scopes"] == all);
}

TEST_CASE("expiry follows the emulator clock (/_emu/clock)") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api admin(emu, emu.apiKey());

  const Response before = admin.get("/_emu/clock");
  REQUIRE(before.status == 200);
  REQUIRE(before.data()["offsetMs"] == 0);
  const std::int64_t start = parseIsoMs(before.data()["now"]);

  const Response day = admin.post("/v1/api-keys", Json{{"name", "day"}, {"expiresIn", "1d"}});
  const std::string dayKey = keyOf(day);
  const std::string yearKey =
      keyOf(admin.post("/v1/api-keys", Json{{"name", "year"}, {"expiresIn", "1y"}}));
  const Response hour = admin.post("/_emu/keys", Json{{"expiresIn", "1h"}});
  REQUIRE(hour.status == 201);
  const std::string hourKey = hour.data()["key"];
  REQUIRE(Api(emu, dayKey).get("/v1/sandboxes").status == 200);
  REQUIRE(Api(emu, hourKey).get("/v1/sandboxes").status == 200);

  // One hour and a bit: the /_emu key expires, the API keys do not.
  const Response advanced = admin.post("/_emu/clock", Json{{"advanceMs", 3'600'000 + 1000}});
  REQUIRE(advanced.status == 200);
  REQUIRE(parseIsoMs(advanced.data()["now"]) >= start + 3'601'000);
  REQUIRE(advanced.data()["offsetMs"] == 3'601'000);
  expectError(Api(emu, hourKey).get("/v1/sandboxes"), 401, "token_expired");
  REQUIRE(Api(emu, dayKey).get("/v1/sandboxes").status == 200);

  // A day: the 1d key expires (token_expired, not invalid_token) and is listed as expired.
  emu.advanceClock(std::chrono::hours(23));
  REQUIRE(admin.post("/_emu/clock", Json{{"advanceMs", 0}}).data()["offsetMs"] ==
          3'601'000 + 23 * 3'600'000LL);
  expectError(Api(emu, dayKey).get("/v1/sandboxes"), 401, "token_expired");
  REQUIRE(Api(emu, yearKey).get("/v1/sandboxes").status == 200);
  REQUIRE(Api(emu, emu.apiKey()).get("/v1/sandboxes").status == 200);
  bool sawExpired = false;
  const Response listed = admin.get("/v1/api-keys");
  for (const Json& item : listed.data()) {
    if (item["name"] == "day") {
      REQUIRE(item["status"] == "expired");
      sawExpired = true;
    } else {
      REQUIRE(item["status"] == "active");
    }
  }
  REQUIRE(sawExpired);
  REQUIRE(admin.get("/v1/api-keys/" + day.data()["id"].get<std::string>()).data()["status"] ==
          "expired");
  // Rotating an expired key gives a fresh one with the same lifetime.
  const Response rotated =
      admin.post("/v1/api-keys/" + day.data()["id"].get<std::string>() + "/rotate");
  REQUIRE(rotated.status == 201);
  REQUIRE(Api(emu, rotated.data()["key"].get<std::string>()).get("/v1/sandboxes").status == 200);

  // Timestamps follow the clock too.
  const Json sandbox = admin.createSandbox();
  REQUIRE(parseIsoMs(sandbox["createdAt"]) >= start + kDayMs);
  REQUIRE(parseIsoMs(rotated.data()["createdAt"]) >= start + kDayMs);

  expectError(admin.post("/_emu/clock", Json{{"advanceMs", -1}}), 400, "validation_error");
  expectError(admin.post("/_emu/clock", Json{{"advanceMs", 1.5}}), 400, "validation_error");
  expectError(admin.post("/_emu/clock", Json{{"advanceMs", "1"}}), 400, "validation_error");
  expectError(Api(emu, emu.mintKey()).post("/_emu/clock", Json{{"advanceMs", 1}}), 403,
              "forbidden");
}
