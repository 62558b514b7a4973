#include <catch2/catch.hpp>

#include <set>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;

TEST_CASE("list follows cursors over more than two pages") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  std::set<std::string> created;
  for (int i = 0; i < 8; ++i) {
    CreateSandboxOptions options;
    options.tags = {"paged"};
    created.insert(rt.sandbox.create(options).id());
  }
  rt.sandbox.create();  // untagged: filtered out

  ListSandboxesOptions filters;
  filters.tags = {"paged"};
  filters.limit = 3;
  const auto all = rt.sandbox.list(filters);
  std::set<std::string> seen;
  for (const auto& s : all)
    seen.insert(s.id);
  CHECK(all.size() == 8);
  CHECK(seen == created);

  // Walk the same pages by hand.
  std::vector<std::size_t> sizes;
  std::optional<std::string> cursor;
  do {
    ListSandboxesOptions page = filters;
    page.cursor = cursor;
    auto result = rt.sandbox.listPage(page);
    sizes.push_back(result.data.size());
    CHECK(result.hasMore == result.nextCursor.has_value());
    cursor = result.nextCursor;
  } while (cursor);
  CHECK(sizes == std::vector<std::size_t>{3, 3, 2});
}

TEST_CASE("list filters by status and template") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  auto base = rt.sandbox.create();
  CreateSandboxOptions desktop;
  desktop.templateName = "desktop-ubuntu";
  auto gui = rt.sandbox.create(desktop);

  ListSandboxesOptions byTemplate;
  byTemplate.templateName = "desktop-ubuntu";
  const auto desktops = rt.sandbox.list(byTemplate);
  REQUIRE(desktops.size() == 1);
  CHECK(desktops[0].id == gui.id());

  ListSandboxesOptions exclude;
  exclude.excludeTemplate = "desktop-ubuntu";
  const auto others = rt.sandbox.list(exclude);
  REQUIRE(others.size() == 1);
  CHECK(others[0].id == base.id());

  gui.waitForReady(std::chrono::seconds(20), std::chrono::milliseconds(20));
  CHECK(gui.vncReady());
  ListSandboxesOptions running;
  running.status = "running";
  running.templateName = "desktop-ubuntu";
  CHECK(rt.sandbox.list(running).size() == 1);
}

TEST_CASE("a cursor the server does not know is a typed error") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  ListSandboxesOptions filters;
  filters.cursor = "not-a-cursor";
  CHECK_THROWS_AS(rt.sandbox.listPage(filters), BadRequestError);
}

TEST_CASE("iterate walks every page lazily and list is built on it") {
  test::EmulatorEnv env;
  RunTools rt = env.client();
  std::set<std::string> created;
  for (int i = 0; i < 7; ++i) {
    CreateSandboxOptions options;
    options.tags = {"lazy"};
    created.insert(rt.sandbox.create(options).id());
  }
  ListSandboxesOptions filters;
  filters.tags = {"lazy"};
  filters.limit = 2;
  std::set<std::string> seen;
  for (const auto& sandbox : rt.sandbox.iterate(filters))
    seen.insert(sandbox.id);
  CHECK(seen == created);
  const auto log = env.raw("GET", "/_emu/requests?method=GET&path=/v1/sandboxes");
  REQUIRE(log.status == 200);
  CHECK(nlohmann::json::parse(log.body).at("data").size() == 4);  // 2 + 2 + 2 + 1

  // Stopping early fetches no further page.
  REQUIRE(env.raw("DELETE", "/_emu/requests").status == 200);
  for (const auto& sandbox : rt.sandbox.iterate(filters)) {
    CHECK(created.count(sandbox.id) == 1);
    break;
  }
  const auto early = env.raw("GET", "/_emu/requests?method=GET&path=/v1/sandboxes");
  CHECK(nlohmann::json::parse(early.body).at("data").size() == 1);

  filters.limit = 501;
  CHECK_THROWS_AS(rt.sandbox.iterate(filters).begin(), InvalidArgumentError);
}
