// Sandbox resource: shape, state machine, naming, listing filters, url/ssh, activity.
#include <filesystem>
#include <regex>
#include <thread>

#include <stdlib.h>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

TEST_CASE("a created sandbox has the documented shape and never echoes secrets") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const Response created =
      api.post("/v1/sandboxes", Json{{"template", "base-ubuntu"},
                                     {"name", "shape"},
                                     {"tags", {"a", "b"}},
                                     {"rootPassword", "hunter2-secret"},
                                     {"env", {{"TOKEN", "env-secret-value"}}},
                                     {"resources", {{"vcpus", 4}, {"memory", "8GB"}}},
                                     {"idleTimeout", 0},
                                     {"metadata", {{"team", "x"}}},
                                     {"projectId", "proj-1"}});
  REQUIRE(created.status == 201);
  REQUIRE(created.raw.find("hunter2-secret") == std::string::npos);
  REQUIRE(created.raw.find("env-secret-value") == std::string::npos);
  const Json s = created.data();
  REQUIRE(std::regex_match(s["id"].get<std::string>(), std::regex("sandbox-[0-9a-f]{12}")));
  REQUIRE(s["status"] == "creating");
  REQUIRE(s["name"] == "shape");
  REQUIRE(s["tags"] == Json::array({"a", "b"}));
  REQUIRE(s["template"] == "base-ubuntu");
  for (const char* field : {"ownerUserId", "ownerDisplayName", "ownerEmail", "projectId", "mounts",
                            "hasWritableWorkspaceMount", "sshReady", "vncReady", "ip", "publicIp",
                            "sshAccessConfigured", "sshAuthMethod", "vncUrl", "resources",
                            "createdAt", "metadata", "idleTimeout"}) {
    INFO(field);
    REQUIRE(s.contains(field));
  }
  REQUIRE_FALSE(s.contains("env"));
  REQUIRE_FALSE(s.contains("rootPassword"));
  REQUIRE(s["resources"] == Json{{"vcpus", 4}, {"memory", "8GB"}, {"disk", "10GB"}});
  REQUIRE(s["sshAccessConfigured"] == true);
  REQUIRE(s["sshAuthMethod"] == "password");
  REQUIRE(s["sshReady"] == false);
  REQUIRE(s["idleTimeout"] == 0);
  REQUIRE(s["metadata"] == Json{{"team", "x"}});
  REQUIRE(s["projectId"] == "proj-1");
  REQUIRE(s["mounts"] == Json::array());
  REQUIRE(s["hasWritableWorkspaceMount"] == false);
  REQUIRE(std::regex_match(s["createdAt"].get<std::string>(),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));

  const Json defaults = api.createSandbox();
  REQUIRE(defaults["resources"] == Json{{"vcpus", 2}, {"memory", "4GB"}, {"disk", "10GB"}});
  REQUIRE(defaults["sshAuthMethod"] == "none");
  REQUIRE(defaults["sshAccessConfigured"] == false);
  REQUIRE(defaults["name"].is_null());
  REQUIRE(defaults["idleTimeout"].is_null());

  const Json withKeys =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"sshKeys", {"key-1", "key-2"}}});
  REQUIRE(withKeys["sshAuthMethod"] == "key");
  REQUIRE(withKeys["sshAccessConfigured"] == true);
}

TEST_CASE("creating settles to running with readiness per template") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const Json base = api.runningSandbox();
  REQUIRE(base["sshReady"] == true);
  REQUIRE(base["vncReady"] == false);

  const Json desktop = api.runningSandbox(Json{{"template", "desktop-ubuntu"}});
  REQUIRE(desktop["sshReady"] == true);
  REQUIRE(desktop["vncReady"] == true);

  const Json failing =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"tags", {"emu:fail-create"}}});
  const std::string failedId = failing["id"];
  const Json failed = api.waitForStatus(failedId, "failed");
  REQUIRE(failed["sshReady"] == false);
  requireError(api.post("/v1/sandboxes/" + failedId + "/pause"), 409, "invalid_state_transition");
  requireError(api.post("/v1/sandboxes/" + failedId + "/resume"), 409, "invalid_state_transition");
  requireError(api.post("/v1/sandboxes/" + failedId + "/exec", Json{{"command", "true"}}), 409,
               "sandbox_not_running");
}

TEST_CASE("pause and resume follow the state machine, including no-ops") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const std::string base = "/v1/sandboxes/" + id;

  const Response resumeRunning = api.post(base + "/resume");
  REQUIRE(resumeRunning.status == 200);
  REQUIRE(resumeRunning.data() == Json{{"id", id}, {"status", "running"}});

  const Response pause = api.post(base + "/pause");
  REQUIRE(pause.status == 200);
  REQUIRE(pause.data() == Json{{"id", id}, {"status", "pausing"}});
  const Json paused = api.waitForStatus(id, "paused");
  REQUIRE(paused["sshReady"] == false);
  REQUIRE(paused["vncReady"] == false);
  requireError(api.post(base + "/exec", Json{{"command", "true"}}), 409, "sandbox_not_running");
  requireError(api.get(base + "/url?port=3000"), 409, "sandbox_not_running");
  requireError(api.get(base + "/ssh"), 409, "sandbox_not_running");

  const Response pauseAgain = api.post(base + "/pause");
  REQUIRE(pauseAgain.status == 200);
  REQUIRE(pauseAgain.data()["status"] == "paused");

  const Response resume = api.post(base + "/resume");
  REQUIRE(resume.status == 200);
  REQUIRE(resume.data() == Json{{"id", id}, {"status", "resuming"}});
  const Json running = api.waitForStatus(id, "running");
  REQUIRE(running["sshReady"] == true);
}

TEST_CASE("transitional states refuse pause, resume and exec") {
  SECTION("creating") {
    rtemu::Config config = fastConfig();
    config.createDelay = std::chrono::minutes(10);
    rtemu::Emulator emu(config);
    emu.start();
    Api api(emu, emu.apiKey());
    const std::string id = api.createSandbox()["id"];
    const std::string base = "/v1/sandboxes/" + id;
    REQUIRE(api.get(base).data()["status"] == "creating");
    requireError(api.post(base + "/pause"), 409, "invalid_state_transition");
    requireError(api.post(base + "/resume"), 409, "invalid_state_transition");
    requireError(api.post(base + "/exec", Json{{"command", "true"}}), 409, "sandbox_not_running");
    requireError(api.get(base + "/url?port=8080"), 409, "sandbox_not_running");
    requireError(api.get(base + "/ssh"), 409, "sandbox_not_running");
    // Deleting is allowed from any non-destroyed state.
    REQUIRE(api.call("DELETE", base).status == 200);
  }
  SECTION("pausing and resuming") {
    rtemu::Config config = fastConfig();
    config.createDelay = std::chrono::milliseconds(0);
    config.pauseDelay = std::chrono::minutes(10);
    rtemu::Emulator emu(config);
    emu.start();
    Api api(emu, emu.apiKey());
    const std::string id = api.runningSandbox()["id"];
    const std::string base = "/v1/sandboxes/" + id;
    REQUIRE(api.post(base + "/pause").data()["status"] == "pausing");
    requireError(api.post(base + "/pause"), 409, "invalid_state_transition");
    requireError(api.post(base + "/resume"), 409, "invalid_state_transition");
    requireError(api.post(base + "/exec", Json{{"command", "true"}}), 409, "sandbox_not_running");

    rtemu::Config slowResume = fastConfig();
    slowResume.createDelay = std::chrono::milliseconds(0);
    slowResume.pauseDelay = std::chrono::milliseconds(0);
    slowResume.resumeDelay = std::chrono::minutes(10);
    rtemu::Emulator emu2(slowResume);
    emu2.start();
    Api api2(emu2, emu2.apiKey());
    const std::string id2 = api2.runningSandbox()["id"];
    const std::string base2 = "/v1/sandboxes/" + id2;
    api2.post(base2 + "/pause");
    api2.waitForStatus(id2, "paused");
    REQUIRE(api2.post(base2 + "/resume").data()["status"] == "resuming");
    requireError(api2.post(base2 + "/pause"), 409, "invalid_state_transition");
    requireError(api2.post(base2 + "/resume"), 409, "invalid_state_transition");
  }
  SECTION("emu:slow multiplies the delays") {
    rtemu::Config config = fastConfig();
    config.createDelay = std::chrono::seconds(1);  // emu:slow -> 10 s
    rtemu::Emulator emu(config);
    emu.start();
    Api api(emu, emu.apiKey());
    const std::string slow =
        api.createSandbox(Json{{"template", "base-ubuntu"}, {"tags", {"emu:slow"}}})["id"];
    const std::string normal = api.createSandbox()["id"];
    api.waitForStatus(normal, "running");
    REQUIRE(api.get("/v1/sandboxes/" + slow).data()["status"] == "creating");
  }
}

TEST_CASE("delete keeps a destroyed record that only the destroyed filter lists") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string keep = api.createSandbox()["id"];
  const std::string gone =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"name", "reusable"}})["id"];

  const Response deleted = api.call("DELETE", "/v1/sandboxes/" + gone + "?async=true&stream=false");
  REQUIRE(deleted.status == 200);
  REQUIRE(deleted.data() == Json{{"id", gone}, {"deleted", true}});
  requireError(api.get("/v1/sandboxes/" + gone), 404, "not_found");
  requireError(api.call("DELETE", "/v1/sandboxes/" + gone), 404, "not_found");
  requireError(api.post("/v1/sandboxes/" + gone + "/pause"), 404, "not_found");

  REQUIRE(ids(api.get("/v1/sandboxes").data()) == std::vector<std::string>{keep});
  const Json destroyed = api.get("/v1/sandboxes?status=destroyed").data();
  REQUIRE(ids(destroyed) == std::vector<std::string>{gone});
  REQUIRE(destroyed[0]["status"] == "destroyed");
  // The name is free again.
  REQUIRE(
      api.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}, {"name", "reusable"}}).status ==
      201);
}

TEST_CASE("names are unique per organization and resolve like ids") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"name", "alpha"}})["id"];
  const std::string other =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"name", "beta"}})["id"];

  requireError(api.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}, {"name", "alpha"}}), 409,
               "already_exists");
  REQUIRE(api.get("/v1/sandboxes/alpha").data()["id"] == id);

  requireError(api.call("PATCH", "/v1/sandboxes/" + other, Json{{"name", "alpha"}}), 409,
               "already_exists");
  const Response renamed =
      api.call("PATCH", "/v1/sandboxes/alpha", Json{{"name", "gamma"}, {"projectId", "p-9"}});
  REQUIRE(renamed.status == 200);
  REQUIRE(renamed.data()["id"] == id);
  REQUIRE(renamed.data()["name"] == "gamma");
  REQUIRE(renamed.data()["projectId"] == "p-9");
  REQUIRE(renamed.data().contains("sshReady"));  // the full Sandbox object
  requireError(api.get("/v1/sandboxes/alpha"), 404, "not_found");
  REQUIRE(api.get("/v1/sandboxes/gamma").data()["id"] == id);

  const Response cleared = api.call("PATCH", "/v1/sandboxes/" + id, Json{{"projectId", nullptr}});
  REQUIRE(cleared.data()["projectId"].is_null());
  REQUIRE(cleared.data()["name"] == "gamma");
  requireError(api.call("PATCH", "/v1/sandboxes/" + id, Json{{"name", 3}}), 400,
               "validation_error");
}

TEST_CASE("list filters by status, tags and template") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string a =
      api.createSandbox(Json{{"template", "base-ubuntu"}, {"tags", {"x", "y"}}})["id"];
  const std::string b =
      api.createSandbox(Json{{"template", "desktop-ubuntu"}, {"tags", {"x"}}})["id"];
  const std::string c = api.createSandbox(Json{{"template", "base-ubuntu"}})["id"];
  api.waitForStatus(a, "running");
  api.post("/v1/sandboxes/" + a + "/pause");
  api.waitForStatus(a, "paused");
  api.waitForStatus(b, "running");
  api.waitForStatus(c, "running");

  REQUIRE(ids(api.get("/v1/sandboxes?tag=x").data()) == std::vector<std::string>{a, b});
  REQUIRE(ids(api.get("/v1/sandboxes?tag=x&tag=y").data()) == std::vector<std::string>{a});
  REQUIRE(ids(api.get("/v1/sandboxes?tag=nope").data()).empty());
  REQUIRE(ids(api.get("/v1/sandboxes?template=desktop-ubuntu").data()) ==
          std::vector<std::string>{b});
  REQUIRE(ids(api.get("/v1/sandboxes?exclude_template=desktop-ubuntu").data()) ==
          std::vector<std::string>{a, c});
  REQUIRE(ids(api.get("/v1/sandboxes?status=paused").data()) == std::vector<std::string>{a});
  REQUIRE(ids(api.get("/v1/sandboxes?status=running&tag=x").data()) == std::vector<std::string>{b});
  requireError(api.get("/v1/sandboxes?status=sleeping"), 400, "validation_error");
}

TEST_CASE("url and ssh describe a running sandbox") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id =
      api.runningSandbox(Json{{"template", "base-ubuntu"}, {"sshKeys", {"key-abc"}}})["id"];

  const Response url = api.get("/v1/sandboxes/" + id + "/url?port=3000");
  REQUIRE(url.status == 200);
  REQUIRE(url.data()["url"] == emu.baseUrl() + "/_emu/proxy/" + id + "/3000/");
  REQUIRE(url.data()["port"] == 3000);
  REQUIRE(url.data()["expiresAt"].is_null());
  for (const char* bad : {"", "?port=0", "?port=65536", "?port=abc", "?port=80x"}) {
    INFO(bad);
    requireError(api.get("/v1/sandboxes/" + id + "/url" + bad), 400, "validation_error");
  }

  const Response ssh = api.get("/v1/sandboxes/" + id + "/ssh");
  REQUIRE(ssh.status == 200);
  REQUIRE(ssh.data() == Json{{"host", "ssh.runtools.ai"},
                             {"port", 22},
                             {"user", id},
                             {"command", "ssh " + id + "@ssh.runtools.ai"},
                             {"keyId", "key-abc"}});
  const std::string plain = api.runningSandbox()["id"];
  REQUIRE(api.get("/v1/sandboxes/" + plain + "/ssh").data()["keyId"].is_null());
}

TEST_CASE("activity records lifecycle actions and execs, newest first") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  api.exec(id, "exit 4");
  api.call("PATCH", "/v1/sandboxes/" + id, Json{{"name", "renamed"}});
  api.post("/v1/sandboxes/" + id + "/pause");
  api.waitForStatus(id, "paused");
  api.post("/v1/sandboxes/" + id + "/resume");

  const Response r = api.get("/v1/sandboxes/" + id + "/activity");
  REQUIRE(r.status == 200);
  REQUIRE(r.body["hasMore"] == false);
  REQUIRE(r.body["meta"]["hasMore"] == false);
  const Json events = r.data()["events"];
  std::vector<std::string> types;
  for (const Json& e : events)
    types.push_back(e["eventType"]);
  REQUIRE(types == std::vector<std::string>{"sandbox.resumed", "sandbox.paused", "sandbox.updated",
                                            "sandbox.exec", "sandbox.created"});
  const Json exec = events[3];
  REQUIRE(std::regex_match(exec["id"].get<std::string>(), std::regex("act_[A-Za-z0-9]{20}")));
  REQUIRE(exec["attributes"]["command"] == "exit 4");
  REQUIRE(exec["attributes"]["exitCode"] == 4);
  REQUIRE(exec["sandboxId"] == id);
  REQUIRE(exec["resourceId"] == id);
  REQUIRE(exec["resourceType"] == "sandbox");
  REQUIRE(exec["actorType"] == "user");
  REQUIRE(exec["severity"] == "info");
  REQUIRE(exec["orgId"] == emu.defaultOrgId());
  REQUIRE(exec["createdAt"] == exec["occurredAt"]);
  for (const char* field : {"actorUserId", "status", "title", "summary"}) {
    REQUIRE(exec.contains(field));
  }

  const Response page = api.get("/v1/sandboxes/" + id + "/activity?limit=2");
  REQUIRE(page.data()["events"].size() == 2);
  REQUIRE(page.body["hasMore"] == true);
  const Response next = api.get("/v1/sandboxes/" + id + "/activity?limit=2&cursor=" +
                                page.body["nextCursor"].get<std::string>());
  REQUIRE(next.data()["events"][0]["eventType"] == "sandbox.updated");
  requireError(api.get("/v1/sandboxes/" + id + "/activity?limit=501"), 400, "validation_error");
}

TEST_CASE("the dev URL proxies HTTP to the port on the host") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];

  // Stand-in for a dev server started inside the sandbox (commands run on the host).
  httplib::Server upstream;
  upstream.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Upstream", "yes");
    res.set_content("path=" + req.path + " q=" + req.get_param_value("q") +
                        " key=" + req.get_header_value("X-API-Key"),
                    "text/plain");
  });
  upstream.Post(".*", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content(req.body, "application/octet-stream");
  });
  const int port = upstream.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { upstream.listen_after_bind(); });

  const std::string url =
      api.get("/v1/sandboxes/" + id + "/url?port=" + std::to_string(port)).data()["url"];
  const std::string prefix = emu.baseUrl();
  REQUIRE(url.rfind(prefix, 0) == 0);
  const std::string path = url.substr(prefix.size());

  httplib::Client client("127.0.0.1", emu.port());
  client.set_url_encode(false);
  // The proxy is reachable without a key (like a browser) and never forwards the key.
  const auto got = client.Get(path + "a/b?q=1", {{"X-API-Key", emu.apiKey()}});
  REQUIRE(got);
  REQUIRE(got->status == 200);
  REQUIRE(got->body == "path=/a/b q=1 key=");
  REQUIRE(got->get_header_value("X-Upstream") == "yes");
  const auto posted = client.Post(path + "echo", "payload", "text/plain");
  REQUIRE(posted);
  REQUIRE(posted->status == 201);
  REQUIRE(posted->body == "payload");

  upstream.stop();
  serving.join();
  const auto down = client.Get(path);
  REQUIRE(down);
  REQUIRE(down->status == 502);
  const auto unknown = client.Get("/_emu/proxy/sandbox-000000000000/" + std::to_string(port) + "/");
  REQUIRE(unknown);
  REQUIRE(unknown->status == 404);
}

TEST_CASE("a given state dir keeps sandboxes and their files across restarts") {
  std::string pattern = (std::filesystem::temp_directory_path() / "rtemu-test-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const std::string dir = pattern;
  std::string keptId;
  {
    rtemu::Config config = fastConfig();
    config.stateDir = dir;
    rtemu::Emulator emu(config);
    emu.start();
    REQUIRE(emu.stateDir() == dir);
    Api api(emu, emu.apiKey());
    keptId = api.runningSandbox(
        Json{{"template", "base-ubuntu"}, {"name", "kept"}, {"env", {{"GREETING", "hi"}}}})["id"];
    api.exec(keptId, "echo data > f.txt");
    const std::string gone = api.createSandbox()["id"];
    REQUIRE(api.call("DELETE", "/v1/sandboxes/" + gone).status == 200);
  }
  REQUIRE(std::filesystem::exists(dir));  // a given state dir is never removed
  {
    rtemu::Config config = fastConfig();
    config.stateDir = dir;  // and a different (generated) key
    rtemu::Emulator emu(config);
    emu.start();
    Api api(emu, emu.apiKey());
    const Json kept = api.get("/v1/sandboxes/kept").data();
    REQUIRE(kept["id"] == keptId);
    REQUIRE(kept["status"] == "running");
    REQUIRE(api.exec(keptId, "cat f.txt; echo $GREETING")["stdout"] == "data\nhi\n");
    REQUIRE(api.get("/v1/sandboxes").data().size() == 1);
    REQUIRE(api.get("/v1/sandboxes?status=destroyed").data().size() == 1);
    REQUIRE(api.get("/v1/sandboxes/" + keptId + "/activity").data()["events"].size() == 3);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("metrics: limits from resources, zero usage, status echoed, 404 once destroyed") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id =
      api.runningSandbox(Json{{"template", "base-ubuntu"},
                              {"name", "metered"},
                              {"resources", {{"memory", "2GB"}, {"disk", "512MB"}}}})["id"];

  const Response r = api.get("/v1/sandboxes/" + id + "/metrics");
  REQUIRE(r.status == 200);
  const Json m = r.data();
  REQUIRE(m["sandboxId"] == id);
  REQUIRE(m["status"] == "running");
  REQUIRE(m["cpuPercent"] == 0);
  REQUIRE(m["memoryUsedMb"] == 0);
  REQUIRE(m["diskUsedMb"] == 0);
  REQUIRE(m["memoryLimitMb"] == 2048);
  REQUIRE(m["diskLimitMb"] == 512);
  REQUIRE(std::regex_match(m["sampledAt"].get<std::string>(),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  // By name too (G10), and defaults when the sandbox was created without resources.
  REQUIRE(api.get("/v1/sandboxes/metered/metrics").data()["sandboxId"] == id);
  const std::string plain = api.runningSandbox()["id"];
  const Json defaults = api.get("/v1/sandboxes/" + plain + "/metrics").data();
  REQUIRE(defaults["memoryLimitMb"] == 4096);
  REQUIRE(defaults["diskLimitMb"] == 10240);

  api.post("/v1/sandboxes/" + id + "/pause");
  api.waitForStatus(id, "paused");
  REQUIRE(api.get("/v1/sandboxes/" + id + "/metrics").data()["status"] == "paused");

  Api noScope(emu, emu.mintKey(emu.defaultOrgId(), {"agent:read"}));
  requireError(noScope.get("/v1/sandboxes/" + id + "/metrics"), 403, "forbidden");
  REQUIRE(api.call("DELETE", "/v1/sandboxes/" + id).status == 200);
  requireError(api.get("/v1/sandboxes/" + id + "/metrics"), 404, "not_found");
  requireError(api.get("/v1/sandboxes/sandbox-000000000000/metrics"), 404, "not_found");
}
