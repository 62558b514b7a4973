// Workspaces: metadata CRUD, slugs, scopes, organizations, usage and WORKSPACE_IN_USE, mounts
// into sandboxes (exec <-> files both ways), and persistence of the metadata.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;
namespace fs = std::filesystem;

namespace {

std::set<std::string> names(const Json& entries) {
  std::set<std::string> out;
  for (const Json& e : entries)
    out.insert(e["name"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("workspace metadata: create, get, list, rename, delete") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const Response created = api.post("/v1/workspaces", Json{{"name", "My Project"}});
  INFO(created.raw);
  REQUIRE(created.status == 201);
  const Json ws = created.data();
  const std::string id = ws["id"];
  REQUIRE(std::regex_match(id, kUuidV4));
  REQUIRE(ws["slug"] == "my-project");
  REQUIRE(ws["name"] == "My Project");
  REQUIRE(ws["sizeBytes"] == 0);
  REQUIRE(ws["quotaBytes"] == 10737418240LL);
  REQUIRE(std::regex_match(ws["createdAt"].get<std::string>(), kTimestamp));
  REQUIRE(ws["updatedAt"] == ws["createdAt"]);
  REQUIRE(ws["lastAccessedAt"].is_null());
  REQUIRE(ws["isPersonal"] == false);
  REQUIRE(ws["ownerUserId"].is_string());
  REQUIRE(ws["ownerDisplayName"].is_string());
  REQUIRE(ws["ownerEmail"].is_string());
  REQUIRE(ws["nfsPath"].get<std::string>().find(id) != std::string::npos);

  const Json got = api.get("/v1/workspaces/" + id).data();
  REQUIRE_FALSE(got.contains("nfsPath"));  // create response only
  Json expected = ws;
  expected.erase("nfsPath");
  REQUIRE(got == expected);

  // sizeBytes is computed from the files.
  REQUIRE(
      api.post("/v1/workspaces/" + id + "/files", Json{{"name", "a.txt"}, {"contents", "12345"}})
          .status == 201);
  REQUIRE(api.get("/v1/workspaces/" + id).data()["sizeBytes"] == 5);
  REQUIRE(api.get("/v1/workspaces/" + id).data()["lastAccessedAt"].is_string());

  const std::string other = api.createWorkspace("Second", "custom-slug");
  const Json list = api.get("/v1/workspaces?all=true").data();
  REQUIRE(list["workspaces"].size() == 2);
  REQUIRE(list["workspaces"][0]["id"] == id);
  REQUIRE(list["workspaces"][1]["id"] == other);
  REQUIRE(list["workspaces"][1]["slug"] == "custom-slug");
  REQUIRE(list["storage"] ==
          Json{{"usedBytes", 5}, {"quotaBytes", 107374182400LL}, {"unlimited", false}});

  const Response renamed = api.call("PATCH", "/v1/workspaces/" + id, Json{{"name", "Renamed"}});
  REQUIRE(renamed.status == 200);
  REQUIRE(renamed.data()["name"] == "Renamed");
  REQUIRE(renamed.data()["slug"] == "my-project");  // the slug does not follow the name
  REQUIRE(renamed.data()["updatedAt"] >= ws["updatedAt"]);
  requireError(api.call("PATCH", "/v1/workspaces/" + id, Json::object()), 400, "validation_error");
  requireError(api.call("PATCH", "/v1/workspaces/" + id, Json{{"name", ""}}), 400,
               "validation_error");

  const fs::path dir = fs::path(emu.stateDir()) / "workspaces" / id;
  REQUIRE(fs::exists(dir / "files" / "a.txt"));
  const Response deleted = api.call("DELETE", "/v1/workspaces/" + id);
  REQUIRE(deleted.status == 200);
  REQUIRE(deleted.data() == Json{{"id", id}, {"deleted", true}});
  REQUIRE_FALSE(fs::exists(dir));  // its files went with it
  requireError(api.get("/v1/workspaces/" + id), 404, "not_found");
  requireError(api.get("/v1/workspaces/" + id + "/files"), 404, "not_found");
  requireError(api.call("DELETE", "/v1/workspaces/" + id), 404, "not_found");
  REQUIRE(api.get("/v1/workspaces").data()["workspaces"].size() == 1);
}

TEST_CASE("workspace slugs: derivation, validation and uniqueness") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  auto slugOf = [&](const std::string& name) {
    const Response r = api.post("/v1/workspaces", Json{{"name", name}});
    INFO(r.raw);
    REQUIRE(r.status == 201);
    return r.data()["slug"].get<std::string>();
  };
  REQUIRE(slugOf("  Hello,   World!! ") == "hello-world");
  REQUIRE(slugOf("--Data__Set 2--") == "data-set-2");
  REQUIRE(slugOf("Caf\xc3\xa9 Cr\xc3\xa8me") == "caf-cr-me");
  REQUIRE(slugOf("!!!") == "workspace");
  const std::string longName(100, 'x');
  REQUIRE(slugOf(longName) == std::string(63, 'x'));
  REQUIRE(slugOf(std::string(62, 'y') + " tail") == std::string(62, 'y') + "-");

  // The same derived slug twice: 409.
  requireError(api.post("/v1/workspaces", Json{{"name", "Hello World"}}), 409, "already_exists");
  requireError(api.post("/v1/workspaces", Json{{"name", "x"}, {"slug", "hello-world"}}), 409,
               "already_exists");
  // Another organization has its own slugs.
  Api other(emu, emu.mintKey());
  REQUIRE(other.post("/v1/workspaces", Json{{"name", "Hello World"}}).status == 201);

  for (const char* bad : {"Upper", "-lead", "has space", "under_score", "", "a.b"}) {
    INFO(bad);
    const Response r = api.post("/v1/workspaces", Json{{"name", "n"}, {"slug", bad}});
    requireError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == "slug");
  }
  requireError(api.post("/v1/workspaces", Json{{"name", "n"}, {"slug", std::string(64, 'a')}}), 400,
               "validation_error");
  REQUIRE(api.post("/v1/workspaces", Json{{"name", "n"}, {"slug", std::string(63, 'a')}}).status ==
          201);
  REQUIRE(api.post("/v1/workspaces", Json{{"name", "n"}, {"slug", "0-trailing-"}}).status == 201);

  requireError(api.post("/v1/workspaces", Json::object()), 400, "validation_error");
  requireError(api.post("/v1/workspaces", Json{{"name", ""}}), 400, "validation_error");
  requireError(api.post("/v1/workspaces", Json{{"name", 5}}), 400, "validation_error");
  requireError(api.post("/v1/workspaces", Json{{"name", std::string(201, 'n')}}), 400,
               "validation_error");
  REQUIRE(api.post("/v1/workspaces", Json{{"name", std::string(200, 'n')}, {"slug", "two-hundred"}})
              .status == 201);
  // orgId is accepted and ignored: the workspace belongs to the key's organization.
  const Response r = api.post("/v1/workspaces", Json{{"name", "Org"}, {"orgId", "someone-else"}});
  REQUIRE(r.status == 201);
  REQUIRE(api.get("/v1/workspaces/" + r.data()["id"].get<std::string>()).status == 200);
}

TEST_CASE("workspace scopes: files:read reads, files:write writes") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api admin(emu, emu.apiKey());
  const std::string id = admin.createWorkspace("Scoped");
  REQUIRE(admin.post("/v1/workspaces/" + id + "/files", Json{{"name", "f.txt"}, {"contents", "x"}})
              .status == 201);
  const std::string base = "/v1/workspaces/" + id;

  Api reader(emu, emu.mintKey(emu.defaultOrgId(), {"files:read"}));
  REQUIRE(reader.get("/v1/workspaces").status == 200);
  REQUIRE(reader.get(base).status == 200);
  REQUIRE(reader.get(base + "/usage").status == 200);
  REQUIRE(reader.get(base + "/files").status == 200);
  REQUIRE(reader.get(base + "/info").status == 200);
  REQUIRE(reader.get(base + "/info/f.txt").status == 200);
  REQUIRE(reader.get(base + "/direct?id=/f.txt").status == 200);
  requireError(reader.post("/v1/workspaces", Json{{"name", "nope"}}), 403, "forbidden");
  requireError(reader.call("PATCH", base, Json{{"name", "nope"}}), 403, "forbidden");
  requireError(reader.call("DELETE", base), 403, "forbidden");
  requireError(reader.post(base + "/files", Json{{"name", "g.txt"}}), 403, "forbidden");
  requireError(
      reader.call("PUT", base + "/files/f.txt", Json{{"operation", "write"}, {"contents", ""}}),
      403, "forbidden");
  requireError(reader.call("DELETE", base + "/files", Json{{"ids", {"/f.txt"}}}), 403, "forbidden");
  requireError(reader.callRaw("POST", base + "/upload", "x",
                              {{"Content-Type", "multipart/form-data; boundary=b"}}),
               403, "forbidden");
  REQUIRE(admin.get(base + "/direct?id=/f.txt").raw == "x");  // nothing changed

  Api writer(emu, emu.mintKey(emu.defaultOrgId(), {"files:write"}));
  REQUIRE(writer.post(base + "/files", Json{{"name", "g.txt"}}).status == 201);
  requireError(writer.get(base + "/files"), 403, "forbidden");

  Api wildcard(emu, emu.mintKey(emu.defaultOrgId(), {"files:*"}));
  REQUIRE(wildcard.get(base + "/files").status == 200);
  REQUIRE(wildcard.post(base + "/files", Json{{"name", "h.txt"}}).status == 201);

  // Sandbox scopes do not reach workspaces, and files scopes do not reach sandboxes.
  Api sandboxOnly(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:*"}));
  requireError(sandboxOnly.get("/v1/workspaces"), 403, "forbidden");
  requireError(sandboxOnly.get(base + "/files"), 403, "forbidden");
  requireError(wildcard.get("/v1/sandboxes"), 403, "forbidden");
  Api legacy(emu, emu.mintKey(emu.defaultOrgId(), {"sandboxes"}));
  REQUIRE(legacy.get("/v1/sandboxes").status == 200);
  requireError(legacy.get("/v1/workspaces"), 403, "forbidden");

  requireError(Api(emu, "", Auth::kNone).get("/v1/workspaces"), 401, "unauthorized");
}

TEST_CASE("other organizations' workspaces are invisible (404, never 403)") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api owner(emu, emu.apiKey());
  const std::string id = owner.createWorkspace("Private");
  REQUIRE(owner.post("/v1/workspaces/" + id + "/files", Json{{"name", "s.txt"}, {"contents", "s"}})
              .status == 201);
  const std::string base = "/v1/workspaces/" + id;

  Api stranger(emu, emu.mintKey());
  REQUIRE(stranger.get("/v1/workspaces").data()["workspaces"].empty());
  REQUIRE(stranger.get("/v1/workspaces").data()["storage"]["usedBytes"] == 0);
  for (const std::string& target :
       {base, base + "/usage", base + "/files", base + "/files/s.txt", base + "/info",
        base + "/info/s.txt", base + "/direct?id=/s.txt"}) {
    INFO(target);
    requireError(stranger.get(target), 404, "not_found");
  }
  requireError(stranger.call("PATCH", base, Json{{"name", "mine"}}), 404, "not_found");
  requireError(stranger.call("DELETE", base + "?force=true"), 404, "not_found");
  requireError(stranger.post(base + "/files", Json{{"name", "x"}}), 404, "not_found");
  requireError(stranger.call("DELETE", base + "/files", Json{{"ids", {"/s.txt"}}}), 404,
               "not_found");
  requireError(
      stranger.call("PUT", base + "/files/s.txt", Json{{"operation", "write"}, {"contents", "!"}}),
      404, "not_found");
  // Nor can it mount it.
  const Response mount = stranger.post(
      "/v1/sandboxes", Json{{"template", "base-ubuntu"},
                            {"mounts", {{{"workspaceId", id}, {"path", "/workspace/w"}}}}});
  requireError(mount, 404, "not_found");
  REQUIRE(mount.body["error"]["message"].get<std::string>().find(id) != std::string::npos);

  REQUIRE(owner.get(base).data()["name"] == "Private");
  REQUIRE(owner.get(base + "/direct?id=/s.txt").raw == "s");
}

TEST_CASE("usage lists mounting sandboxes and delete needs force while mounted") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.createWorkspace("Shared");
  const std::string base = "/v1/workspaces/" + id;

  Json usage = api.get(base + "/usage").data();
  REQUIRE(usage ==
          Json{{"workspaceId", id},
               {"workspaceName", "Shared"},
               {"inUse", false},
               {"counts", {{"mountedSandboxes", 0}, {"installableAgents", 0}, {"customAgents", 0}}},
               {"mountedSandboxes", Json::array()},
               {"installableAgents", Json::array()},
               {"customAgents", Json::array()}});
  // Not in use: deleted without force.
  const std::string spare = api.createWorkspace("Spare");
  REQUIRE(api.call("DELETE", "/v1/workspaces/" + spare + "?force=false").status == 200);

  const Json sandbox = api.runningSandbox(
      Json{{"template", "base-ubuntu"},
           {"name", "user"},
           {"mounts", {{{"workspaceId", id}, {"path", "/workspace/data"}, {"readOnly", true}}}}});
  const std::string sandboxId = sandbox["id"];
  REQUIRE(sandbox["hasWritableWorkspaceMount"] == false);  // advisory readOnly
  usage = api.get(base + "/usage").data();
  REQUIRE(usage["inUse"] == true);
  REQUIRE(usage["counts"]["mountedSandboxes"] == 1);
  REQUIRE(usage["mountedSandboxes"] == Json::array({{{"sandboxId", sandboxId},
                                                     {"sandboxName", "user"},
                                                     {"sandboxStatus", "running"},
                                                     {"mountPath", "/workspace/data"},
                                                     {"readOnly", true}}}));

  requireError(api.call("DELETE", base), 409, "WORKSPACE_IN_USE");
  requireError(api.call("DELETE", base + "?force=false"), 409, "WORKSPACE_IN_USE");
  REQUIRE(api.get(base).status == 200);

  // A destroyed sandbox no longer counts.
  const std::string other = api.createWorkspace("Other");
  const std::string gone =
      api.createSandbox(Json{{"template", "base-ubuntu"},
                             {"mounts", {{{"workspaceId", other}, {"path", "/workspace"}}}}})["id"];
  requireError(api.call("DELETE", "/v1/workspaces/" + other), 409, "WORKSPACE_IN_USE");
  REQUIRE(api.call("DELETE", "/v1/sandboxes/" + gone).status == 200);
  REQUIRE(api.get("/v1/workspaces/" + other + "/usage").data()["inUse"] == false);
  REQUIRE(api.call("DELETE", "/v1/workspaces/" + other).status == 200);

  // force=true deletes it; the sandbox keeps running with a dangling mount.
  REQUIRE(api.call("DELETE", base + "?force=true").status == 200);
  requireError(api.get(base), 404, "not_found");
  const Json after = api.get("/v1/sandboxes/" + sandboxId).data();
  REQUIRE(after["status"] == "running");
  REQUIRE(api.exec(sandboxId, "echo alive")["stdout"] == "alive\n");
  const Json dangling = api.exec(sandboxId, "ls", Json{{"cwd", "/workspace/data"}});
  REQUIRE(dangling["exitCode"] != 0);
}

TEST_CASE("mounts: unknown workspace is 404, exec sees files and the API sees exec's files") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const Response unknown =
      api.post("/v1/sandboxes", Json{{"template", "base-ubuntu"},
                                     {"mounts",
                                      {{{"workspaceId", "00000000-0000-4000-8000-000000000000"},
                                        {"path", "/workspace/x"}}}}});
  requireError(unknown, 404, "not_found");
  REQUIRE(unknown.body["error"]["message"].get<std::string>().find(
              "00000000-0000-4000-8000-000000000000") != std::string::npos);
  REQUIRE(api.get("/v1/sandboxes").data().empty());  // nothing was created

  const std::string id = api.createWorkspace("Data");
  const std::string base = "/v1/workspaces/" + id;
  REQUIRE(api.post(base + "/files", Json{{"name", "src"}, {"type", "folder"}}).status == 201);
  REQUIRE(
      api.post(base + "/files/src", Json{{"name", "in.txt"}, {"contents", "from api\n"}}).status ==
      201);

  const Json sandbox =
      api.runningSandbox(Json{{"template", "base-ubuntu"},
                              {"mounts", {{{"workspaceId", id}, {"path", "/workspace/data/"}}}}});
  const std::string sid = sandbox["id"];
  REQUIRE(sandbox["mounts"] ==
          Json::array({{{"workspaceId", id}, {"path", "/workspace/data"}, {"readOnly", false}}}));
  REQUIRE(sandbox["hasWritableWorkspaceMount"] == true);

  // API -> exec.
  REQUIRE(api.exec(sid, "cat src/in.txt", Json{{"cwd", "/workspace/data"}})["stdout"] ==
          "from api\n");
  REQUIRE(api.exec(sid, "cat in.txt", Json{{"cwd", "/workspace/data/src"}})["stdout"] ==
          "from api\n");
  REQUIRE(api.exec(sid, "cat data/src/in.txt")["stdout"] == "from api\n");
  // exec -> API.
  REQUIRE(api.exec(sid, "mkdir -p out && printf 'made by exec' > out/result.txt",
                   Json{{"cwd", "/workspace/data"}})["exitCode"] == 0);
  const Json listing = api.get(base + "/files/out").body;
  REQUIRE(listing.size() == 1);
  REQUIRE(listing[0]["id"] == "/out/result.txt");
  REQUIRE(listing[0]["size"] == 12);
  REQUIRE(api.get(base + "/direct?id=/out/result.txt").raw == "made by exec");
  // The sandbox's own files stay out of the workspace.
  api.exec(sid, "echo private > mine.txt");
  REQUIRE(names(api.get(base + "/files").body) == std::set<std::string>{"out", "src"});

  // Two sandboxes mounting the same workspace share its files.
  const std::string second =
      api.runningSandbox(Json{{"template", "base-ubuntu"},
                              {"mounts", {{{"workspaceId", id}, {"path", "/workspace"}}}}})["id"];
  REQUIRE(api.exec(second, "cat out/result.txt")["stdout"] == "made by exec");
  REQUIRE(api.exec(second, "cat in.txt", Json{{"cwd", "/workspace/src"}})["stdout"] ==
          "from api\n");
  api.exec(second, "echo via-root > root.txt");
  REQUIRE(api.get(base + "/direct?id=root.txt").raw == "via-root\n");
  REQUIRE(api.get(base + "/usage").data()["counts"]["mountedSandboxes"] == 2);
}

TEST_CASE("destroying a sandbox never deletes a mounted workspace's files") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.createWorkspace("Keep");
  const std::string base = "/v1/workspaces/" + id;
  REQUIRE(api.post(base + "/files", Json{{"name", "keep.txt"}, {"contents", "kept"}}).status ==
          201);
  const fs::path files = fs::path(emu.stateDir()) / "workspaces" / id / "files";

  for (const char* path : {"/workspace", "/workspace/deep/mount"}) {
    INFO(path);
    const std::string sid = api.runningSandbox(Json{
        {"template", "base-ubuntu"}, {"mounts", {{{"workspaceId", id}, {"path", path}}}}})["id"];
    const fs::path sandboxDir = fs::path(emu.stateDir()) / "sandboxes" / sid;
    api.exec(sid, std::string("mkdir -p nested/dir && echo more > nested/dir/more.txt"),
             Json{{"cwd", path}});
    REQUIRE(api.call("DELETE", "/v1/sandboxes/" + sid).status == 200);
    REQUIRE_FALSE(fs::exists(sandboxDir));
    REQUIRE(readFile(files / "keep.txt") == "kept");
    REQUIRE(readFile(files / "nested" / "dir" / "more.txt") == "more\n");
    REQUIRE(api.get(base + "/direct?id=/keep.txt").raw == "kept");
    REQUIRE(api.call("DELETE", base + "/files", Json{{"ids", {"/nested"}}}).status == 200);
  }

  // Reset forgets workspaces too (after removing the sandboxes' links).
  api.runningSandbox(Json{{"template", "base-ubuntu"},
                          {"mounts", {{{"workspaceId", id}, {"path", "/workspace/m"}}}}});
  REQUIRE(api.post("/_emu/reset").status == 200);
  requireError(api.get(base), 404, "not_found");
  REQUIRE(api.get("/v1/workspaces").data()["workspaces"].empty());
}

TEST_CASE("a given state dir keeps workspaces, their files and mounts across restarts") {
  TempDir dir;
  Json before;
  std::string id;
  std::string sid;
  {
    rtemu::Config config = fastConfig();
    config.stateDir = dir.path().string();
    rtemu::Emulator emu(config);
    emu.start();
    Api api(emu, emu.apiKey());
    id = api.createWorkspace("Durable", "durable");
    REQUIRE(api.post("/v1/workspaces/" + id + "/files", Json{{"name", "d.txt"}, {"contents", "dd"}})
                .status == 201);
    REQUIRE(api.call("PATCH", "/v1/workspaces/" + id, Json{{"name", "Durable 2"}}).status == 200);
    sid = api.runningSandbox(
        Json{{"template", "base-ubuntu"},
             {"mounts", {{{"workspaceId", id}, {"path", "/workspace/d"}}}}})["id"];
    before = api.get("/v1/workspaces/" + id).data();
  }
  {
    rtemu::Config config = fastConfig();
    config.stateDir = dir.path().string();  // a different generated key, same default org
    rtemu::Emulator emu(config);
    emu.start();
    Api api(emu, emu.apiKey());
    const Json after = api.get("/v1/workspaces/" + id).data();
    REQUIRE(after == before);
    REQUIRE(api.get("/v1/workspaces/" + id + "/direct?id=/d.txt").raw == "dd");
    const Json sandbox = api.get("/v1/sandboxes/" + sid).data();
    REQUIRE(sandbox["mounts"] ==
            Json::array({{{"workspaceId", id}, {"path", "/workspace/d"}, {"readOnly", false}}}));
    REQUIRE(api.exec(sid, "cat d.txt", Json{{"cwd", "/workspace/d"}})["stdout"] == "dd");
    REQUIRE(api.get("/v1/workspaces/" + id + "/usage").data()["inUse"] == true);
    // The slug is still taken.
    requireError(api.post("/v1/workspaces", Json{{"name", "x"}, {"slug", "durable"}}), 409,
                 "already_exists");
  }
}
