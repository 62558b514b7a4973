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
