#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "emulator_env.hpp"
#include "internal/random.hpp"
#include "internal/streams.hpp"
#include "runtools/errors.hpp"

using namespace runtools;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names(const std::vector<FileEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    out.push_back(e.name);
  return out;
}

Workspace newWorkspace(RunTools& rt, const std::string& name) {
  CreateWorkspaceOptions options;
  options.name = name;
  return rt.workspace.create(options);
}

}  // namespace

TEST_CASE("workspace metadata: create, get, list, rename, usage, remove") {
  test::EmulatorEnv env;
  RunTools rt = env.client();

  const auto created = newWorkspace(rt, "Build Cache");
  CHECK_FALSE(created.id.empty());
  CHECK(created.slug == "build-cache");
  CHECK(created.name == "Build Cache");
  CHECK(created.quotaBytes > 0);
  CHECK(created.createdAt.has_value());

  CHECK(rt.workspace.get(created.id).slug == "build-cache");
  const auto listed = rt.workspaces.list();
  REQUIRE(listed.workspaces.size() == 1);
  CHECK(listed.workspaces[0].id == created.id);
  CHECK(listed.storage.quotaBytes > 0);

  try {
    newWorkspace(rt, "build cache");  // same derived slug
    FAIL("a duplicate slug must be refused");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("already_exists"));
  }
  CreateWorkspaceOptions explicitSlug;
  explicitSlug.name = "Other";
  explicitSlug.slug = "custom-slug";
  CHECK(rt.workspace.create(explicitSlug).slug == "custom-slug");

  CHECK(rt.workspace.rename(created.id, "Renamed").name == "Renamed");
  const auto usage = rt.workspace.usage(created.id);
  CHECK_FALSE(usage.inUse);
  CHECK(usage.mountedSandboxes.empty());

  rt.workspace.remove(created.id);
  CHECK_THROWS_AS(rt.workspace.get(created.id), NotFoundError);
}

TEST_CASE("workspace files: every operation against the emulator") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto files = rt.workspace.files(newWorkspace(rt, "files").id);

  CHECK(files.createFolder("/src").isFolder());
  files.createFolder("src/lib");
  files.createFile("/src/main.cpp", "int main() {}\n");
  files.createFile("/README.md", "# hi\n");
  files.createFile("/.hidden", "secret-ish");
  CHECK_THROWS_AS(files.createFile("/README.md", "again"), ConflictError);
  // Missing folders are created on the way; a file in the way is refused.
  CHECK_THROWS_AS(files.createFile("/README.md/dir/x.txt", ""), BadRequestError);

  CHECK(names(files.list()) == std::vector<std::string>{"src", "README.md"});
  CHECK(names(files.list("/", ListFilesOptions{true})) ==
        std::vector<std::string>{"src", ".hidden", "README.md"});
  const auto src = files.list("src");
  CHECK(names(src) == std::vector<std::string>{"lib", "main.cpp"});
  CHECK(src[1].id == "/src/main.cpp");
  CHECK(src[1].size == 14);
  CHECK(src[1].modifiedAt.has_value());
  CHECK_THROWS_AS(files.list("/nope"), NotFoundError);

  files.write("/README.md", "# replaced\n");
  CHECK(files.download("README.md") == "# replaced\n");

  CHECK(files.rename("/README.md", "INTRO.md").name == "INTRO.md");
  CHECK_THROWS_AS(files.download("/README.md"), NotFoundError);

  CHECK(files.move("/INTRO.md", "/src/lib").id == "/src/lib/INTRO.md");
  CHECK(files.copy("/src/lib/INTRO.md", "/").id == "/INTRO.md");
  CHECK(files.download("/INTRO.md") == "# replaced\n");

  files.createFolder("/dest");
  const auto copied = files.copyMany({"/src/main.cpp", "/INTRO.md"}, "/dest");
  CHECK(copied == std::vector<std::string>{"/dest/main.cpp", "/dest/INTRO.md"});
  files.createFolder("/moved");
  CHECK(files.moveMany({"/dest/main.cpp"}, "/moved") ==
        std::vector<std::string>{"/moved/main.cpp"});

  const std::string binary("\0\x01\xff\xfe binary \r\n", 14);
  CHECK(files.upload("/moved/blob.bin", binary).size == 14);
  CHECK(files.download("/moved/blob.bin") == binary);
  files.upload("/moved/blob.bin", "replaced");  // an upload replaces
  CHECK(files.download("/moved/blob.bin") == "replaced");

  const auto pathInfo = files.info("/moved");
  CHECK(pathInfo.type == "folder");
  CHECK(pathInfo.count == 2);
  CHECK(pathInfo.size == 14 + 8);
  const auto storage = files.info();
  CHECK(storage.total > 0);
  CHECK(storage.used > 0);
  CHECK(storage.free == storage.total - storage.used);

  CHECK(files.removeMany(std::vector<std::string>{"/dest", "/moved/blob.bin"}) == 2);
  CHECK(names(files.list()) == std::vector<std::string>{"moved", "src", "INTRO.md"});
  CHECK_THROWS_AS(files.remove("/dest"), NotFoundError);
}

TEST_CASE("upload streamed from a local file, download streamed to a local file") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto files = rt.workspace.files(newWorkspace(rt, "disk").id);
  const fs::path dir = fs::temp_directory_path() / ("rt-it-" + internal::randomHex(8));
  fs::create_directories(dir);
  std::string payload;
  for (int i = 0; i < 300000; ++i)
    payload += static_cast<char>(i * 7 % 256);
  std::ofstream(dir / "in.bin", std::ios::binary) << payload;

  files.createFolder("/data");
  CHECK(files.uploadFile((dir / "in.bin").string(), "/data/in.bin").size ==
        static_cast<std::int64_t>(payload.size()));
  files.downloadTo("/data/in.bin", (dir / "out.bin").string());
  std::ifstream in(dir / "out.bin", std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == payload);

  // A failed download leaves the local directory as it was.
  CHECK_THROWS_AS(files.downloadTo("/data/missing.bin", (dir / "missing.bin").string()),
                  NotFoundError);
  CHECK_FALSE(fs::exists(dir / "missing.bin"));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);
  fs::remove_all(dir);
}

TEST_CASE("the emulator refuses traversal even when the client's check is bypassed") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto ws = newWorkspace(rt, "guarded");
  rt.workspace.files(ws.id).createFile("/inside.txt", "inside");

  auto transport = makeCurlTransport();
  auto send = [&](const std::string& method, const std::string& pathAndQuery,
                  const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.url = env.baseUrl() + "/v1/workspaces/" + ws.id + pathAndQuery;
    request.headers.add("X-API-Key", env.apiKey());
    if (!body.empty()) request.headers.add("Content-Type", "application/json");
    request.body = body;
    return transport->send(request);
  };
  for (const char* target :
       {"/files/..%2F..%2Fetc", "/files/%2e%2e/%2e%2e/etc/passwd", "/files/%2E%2E",
        "/files/a/%2e%2e/%2e%2e", "/direct?id=/../../etc/passwd", "/direct?id=..%2Finside.txt",
        "/info/%2e%2e"}) {
    INFO(target);
    const auto response = send("GET", target);
    CHECK(response.status == 400);
    CHECK(response.body.find("validation_error") != std::string::npos);
  }
  CHECK(send("PUT", "/files/inside.txt", R"({"operation":"move","target":"/../.."})").status ==
        400);
  CHECK(send("DELETE", "/files", R"({"ids":["/../inside.txt"]})").status == 400);
  CHECK(rt.workspace.files(ws.id).download("/inside.txt") == "inside");
}

TEST_CASE("a mounted workspace is shared with the sandbox both ways") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto ws = newWorkspace(rt, "shared");
  auto files = rt.workspace.files(ws.id);
  files.upload("/input.txt", "from the API\n");

  CreateSandboxOptions options;
  options.mounts = {Mount{ws.id, "/workspace/data", false}};
  auto sandbox = rt.sandbox.create(options);
  sandbox.waitForReady(std::chrono::seconds(20), milliseconds(20));
  REQUIRE(sandbox.state()->mounts.size() == 1);
  CHECK(sandbox.state()->mounts[0].workspaceId == ws.id);
  CHECK(sandbox.state()->hasWritableWorkspaceMount);

  ExecOptions inMount;
  inMount.cwd = "/workspace/data";
  CHECK(sandbox.exec("cat input.txt", inMount).stdoutText == "from the API\n");
  CHECK(sandbox.exec("cat data/input.txt").stdoutText == "from the API\n");
  CHECK(sandbox.exec("mkdir -p out && echo from exec > out/result.txt", inMount).exitCode == 0);
  CHECK(files.download("/out/result.txt") == "from exec\n");
  CHECK(names(files.list("/out")) == std::vector<std::string>{"result.txt"});

  const auto usage = rt.workspace.usage(ws.id);
  CHECK(usage.inUse);
  REQUIRE(usage.mountedSandboxes.size() == 1);
  CHECK(usage.mountedSandboxes[0].sandboxId == sandbox.id());
  CHECK(usage.mountedSandboxes[0].mountPath == "/workspace/data");
  try {
    rt.workspace.remove(ws.id);
    FAIL("an in-use workspace must not be deleted without force");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("WORKSPACE_IN_USE"));
  }

  // Destroying the sandbox keeps the workspace's files.
  sandbox.destroy();
  CHECK(files.download("/out/result.txt") == "from exec\n");
  CHECK_FALSE(rt.workspace.usage(ws.id).inUse);
  rt.workspace.remove(ws.id);
}

TEST_CASE("force deletes a workspace that is still mounted") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  const auto ws = newWorkspace(rt, "forced");
  CreateSandboxOptions options;
  options.mounts = {Mount{ws.id, "/workspace", false}};
  rt.sandbox.create(options);
  CHECK_THROWS_AS(rt.workspace.remove(ws.id), ConflictError);
  rt.workspace.remove(ws.id, RemoveWorkspaceOptions{true});
  CHECK_THROWS_AS(rt.workspace.get(ws.id), NotFoundError);
}

TEST_CASE("a sandbox cannot mount an unknown workspace") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  CreateSandboxOptions options;
  options.mounts = {Mount{"00000000-0000-4000-8000-000000000000", "/workspace/x", false}};
  CHECK_THROWS_AS(rt.sandbox.create(options), NotFoundError);
}

TEST_CASE("one organization never sees another's workspaces") {
  test::EmulatorEnv env;
  RunTools alice = env.client();
  RunTools bob = env.client(env.emulator().mintKey());
  const auto ws = newWorkspace(alice, "private");
  alice.workspace.files(ws.id).createFile("/secret.txt", "alice only");

  CHECK_THROWS_AS(bob.workspace.get(ws.id), NotFoundError);
  CHECK_THROWS_AS(bob.workspace.files(ws.id).list(), NotFoundError);
  CHECK_THROWS_AS(bob.workspace.files(ws.id).download("/secret.txt"), NotFoundError);
  CHECK_THROWS_AS(bob.workspace.remove(ws.id, RemoveWorkspaceOptions{true}), NotFoundError);
  CHECK(bob.workspace.list().workspaces.empty());
  CreateSandboxOptions options;
  options.mounts = {Mount{ws.id, "/workspace/x", false}};
  CHECK_THROWS_AS(bob.sandbox.create(options), NotFoundError);
  CHECK(alice.workspace.files(ws.id).download("/secret.txt") == "alice only");
}
