// SSH keys (/v1/ssh-keys*): OpenSSH parsing, fingerprints, duplicates, isolation.
#include <regex>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace rtemu_test;

namespace {

struct Vector {
  std::string line;
  std::string type;
  std::string fingerprint;  // `ssh-keygen -lf` of the same line
};

// Generated once with ssh-keygen (OpenSSH 9.2) and `ssh-keygen -lf`.
const std::vector<Vector> kVectors = {
    {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2DEFYaYG6eFtafzpuO0zBQUZ59/KS/0qBkAjJagk0i "
     "test@ed25519",
     "ssh-ed25519", "SHA256:5nOiJWmimrf3BwKNIAmZy49p6eUQF2fnXej5ddj40Ec"},
    {"ssh-rsa "
     "AAAAB3NzaC1yc2EAAAADAQABAAAAgQC2D+zZZUrULFO2420FCdcZUwsCsmoSziNkkZ0SyfBVVEec97iVjE8EKFB8JeZw"
     "kAIZWRIirIGY4cYlXVcV40WU1zQG1ma9CAg7MzbiRHOule/mvTAnpy5eaM/NfAYCaKGSFXvARNtzeVzTF6wKwvxZfra"
     "XZi/lI2bIi2kSvWVhsw== test@rsab1024",
     "ssh-rsa", "SHA256:1pzVhZlyjJsroZ9fprn3XUaerk9RVtQWyzyFppMqN3U"},
    {"ecdsa-sha2-nistp256 "
     "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBH4xHr6EBp4nA7Rf5tctkxo0b0XVsl+2YzPOuXk1"
     "K7S6eAVAw3x60F2FPeVgQiNqavK9Xg2IZXMj0Ry6bbH3A2g= test@ecdsab256",
     "ecdsa-sha2-nistp256", "SHA256:lvbnjzmDaWMXFNYJOfO0Bw+5YpCWBC8QCSdNwbVRqP8"},
    {"ecdsa-sha2-nistp384 "
     "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBGUd10KygwHK+W/jhABLDim6oAgdyOis1IxMbNaU"
     "HQ4ITs54oHshz5u4KPDctJkIrYsZx9Ys3cQGNvV5eLtW9/Xaf76vCBqso9t4cUw/sxtr5e3pfstEFg3b2w8p9Qp5Hw== "
     "test@ecdsab384",
     "ecdsa-sha2-nistp384", "SHA256:09ceX4h01pfxB7M/vyY5dyGO3WkW2x3b1cPoJ+WWMmQ"},
    {"ecdsa-sha2-nistp521 "
     "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAHaUDO89MRH7mWkT4WV73FxJUzfKehZJzX8aFMg"
     "bkkVtkbnPCgv1kqnWw3uustaLRLaCo2ZYX43AGAKFHPecD1/HwDJOZhVMrmwnNjSlq5iWoh2QFD+p/6s1RYzR1INNdR9"
     "zeFm1VwWyu281dciwnidukEKZ6nF0dqvSkfFxm4Nmpyp9w== test@ecdsab521",
     "ecdsa-sha2-nistp521", "SHA256:rQ6FIgxwcR7sO9pSx091AotwT6jHIopVrnxVezYG6x4"},
};

std::string base64Of(const std::string& line) {
  const auto first = line.find(' ');
  const auto second = line.find(' ', first + 1);
  return line.substr(first + 1, second - first - 1);
}

}  // namespace

TEST_CASE("SSH keys: every allowed type, ssh-keygen fingerprints, list and delete") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  std::vector<std::string> ids;
  for (std::size_t i = 0; i < kVectors.size(); ++i) {
    const Vector& v = kVectors[i];
    INFO(v.type);
    // The camelCase alias and a trailing newline (a .pub file) are accepted too.
    const Json body = i % 2 == 0 ? Json{{"name", "key-" + v.type}, {"public_key", v.line}}
                                 : Json{{"name", "key-" + v.type}, {"publicKey", v.line + "\n"}};
    const Response r = api.post("/v1/ssh-keys", body);
    INFO(r.raw);
    REQUIRE(r.status == 201);
    const Json& k = r.data();
    REQUIRE(k["fingerprint"] == v.fingerprint);
    REQUIRE(k["key_type"] == v.type);
    REQUIRE(k["keyType"] == v.type);
    REQUIRE(k["name"] == "key-" + v.type);
    REQUIRE(k["created_at"] == k["createdAt"]);
    parseIsoMs(k["createdAt"]);
    REQUIRE(k["last_used_at"].is_null());
    REQUIRE(k["lastUsedAt"].is_null());
    REQUIRE(std::regex_match(k["id"].get<std::string>(),
                             std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                        "[0-9a-f]{12}")));
    ids.push_back(k["id"]);
  }

  // The same key again (another name, another comment, no comment) conflicts.
  const std::string ed = "ssh-ed25519 " + base64Of(kVectors[0].line);
  expectError(api.post("/v1/ssh-keys", Json{{"name", "again"}, {"public_key", ed}}), 409,
              "conflict");
  expectError(api.post("/v1/ssh-keys", Json{{"name", "again"}, {"public_key", ed + " other"}}), 409,
              "conflict");

  const Response list = api.get("/v1/ssh-keys");
  REQUIRE(list.status == 200);
  REQUIRE(list.data().size() == kVectors.size());
  for (std::size_t i = 0; i < kVectors.size(); ++i) {
    REQUIRE(list.data()[i]["id"] == ids[i]);
    REQUIRE(list.data()[i]["fingerprint"] == kVectors[i].fingerprint);
    REQUIRE(list.data()[i]["key_type"] == kVectors[i].type);
  }

  // Another organization: its own list, the same key allowed there, no access to ours.
  Api other(emu, emu.mintKey());
  REQUIRE(other.get("/v1/ssh-keys").data().empty());
  REQUIRE(other.post("/v1/ssh-keys", Json{{"name", "mine"}, {"public_key", ed}}).status == 201);
  expectError(other.call("DELETE", "/v1/ssh-keys/" + ids[0]), 404, "not_found");
  REQUIRE(api.get("/v1/ssh-keys").data().size() == kVectors.size());

  const Response removed = api.call("DELETE", "/v1/ssh-keys/" + ids[0]);
  REQUIRE(removed.status == 200);
  REQUIRE(removed.data() == Json{{"success", true}});
  expectError(api.call("DELETE", "/v1/ssh-keys/" + ids[0]), 404, "not_found");
  REQUIRE(api.get("/v1/ssh-keys").data().size() == kVectors.size() - 1);
  // Once deleted, the key can be added again.
  REQUIRE(api.post("/v1/ssh-keys", Json{{"name", "back"}, {"public_key", ed}}).status == 201);

  // Scope ssh-key:* (or "*").
  Api sshOnly(emu, emu.mintKey(emu.defaultOrgId(), {"ssh-key:*"}));
  REQUIRE(sshOnly.get("/v1/ssh-keys").data().size() == kVectors.size());
  expectError(sshOnly.get("/v1/sandboxes"), 403, "forbidden");
  Api sandboxOnly(emu, emu.mintKey(emu.defaultOrgId(), {"sandbox:*"}));
  expectError(sandboxOnly.get("/v1/ssh-keys"), 403, "forbidden");
  expectError(sandboxOnly.post("/v1/ssh-keys", Json{{"name", "x"}, {"public_key", ed}}), 403,
              "forbidden");
}

TEST_CASE("SSH keys: malformed keys are 400 bad_request") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string edBlob = base64Of(kVectors[0].line);
  const std::string rsaBlob = base64Of(kVectors[1].line);
  const std::vector<std::string> bad = {
      "",
      "   ",
      "ssh-ed25519",                                        // no key data
      "ssh-dss " + rsaBlob,                                 // type not allowed
      "ssh-ed25519 !!!notbase64!!!",                        // not base64
      "ssh-ed25519 " + edBlob.substr(1),                    // truncated: not valid base64
      "ssh-ed25519 " + edBlob + "=",                        // bad padding
      "ssh-ed25519 " + base64Of("x QUJD y"),                // decodes, but no SSH string
      "ssh-rsa " + edBlob,                                  // blob says ssh-ed25519
      "ecdsa-sha2-nistp384 " + base64Of(kVectors[2].line),  // blob says nistp256
      "ssh-ed25519 " + edBlob + " a\nssh-rsa " + rsaBlob,   // two lines
      "SSH-ED25519 " + edBlob,                              // type names are case-sensitive
  };
  for (const std::string& line : bad) {
    INFO(line);
    expectError(api.post("/v1/ssh-keys", Json{{"name", "k"}, {"public_key", line}}), 400,
                "bad_request");
  }
  const std::string ok = "ssh-ed25519 " + edBlob;
  expectError(api.post("/v1/ssh-keys", Json{{"public_key", ok}}), 400, "bad_request");
  expectError(api.post("/v1/ssh-keys", Json{{"name", ""}, {"public_key", ok}}), 400, "bad_request");
  expectError(api.post("/v1/ssh-keys", Json{{"name", "k"}}), 400, "bad_request");
  expectError(api.post("/v1/ssh-keys", Json{{"name", "k"}, {"public_key", 5}}), 400, "bad_request");
  REQUIRE(api.get("/v1/ssh-keys").data().empty());
  // Tabs and extra spaces between the fields are fine.
  REQUIRE(
      api.post("/v1/ssh-keys",
               Json{{"name", "k"}, {"public_key", "ssh-ed25519\t " + edBlob + "  spaced comment "}})
          .data()["fingerprint"] == kVectors[0].fingerprint);
}
