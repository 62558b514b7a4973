// Workspace files (storage routes): entries, listing, create, write/rename/move/copy, batch,
// delete, info, direct download, and every path-traversal refusal, including symlinks made by
// a command in a mounted sandbox, with a canary outside the workspace that must stay intact.
#include <sys/stat.h>

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

// A workspace with a small tree, and helpers to reach its routes.
struct Fixture {
  rtemu::Emulator emu{fastConfig()};
  std::unique_ptr<Api> api;
  std::string id;
  std::string base;
  fs::path files;

  Fixture() {
    emu.start();
    api = std::make_unique<Api>(emu, emu.apiKey());
    id = api->createWorkspace("Files");
    base = "/v1/workspaces/" + id;
    files = fs::path(emu.stateDir()) / "workspaces" / id / "files";
  }
  Response create(const std::string& parent, Json body) {
    return api->post(base + "/files" + parent, body);
  }
  void file(const std::string& parent, const std::string& name, const std::string& contents) {
    const Response r = create(parent, Json{{"name", name}, {"contents", contents}});
    INFO(r.raw);
    REQUIRE(r.status == 201);
  }
  void folder(const std::string& parent, const std::string& name) {
    const Response r = create(parent, Json{{"name", name}, {"type", "folder"}});
    INFO(r.raw);
    REQUIRE(r.status == 201);
  }
  Json list(const std::string& path = "") {
    const Response r = api->get(base + "/files" + path);
    INFO(r.raw);
    REQUIRE(r.status == 200);
    return r.body;
  }
  std::string download(const std::string& path) {
    const Response r = api->get(base + "/direct?id=" + path);
    INFO(r.raw);
    REQUIRE(r.status == 200);
    return r.raw;
  }
  Response put(const std::string& path, Json body) {
    return api->call("PUT", base + "/files" + path, body);
  }
  Response del(Json ids) { return api->call("DELETE", base + "/files", Json{{"ids", ids}}); }
};

}  // namespace

TEST_CASE("file entries carry both documented shapes") {
  Fixture f;
  const Response created = f.create("", Json{{"name", "index.ts"}, {"contents", "hello"}});
  REQUIRE(created.status == 201);
  const Json file = created.data();
  const std::set<std::string> keys = {"id",    "value", "name",     "path", "type", "date",
                                      "mtime", "size",  "mimeType", "lazy", "count"};
  std::set<std::string> got;
  for (const auto& [k, v] : file.items())
    got.insert(k);
  REQUIRE(got == keys);
  REQUIRE(file["id"] == "/index.ts");
  REQUIRE(file["path"] == "/index.ts");
  REQUIRE(file["value"] == "index.ts");
  REQUIRE(file["name"] == "index.ts");
  REQUIRE(file["type"] == "file");
  REQUIRE(std::regex_match(file["date"].get<std::string>(), kTimestamp));
  REQUIRE(file["mtime"] == file["date"]);
  REQUIRE(file["size"] == 5);
  REQUIRE(file["mimeType"] == "text/typescript");
  REQUIRE(file["lazy"] == false);
  REQUIRE(file["count"] == 0);
  REQUIRE(readFile(f.files / "index.ts") == "hello");

  const Json empty = f.create("", Json{{"name", "empty"}, {"type", "directory"}}).data();
  REQUIRE(empty["type"] == "folder");
  REQUIRE(empty["size"] == 0);
  REQUIRE(empty["mimeType"].is_null());
  REQUIRE(empty["lazy"] == false);
  REQUIRE(empty["count"] == 0);
  f.file("/empty", "a.json", "{}");
  f.file("/empty", ".hidden", "");
  const Json listed = f.list();
  REQUIRE(listed.is_array());  // bare, no envelope
  REQUIRE(listed[0]["id"] == "/empty");
  REQUIRE(listed[0]["lazy"] == true);
  REQUIRE(listed[0]["count"] == 2);
  REQUIRE(f.list("/empty")[0]["mimeType"] == "application/json");
  REQUIRE(f.create("/empty", Json{{"name", "noext"}}).data()["mimeType"] ==
          "application/octet-stream");
  REQUIRE(f.create("/empty", Json{{"name", "pic.PNG"}}).data()["mimeType"] == "image/png");
}

TEST_CASE("listing: folders first, byte order, hidden files, errors") {
  Fixture f;
  for (const char* name : {"b.txt", "B.txt", "a.txt", ".env", "_x", "~z"})
    f.file("", name, "x");
  for (const char* name : {"zdir", "Adir", ".git"})
    f.folder("", name);
  REQUIRE(ids(f.list()) ==
          std::vector<std::string>{"/Adir", "/zdir", "/B.txt", "/_x", "/a.txt", "/b.txt", "/~z"});
  REQUIRE(ids(f.list("?showHidden=true")) == std::vector<std::string>{"/.git", "/Adir", "/zdir",
                                                                      "/.env", "/B.txt", "/_x",
                                                                      "/a.txt", "/b.txt", "/~z"});
  REQUIRE(ids(f.list("/?showHidden=false")) == ids(f.list()));
  f.file("/zdir", "inner.md", "# hi");
  REQUIRE(ids(f.list("/zdir")) == std::vector<std::string>{"/zdir/inner.md"});
  REQUIRE(ids(f.list("/zdir/")) == ids(f.list("//zdir//")));
  REQUIRE(f.list("/.git").empty());

  requireError(f.api->get(f.base + "/files/missing"), 404, "not_found");
  requireError(f.api->get(f.base + "/files/missing/deeper"), 404, "not_found");
  requireError(f.api->get(f.base + "/files/a.txt"), 400, "validation_error");
  requireError(f.api->get(f.base + "/files/a.txt/x"), 404, "not_found");
  // Percent-encoded names are decoded per segment.
  f.file("", "with space & %.txt", "s");
  REQUIRE(f.download("/with%20space%20%26%20%25.txt") == "s");
  const std::vector<std::string> listed = ids(f.list());
  REQUIRE(std::find(listed.begin(), listed.end(), "/with space & %.txt") != listed.end());
}

TEST_CASE("create: folders and files, conflicts and bad names") {
  Fixture f;
  f.folder("", "src");
  f.folder("/src", "lib");
  const Response nested = f.create("/src/lib", Json{{"name", "util.py"}, {"contents", "print(1)"}});
  REQUIRE(nested.status == 201);
  REQUIRE(nested.data()["id"] == "/src/lib/util.py");
  REQUIRE(nested.data()["mimeType"] == "text/x-python");
  REQUIRE(readFile(f.files / "src" / "lib" / "util.py") == "print(1)");
  REQUIRE(f.create("", Json{{"name", "no-contents"}}).data()["size"] == 0);

  requireError(f.create("/src", Json{{"name", "lib"}}), 409, "already_exists");
  requireError(f.create("/src", Json{{"name", "lib"}, {"type", "folder"}}), 409, "already_exists");
  requireError(f.create("/src/lib", Json{{"name", "util.py"}, {"contents", "overwrite?"}}), 409,
               "already_exists");
  REQUIRE(readFile(f.files / "src" / "lib" / "util.py") == "print(1)");
  requireError(f.create("/src/lib/util.py", Json{{"name", "x"}}), 400, "validation_error");
  requireError(f.create("/src/lib/util.py/deeper", Json{{"name", "x"}}), 400, "validation_error");
  requireError(f.create("", Json::object()), 400, "validation_error");
  requireError(f.create("", Json{{"name", "x"}, {"type", "symlink"}}), 400, "validation_error");
  requireError(f.create("", Json{{"name", "x"}, {"contents", 5}}), 400, "validation_error");
  for (const std::string& bad : {std::string(""), std::string("."), std::string(".."),
                                 std::string("a/b"), std::string("../x"), std::string("/abs"),
                                 std::string("nul\0byte", 8), std::string(256, 'n')}) {
    INFO(bad);
    const Response r = f.create("", Json{{"name", bad}});
    requireError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == "name");
  }
  REQUIRE(f.create("", Json{{"name", std::string(255, 'n')}}).status == 201);
  REQUIRE(f.create("", Json{{"name", "back\\slash"}}).status == 201);  // a legal file name
}

TEST_CASE("put: write, rename, move and copy of one entry") {
  Fixture f;
  f.folder("", "docs");
  f.folder("", "archive");
  f.file("/docs", "a.txt", "one");

  // write: replaces, creates when the folder exists.
  Response r = f.put("/docs/a.txt", Json{{"operation", "write"}, {"contents", "two"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/docs/a.txt");
  REQUIRE(r.data()["size"] == 3);
  REQUIRE(f.download("/docs/a.txt") == "two");
  r = f.put("/docs/new.txt", Json{{"operation", "write"}, {"contents", "fresh"}});
  REQUIRE(r.status == 200);
  REQUIRE(f.download("/docs/new.txt") == "fresh");
  REQUIRE(f.put("/docs/new.txt", Json{{"operation", "write"}, {"contents", "\xc3\xa9t\xc3\xa9"}})
              .status == 200);
  REQUIRE(f.download("/docs/new.txt") == "\xc3\xa9t\xc3\xa9");
  requireError(f.put("/docs", Json{{"operation", "write"}, {"contents", "x"}}), 400,
               "validation_error");
  requireError(f.put("/docs/a.txt", Json{{"operation", "write"}}), 400, "validation_error");
  requireError(f.put("/docs/a.txt/b.txt", Json{{"operation", "write"}, {"contents", "x"}}), 400,
               "validation_error");
  requireError(f.put("/docs/a.txt", Json{{"operation", "explode"}}), 400, "validation_error");
  requireError(f.put("/docs/a.txt", Json::object()), 400, "validation_error");

  // rename.
  r = f.put("/docs/a.txt", Json{{"operation", "rename"}, {"target", "b.txt"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/docs/b.txt");
  REQUIRE_FALSE(fs::exists(f.files / "docs" / "a.txt"));
  requireError(f.put("/docs/b.txt", Json{{"operation", "rename"}, {"target", "new.txt"}}), 409,
               "already_exists");
  requireError(f.put("/docs/b.txt", Json{{"operation", "rename"}, {"target", "x/y"}}), 400,
               "validation_error");
  requireError(f.put("/docs/gone.txt", Json{{"operation", "rename"}, {"target", "z"}}), 404,
               "not_found");
  REQUIRE(f.put("/docs", Json{{"operation", "rename"}, {"target", "papers"}}).data()["id"] ==
          "/papers");

  // move keeps the name; copy is recursive.
  r = f.put("/papers/b.txt", Json{{"operation", "move"}, {"target", "/archive"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/archive/b.txt");
  REQUIRE(f.download("/archive/b.txt") == "two");
  REQUIRE_FALSE(fs::exists(f.files / "papers" / "b.txt"));
  f.folder("/papers", "deep");
  f.file("/papers/deep", "leaf.txt", "leaf");
  r = f.put("/papers", Json{{"operation", "copy"}, {"target", "archive"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/archive/papers");
  REQUIRE(r.data()["type"] == "folder");
  REQUIRE(f.download("/archive/papers/deep/leaf.txt") == "leaf");
  REQUIRE(f.download("/papers/deep/leaf.txt") == "leaf");  // the original stays
  requireError(f.put("/papers", Json{{"operation", "copy"}, {"target", "/archive"}}), 409,
               "already_exists");
  requireError(f.put("/papers", Json{{"operation", "move"}, {"target", "/papers/deep"}}), 400,
               "validation_error");
  requireError(f.put("/papers", Json{{"operation", "copy"}, {"target", "/papers"}}), 400,
               "validation_error");
  requireError(f.put("/missing", Json{{"operation", "move"}, {"target", "/archive"}}), 404,
               "not_found");
  requireError(f.put("/papers", Json{{"operation", "move"}, {"target", "/archive/b.txt"}}), 400,
               "validation_error");
}

TEST_CASE("batch copy/move: all or nothing, new ids in order, 250 ids at most") {
  Fixture f;
  f.folder("", "in");
  f.folder("", "out");
  for (const char* name : {"1.txt", "2.txt", "3.txt"})
    f.file("/in", name, name);
  f.folder("/in", "sub");
  f.file("/in/sub", "s.txt", "s");

  Response r = f.put("", Json{{"operation", "copy"},
                              {"ids", {"/in/2.txt", "in/sub/", "/in/1.txt"}},
                              {"target", "/out"}});
  INFO(r.raw);
  REQUIRE(r.status == 200);
  REQUIRE(r.data() == Json{{"ids", {"/out/2.txt", "/out/sub", "/out/1.txt"}}});
  REQUIRE(f.download("/out/sub/s.txt") == "s");
  REQUIRE(f.download("/in/2.txt") == "2.txt");

  // A missing id or an existing destination changes nothing.
  requireError(
      f.put("",
            Json{{"operation", "move"}, {"ids", {"/in/3.txt", "/in/missing"}}, {"target", "/out"}}),
      404, "not_found");
  requireError(
      f.put("",
            Json{{"operation", "move"}, {"ids", {"/in/3.txt", "/in/1.txt"}}, {"target", "/out"}}),
      409, "already_exists");
  REQUIRE(fs::exists(f.files / "in" / "3.txt"));
  REQUIRE_FALSE(fs::exists(f.files / "out" / "3.txt"));

  r = f.put("", Json{{"operation", "move"}, {"ids", {"/in/3.txt", "/in/sub"}}, {"target", "/"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data() == Json{{"ids", {"/3.txt", "/sub"}}});
  REQUIRE_FALSE(fs::exists(f.files / "in" / "3.txt"));
  REQUIRE(f.download("/sub/s.txt") == "s");

  requireError(f.put("", Json{{"operation", "move"}, {"ids", {"/out"}}, {"target", "/out/sub"}}),
               400, "validation_error");
  requireError(f.put("", Json{{"operation", "move"}, {"ids", {"/"}}, {"target", "/out"}}), 400,
               "validation_error");
  requireError(
      f.put("", Json{{"operation", "move"}, {"ids", {"/sub", "/sub/s.txt"}}, {"target", "/out"}}),
      400, "validation_error");
  REQUIRE(fs::exists(f.files / "sub" / "s.txt"));
  requireError(f.put("", Json{{"operation", "rename"}, {"ids", {"/3.txt"}}, {"target", "/out"}}),
               400, "validation_error");
  requireError(f.put("", Json{{"operation", "copy"}, {"ids", Json::array()}, {"target", "/out"}}),
               400, "validation_error");
  requireError(f.put("", Json{{"operation", "copy"}, {"target", "/out"}}), 400, "validation_error");
  requireError(f.put("", Json{{"operation", "copy"}, {"ids", {"/3.txt"}}}), 400,
               "validation_error");
  requireError(f.put("", Json{{"operation", "copy"}, {"ids", {"/3.txt"}}, {"target", "/3.txt"}}),
               400, "validation_error");
  requireError(f.put("", Json{{"operation", "copy"}, {"ids", {"/3.txt"}}, {"target", "/3.txt/x"}}),
               400, "validation_error");

  Json many = Json::array();
  for (int i = 0; i < 251; ++i)
    many.push_back("/3.txt");
  const Response tooMany =
      f.put("", Json{{"operation", "copy"}, {"ids", many}, {"target", "/out"}});
  requireError(tooMany, 400, "validation_error");
  REQUIRE(tooMany.body["error"]["details"]["field"] == "ids");
  requireError(f.del(many), 400, "validation_error");
  REQUIRE(fs::exists(f.files / "3.txt"));

  // 250 distinct ids are fine.
  Json names = Json::array();
  for (int i = 0; i < 250; ++i) {
    const std::string name = "n" + std::to_string(i);
    std::ofstream(f.files / "in" / name) << i;
    names.push_back("/in/" + name);
  }
  r = f.put("", Json{{"operation", "move"}, {"ids", names}, {"target", "/out"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["ids"].size() == 250);
  REQUIRE(r.data()["ids"][249] == "/out/n249");
  const Response deleted = f.del(r.data()["ids"]);
  REQUIRE(deleted.status == 200);
  REQUIRE(deleted.data() == Json{{"deleted", 250}});
}

TEST_CASE("delete: body or query ids, recursive, all or nothing") {
  Fixture f;
  f.folder("", "tree");
  f.folder("/tree", "branch");
  f.file("/tree/branch", "leaf.txt", "l");
  f.file("", "a.txt", "a");
  f.file("", "b.txt", "b");
  f.file("", "c.txt", "c");

  requireError(f.del({"/a.txt", "/missing.txt"}), 404, "not_found");
  REQUIRE(fs::exists(f.files / "a.txt"));
  requireError(f.del({"/"}), 400, "validation_error");
  requireError(f.del(Json::array()), 400, "validation_error");
  requireError(f.api->call("DELETE", f.base + "/files"), 400, "validation_error");

  Response r = f.del({"/tree", "a.txt"});
  REQUIRE(r.status == 200);
  REQUIRE(r.data() == Json{{"deleted", 2}});
  REQUIRE_FALSE(fs::exists(f.files / "tree"));
  REQUIRE_FALSE(fs::exists(f.files / "a.txt"));
  r = f.api->call("DELETE", f.base + "/files?ids=/b.txt,c.txt");
  REQUIRE(r.status == 200);
  REQUIRE(r.data() == Json{{"deleted", 2}});
  REQUIRE(f.list().empty());
}

TEST_CASE("info and direct download") {
  Fixture f;
  f.folder("", "d");
  f.folder("/d", "e");
  f.file("/d", "one.txt", "12345");
  f.file("/d/e", "two.bin", std::string(1000, 'z'));

  const Json usage = f.api->get(f.base + "/info").body;
  REQUIRE(
      usage ==
      Json::array({{{"free", 10737418240LL - 1005}, {"total", 10737418240LL}, {"used", 1005}}}));
  REQUIRE(f.api->get(f.base + "/info/d").data() ==
          Json{{"path", "/d"}, {"type", "folder"}, {"size", 1005}, {"count", 3}});
  REQUIRE(f.api->get(f.base + "/info/d/one.txt").data() ==
          Json{{"path", "/d/one.txt"}, {"type", "file"}, {"size", 5}, {"count", 0}});
  REQUIRE(f.api->get(f.base + "/info/").data()["count"] == 4);
  requireError(f.api->get(f.base + "/info/nope"), 404, "not_found");

  Response r = f.api->get(f.base + "/direct?id=/d/one.txt");
  REQUIRE(r.status == 200);
  REQUIRE(r.raw == "12345");
  REQUIRE(r.header("Content-Type") == "text/plain");
  REQUIRE(r.header("Content-Disposition") == "inline; filename=\"one.txt\"");
  r = f.api->get(f.base + "/direct?id=d/e/two.bin&download=true");
  REQUIRE(r.raw == std::string(1000, 'z'));
  REQUIRE(r.header("Content-Type") == "application/octet-stream");
  REQUIRE(r.header("Content-Disposition") == "attachment; filename=\"two.bin\"");
  REQUIRE(f.api->get(f.base + "/direct?id=%2Fd%2Fone.txt&download=false").raw == "12345");
  f.file("", "empty.txt", "");
  r = f.api->get(f.base + "/direct?id=/empty.txt");
  REQUIRE(r.status == 200);
  REQUIRE(r.raw.empty());

  requireError(f.api->get(f.base + "/direct?id=/d/missing"), 404, "not_found");
  requireError(f.api->get(f.base + "/direct?id=/d"), 400, "validation_error");
  requireError(f.api->get(f.base + "/direct?id=/"), 400, "validation_error");
  requireError(f.api->get(f.base + "/direct"), 400, "validation_error");

  // A name made by a command cannot inject header lines.
  const std::string sid = f.api->runningSandbox(
      Json{{"template", "base-ubuntu"},
           {"mounts", {{{"workspaceId", f.id}, {"path", "/workspace/w"}}}}})["id"];
  f.api->exec(sid, "printf data > \"$(printf 'a\"b\\r\\nX-Evil: 1')\"",
              Json{{"cwd", "/workspace/w"}});
  const std::string target = f.base + "/direct?id=/a%22b%0D%0AX-Evil:%201&download=true";
  r = f.api->get(target);
  REQUIRE(r.status == 200);
  REQUIRE(r.raw == "data");
  REQUIRE(r.header("X-Evil").empty());
  // Raw bytes (httplib's client percent-decodes header values).
  const std::string answer =
      rawExchange(f.emu.port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                    "X-API-Key: " + f.emu.apiKey() + "\r\n\r\n");
  INFO(answer);
  REQUIRE(answer.find("\r\nContent-Disposition: attachment; filename=\"a_b__X-Evil: 1\"; "
                      "filename*=UTF-8''a%22b%0D%0AX-Evil%3A%201\r\n") != std::string::npos);
  REQUIRE(answer.find("\nX-Evil") == std::string::npos);
}

TEST_CASE("traversal: '..', '.', encoded separators and NUL are refused on every route") {
  Fixture f;
  TempDir outside;
  const fs::path canary = outside.path() / "canary.txt";
  std::ofstream(canary) << "canary";
  f.folder("", "sub");
  f.file("/sub", "in.txt", "in");

  // Path segments in the URL.
  for (const std::string bad :
       {"/..", "/%2e%2e", "/%2E%2E", "/%2e%2E/x", "/sub/..", "/sub/%2e%2e/%2e%2e", "/.", "/%2e",
        "/sub/./in.txt", "/a%2Fb", "/sub%2F..%2F..", "/a%5Cb", "/%5C..", "/a%00b"}) {
    INFO(bad);
    requireError(f.api->get(f.base + "/files" + bad), 400, "validation_error");
    requireError(f.api->get(f.base + "/info" + bad), 400, "validation_error");
    requireError(f.create(bad, Json{{"name", "x"}}), 400, "validation_error");
    requireError(f.put(bad, Json{{"operation", "write"}, {"contents", "x"}}), 400,
                 "validation_error");
    requireError(f.api->callRaw("POST", f.base + "/upload" + bad, "--b--\r\n",
                                {{"Content-Type", "multipart/form-data; boundary=b"}}),
                 400, "validation_error");
  }
  // Paths in the query and the body.
  for (const std::string& bad :
       {std::string("../x"), std::string("/../x"), std::string("/sub/../../x"), std::string("."),
        std::string("sub/./in.txt"), std::string("/sub/..")}) {
    INFO(bad);
    const std::string encoded = std::regex_replace(bad, std::regex("\\."), "%2e");
    requireError(f.api->get(f.base + "/direct?id=" + bad), 400, "validation_error");
    requireError(f.api->get(f.base + "/direct?id=" + encoded), 400, "validation_error");
    requireError(f.del({bad}), 400, "validation_error");
    requireError(f.api->call("DELETE", f.base + "/files?ids=" + encoded), 400, "validation_error");
    requireError(f.put("", Json{{"operation", "copy"}, {"ids", {bad}}, {"target", "/sub"}}), 400,
                 "validation_error");
    requireError(f.put("", Json{{"operation", "copy"}, {"ids", {"/sub/in.txt"}}, {"target", bad}}),
                 400, "validation_error");
    requireError(f.put("/sub/in.txt", Json{{"operation", "move"}, {"target", bad}}), 400,
                 "validation_error");
    requireError(f.api->callRaw("POST", f.base + "/upload?id=" + encoded, "--b--\r\n",
                                {{"Content-Type", "multipart/form-data; boundary=b"}}),
                 400, "validation_error");
  }
  requireError(f.api->get(f.base + "/direct?id=/sub/in.txt%00"), 400, "validation_error");
  requireError(f.del({std::string("/sub/in.txt\0", 12)}), 400, "validation_error");
  requireError(f.put("/sub/in.txt", Json{{"operation", "rename"}, {"target", "../in.txt"}}), 400,
               "validation_error");
  requireError(f.put("/sub/in.txt", Json{{"operation", "rename"}, {"target", ".."}}), 400,
               "validation_error");

  // Absolute-looking ids are workspace-relative: the host's files are not reachable.
  requireError(f.api->get(f.base + "/direct?id=" + canary.string()), 404, "not_found");
  requireError(f.api->get(f.base + "/direct?id=/etc/passwd"), 404, "not_found");
  requireError(f.del({canary.string()}), 404, "not_found");
  // A copy "into" the outside folder creates that path inside the workspace instead.
  const Response inside = f.put(
      "",
      Json{{"operation", "copy"}, {"ids", {"/sub/in.txt"}}, {"target", outside.path().string()}});
  REQUIRE(inside.status == 200);
  REQUIRE(inside.data()["ids"][0] == outside.path().string() + "/in.txt");
  REQUIRE(readFile(f.files / outside.path().relative_path() / "in.txt") == "in");

  REQUIRE(readFile(canary) == "canary");
  REQUIRE(f.download("/sub/in.txt") == "in");
  REQUIRE(std::distance(fs::directory_iterator(outside.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("traversal: symlinks made in a mounted sandbox never reach outside the workspace") {
  Fixture f;
  TempDir outside;
  const fs::path canary = outside.path() / "canary.txt";
  std::ofstream(canary) << "canary";
  struct stat before {};
  REQUIRE(::stat(canary.c_str(), &before) == 0);
  const std::string target = outside.path().string();

  f.folder("", "sub");
  f.file("/sub", "in.txt", "inside");
  const std::string sid = f.api->runningSandbox(
      Json{{"template", "base-ubuntu"},
           {"mounts", {{{"workspaceId", f.id}, {"path", "/workspace/data"}}}}})["id"];
  const std::string links = "ln -s '" + target + "' evil && ln -s '" + target +
                            "/canary.txt' evilfile && ln -s '" + target +
                            "/missing' dangling && ln -s ../../.. up && ln -s sub good && "
                            "ln -s sub/in.txt goodfile && ln -s /etc etc";
  REQUIRE(f.api->exec(sid, links, Json{{"cwd", "/workspace/data"}})["exitCode"] == 0);

  // Links inside the workspace are followed.
  REQUIRE(ids(f.list("/good")) == std::vector<std::string>{"/good/in.txt"});
  REQUIRE(f.download("/goodfile") == "inside");
  REQUIRE(f.download("/good/in.txt") == "inside");

  // The listing shows the escaping links without describing their targets.
  for (const Json& e : f.list()) {
    const std::string name = e["name"];
    if (name == "evil" || name == "evilfile" || name == "dangling" || name == "up" ||
        name == "etc") {
      INFO(e.dump());
      REQUIRE(e["type"] == "file");
      REQUIRE(e["size"] == 0);
      REQUIRE(e["count"] == 0);
    }
  }

  for (const std::string link : {"/evil", "/evilfile", "/dangling", "/up", "/etc"}) {
    INFO(link);
    requireError(f.api->get(f.base + "/files" + link), 400, "validation_error");
    requireError(f.api->get(f.base + "/info" + link), 400, "validation_error");
    requireError(f.api->get(f.base + "/direct?id=" + link), 400, "validation_error");
    requireError(f.put(link, Json{{"operation", "write"}, {"contents", "pwned"}}), 400,
                 "validation_error");
  }
  // Through the links: the same 400 whether the outside path exists or not.
  for (const std::string through :
       {"/evil/canary.txt", "/evil/missing.txt", "/up/etc/passwd", "/etc/passwd", "/dangling/x"}) {
    INFO(through);
    requireError(f.api->get(f.base + "/direct?id=" + through), 400, "validation_error");
    requireError(f.api->get(f.base + "/info" + through), 400, "validation_error");
    requireError(f.put(through, Json{{"operation", "write"}, {"contents", "pwned"}}), 400,
                 "validation_error");
    requireError(f.del({through}), 400, "validation_error");
    requireError(f.put("", Json{{"operation", "copy"}, {"ids", {through}}, {"target", "/sub"}}),
                 400, "validation_error");
    requireError(f.put(through, Json{{"operation", "rename"}, {"target", "z"}}), 400,
                 "validation_error");
  }
  requireError(f.create("/evil", Json{{"name", "planted.txt"}, {"contents", "x"}}), 400,
               "validation_error");
  requireError(f.create("/evil", Json{{"name", "planted"}, {"type", "folder"}}), 400,
               "validation_error");
  requireError(
      f.put("", Json{{"operation", "copy"}, {"ids", {"/sub/in.txt"}}, {"target", "/evil"}}), 400,
      "validation_error");
  requireError(f.put("/sub/in.txt", Json{{"operation", "move"}, {"target", "/evil"}}), 400,
               "validation_error");
  // Missing folders are never created through a link that leaves (or dangles).
  for (const std::string link : {"/evil", "/dangling", "/up"}) {
    INFO(link);
    requireError(f.create(link + "/new/deeper", Json{{"name", "planted.txt"}}), 400,
                 "validation_error");
    requireError(f.put(link + "/new/x.txt", Json{{"operation", "write"}, {"contents", "x"}}), 400,
                 "validation_error");
    requireError(f.put("/sub/in.txt", Json{{"operation", "copy"}, {"target", link + "/new"}}), 400,
                 "validation_error");
  }
  // Uploads into the link, or onto a link that leaves.
  httplib::Client client("127.0.0.1", f.emu.port());
  const httplib::Headers auth{{"X-API-Key", f.emu.apiKey()}};
  const httplib::MultipartFormDataItems part{{"file", "pwned", "canary.txt", "text/plain"}};
  auto res = client.Post((f.base + "/upload/evil").c_str(), auth, part);
  REQUIRE(res);
  REQUIRE(res->status == 400);
  res = client.Post((f.base + "/upload?id=/evil").c_str(), auth, part);
  REQUIRE(res);
  REQUIRE(res->status == 400);
  res = client.Post((f.base + "/upload/evil/new/deeper").c_str(), auth, part);
  REQUIRE(res);
  REQUIRE(res->status == 400);
  const httplib::MultipartFormDataItems onto{{"file", "pwned", "evilfile", "text/plain"}};
  res = client.Post((f.base + "/upload").c_str(), auth, onto);
  REQUIRE(res);
  REQUIRE(res->status == 400);

  // Deleting the links removes the links, never their targets; copies copy the links.
  REQUIRE(f.put("", Json{{"operation", "copy"}, {"ids", {"/evil"}}, {"target", "/sub"}}).status ==
          200);
  REQUIRE(fs::is_symlink(f.files / "sub" / "evil"));
  REQUIRE(f.put("/evil", Json{{"operation", "rename"}, {"target", "evil2"}}).status == 200);
  REQUIRE(f.del({"/evil2", "/evilfile", "/dangling", "/up", "/etc", "/sub"}).status == 200);
  REQUIRE(fs::exists("/etc/passwd"));

  // The canary was neither read, changed nor deleted; nothing was added next to it.
  struct stat after {};
  REQUIRE(::stat(canary.c_str(), &after) == 0);
  REQUIRE(readFile(canary) == "canary");
  REQUIRE(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  REQUIRE(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
  REQUIRE(after.st_atim.tv_sec == before.st_atim.tv_sec);
  REQUIRE(after.st_atim.tv_nsec == before.st_atim.tv_nsec);
  REQUIRE(std::distance(fs::directory_iterator(outside.path()), fs::directory_iterator()) == 1);
}

TEST_CASE(
    "missing parent folders are created by create, write, copy and move, never by a refusal") {
  Fixture f;
  f.file("", "plain.txt", "p");

  // create (file and folder): every missing folder on the way, like mkdir -p.
  Response r = f.create("/a/b", Json{{"name", "c.txt"}, {"contents", "abc"}});
  INFO(r.raw);
  REQUIRE(r.status == 201);
  REQUIRE(r.data()["id"] == "/a/b/c.txt");
  REQUIRE(readFile(f.files / "a" / "b" / "c.txt") == "abc");
  REQUIRE(f.list("/a")[0]["id"] == "/a/b");
  REQUIRE(f.list("/a")[0]["type"] == "folder");
  r = f.create("/x/y", Json{{"name", "z"}, {"type", "folder"}});
  REQUIRE(r.status == 201);
  REQUIRE(fs::is_directory(f.files / "x" / "y" / "z"));
  // Existing entries are still conflicts.
  requireError(f.create("/a/b", Json{{"name", "c.txt"}}), 409, "already_exists");

  // write.
  r = f.put("/w1/w2/new.txt", Json{{"operation", "write"}, {"contents", "written"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/w1/w2/new.txt");
  REQUIRE(f.download("/w1/w2/new.txt") == "written");

  // copy and move of one entry into a missing folder (nested), and a batch.
  r = f.put("/a/b/c.txt", Json{{"operation", "copy"}, {"target", "/backup/deep"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/backup/deep/c.txt");
  REQUIRE(f.download("/backup/deep/c.txt") == "abc");
  REQUIRE(f.download("/a/b/c.txt") == "abc");
  r = f.put("/x", Json{{"operation", "move"}, {"target", "/moved"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data()["id"] == "/moved/x");
  REQUIRE(fs::is_directory(f.files / "moved" / "x" / "y" / "z"));
  REQUIRE_FALSE(fs::exists(f.files / "x"));
  r = f.put("", Json{{"operation", "copy"}, {"ids", {"/plain.txt", "/a"}}, {"target", "/batch/1"}});
  REQUIRE(r.status == 200);
  REQUIRE(r.data() == Json{{"ids", {"/batch/1/plain.txt", "/batch/1/a"}}});
  REQUIRE(f.download("/batch/1/a/b/c.txt") == "abc");
  r = f.put("", Json{{"operation", "move"}, {"ids", {"/w1"}}, {"target", "/batch/2"}});
  REQUIRE(r.status == 200);
  REQUIRE(f.download("/batch/2/w1/w2/new.txt") == "written");

  // A file standing where a folder is needed: 400, and nothing is created.
  requireError(f.create("/plain.txt/sub", Json{{"name", "n"}}), 400, "validation_error");
  requireError(f.put("/plain.txt/sub/n.txt", Json{{"operation", "write"}, {"contents", "x"}}), 400,
               "validation_error");
  Response refused = f.put("/a", Json{{"operation", "copy"}, {"target", "/plain.txt/in"}});
  requireError(refused, 400, "validation_error");
  REQUIRE(refused.body["error"]["details"]["field"] == "target");
  REQUIRE(fs::is_regular_file(f.files / "plain.txt"));

  // A refused transfer creates no target folder: a missing source, a folder moved into itself,
  // a name clash among the sources.
  requireError(f.put("", Json{{"operation", "copy"},
                              {"ids", {"/plain.txt", "/missing"}},
                              {"target", "/never1/x"}}),
               404, "not_found");
  requireError(f.put("/a", Json{{"operation", "move"}, {"target", "/a/inside/deeper"}}), 400,
               "validation_error");
  requireError(f.put("", Json{{"operation", "copy"},
                              {"ids", {"/plain.txt", "/batch/1/plain.txt"}},
                              {"target", "/never2"}}),
               409, "already_exists");
  REQUIRE_FALSE(fs::exists(f.files / "never1"));
  REQUIRE_FALSE(fs::exists(f.files / "a" / "inside"));
  REQUIRE_FALSE(fs::exists(f.files / "never2"));

  // Rename never creates anything; a path that leaves the workspace is still refused.
  requireError(f.put("/nowhere/c.txt", Json{{"operation", "rename"}, {"target", "d.txt"}}), 404,
               "not_found");
  REQUIRE_FALSE(fs::exists(f.files / "nowhere"));
  requireError(f.create("/new/%2e%2e/%2e%2e", Json{{"name", "escape"}}), 400, "validation_error");
  REQUIRE_FALSE(fs::exists(f.files / "new"));
}
