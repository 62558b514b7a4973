#include <catch2/catch.hpp>

#include <algorithm>

#include "emulator_env.hpp"
#include "runtools/errors.hpp"

using namespace runtools;

TEST_CASE("a wrong key is refused with invalid_token, and the key is not echoed") {
  test::EmulatorEnv env;
  const std::string wrong = "rt_test_WrongWrongWrongWrongWrongWron";
  RunTools rt = env.client(wrong);
  try {
    rt.sandbox.list();
    FAIL("expected AuthenticationError");
  } catch (const AuthenticationError& e) {
    CHECK(e.status() == 401);
    CHECK(e.hasCode("invalid_token"));
    CHECK_FALSE(e.requestId().empty());
  }
}

TEST_CASE("both documented credential headers authenticate") {
  test::EmulatorEnv env;
  for (auto style : {AuthHeaderStyle::XApiKey, AuthHeaderStyle::Bearer, AuthHeaderStyle::Both}) {
    ClientOptions options = env.options();
    options.authHeaderStyle = style;
    RunTools rt(options);
    CHECK_NOTHROW(rt.sandbox.listPage());
  }
}

TEST_CASE("one organization never sees another's sandboxes") {
  test::EmulatorEnv env;
  RunTools alice = env.client();
  RunTools bob = env.client(env.emulator().mintKey());

  auto sandbox = alice.sandbox.create();
  try {
    bob.sandbox.get(sandbox.id()).refresh();
    FAIL("another organization's sandbox must be invisible");
  } catch (const NotFoundError& e) {
    CHECK(e.hasCode("not_found"));
  }
  CHECK_THROWS_AS(bob.sandbox.destroy(sandbox.id()), NotFoundError);
  CHECK_THROWS_AS(bob.sandbox.get(sandbox.id()).exec("id"), NotFoundError);
  CHECK(bob.sandbox.list().empty());

  auto own = bob.sandbox.create();
  const auto aliceSees = alice.sandbox.list();
  CHECK(std::none_of(aliceSees.begin(), aliceSees.end(),
                     [&](const SandboxInfo& s) { return s.id == own.id(); }));
  CHECK_NOTHROW(alice.sandbox.get(sandbox.id()).refresh());
}

TEST_CASE("a key minted for the same organization sees its sandboxes") {
  test::EmulatorEnv env;
  RunTools first = env.client();
  RunTools second = env.client(env.emulator().mintKey(env.emulator().defaultOrgId()));
  auto sandbox = first.sandbox.create();
  CHECK(second.sandbox.get(sandbox.id()).refresh().id == sandbox.id());
}

TEST_CASE("a key without the sandbox scope is refused with forbidden") {
  test::EmulatorEnv env;
  RunTools readOnly =
      env.client(env.emulator().mintKey(env.emulator().defaultOrgId(), {"sandbox:read"}));
  CHECK_NOTHROW(readOnly.sandbox.list());
  try {
    readOnly.sandbox.create();
    FAIL("create needs sandbox:create");
  } catch (const PermissionDeniedError& e) {
    CHECK(e.hasCode("forbidden"));
  }
}
