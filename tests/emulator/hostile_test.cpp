// Malformed and hostile requests: each gets a 4xx (or, where the HTTP layer cannot answer, a
// closed connection), never a crash or a 500, and the emulator keeps serving (GET /health is
// checked after each). Raw sockets send what httplib::Client would refuse to.
#include <thread>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace rtemu_test;

namespace {

// A string literal with its embedded NULs.
template <std::size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

void requireHealthy(const rtemu::Emulator& emu) {
  REQUIRE(Api(emu, "", Auth::kNone).get("/health").status == 200);
}

// A 4xx status line, or no answer at all and a closed connection.
void requireRefused(const RawAnswer& raw) {
  INFO(raw.bytes.substr(0, 400));
  const ParsedAnswer answer = parseAnswer(raw.bytes);
  if (answer.status == 0) {
    REQUIRE(raw.bytes.empty());
    REQUIRE(raw.closed);
    return;
  }
  REQUIRE(answer.status >= 400);
  REQUIRE(answer.status < 500);
}

std::string rawPost(const std::string& path, const std::string& key, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-API-Key: " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("invalid JSON, and invalid UTF-8 inside JSON, answer 400") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::vector<std::string> bodies = {
      "{",
      "{\"template\": }",
      "[1, 2",
      "{\"template\": \"base-ubuntu\"} trailing",
      "{\"template\": \"\xff\xfe\"}",
      "{\"name\": \"\xc3\x28\"}",
      "{\"name\": \"\\ud800\"}",
      "{\"name\": \"a\x01"
      "b\"}",
      bytes("{\"name\": \"a\0b\"}"),
      "\"just a string\"",
      "[]",
      "null",
  };
  for (const char* target : {"/v1/sandboxes", "/v1/workspaces", "/v1/secrets", "/v1/agents",
                             "/v1/api-keys", "/_emu/faults", "/v1/run"}) {
    for (const std::string& body : bodies) {
      INFO(target << " " << body);
      const Response r = api.callRaw("POST", target, body);
      REQUIRE(r.status == 400);
      REQUIRE((r.errorCode() == "validation_error" || r.errorCode() == "bad_request"));
    }
  }
  requireHealthy(emu);
}

TEST_CASE("invalid UTF-8 in paths, queries and headers never produces a 500") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string workspace = api.createWorkspace("Bytes");

  // Percent-encoded invalid UTF-8, echoed in error messages: still valid JSON (Api::call
  // REQUIREs that a JSON body parses).
  for (const std::string& target : std::vector<std::string>{
           "/v1/sandboxes/%FF%FE", "/v1/%FF%C3%28/x", "/v1/sandboxes?status=%FF",
           "/v1/sandboxes?limit=%FF", "/v1/sandboxes?cursor=%FF%FE", "/v1/agents/%FF",
           "/v1/secrets/%ED%A0%80", "/v1/workspaces/" + workspace + "/files/%FF%FE",
           "/v1/workspaces/" + workspace + "/direct?id=/%FF", "/v1/templates/%C0%AF"}) {
    INFO(target);
    const Response r = api.get(target);
    REQUIRE(r.status >= 400);
    REQUIRE(r.status < 500);
    REQUIRE(r.body.is_object());
  }
  REQUIRE(api.call("DELETE", "/v1/sandboxes/%FF").status == 404);

  // Raw bytes that are not UTF-8 in the path and in header values.
  requireRefused(rawRequest(
      emu.port(), "GET /v1/sandboxes/\xff\xfe HTTP/1.1\r\nHost: x\r\nX-API-Key: " + emu.apiKey() +
                      "\r\nConnection: close\r\n\r\n"));
  const ParsedAnswer withHeader = parseAnswer(
      rawRequest(emu.port(), "GET /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + emu.apiKey() +
                                 "\r\nX-Custom: \xff\xfe\xc3\r\nUser-Agent: \xed\xa0\x80\r\n"
                                 "Connection: close\r\n\r\n")
          .bytes);
  REQUIRE(withHeader.status == 200);
  const RawAnswer keyBytes =
      rawRequest(emu.port(), rawPost("/v1/workspaces", emu.apiKey(), "{\"name\": \"k\"}")
                                 .insert(std::string("POST /v1/workspaces HTTP/1.1\r\n").size(),
                                         "Idempotency-Key: \xff\xfe\r\n"));
  const int keyStatus = parseAnswer(keyBytes.bytes).status;
  REQUIRE(keyStatus >= 200);
  REQUIRE(keyStatus < 500);
  // A credential that is not UTF-8.
  requireRefused(rawRequest(
      emu.port(),
      "GET /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: \xff\xfe\r\nConnection: close\r\n\r\n"));

  // A file whose name is not UTF-8 (multipart filename), listed afterwards.
  httplib::Client client("127.0.0.1", emu.port());
  const httplib::MultipartFormDataItems items{
      {"file", "bytes", "\xff\xfe.bin", "application/octet-stream"}};
  const auto uploaded = client.Post(("/v1/workspaces/" + workspace + "/upload/").c_str(),
                                    {{"X-API-Key", emu.apiKey()}}, items);
  REQUIRE(uploaded);
  REQUIRE(uploaded->status < 500);
  const Response listed = api.get("/v1/workspaces/" + workspace + "/files");
  REQUIRE(listed.status == 200);

  // The request log holds all of it and still renders as JSON.
  const Response log = api.get("/_emu/requests");
  REQUIRE(log.status == 200);
  REQUIRE(log.data().size() > 10);
  requireHealthy(emu);
}

TEST_CASE("deeply nested JSON is refused before it is stored") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const std::string brackets(1 << 20, '[');
  expectError(api.callRaw("POST", "/v1/sandboxes", brackets), 400, "validation_error");
  std::string deep = "{\"template\": \"base-ubuntu\", \"metadata\": ";
  for (int i = 0; i < 5000; ++i)
    deep += "{\"a\": ";
  deep += "1";
  for (int i = 0; i < 5000; ++i)
    deep += "}";
  deep += "}";
  expectError(api.callRaw("POST", "/v1/sandboxes", deep), 400, "validation_error");
  // Brackets inside strings do not count.
  const Response inString =
      api.post("/v1/sandboxes",
               Json{{"template", "base-ubuntu"}, {"metadata", {{"x", brackets.substr(0, 1000)}}}});
  REQUIRE(inString.status == 201);
  // Moderate nesting is fine, and reads back.
  Json nested = 1;
  for (int i = 0; i < 50; ++i)
    nested = Json{{"a", nested}};
  const Response ok =
      api.post("/v1/sandboxes", Json{{"template", "base-ubuntu"}, {"metadata", nested}});
  REQUIRE(ok.status == 201);
  REQUIRE(api.get("/v1/sandboxes/" + ok.data()["id"].get<std::string>()).data()["metadata"] ==
          nested);
  requireHealthy(emu);
}

TEST_CASE("JSON bodies over 16 MiB get 413, also when sent chunked without a length") {
  rtemu::Emulator emu(fastConfig());
  emu.start();

  httplib::Client client("127.0.0.1", emu.port());
  client.set_write_timeout(60, 0);
  client.set_read_timeout(60, 0);
  const std::size_t total = 40u << 20;
  std::size_t sent = 0;
  const auto res = client.Post(
      "/v1/sandboxes", {{"X-API-Key", emu.apiKey()}},
      [&](std::size_t offset, httplib::DataSink& sink) {
        if (offset >= total) {
          sink.done();
          return true;
        }
        const std::string chunk(64 * 1024, ' ');
        if (!sink.write(chunk.data(), chunk.size())) return false;
        sent += chunk.size();
        return true;
      },
      "application/json");
  // Either the answer arrives, or the server closed the connection while the client was still
  // sending: it did not read all 40 MiB.
  if (res) {
    REQUIRE(res->status == 413);
    REQUIRE(Json::parse(res->body)["error"]["code"] == "payload_too_large");
  }
  requireHealthy(emu);
  // And with a declared length, refused before the body is read.
  const std::string head =
      "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + emu.apiKey() +
      "\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{";
  const ParsedAnswer declared =
      parseAnswer(rawRequest(emu.port(), head, RawRead::kUntilAnswer).bytes);
  REQUIRE(declared.status == 413);
  requireHealthy(emu);
}

TEST_CASE("oversized headers, too many headers and a huge URL are refused") {
  rtemu::Emulator emu(fastConfig());
  emu.start();

  // One 100 KB header value.
  requireRefused(rawRequest(
      emu.port(),
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(100 * 1024, 'v') + "\r\n\r\n",
      RawRead::kUntilAnswer));
  requireHealthy(emu);

  // 10000 headers: 431 from the emulator.
  std::string many =
      "GET /v1/templates HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: " + emu.apiKey() +
      "\r\n";
  for (int i = 0; i < 10000; ++i)
    many += "X-H" + std::to_string(i) + ": v\r\n";
  const RawAnswer manyRaw = rawRequest(emu.port(), many + "\r\n", RawRead::kUntilAnswer);
  const ParsedAnswer manyAnswer = parseAnswer(manyRaw.bytes);
  INFO(manyRaw.bytes.substr(0, 400));
  REQUIRE(manyAnswer.status == 431);
  REQUIRE(Json::parse(manyAnswer.body)["error"]["code"] == "request_header_fields_too_large");
  requireHealthy(emu);

  // A 1 MB request target.
  requireRefused(rawRequest(
      emu.port(),
      "GET /v1/" + std::string(1 << 20, 'a') + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      RawRead::kUntilAnswer));
  requireHealthy(emu);
  // A long query string (under httplib's limit) is fine.
  REQUIRE(Api(emu, emu.apiKey()).get("/v1/templates?x=" + std::string(4000, 'q')).status == 200);
}

TEST_CASE("malformed request lines and framing are refused") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  const std::string key = emu.apiKey();
  const std::vector<std::string> requests = {
      "GARBAGE\r\n\r\n",
      "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
      "BREW /health HTTP/1.1\r\nHost: x\r\n\r\n",
      bytes("GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n"),
      "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
          "\r\nContent-Length: abc\r\n\r\n{}",
      "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
          "\r\nContent-Length: -5\r\n\r\n{}",
      "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
          "\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n",
      "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
          "\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n",
  };
  for (const std::string& request : requests) {
    INFO(request.substr(0, 120));
    requireRefused(rawRequest(emu.port(), request, RawRead::kUntilAnswer));
    requireHealthy(emu);
  }
  REQUIRE(Api(emu, key).get("/v1/sandboxes").data().empty());
  // httplib skips a header line without a colon; the request is otherwise fine.
  const ParsedAnswer lenient = parseAnswer(
      rawRequest(emu.port(),
                 "GET /health HTTP/1.1\r\nHost: x\r\nnot a header\r\nConnection: close\r\n\r\n")
          .bytes);
  REQUIRE(lenient.status == 200);
}

TEST_CASE("a body shorter than its Content-Length never holds a worker for good") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  const std::string head = "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-API-Key: " + emu.apiKey() +
                           "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";

  // Clients that hang up mid-body, more of them than there are workers.
  for (int i = 0; i < 100; ++i)
    rawRequest(emu.port(), head + "{\"template\":", RawRead::kHangUp);
  requireHealthy(emu);

  // A client that stalls mid-body: the server gives up on it (its read timeout) and answers.
  const RawAnswer stalled = rawRequest(emu.port(), head + "{\"template\":", RawRead::kUntilAnswer);
  INFO(stalled.bytes);
  REQUIRE(parseAnswer(stalled.bytes).status == 400);
  requireHealthy(emu);
  REQUIRE(Api(emu, emu.apiKey()).get("/v1/sandboxes").data().empty());
}

TEST_CASE("fields of the wrong type never produce a 500") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string sandbox = api.runningSandbox()["id"];
  const std::string workspace = api.createWorkspace("Fuzz");
  REQUIRE(api.post("/v1/agents", Json{{"slug", "fuzz"}, {"executionMode", "managed"}}).status ==
          201);
  const Response run =
      api.post("/v1/run", Json{{"agent", "fuzz"}, {"prompt", "hi"}, {"stream", false}});
  REQUIRE(run.status == 200);
  const std::string thread = run.data().value("threadId", std::string("thr_none"));
  const Response key = api.post("/v1/api-keys", Json{{"name", "fuzz"}});
  REQUIRE(key.status == 201);
  const std::string keyId = key.data()["id"];
  REQUIRE(api.post("/v1/secrets", Json{{"name", "FUZZ_SECRET"}, {"value", "v"}}).status < 300);

  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/v1/sandboxes"},
      {"PATCH", "/v1/sandboxes/" + sandbox},
      {"POST", "/v1/sandboxes/" + sandbox + "/exec"},
      {"POST", "/v1/sandboxes/" + sandbox + "/exec/stream"},
      {"POST", "/v1/workspaces"},
      {"PATCH", "/v1/workspaces/" + workspace},
      {"POST", "/v1/workspaces/" + workspace + "/files"},
      {"PUT", "/v1/workspaces/" + workspace + "/files/f.txt"},
      {"DELETE", "/v1/workspaces/" + workspace + "/files"},
      {"POST", "/v1/agents"},
      {"PATCH", "/v1/agents/fuzz"},
      {"PATCH", "/v1/agents/fuzz/visibility"},
      {"POST", "/v1/agents/fuzz/run"},
      {"POST", "/v1/run"},
      {"PATCH", "/v1/threads/" + thread},
      {"POST", "/v1/threads/" + thread + "/compact"},
      {"POST", "/v1/agent-attachments"},
      {"POST", "/v1/secrets"},
      {"POST", "/v1/secrets/FUZZ_SECRET/reveal"},
      {"POST", "/v1/api-keys"},
      {"PATCH", "/v1/api-keys/" + keyId},
      {"POST", "/v1/ssh-keys"},
      {"POST", "/v1/oauth/configs"},
      {"POST", "/v1/oauth/device/start/github"},
      {"POST", "/v1/tools/echo/install"},
      {"PUT", "/v1/tools/github/credentials"},
      {"PATCH", "/v1/tools/echo/visibility"},
      {"POST", "/v1/tools/echo/execute"},
      {"POST", "/_emu/keys"},
      {"POST", "/_emu/clock"},
      {"POST", "/_emu/faults"},
  };
  const std::vector<std::string> fields = {"action",
                                           "advanceMs",
                                           "agent",
                                           "agentSlug",
                                           "alias",
                                           "archived",
                                           "attemptToken",
                                           "category",
                                           "command",
                                           "config",
                                           "contentType",
                                           "contents",
                                           "cwd",
                                           "deny",
                                           "description",
                                           "env",
                                           "expiresIn",
                                           "expires_in",
                                           "filename",
                                           "idleTimeout",
                                           "ids",
                                           "isMostRecentUserAttachment",
                                           "location",
                                           "metadata",
                                           "method",
                                           "model",
                                           "name",
                                           "org",
                                           "orgId",
                                           "orgWide",
                                           "params",
                                           "path",
                                           "projectId",
                                           "prompt",
                                           "provider",
                                           "providerOptions",
                                           "readOnly",
                                           "resourceId",
                                           "resources",
                                           "role",
                                           "rootPassword",
                                           "sandbox",
                                           "scope",
                                           "scopes",
                                           "seed",
                                           "slug",
                                           "sshKeys",
                                           "stopSequences",
                                           "stream",
                                           "tags",
                                           "template",
                                           "threadId",
                                           "timeout",
                                           "title",
                                           "toolChoice",
                                           "tools",
                                           "type",
                                           "user",
                                           "userCode",
                                           "value",
                                           "vcpus",
                                           "visibility",
                                           "workspaceId",
                                           "messages",
                                           "parts",
                                           "text",
                                           "input",
                                           "publicKey",
                                           "public_key",
                                           "credentials",
                                           "credentialOverrides",
                                           "size",
                                           "executionMode",
                                           "maxTokens",
                                           "temperature",
                                           "mounts",
                                           "workspaces",
                                           "status",
                                           "count",
                                           "delayMs",
                                           "retryAfter",
                                           "key"};
  const std::vector<Json> values = {Json::object(), Json::array(), 1.5, -1, true, "x"};

  std::vector<std::string> failures;
  httplib::Client client("127.0.0.1", emu.port());
  client.set_read_timeout(60, 0);
  const httplib::Headers auth{{"X-API-Key", emu.apiKey()}};
  for (const auto& [method, target] : routes) {
    for (const std::string& field : fields) {
      for (const Json& value : values) {
        const std::string body = Json{{field, value}}.dump();
        const auto send = [&]() {
          if (method == "PATCH") return client.Patch(target, auth, body, "application/json");
          if (method == "PUT") return client.Put(target, auth, body, "application/json");
          if (method == "DELETE") return client.Delete(target, auth, body, "application/json");
          return client.Post(target, auth, body, "application/json");
        };
        const httplib::Result res = send();
        if (!res || res->status >= 500) {
          failures.push_back(method + " " + target + " " + body + " -> " +
                             (res ? std::to_string(res->status) + " " + res->body : "no answer"));
        }
      }
    }
  }
  INFO(failures.size() << " failures; first ones:\n"
                       << [&] {
                            std::string out;
                            for (std::size_t i = 0; i < failures.size() && i < 20; ++i)
                              out += failures[i] + "\n";
                            return out;
                          }());
  REQUIRE(failures.empty());
  requireHealthy(emu);
}
