// Agents: upsert with versions, reads, partial updates, visibility, delete, validation ranges,
// the sandbox requirement, scopes and organization isolation.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

TEST_CASE("agents: upsert creates then updates, with versions and the documented shapes") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  Response created = api.post(
      "/v1/agents",
      Json{{"slug", "helper"},
           {"executionMode", "managed"},
           {"description", "Helps"},
           {"systemPrompt", "Be brief"},
           {"tools", {"exec_command", {{"name", "web"}}}},
           {"env", {{"TOKEN", "x"}}},
           {"resources", {{{"type", "workspace"}, {"resourceId", "ws-1"}, {"alias", "docs"}}}},
           {"maxIterations", 10},
           {"temperature", 0.5}});
  INFO(created.raw);
  REQUIRE(created.status == 201);
  const Json& c = created.data();
  REQUIRE(isLowerAlnumId(c["id"], "agt_", 20));
  REQUIRE(c["slug"] == "helper");
  REQUIRE(c["action"] == "created");
  REQUIRE(c["version"] == 1);
  REQUIRE(c["sandboxId"].is_null());
  REQUIRE(c["targetDeviceId"].is_null());
  REQUIRE(c["endpoint"] == emu.baseUrl() + "/v1/agents/helper/run");

  Json agent = api.get("/v1/agents/helper").data();
  REQUIRE(agent["id"] == c["id"]);
  REQUIRE(agent["orgId"] == emu.defaultOrgId());
  REQUIRE(agent["name"] == "helper");  // defaults to the slug
  REQUIRE(agent["model"] == "claude-sonnet-4");
  REQUIRE(agent["executionMode"] == "managed");
  REQUIRE(agent["visibility"] == "private");
  REQUIRE(agent["status"] == "active");
  REQUIRE(agent["description"] == "Helps");
  REQUIRE(agent["systemPrompt"] == "Be brief");
  REQUIRE(agent["toolsJson"] == Json{"exec_command", {{"name", "web"}}});
  REQUIRE(agent["envJson"] == Json{{"TOKEN", "x"}});
  REQUIRE(agent["attachedResources"] == Json::array({{{"type", "workspace"},
                                                      {"resourceId", "ws-1"},
                                                      {"alias", "docs"},
                                                      {"config", Json::object()}}}));
  REQUIRE(agent["configJson"] == Json{{"maxIterations", 10}, {"temperature", 0.5}});
  REQUIRE(agent["providerOptions"] == Json::object());
  REQUIRE(agent["sandboxSlug"].is_null());
  REQUIRE(agent["version"] == 1);
  for (const char* field : {"color", "avatarSeed", "avatarImageUrl", "targetDeviceId", "tier",
                            "projectId", "defaultFolderHint"}) {
    INFO(field);
    REQUIRE(agent.contains(field));
    REQUIRE(agent[field].is_null());
  }
  for (const char* field :
       {"createdBy", "ownerUserId", "ownerDisplayName", "ownerEmail", "createdAt", "updatedAt"}) {
    INFO(field);
    REQUIRE(agent[field].is_string());
  }
  // By id too.
  REQUIRE(api.get("/v1/agents/" + c["id"].get<std::string>()).data()["slug"] == "helper");

  // Upsert again: updated, version 2, absent fields keep their values.
  const Response updated =
      api.post("/v1/agents", Json{{"slug", "helper"}, {"name", "Helper"}, {"maxTokens", 500}});
  INFO(updated.raw);
  REQUIRE(updated.status == 200);
  REQUIRE(updated.data()["action"] == "updated");
  REQUIRE(updated.data()["version"] == 2);
  REQUIRE(updated.data()["id"] == c["id"]);
  agent = api.get("/v1/agents/helper").data();
  REQUIRE(agent["name"] == "Helper");
  REQUIRE(agent["description"] == "Helps");
  REQUIRE(agent["executionMode"] == "managed");
  REQUIRE(agent["configJson"] ==
          Json{{"maxIterations", 10}, {"temperature", 0.5}, {"maxTokens", 500}});

  // PATCH: partial, version + 1; null clears.
  const Response patched = api.call("PATCH", "/v1/agents/helper",
                                    Json{{"color", "#ff0000"},
                                         {"tier", "byok"},
                                         {"topK", 40},
                                         {"stopSequences", {"END"}},
                                         {"toolChoice", "auto"},
                                         {"seed", 7},
                                         {"providerOptions", {{"anthropic", {{"x", 1}}}}},
                                         {"temperature", nullptr},
                                         {"description", nullptr}});
  INFO(patched.raw);
  REQUIRE(patched.status == 200);
  agent = patched.data();
  REQUIRE(agent["version"] == 3);
  REQUIRE(agent["color"] == "#ff0000");
  REQUIRE(agent["tier"] == "byok");
  REQUIRE(agent["description"].is_null());
  REQUIRE(agent["configJson"] == Json{{"maxIterations", 10},
                                      {"maxTokens", 500},
                                      {"topK", 40},
                                      {"stopSequences", {"END"}},
                                      {"toolChoice", "auto"},
                                      {"seed", 7}});
  REQUIRE(agent["providerOptions"] == Json{{"anthropic", {{"x", 1}}}});
  // A body slug must be the path's.
  REQUIRE(api.call("PATCH", "/v1/agents/helper", Json{{"slug", "helper"}, {"name", "H"}}).status ==
          200);
  requireError(api.call("PATCH", "/v1/agents/helper", Json{{"slug", "other"}}), 400,
               "validation_error", "slug");
  REQUIRE(api.get("/v1/agents/helper").data()["version"] == 4);

  // Visibility.
  const Response visible =
      api.call("PATCH", "/v1/agents/helper/visibility", Json{{"visibility", "org"}});
  REQUIRE(visible.status == 200);
  REQUIRE(visible.data()["visibility"] == "org");
  requireError(api.call("PATCH", "/v1/agents/helper/visibility", Json{{"visibility", "world"}}),
               400, "validation_error", "visibility");
  requireError(api.call("PATCH", "/v1/agents/nobody/visibility", Json{{"visibility", "org"}}), 404,
               "not_found");

  // List: the organization's agents by slug.
  REQUIRE(api.post("/v1/agents", managedAgent("alpha")).status == 201);
  REQUIRE(api.post("/v1/agents", managedAgent("zulu")).status == 201);
  const Response list = api.get("/v1/agents?all=true");
  REQUIRE(list.status == 200);
  std::vector<std::string> slugs;
  for (const Json& a : list.data())
    slugs.push_back(a["slug"]);
  REQUIRE(slugs == std::vector<std::string>{"alpha", "helper", "zulu"});

  // Delete.
  const Response deleted = api.call("DELETE", "/v1/agents/helper");
  REQUIRE(deleted.status == 200);
  REQUIRE(deleted.data() == Json{{"slug", "helper"}, {"deleted", true}});
  requireError(api.get("/v1/agents/helper"), 404, "not_found");
  requireError(api.call("DELETE", "/v1/agents/helper"), 404, "not_found");
  requireError(api.call("PATCH", "/v1/agents/helper", Json{{"name", "x"}}), 404, "not_found");
  // Re-creating the slug starts again at version 1 with a new id.
  const Response again = api.post("/v1/agents", managedAgent("helper"));
  REQUIRE(again.status == 201);
  REQUIRE(again.data()["version"] == 1);
  REQUIRE(again.data()["id"] != c["id"]);
}

TEST_CASE("agent validation: boundary values are accepted, values just outside are refused") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  REQUIRE(api.post("/v1/agents", managedAgent("ranges")).status == 201);

  struct Case {
    const char* field;
    std::vector<Json> good;
    std::vector<Json> bad;
  };
  const std::vector<Case> cases = {
      {"maxIterations", {1, 100}, {0, 101, 1.5, "5"}},
      {"maxTokens", {1, 128000}, {0, 128001, "1"}},
      {"temperature", {0, 2, 0.0, 2.0, 1.25}, {-0.01, 2.01, "1"}},
      {"topP", {0, 1, 0.5}, {-0.01, 1.01}},
      {"topK", {1, 1000000}, {0, -1, 1.5}},
      {"presencePenalty", {-2, 2, -2.0, 0.5}, {-2.01, 2.01}},
      {"frequencyPenalty", {-2, 2, 1.99}, {-2.5, 2.001}},
      {"executionMode", {"managed"}, {"sideways", 1}},
      {"visibility", {"private", "org", "public"}, {"everyone", true}},
      {"seed", {0, -5, 42}, {1.5, "7"}},
      {"stopSequences", {Json::array(), Json{"a", "b"}}, {Json{1}, "END"}},
      {"toolChoice", {"auto", Json{{"type", "tool"}}}, {5, Json::array()}},
      {"name", {"Name"}, {5}},
      {"description", {"d"}, {Json::array()}},
      {"systemPrompt", {"p"}, {Json::object()}},
      {"model", {"gpt-5"}, {7}},
      {"tools", {Json::array(), Json{"a", Json{{"n", 1}}}}, {"exec_command", Json{1}}},
      {"env", {Json{{"A", "1"}}}, {Json{{"A", 1}}, "A=1"}},
      {"providerOptions", {Json{{"a", 1}}}, {Json::array(), "x"}},
      {"resources",
       {Json::array({{{"type", "sandbox"}, {"resourceId", "s"}}})},
       {Json::array({{{"type", "disk"}, {"resourceId", "s"}}}),
        Json::array({{{"type", "workspace"}}}), "ws"}},
  };
  for (const Case& test : cases) {
    for (const Json& value : test.good) {
      INFO(test.field << " = " << value.dump());
      const Response r = api.call("PATCH", "/v1/agents/ranges", Json{{test.field, value}});
      INFO(r.raw);
      REQUIRE(r.status == 200);
    }
    for (const Json& value : test.bad) {
      INFO(test.field << " = " << value.dump());
      const Response r = api.call("PATCH", "/v1/agents/ranges", Json{{test.field, value}});
      INFO(r.raw);
      REQUIRE(r.status == 400);
      REQUIRE(r.errorCode() == "validation_error");
      const std::string field = r.body["error"]["details"]["field"];
      REQUIRE(field.rfind(test.field, 0) == 0);  // "resources" or "resources.type"
      // Upsert validates the same way.
      Json body = managedAgent("ranges");
      body[test.field] = value;
      REQUIRE(api.post("/v1/agents", body).status == 400);
    }
  }
  // Values stored from the last good ones.
  const Json agent = api.get("/v1/agents/ranges").data();
  REQUIRE(agent["configJson"]["maxIterations"] == 100);
  REQUIRE(agent["configJson"]["topK"] == 1000000);
  REQUIRE(agent["visibility"] == "public");

  // Slugs.
  for (const std::string& slug :
       std::vector<std::string>{"a", "a1", "a-b", "0", std::string(63, 'x')}) {
    INFO(slug);
    REQUIRE(api.post("/v1/agents", managedAgent(slug)).status == 201);
  }
  for (const Json& slug : {Json(""), Json("-a"), Json("a-"), Json("A"), Json("a_b"), Json("a b"),
                           Json(std::string(64, 'x')), Json(5), Json(nullptr)}) {
    INFO(slug.dump());
    Json body{{"executionMode", "managed"}};
    if (!slug.is_null()) body["slug"] = slug;
    requireError(api.post("/v1/agents", body), 400, "validation_error", "slug");
  }
  requireError(api.post("/v1/agents", Json{{"executionMode", "managed"}}), 400, "validation_error",
               "slug");
  REQUIRE(api.callRaw("POST", "/v1/agents", "[1]").status == 400);
  REQUIRE(api.callRaw("POST", "/v1/agents", "{bad").status == 400);
}

TEST_CASE("agent execution modes: in_sandbox needs a sandbox, local-mac a device and no sandbox") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string box =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"name", "box"}})["id"];

  // in_sandbox (the default) requires `sandbox`.
  requireError(api.post("/v1/agents", Json{{"slug", "a"}}), 400, "validation_error", "sandbox");
  requireError(api.post("/v1/agents", Json{{"slug", "a"}, {"executionMode", "in_sandbox"}}), 400,
               "validation_error", "sandbox");
  // A sandbox that does not resolve is 404, by id or name.
  requireError(api.post("/v1/agents", Json{{"slug", "a"}, {"sandbox", "sandbox-000000000000"}}),
               404, "not_found");
  requireError(api.post("/v1/agents", Json{{"slug", "a"}, {"sandbox", "nope"}}), 404, "not_found");
  requireError(api.post("/v1/agents", Json{{"slug", "a"}, {"sandbox", 5}}), 400, "validation_error",
               "sandbox");

  Response r = api.post("/v1/agents", Json{{"slug", "a"}, {"sandbox", "box"}});
  INFO(r.raw);
  REQUIRE(r.status == 201);
  REQUIRE(r.data()["sandboxId"] == box);
  Json agent = api.get("/v1/agents/a").data();
  REQUIRE(agent["sandboxId"] == box);
  REQUIRE(agent["sandboxSlug"] == "box");
  REQUIRE(agent["executionMode"] == "in_sandbox");
  // By id.
  r = api.post("/v1/agents", Json{{"slug", "b"}, {"sandbox", box}});
  REQUIRE(r.status == 201);
  REQUIRE(api.get("/v1/agents/b").data()["sandboxSlug"] == "box");
  // Clearing the sandbox of an in_sandbox agent is refused (validation of the merged result).
  requireError(api.call("PATCH", "/v1/agents/a", Json{{"sandbox", nullptr}}), 400,
               "validation_error", "sandbox");
  // ... unless the mode changes at the same time.
  r = api.call("PATCH", "/v1/agents/a", Json{{"sandbox", nullptr}, {"executionMode", "managed"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["sandboxId"].is_null());
  REQUIRE(r.data()["sandboxSlug"].is_null());
  // Back to in_sandbox without a sandbox: refused.
  requireError(api.call("PATCH", "/v1/agents/a", Json{{"executionMode", "in_sandbox"}}), 400,
               "validation_error", "sandbox");

  // local-mac: a targetDeviceId, and no sandbox.
  requireError(api.post("/v1/agents", Json{{"slug", "mac"}, {"executionMode", "local-mac"}}), 400,
               "validation_error", "targetDeviceId");
  requireError(api.post("/v1/agents", Json{{"slug", "mac"},
                                           {"executionMode", "local-mac"},
                                           {"targetDeviceId", "dev-1"},
                                           {"sandbox", "box"}}),
               400, "validation_error", "sandbox");
  r = api.post("/v1/agents",
               Json{{"slug", "mac"}, {"executionMode", "local-mac"}, {"targetDeviceId", "dev-1"}});
  REQUIRE(r.status == 201);
  REQUIRE(r.data()["targetDeviceId"] == "dev-1");
  requireError(api.call("PATCH", "/v1/agents/mac", Json{{"sandbox", "box"}}), 400,
               "validation_error", "sandbox");
  requireError(api.call("PATCH", "/v1/agents/mac", Json{{"targetDeviceId", nullptr}}), 400,
               "validation_error", "targetDeviceId");

  // A destroyed sandbox no longer resolves.
  REQUIRE(api.call("DELETE", "/v1/sandboxes/" + box).status == 200);
  requireError(api.post("/v1/agents", Json{{"slug", "c"}, {"sandbox", box}}), 404, "not_found");
  requireError(api.call("PATCH", "/v1/agents/b", Json{{"sandbox", "box"}}), 404, "not_found");
}

TEST_CASE("agents: scopes and organization isolation") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  REQUIRE(api.post("/v1/agents", managedAgent("mine")).status == 201);
  const std::string id = api.get("/v1/agents/mine").data()["id"];

  Api other(emu, emu.mintKey());
  requireError(other.get("/v1/agents/mine"), 404, "not_found");
  requireError(other.get("/v1/agents/" + id), 404, "not_found");
  requireError(other.call("PATCH", "/v1/agents/mine", Json{{"name", "x"}}), 404, "not_found");
  requireError(other.call("DELETE", "/v1/agents/mine"), 404, "not_found");
  requireError(other.post("/v1/run", Json{{"agent", "mine"}, {"prompt", "hi"}, {"stream", false}}),
               404, "not_found");
  REQUIRE(other.get("/v1/agents").data() == Json::array());
  // The same slug in another organization is another agent.
  const Response theirs = other.post("/v1/agents", managedAgent("mine"));
  REQUIRE(theirs.status == 201);
  REQUIRE(theirs.data()["id"] != id);
  REQUIRE(api.get("/v1/agents/mine").data()["version"] == 1);
  // Another organization's sandbox does not resolve.
  const std::string theirBox = other.createSandbox()["id"];
  requireError(api.post("/v1/agents", Json{{"slug", "x"}, {"sandbox", theirBox}}), 404,
               "not_found");

  const std::string org = emu.defaultOrgId();
  Api reader(emu, emu.mintKey(org, {"agent:read"}));
  REQUIRE(reader.get("/v1/agents").status == 200);
  REQUIRE(reader.get("/v1/agents/mine").status == 200);
  REQUIRE(reader.get("/v1/threads").status == 200);
  REQUIRE(reader.get("/v1/run").status == 200);
  requireError(reader.post("/v1/agents", managedAgent("r")), 403, "forbidden");
  requireError(reader.post("/v1/run", Json{{"agent", "mine"}, {"prompt", "hi"}}), 403, "forbidden");

  Api writer(emu, emu.mintKey(org, {"agent:write"}));
  REQUIRE(writer.post("/v1/agents", managedAgent("w")).status == 201);
  requireError(writer.get("/v1/agents"), 403, "forbidden");
  requireError(writer.post("/v1/run", Json{{"agent", "w"}, {"prompt", "hi"}}), 403, "forbidden");

  Api runner(emu, emu.mintKey(org, {"agent:run"}));
  REQUIRE(
      runner.post("/v1/run", Json{{"agent", "w"}, {"prompt", "hi"}, {"stream", false}}).status ==
      200);
  requireError(runner.call("PATCH", "/v1/agents/w", Json{{"name", "x"}}), 403, "forbidden");

  Api all(emu, emu.mintKey(org, {"agent:*"}));
  REQUIRE(all.post("/v1/agents", managedAgent("all")).status == 201);
  REQUIRE(all.get("/v1/agents/all").status == 200);
  REQUIRE(all.post("/v1/run", Json{{"agent", "all"}, {"prompt", "hi"}, {"stream", false}}).status ==
          200);

  Api sandboxOnly(emu, emu.mintKey(org, {"sandbox:*"}));
  requireError(sandboxOnly.get("/v1/agents"), 403, "forbidden");
  Api none(emu, "", Auth::kNone);
  requireError(none.get("/v1/agents"), 401, "unauthorized");
}
