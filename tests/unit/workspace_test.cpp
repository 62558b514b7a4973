#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fake_services.hpp"
#include "internal/random.hpp"
#include "internal/streams.hpp"
#include "internal/workspace_path.hpp"
#include "runtools/errors.hpp"
#include "runtools/workspace.hpp"

using nlohmann::json;
using namespace runtools;
namespace fs = std::filesystem;

namespace {

const char* const kBase = "https://storage.example.test/v1/workspaces/ws-1";

struct Files {
  test::FakeServices fake{[] {
    ClientOptions options;
    options.storageUrl = "https://storage.example.test";
    return options;
  }()};
  WorkspaceClient client{fake.api(), fake.services->storage};
  WorkspaceFiles files = client.files("ws-1");
};

json entry(const std::string& id, const std::string& type, std::int64_t size = 0) {
  return {{"id", id},
          {"value", id.substr(id.find_last_of('/') + 1)},
          {"type", type},
          {"size", size},
          {"date", "2026-05-06T10:00:00.000Z"}};
}

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("rt-unit-" + internal::randomHex(8));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("workspace paths normalise slashes and refuse ..") {
  using internal::WorkspacePath;
  CHECK(WorkspacePath::parse("/a/b.txt").id() == "/a/b.txt");
  CHECK(WorkspacePath::parse("a//b.txt/").id() == "/a/b.txt");
  CHECK(WorkspacePath::parse("./a/./b").id() == "/a/b");
  CHECK(WorkspacePath::parse("/").isRoot());
  CHECK(WorkspacePath::parse("").id() == "/");
  CHECK(WorkspacePath::parse("/my dir/a#b?.txt").encoded() == "/my%20dir/a%23b%3F.txt");
  for (const char* bad : {"..", "/../etc/passwd", "a/../../b", "a/..", "../"}) {
    INFO(bad);
    CHECK_THROWS_AS(WorkspacePath::parse(bad), InvalidArgumentError);
  }
  CHECK_THROWS_AS(WorkspacePath::parse(std::string("a\0b", 3)), InvalidArgumentError);
  // Dots inside a name are just characters.
  CHECK(WorkspacePath::parse("/a..b/...").id() == "/a..b/...");
}

TEST_CASE("traversal is refused before any request") {
  Files f;
  CHECK_THROWS_AS(f.files.list("../other"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.download("/a/../../etc/passwd"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.write("..", "x"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.move("/a", "/../b"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.removeMany(std::vector<std::string>{"/ok", "/../no"}),
                  InvalidArgumentError);
  CHECK_THROWS_AS(f.files.rename("/a", "../b"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.rename("/a", "b/c"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.upload("/../x.bin", "data"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.remove("/"), InvalidArgumentError);
  CHECK(f.fake.transport->requests().empty());
}

TEST_CASE("listing reads both entry shapes") {
  Files f;
  f.fake.transport->enqueueJson(200, json::array({
                                         entry("/src", "folder"),
                                         {{"id", "/b.txt"},
                                          {"name", "b.txt"},
                                          {"type", "file"},
                                          {"size", 5},
                                          {"mtime", "2026-05-06T10:00:00Z"},
                                          {"mimeType", "text/plain"},
                                          {"path", "/b.txt"}},
                                         {{"id", "/docs"}, {"type", "directory"}, {"count", 3}},
                                     }));
  const auto entries = f.files.list("/", ListFilesOptions{true});
  CHECK(f.fake.transport->lastRequest().url == std::string(kBase) + "/files?showHidden=true");
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].isFolder());
  CHECK(entries[0].name == "src");
  CHECK(entries[0].modifiedAt.has_value());
  CHECK(entries[1].name == "b.txt");
  CHECK(entries[1].size == 5);
  CHECK(entries[1].mimeType == std::optional<std::string>("text/plain"));
  CHECK(entries[1].modifiedAt.has_value());
  CHECK(entries[2].type == "folder");
  CHECK(entries[2].name == "docs");
  CHECK(entries[2].count == 3);

  f.fake.transport->enqueueJson(200, json::array());
  f.files.list("/a b/c");
  CHECK(f.fake.transport->lastRequest().url == std::string(kBase) + "/files/a%20b/c");
}

TEST_CASE("create, write, rename, move and copy send the documented bodies") {
  Files f;
  f.fake.transport->enqueueJson(201, test::envelope(entry("/src/lib", "folder")));
  CHECK(f.files.createFolder("src/lib").isFolder());
  auto request = f.fake.transport->lastRequest();
  CHECK(request.method == "POST");
  CHECK(request.url == std::string(kBase) + "/files/src");
  CHECK(json::parse(request.body) == json{{"type", "folder"}, {"name", "lib"}});

  f.fake.transport->enqueueJson(201, test::envelope(entry("/notes.txt", "file", 2)));
  f.files.createFile("/notes.txt", "hi");
  request = f.fake.transport->lastRequest();
  CHECK(request.url == std::string(kBase) + "/files");
  CHECK(json::parse(request.body) ==
        json{{"type", "file"}, {"name", "notes.txt"}, {"contents", "hi"}});

  f.fake.transport->enqueueJson(200, test::envelope(entry("/notes.txt", "file", 3)));
  f.files.write("/notes.txt", "new");
  request = f.fake.transport->lastRequest();
  CHECK(request.method == "PUT");
  CHECK(request.url == std::string(kBase) + "/files/notes.txt");
  CHECK(json::parse(request.body) == json{{"operation", "write"}, {"contents", "new"}});

  f.fake.transport->enqueueJson(200, test::envelope(entry("/n.txt", "file")));
  CHECK(f.files.rename("/notes.txt", "n.txt").name == "n.txt");
  CHECK(json::parse(f.fake.transport->lastRequest().body) ==
        json{{"operation", "rename"}, {"target", "n.txt"}});

  f.fake.transport->enqueueJson(200, test::envelope(entry("/src/n.txt", "file")));
  f.files.move("/n.txt", "src/");
  CHECK(json::parse(f.fake.transport->lastRequest().body) ==
        json{{"operation", "move"}, {"target", "/src"}});

  // An acknowledgement without an entry still yields the entry asked for.
  f.fake.transport->enqueueJson(200, test::envelope("Updated."));
  const auto copied = f.files.copy("/src/n.txt", "/");
  CHECK(copied.id == "/src/n.txt");
  CHECK(json::parse(f.fake.transport->lastRequest().body) ==
        json{{"operation", "copy"}, {"target", "/"}});
}

TEST_CASE("a rename, move or copy is never repeated after a 503") {
  Files f;
  f.fake.transport->enqueue(HttpResponse{503, {}, ""});
  CHECK_THROWS_AS(f.files.copy("/a", "/b"), ServerError);
  CHECK(f.fake.transport->requests().size() == 1);
}

TEST_CASE("batches are capped at 250 ids client-side") {
  Files f;
  std::vector<std::string> many;
  for (int i = 0; i < 251; ++i)
    many.push_back("/f" + std::to_string(i));
  CHECK_THROWS_WITH(f.files.moveMany(many, "/dest"), Catch::Contains("250"));
  CHECK_THROWS_AS(f.files.copyMany(many, "/dest"), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.removeMany(many), InvalidArgumentError);
  CHECK_THROWS_AS(f.files.removeMany(std::vector<std::string>{}), InvalidArgumentError);
  CHECK(f.fake.transport->requests().empty());

  many.pop_back();
  f.fake.transport->enqueueJson(200, test::envelope({{"ids", {"/dest/f0"}}}));
  CHECK(f.files.copyMany(many, "dest") == std::vector<std::string>{"/dest/f0"});
  const auto body = json::parse(f.fake.transport->lastRequest().body);
  CHECK(body["operation"] == "copy");
  CHECK(body["ids"].size() == 250);
  CHECK(body["target"] == "/dest");

  f.fake.transport->enqueueJson(200, test::envelope({{"deleted", 2}}));
  CHECK(f.files.removeMany(std::vector<std::string>{"a", "/b/"}) == 2);
  const auto del = f.fake.transport->lastRequest();
  CHECK(del.method == "DELETE");
  CHECK(json::parse(del.body) == json{{"ids", {"/a", "/b"}}});
}

TEST_CASE("uploads are multipart with the file part and the name") {
  Files f;
  f.fake.transport->enqueueJson(201, test::envelope(entry("/bin/data.bin", "file", 4)));
  const std::string bytes("\0\1\2\3", 4);
  f.files.upload("/bin/data.bin", bytes);
  const auto request = f.fake.transport->lastRequest();
  CHECK(request.method == "POST");
  CHECK(request.url == std::string(kBase) + "/upload/bin");
  const auto type = request.headers.get("Content-Type").value_or("");
  REQUIRE(type.rfind("multipart/form-data; boundary=", 0) == 0);
  const std::string boundary = type.substr(type.find('=') + 1);
  const std::string expected =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      bytes + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n" +
      "data.bin\r\n--" + boundary + "--\r\n";
  CHECK(request.body == expected);
}

TEST_CASE("uploading a local file streams it, and files above 100 MB are refused first") {
  Files f;
  TempDir dir;
  const auto small = dir.path / "small.txt";
  std::ofstream(small) << "from disk";
  f.fake.transport->enqueueJson(201, test::envelope(entry("/small.txt", "file", 9)));
  f.files.uploadFile(small.string(), "/small.txt");
  CHECK(f.fake.transport->lastRequest().body.find("\r\n\r\nfrom disk\r\n") != std::string::npos);

  const auto big = dir.path / "big.bin";
  { std::ofstream(big).close(); }
  fs::resize_file(big, kMaxUploadBytes + 1);  // sparse: costs no disk
  // Refused locally: a FileTooLargeError (an InvalidArgumentError), never
  // the server's 413 PayloadTooLargeError / an ApiError.
  try {
    f.files.uploadFile(big.string(), "/big.bin");
    FAIL("expected FileTooLargeError");
  } catch (const ApiError&) {
    FAIL("a size checked before sending must not look like an HTTP answer");
  } catch (const FileTooLargeError& e) {
    CHECK(e.size() == kMaxUploadBytes + 1);
    CHECK(e.limit() == kMaxUploadBytes);
    CHECK(std::string(e.what()).find("big.bin") != std::string::npos);
  }
  CHECK_THROWS_AS(f.files.uploadFile(big.string(), "/big.bin"), InvalidArgumentError);
  {
    const std::string tooMuch(kMaxUploadBytes + 1, 'x');
    CHECK_THROWS_AS(f.files.upload("/big.bin", tooMuch), FileTooLargeError);
  }
  CHECK(f.fake.transport->requests().size() == 1);
  CHECK_THROWS_AS(f.files.uploadFile((dir.path / "missing").string(), "/m"), FileError);
  CHECK_THROWS_AS(f.files.uploadFile(dir.path.string(), "/d"), FileError);
}

TEST_CASE("downloads to memory and to a file") {
  Files f;
  f.fake.transport->enqueue(HttpResponse{
      200, {{"Content-Type", "application/octet-stream"}}, std::string("raw\0bytes", 9)});
  CHECK(f.files.download("/x.bin") == std::string("raw\0bytes", 9));
  const auto request = f.fake.transport->lastRequest();
  CHECK(request.url == std::string(kBase) + "/direct?id=%2Fx.bin&download=true");

  TempDir dir;
  const auto target = dir.path / "out.bin";
  f.fake.transport->enqueue(HttpResponse{200, {}, "file body"});
  f.files.downloadTo("/x.bin", target.string());
  std::ifstream in(target, std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "file body");
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("a failed download leaves neither the target nor a partial file") {
  Files f;
  TempDir dir;
  const auto target = dir.path / "out.bin";
  f.fake.transport->enqueueJson(404, {{"error", {{"code", "not_found"}, {"message", "no"}}}});
  CHECK_THROWS_AS(f.files.downloadTo("/missing", target.string()), NotFoundError);
  CHECK(fs::is_empty(dir.path));

  // An existing file under the target name survives a failed download.
  std::ofstream(target) << "previous";
  f.fake.transport->enqueueException(
      std::make_exception_ptr(TransportError(TransportError::Kind::Network, "connection reset")));
  CHECK_THROWS_AS(f.files.downloadTo("/x", target.string()), TransportError);
  std::ifstream in(target);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "previous");
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("workspace metadata calls") {
  Files f;
  f.fake.transport->enqueueJson(
      200, test::envelope(
               {{"workspaces",
                 {{{"id", "ws-1"},
                   {"slug", "data"},
                   {"name", "Data"},
                   {"sizeBytes", 10},
                   {"quotaBytes", 100}}}},
                {"storage", {{"usedBytes", 10}, {"quotaBytes", 1000}, {"unlimited", false}}}}));
  const auto listed = f.client.list();
  REQUIRE(listed.workspaces.size() == 1);
  CHECK(listed.workspaces[0].slug == "data");
  CHECK(listed.storage.quotaBytes == 1000);
  CHECK(f.fake.transport->lastRequest().url == "https://api.example.test/v1/workspaces");

  f.fake.transport->enqueueJson(
      201, test::envelope(
               {{"id", "ws-2"}, {"slug", "my-data"}, {"name", "My Data"}, {"nfsPath", "/nfs"}}));
  CreateWorkspaceOptions create;
  create.name = "My Data";
  CHECK(f.client.create(create).nfsPath == std::optional<std::string>("/nfs"));
  CHECK(json::parse(f.fake.transport->lastRequest().body) == json{{"name", "My Data"}});
  CHECK_THROWS_AS(f.client.create(CreateWorkspaceOptions{}), InvalidArgumentError);

  f.fake.transport->enqueueJson(
      409, {{"error", {{"code", "WORKSPACE_IN_USE"}, {"message", "mounted"}}}});
  try {
    f.client.remove("ws-1");
    FAIL("expected ConflictError");
  } catch (const ConflictError& e) {
    CHECK(e.hasCode("workspace_in_use"));
  }
  f.fake.transport->enqueueJson(200, test::envelope({{"id", "ws-1"}, {"deleted", true}}));
  f.client.remove("ws-1", RemoveWorkspaceOptions{true});
  CHECK(f.fake.transport->lastRequest().url ==
        "https://api.example.test/v1/workspaces/ws-1?force=true");

  f.fake.transport->enqueueJson(
      200, test::envelope({{"workspaceId", "ws-1"},
                           {"inUse", true},
                           {"mountedSandboxes",
                            {{{"sandboxId", "sandbox-1"}, {"mountPath", "/workspace/data"}}}}}));
  const auto usage = f.client.usage("ws-1");
  CHECK(usage.inUse);
  REQUIRE(usage.mountedSandboxes.size() == 1);
  CHECK(usage.mountedSandboxes[0].mountPath == "/workspace/data");
}

TEST_CASE("storage and path info") {
  Files f;
  f.fake.transport->enqueueJson(200, json::array({{{"free", 90}, {"total", 100}, {"used", 10}}}));
  const auto info = f.files.info();
  CHECK(info.total == 100);
  CHECK(info.free == 90);
  f.fake.transport->enqueueJson(
      200, test::envelope({{"path", "/src"}, {"type", "folder"}, {"size", 42}, {"count", 3}}));
  const auto path = f.files.info("src");
  CHECK(f.fake.transport->lastRequest().url == std::string(kBase) + "/info/src");
  CHECK(path.size == 42);
  CHECK(path.count == 3);
  CHECK(path.type == "folder");
}
