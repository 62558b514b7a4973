// Fault injection (POST /_emu/faults and the X-Emu-Fault header), the request log
// (/_emu/requests) and Idempotency-Key replay, observed on the wire: httplib::Client where it
// can see the answer, raw sockets where the answer is cut or missing.
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace rtemu_test;
namespace fs = std::filesystem;

namespace {

std::string addFault(Api& api, const Json& fault) {
  const Response r = api.call("POST", "/_emu/faults", fault);
  INFO(r.raw);
  REQUIRE(r.status == 201);
  const std::string id = r.data()["id"];
  REQUIRE(id.rfind("flt_", 0) == 0);
  return id;
}

std::size_t sandboxCount(Api& api) {
  const Response r = api.get("/v1/sandboxes");
  REQUIRE(r.status == 200);
  return r.data().size();
}

Json logged(Api& api, const std::string& path = "", const std::string& method = "") {
  std::string target = "/_emu/requests";
  std::string sep = "?";
  if (!path.empty()) {
    target += sep + "path=" + path;
    sep = "&";
  }
  if (!method.empty()) target += sep + "method=" + method;
  const Response r = api.get(target);
  INFO(r.raw);
  REQUIRE(r.status == 200);
  return r.data();
}

// A raw HTTP/1.1 request with the key; the connection stays keep-alive unless `close`.
std::string rawHttp(const std::string& method, const std::string& path, const std::string& key,
                    const std::string& body = "", const std::string& extraHeaders = "",
                    bool close = false) {
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + key +
                        "\r\n" + extraHeaders;
  if (close) request += "Connection: close\r\n";
  if (!body.empty() || method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return request + "\r\n" + body;
}

// A request through httplib::Client that keeps the body as it is (Api::call insists that a
// JSON answer parses).
httplib::Result plain(int port, const std::string& method, const std::string& target,
                      httplib::Headers headers, const std::string& body = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  if (method == "POST") return client.Post(target, headers, body, "application/json");
  return client.Get(target, headers);
}

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Unix seconds of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 when malformed.
std::int64_t parseImfFixdate(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return -1;
  return static_cast<std::int64_t>(timegm(&tm));
}

const Json kCreate = Json{{"template", "base-ubuntu"}};

}  // namespace

TEST_CASE("fault registration validates its input and names the field") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const std::vector<std::pair<Json, std::string>> bad = {
      {Json{{"status", 503}}, "path"},
      {Json{{"path", ""}, {"status", 503}}, "path"},
      {Json{{"path", "v1/sandboxes"}, {"status", 503}}, "path"},
      {Json{{"path", "/v1/*/x"}, {"status", 503}}, "path"},
      {Json{{"path", 5}, {"status", 503}}, "path"},
      {Json{{"path", "/x"}, {"status", 503}, {"count", 0}}, "count"},
      {Json{{"path", "/x"}, {"status", 503}, {"count", "2"}}, "count"},
      {Json{{"path", "/x"}, {"status", 99}}, "status"},
      {Json{{"path", "/x"}, {"status", 600}}, "status"},
      {Json{{"path", "/x"}, {"status", 200}}, "status"},
      {Json{{"path", "/x"}}, "status"},
      {Json{{"path", "/x"}, {"action", "explode"}}, "action"},
      {Json{{"path", "/x"}, {"action", "reset-before"}, {"status", 503}}, "status"},
      {Json{{"path", "/x"}, {"action", "reset-before"}, {"retryAfter", 1}}, "retryAfter"},
      {Json{{"path", "/x"}, {"delayMs", -1}}, "delayMs"},
      {Json{{"path", "/x"}, {"delayMs", 600001}}, "delayMs"},
      {Json{{"path", "/x"}, {"status", 503}, {"retryAfter", -1}}, "retryAfter"},
      {Json{{"path", "/x"}, {"status", 503}, {"retryAfter", 1}, {"retryAfterDate", 1}},
       "retryAfterDate"},
      {Json{{"path", "/x"}, {"status", 503}, {"location", "/y"}}, "location"},
      {Json{{"path", "/x"}, {"status", 302}, {"location", "/y\r\nX-Evil: 1"}}, "location"},
      {Json{{"path", "/x"}, {"method", "G ET"}, {"status", 503}}, "method"},
  };
  for (const auto& [body, field] : bad) {
    INFO(body.dump());
    const Response r = api.call("POST", "/_emu/faults", body);
    expectError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == field);
    REQUIRE(r.body["error"]["message"].get<std::string>().find(field) != std::string::npos);
  }
  expectError(api.callRaw("POST", "/_emu/faults", "{not json"), 400, "validation_error");
  REQUIRE(api.get("/_emu/faults").data().empty());

  // The control plane: no key -> 401, another organization's key -> 403.
  expectError(Api(emu, "", Auth::kNone).post("/_emu/faults", Json{{"path", "/x"}, {"status", 503}}),
              401, "unauthorized");
  expectError(Api(emu, emu.mintKey()).post("/_emu/faults", Json{{"path", "/x"}, {"status", 503}}),
              403, "forbidden");
  expectError(api.call("DELETE", "/_emu/faults/flt_unknown"), 404, "not_found");
}

TEST_CASE("a status fault answers before the handler, with retry hints, for `count` requests") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const std::string id = addFault(api, Json{{"method", "post"},
                                            {"path", "/v1/sandboxes"},
                                            {"count", 2},
                                            {"status", 503},
                                            {"retryAfter", 1},
                                            {"retryAfterMs", 1500},
                                            {"rateLimitReset", 30}});
  Json pending = api.get("/_emu/faults").data();
  REQUIRE(pending.size() == 1);
  REQUIRE(pending[0]["id"] == id);
  REQUIRE(pending[0]["remaining"] == 2);
  REQUIRE(pending[0]["method"] == "POST");

  // GETs do not match (method), and are not counted.
  REQUIRE(api.get("/v1/sandboxes").status == 200);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::int64_t before = nowSeconds();
    const Response r = api.post("/v1/sandboxes", kCreate);
    expectError(r, 503, "service_unavailable");
    REQUIRE(r.header("X-Request-ID") == r.body["error"]["requestId"]);
    REQUIRE(r.header("Retry-After") == "1");
    REQUIRE(r.header("retry-after-ms") == "1500");
    REQUIRE(r.header("X-RateLimit-Remaining") == "0");
    const std::int64_t reset = std::stoll(r.header("X-RateLimit-Reset"));
    REQUIRE(reset >= before + 30);
    REQUIRE(reset <= nowSeconds() + 31);
    REQUIRE(r.headers.count("X-RateLimit-Reset") == 1);
    REQUIRE(r.headers.count("X-RateLimit-Remaining") == 1);
    REQUIRE_FALSE(r.header("X-RateLimit-Limit").empty());
    if (attempt == 0) REQUIRE(api.get("/_emu/faults").data()[0]["remaining"] == 1);
  }
  // The handler never ran; the third request is served normally.
  REQUIRE(sandboxCount(api) == 0);
  REQUIRE(api.get("/_emu/faults").data().empty());
  REQUIRE(api.post("/v1/sandboxes", kCreate).status == 201);
  REQUIRE(sandboxCount(api) == 1);

  // The code follows the status.
  for (const auto& [status, code] :
       std::vector<std::pair<int, std::string>>{{429, "rate_limited"},
                                                {500, "internal_error"},
                                                {502, "bad_gateway"},
                                                {504, "timeout"},
                                                {404, "not_found"}}) {
    addFault(api, Json{{"path", "/v1/templates"}, {"status", status}});
    expectError(api.get("/v1/templates"), status, code);
  }
  REQUIRE(api.get("/v1/templates").status == 200);

  // Retry-After as an HTTP date, rounded up to whole seconds.
  addFault(api, Json{{"path", "/v1/templates"}, {"status", 429}, {"retryAfterDate", 120}});
  const std::int64_t before = nowSeconds();
  const Response dated = api.get("/v1/templates");
  expectError(dated, 429, "rate_limited");
  const std::int64_t at = parseImfFixdate(dated.header("Retry-After"));
  INFO(dated.header("Retry-After"));
  REQUIRE(at >= before + 120);
  REQUIRE(at <= nowSeconds() + 121);
}

TEST_CASE("a 3xx fault redirects with an empty body and html answers an HTML page") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  addFault(api, Json{{"path", "/v1/sandboxes"},
                     {"method", "POST"},
                     {"status", 307},
                     {"location", "http://127.0.0.1:1/elsewhere"}});
  const Response moved = api.post("/v1/sandboxes", kCreate);
  REQUIRE(moved.status == 307);
  REQUIRE(moved.header("Location") == "http://127.0.0.1:1/elsewhere");
  REQUIRE(moved.raw.empty());
  REQUIRE(moved.header("Content-Length") == "0");

  addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", "html"}});
  const Response html = api.post("/v1/sandboxes", kCreate);
  REQUIRE(html.status == 502);
  REQUIRE(html.header("Content-Type").rfind("text/html", 0) == 0);
  REQUIRE(html.raw.find("<html>") != std::string::npos);
  REQUIRE(html.raw.find("502 Bad Gateway") != std::string::npos);
  REQUIRE_FALSE(html.header("X-Request-ID").empty());

  addFault(api,
           Json{{"path", "/v1/sandboxes"}, {"action", "html"}, {"status", 503}, {"retryAfter", 7}});
  const Response html503 = api.post("/v1/sandboxes", kCreate);
  REQUIRE(html503.status == 503);
  REQUIRE(html503.header("Retry-After") == "7");
  REQUIRE(html503.raw.find("503 Service Unavailable") != std::string::npos);

  REQUIRE(sandboxCount(api) == 0);  // none of them ran the handler
}

TEST_CASE("reset-before closes the connection with no answer and without running the handler") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", "reset-before"}});
  const RawAnswer raw =
      rawRequest(emu.port(), rawHttp("POST", "/v1/sandboxes", emu.apiKey(), kCreate.dump()));
  INFO(raw.bytes);
  REQUIRE(raw.closed);
  REQUIRE(raw.bytes.empty());  // not even a status line
  REQUIRE(sandboxCount(api) == 0);

  // httplib::Client reports a transport error, not an answer.
  addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", "reset-before"}});
  httplib::Client client("127.0.0.1", emu.port());
  const auto result = client.Post("/v1/sandboxes", {{"X-API-Key", emu.apiKey()}}, kCreate.dump(),
                                  "application/json");
  REQUIRE_FALSE(result);
  REQUIRE(sandboxCount(api) == 0);

  // The server keeps serving, and the log shows both requests without a status.
  REQUIRE(Api(emu, "", Auth::kNone).get("/health").status == 200);
  const Json entries = logged(api, "/v1/sandboxes", "POST");
  REQUIRE(entries.size() == 2);
  for (const Json& entry : entries) {
    REQUIRE(entry["status"].is_null());
    REQUIRE(entry["fault"]["action"] == "reset-before");
  }
}

TEST_CASE("reset-mid-body and truncate send the true headers and part of the body") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  std::size_t created = 0;
  for (const std::string action : {"reset-mid-body", "truncate"}) {
    INFO(action);
    addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", action}});
    const RawAnswer raw =
        rawRequest(emu.port(), rawHttp("POST", "/v1/sandboxes", emu.apiKey(), kCreate.dump()));
    INFO(raw.bytes);
    REQUIRE(raw.closed);
    const ParsedAnswer answer = parseAnswer(raw.bytes);
    REQUIRE(answer.status == 201);  // the handler ran: the true status
    REQUIRE(answer.headers.find("Content-Type")->second == "application/json");
    REQUIRE(answer.headers.count("Content-Type") == 1);
    const std::size_t length = std::stoul(answer.headers.find("Content-Length")->second);
    REQUIRE(length > 100);
    const std::size_t expected = action == "truncate" ? length - 1 : length / 2;
    REQUIRE(answer.body.size() == expected);
    REQUIRE(answer.body.rfind("{\"data\":", 0) == 0);
    ++created;
    REQUIRE(sandboxCount(api) == created);  // ... and its side effect happened
  }

  // httplib::Client sees a failed read.
  addFault(api, Json{{"path", "/v1/templates"}, {"action", "reset-mid-body"}});
  httplib::Client client("127.0.0.1", emu.port());
  REQUIRE_FALSE(client.Get("/v1/templates", {{"X-API-Key", emu.apiKey()}}));
  REQUIRE(api.get("/v1/templates").status == 200);
}

TEST_CASE("malformed-json keeps the status, empty answers 200 with no body") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", "malformed-json"}});
  const RawAnswer raw = rawRequest(
      emu.port(), rawHttp("POST", "/v1/sandboxes", emu.apiKey(), kCreate.dump(), "", true));
  const ParsedAnswer malformed = parseAnswer(raw.bytes);
  INFO(raw.bytes);
  REQUIRE(malformed.status == 201);
  REQUIRE(malformed.headers.find("Content-Type")->second == "application/json");
  REQUIRE(malformed.body == "{\"data\": {\"id\": ");
  REQUIRE(Json::parse(malformed.body, nullptr, false).is_discarded());
  REQUIRE(sandboxCount(api) == 1);

  // A 404 stays a 404 with malformed-json.
  addFault(api, Json{{"path", "/v1/sandboxes/*"}, {"action", "malformed-json"}});
  const ParsedAnswer missing = parseAnswer(
      rawRequest(emu.port(), rawHttp("GET", "/v1/sandboxes/nope", emu.apiKey(), "", "", true))
          .bytes);
  REQUIRE(missing.status == 404);
  REQUIRE(missing.body == "{\"data\": {\"id\": ");

  addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", "empty"}});
  const RawAnswer emptyRaw = rawRequest(
      emu.port(), rawHttp("POST", "/v1/sandboxes", emu.apiKey(), kCreate.dump(), "", true));
  const ParsedAnswer empty = parseAnswer(emptyRaw.bytes);
  INFO(emptyRaw.bytes);
  REQUIRE(empty.status == 200);
  REQUIRE(empty.headers.find("Content-Length")->second == "0");
  REQUIRE(empty.body.empty());
  REQUIRE(sandboxCount(api) == 2);  // the handler ran
}

TEST_CASE("delayMs delays a normal answer, or the fault it comes with") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  addFault(api, Json{{"path", "/v1/templates"}, {"delayMs", 150}});
  auto start = std::chrono::steady_clock::now();
  REQUIRE(api.get("/v1/templates").status == 200);
  REQUIRE(std::chrono::steady_clock::now() - start >= 150ms);  // a lower bound only

  addFault(api, Json{{"path", "/v1/templates"}, {"delayMs", 150}, {"status", 503}});
  start = std::chrono::steady_clock::now();
  expectError(api.get("/v1/templates"), 503, "service_unavailable");
  REQUIRE(std::chrono::steady_clock::now() - start >= 150ms);
  REQUIRE(api.get("/v1/templates").status == 200);

  // Stopping the emulator ends a long delay.
  addFault(api, Json{{"path", "/v1/templates"}, {"delayMs", 600000}});
  std::thread waiting([port = emu.port(), key = emu.apiKey()] {
    httplib::Client client("127.0.0.1", port);
    client.Get("/v1/templates", {{"X-API-Key", key}});
  });
  REQUIRE(eventually([&] { return api.get("/_emu/faults").data().empty(); }));
  start = std::chrono::steady_clock::now();
  emu.stop();
  waiting.join();
  REQUIRE(std::chrono::steady_clock::now() - start < 60s);
}

TEST_CASE("fault matching: method, exact path, prefixes, and exempt paths") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  Api anonymous(emu, "", Auth::kNone);

  addFault(api, Json{{"path", "/v1/sandboxes/*"}, {"method", "GET"}, {"status", 503}});
  REQUIRE(api.get("/v1/sandboxes").status == 200);  // "/v1/sandboxes/*" needs the slash
  expectError(api.get("/v1/sandboxes/abc/url"), 503, "service_unavailable");
  expectError(api.get("/v1/sandboxes/abc"), 404, "not_found");  // used up

  addFault(api, Json{{"path", "/v1/sandboxes*"}, {"status", 503}, {"count", 2}});
  expectError(api.get("/v1/sandboxes"), 503, "service_unavailable");
  expectError(api.get("/v1/sandboxes/abc"), 503, "service_unavailable");

  // Exact paths match only themselves (not a query, which is not part of the path).
  addFault(api, Json{{"path", "/v1/templates"}, {"status", 503}});
  REQUIRE(api.get("/v1/templates/base-ubuntu").status == 200);
  expectError(api.get("/v1/templates?x=1"), 503, "service_unavailable");

  // Faults never touch /health or /_emu/*, even when they match everything.
  addFault(api, Json{{"path", "*"}, {"status", 503}, {"count", 3}});
  REQUIRE(anonymous.get("/health").status == 200);
  REQUIRE(api.get("/_emu/faults").status == 200);
  REQUIRE(api.get("/_emu/requests").status == 200);
  REQUIRE(anonymous.call("GET", "/health", std::nullopt, {{"X-Emu-Fault", "status=503;key=h"}})
              .status == 200);
  REQUIRE(api.get("/_emu/faults").data()[0]["remaining"] == 3);
  expectError(api.get("/v1/templates"), 503, "service_unavailable");
  expectError(anonymous.get("/v1/status"), 503, "service_unavailable");  // no key needed
  REQUIRE(api.get("/_emu/faults").data()[0]["remaining"] == 1);

  // Several pending faults apply in the order they were added.
  api.call("DELETE", "/_emu/faults");
  addFault(api, Json{{"path", "/v1/templates"}, {"status", 500}});
  addFault(api, Json{{"path", "/v1/templates"}, {"status", 502}});
  expectError(api.get("/v1/templates"), 500, "internal_error");
  expectError(api.get("/v1/templates"), 502, "bad_gateway");
  REQUIRE(api.get("/v1/templates").status == 200);
}

TEST_CASE("faults are listed, removed one by one, cleared, and forgotten by reset") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  const std::string a = addFault(api, Json{{"path", "/a"}, {"status", 503}, {"count", 3}});
  const std::string b = addFault(api, Json{{"path", "/b"}, {"action", "reset-before"}});
  Json list = api.get("/_emu/faults").data();
  REQUIRE(list.size() == 2);
  REQUIRE(list[0]["id"] == a);
  REQUIRE(list[0]["remaining"] == 3);
  REQUIRE(list[0]["count"] == 3);
  REQUIRE(list[0]["status"] == 503);
  REQUIRE(list[1]["id"] == b);
  REQUIRE(list[1]["action"] == "reset-before");

  const Response removed = api.call("DELETE", "/_emu/faults/" + a);
  REQUIRE(removed.status == 200);
  REQUIRE(removed.data()["deleted"] == true);
  expectError(api.call("DELETE", "/_emu/faults/" + a), 404, "not_found");
  list = api.get("/_emu/faults").data();
  REQUIRE(list.size() == 1);
  REQUIRE(list[0]["id"] == b);

  addFault(api, Json{{"path", "/c"}, {"status", 503}});
  const Response cleared = api.call("DELETE", "/_emu/faults");
  REQUIRE(cleared.status == 200);
  REQUIRE(cleared.data()["cleared"] == 2);
  REQUIRE(api.get("/_emu/faults").data().empty());

  addFault(api, Json{{"path", "/v1/templates"}, {"status", 503}});
  REQUIRE(api.post("/_emu/reset").status == 200);
  REQUIRE(api.get("/_emu/faults").data().empty());
  REQUIRE(api.get("/v1/templates").status == 200);
}

TEST_CASE("X-Emu-Fault faults are scoped by their key, two keys interleaved") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const auto with = [](const std::string& value) {
    return httplib::Headers{{"X-Emu-Fault", value}};
  };
  const auto get = [&](const std::string& fault) {
    return fault.empty() ? api.get("/v1/templates")
                         : api.call("GET", "/v1/templates", std::nullopt, with(fault));
  };
  const std::string a = "status=503;retryAfter=1;count=2;key=alpha";
  const std::string b = " action = malformed-json ; key = beta ";

  REQUIRE(get(a).status == 503);   // alpha registered and used once
  REQUIRE(get("").status == 200);  // no header: never affected
  httplib::Headers withB = with(b);
  withB.emplace("X-API-Key", emu.apiKey());
  const auto malformed = plain(emu.port(), "GET", "/v1/templates", withB);
  REQUIRE(malformed);
  REQUIRE(malformed->body == "{\"data\": {\"id\": ");
  REQUIRE(malformed->status == 200);

  Json pending = api.get("/_emu/faults").data();
  REQUIRE(pending.size() == 1);  // beta is used up
  REQUIRE(pending[0]["key"] == "alpha");
  REQUIRE(pending[0]["remaining"] == 1);

  const Response second = get(a);
  expectError(second, 503, "service_unavailable");
  REQUIRE(second.header("Retry-After") == "1");
  REQUIRE(api.call("GET", "/v1/templates", std::nullopt, withB).status == 200);  // beta done
  REQUIRE(get(a).status == 200);  // alpha done: served normally from now on
  REQUIRE(get(a).status == 200);
  REQUIRE(get("").status == 200);
  // The key, not the rest of the header, identifies the fault.
  REQUIRE(get("status=500;key=alpha").status == 200);
  REQUIRE(api.get("/_emu/faults").data().empty());

  // A method/path filter: other requests with the key are served and do not consume it.
  const std::string postOnly = "method=POST;path=/v1/sandboxes;status=503;key=gamma";
  REQUIRE(api.call("GET", "/v1/sandboxes", std::nullopt, with(postOnly)).status == 200);
  expectError(api.call("POST", "/v1/sandboxes", kCreate, with(postOnly)), 503,
              "service_unavailable");
  REQUIRE(api.call("POST", "/v1/sandboxes", kCreate, with(postOnly)).status == 201);

  // A header fault can be removed by id like the others.
  REQUIRE(get("status=503;count=5;key=delta").status == 503);
  const std::string delta = api.get("/_emu/faults").data()[0]["id"];
  REQUIRE(api.call("DELETE", "/_emu/faults/" + delta).status == 200);
  REQUIRE(get("status=503;count=5;key=delta").status == 200);

  // Malformed headers: 400 naming the header and the problem.
  for (const std::string bad :
       {"status=503", "status=503;key=", "status=abc;key=k", "status=-1;key=k", "nonsense;key=k",
        "status=503;colour=red;key=k", "status=503;status=500;key=k", "action=boom;key=k",
        "status=200;key=k", "key=k", ";;;"}) {
    INFO(bad);
    const Response r = get(bad);
    expectError(r, 400, "validation_error");
    REQUIRE(r.body["error"]["details"]["field"] == "X-Emu-Fault");
  }
}

TEST_CASE("X-Emu-Fault keys used in parallel never interfere") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  constexpr int kThreads = 8;
  constexpr int kFaulted = 3;
  std::vector<std::vector<int>> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", emu.port());
      const httplib::Headers headers{
          {"X-API-Key", emu.apiKey()},
          {"X-Emu-Fault",
           "status=503;count=" + std::to_string(kFaulted) + ";key=k" + std::to_string(t)}};
      for (int i = 0; i < 2 * kFaulted; ++i) {
        const auto res = client.Get("/v1/templates", headers);
        statuses[t].push_back(res ? res->status : -1);
      }
    });
  }
  // Requests without the header, meanwhile, are never affected.
  Api api(emu, emu.apiKey());
  for (int i = 0; i < 20; ++i)
    REQUIRE(api.get("/v1/templates").status == 200);
  for (std::thread& thread : threads)
    thread.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    REQUIRE(statuses[t] == std::vector<int>{503, 503, 503, 200, 200, 200});
  }
}

TEST_CASE("reset-mid-body cuts a server-sent event stream and a file download") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  // SSE: the headers and the first event, then the connection closes without the final chunk.
  const std::string sandbox = api.runningSandbox()["id"];
  const std::string stream = "/v1/sandboxes/" + sandbox + "/exec/stream";
  addFault(api, Json{{"path", stream}, {"action", "reset-mid-body"}});
  const Json command{{"command", "echo one; echo two >&2; echo three; echo done > marker"}};
  const RawAnswer sse = rawRequest(emu.port(), rawHttp("POST", stream, emu.apiKey(), command.dump(),
                                                       "Accept: text/event-stream\r\n"));
  INFO(sse.bytes);
  REQUIRE(sse.closed);
  const ParsedAnswer cut = parseAnswer(sse.bytes);
  REQUIRE(cut.status == 200);
  REQUIRE(cut.headers.find("Transfer-Encoding")->second == "chunked");
  REQUIRE(cut.body.find("event: ") != std::string::npos);
  REQUIRE(cut.body.find("event: exit") == std::string::npos);
  REQUIRE(cut.body.find("\r\n0\r\n\r\n") == std::string::npos);  // no final chunk
  REQUIRE(api.get("/v1/templates").status == 200);

  // malformed-json on a stream: the command still runs to its end.
  addFault(api, Json{{"path", stream}, {"action", "malformed-json"}});
  const auto replaced = plain(emu.port(), "POST", stream,
                              {{"X-API-Key", emu.apiKey()}, {"Accept", "text/event-stream"}},
                              Json{{"command", "echo ran > replaced"}}.dump());
  REQUIRE(replaced);
  REQUIRE(replaced->status == 200);
  REQUIRE(replaced->body == "{\"data\": {\"id\": ");
  REQUIRE(api.exec(sandbox, "cat replaced")["stdout"] == "ran\n");

  // A file download: the true Content-Length, then half (or all but one) of the bytes.
  const std::string workspace = api.createWorkspace("Faults");
  std::string contents;
  for (int i = 0; i < 1000; ++i)
    contents += static_cast<char>('a' + i % 26);
  REQUIRE(api.post("/v1/workspaces/" + workspace + "/files",
                   Json{{"name", "f.txt"}, {"contents", contents}})
              .status == 201);
  const std::string direct = "/v1/workspaces/" + workspace + "/direct";
  for (const std::string action : {"reset-mid-body", "truncate"}) {
    INFO(action);
    addFault(api, Json{{"path", direct}, {"action", action}});
    const RawAnswer raw =
        rawRequest(emu.port(), rawHttp("GET", direct + "?id=/f.txt", emu.apiKey()));
    REQUIRE(raw.closed);
    const ParsedAnswer answer = parseAnswer(raw.bytes);
    REQUIRE(answer.status == 200);
    REQUIRE(answer.headers.find("Content-Length")->second == "1000");
    REQUIRE(answer.body == contents.substr(0, action == "truncate" ? 999 : 500));
  }
  const Response whole = api.get(direct + "?id=/f.txt");
  REQUIRE(whole.raw == contents);
}

TEST_CASE("the request log records every request, redacted, filtered, oldest first") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  Api bearer(emu, emu.apiKey(), Auth::kBearer);

  REQUIRE(api.post("/v1/sandboxes", kCreate).status == 201);
  REQUIRE(bearer
              .call("GET", "/v1/sandboxes?limit=5&api_key=" + emu.apiKey(), std::nullopt,
                    {{"Cookie", "session=" + emu.apiKey()}})
              .status == 200);
  addFault(api, Json{{"path", "/v1/templates"}, {"status", 503}});
  expectError(api.get("/v1/templates"), 503, "service_unavailable");
  expectError(Api(emu, "", Auth::kNone).get("/v1/sandboxes/none"), 401, "unauthorized");
  REQUIRE(api.call("POST", "/v1/sandboxes", kCreate, {{"Idempotency-Key", "log-key"}}).status ==
          201);
  REQUIRE(api.call("POST", "/v1/sandboxes", kCreate, {{"Idempotency-Key", "log-key"}}).status ==
          201);

  const Response all = api.get("/_emu/requests");
  REQUIRE(all.status == 200);
  // No credential anywhere in it.
  REQUIRE(all.raw.find(emu.apiKey()) == std::string::npos);
  const Json entries = all.data();
  std::vector<std::string> seen;
  for (const Json& e : entries)
    seen.push_back(e["method"].get<std::string>() + " " + e["path"].get<std::string>());
  REQUIRE(seen == std::vector<std::string>{"POST /v1/sandboxes", "GET /v1/sandboxes",
                                           "POST /_emu/faults", "GET /v1/templates",
                                           "GET /v1/sandboxes/none", "POST /v1/sandboxes",
                                           "POST /v1/sandboxes"});  // not /_emu/requests itself

  const Json& created = entries[0];
  REQUIRE(created["status"] == 201);
  REQUIRE(created["query"] == "");
  REQUIRE(created["fault"].is_null());
  REQUIRE(created["idempotencyKey"].is_null());
  REQUIRE(created["replayed"] == false);
  REQUIRE(created["headers"]["X-API-Key"] == "[redacted]");
  REQUIRE(created["headers"]["Content-Type"] == "application/json");
  REQUIRE(created["requestId"].get<std::string>().rfind("req_", 0) == 0);
  REQUIRE(parseIsoMs(created["timestamp"]) > 0);

  const Json& listed = entries[1];
  REQUIRE(listed["headers"]["Authorization"] == "[redacted]");
  REQUIRE(listed["headers"]["Cookie"] == "[redacted]");
  REQUIRE(listed["query"] == "limit=5&api_key=[redacted]");

  REQUIRE(entries[3]["status"] == 503);
  REQUIRE(entries[3]["fault"]["status"] == 503);
  REQUIRE(entries[4]["status"] == 401);
  REQUIRE(entries[5]["idempotencyKey"] == "log-key");
  REQUIRE(entries[5]["replayed"] == false);
  REQUIRE(entries[6]["idempotencyKey"] == "log-key");
  REQUIRE(entries[6]["replayed"] == true);

  // Filters: exact path, prefix, method (case-insensitive).
  REQUIRE(logged(api, "/v1/sandboxes", "POST").size() == 3);
  REQUIRE(logged(api, "/v1/sandboxes", "post").size() == 3);
  REQUIRE(logged(api, "/v1/sandboxes").size() == 4);
  REQUIRE(logged(api, "/v1/sandboxes*").size() == 5);
  REQUIRE(logged(api, "", "GET").size() == 3);
  REQUIRE(logged(api, "/nothing").empty());

  REQUIRE(api.call("DELETE", "/_emu/requests").status == 200);
  REQUIRE(logged(api).empty());

  // httplib's own errors (here a header line over its 8 KiB limit) are recorded too.
  const RawAnswer bad = rawRequest(
      emu.port(),
      "GET /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'b') + "\r\n\r\n",
      RawRead::kUntilAnswer);
  REQUIRE(parseAnswer(bad.bytes).status == 400);
  const Json afterBad = logged(api);
  REQUIRE(afterBad.size() == 1);
  REQUIRE(afterBad[0]["status"] == 400);
}

TEST_CASE("the request log keeps the last 2000 requests") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  httplib::Client client("127.0.0.1", emu.port());
  for (int i = 0; i < 2010; ++i) {
    const auto res = client.Get("/health?n=" + std::to_string(i));
    REQUIRE(res);
  }
  const Json entries = logged(api);
  REQUIRE(entries.size() == 2000);
  REQUIRE(entries[0]["query"] == "n=10");
  REQUIRE(entries[1999]["query"] == "n=2009");
}

TEST_CASE("Idempotency-Key: a repeat replays the first answer, another body conflicts") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const httplib::Headers key{{"Idempotency-Key", "create-1"}};

  const Response first = api.call("POST", "/v1/sandboxes", kCreate, key);
  REQUIRE(first.status == 201);
  REQUIRE(first.header("Idempotent-Replayed").empty());
  const Response again = api.call("POST", "/v1/sandboxes", kCreate, key);
  REQUIRE(again.status == 201);
  REQUIRE(again.header("Idempotent-Replayed") == "true");
  REQUIRE(again.raw == first.raw);  // byte for byte
  REQUIRE(again.header("X-Request-ID") != first.header("X-Request-ID"));
  REQUIRE(sandboxCount(api) == 1);
  // Both reached the server; the log tells which was replayed.
  const Json posts = logged(api, "/v1/sandboxes", "POST");
  REQUIRE(posts.size() == 2);
  REQUIRE(posts[1]["replayed"] == true);

  // Same key, different body: 409, and nothing is created.
  const Response conflict =
      api.call("POST", "/v1/sandboxes", Json{{"template", "desktop-ubuntu"}}, key);
  expectError(conflict, 409, "idempotency_conflict");
  REQUIRE(sandboxCount(api) == 1);

  // The scope includes the method and path: the same key elsewhere is independent.
  const Response workspace = api.call("POST", "/v1/workspaces", Json{{"name", "W"}}, key);
  REQUIRE(workspace.status == 201);
  REQUIRE(workspace.header("Idempotent-Replayed").empty());

  // Errors below 500 are kept too (the same request would fail the same way)...
  const httplib::Headers badKey{{"Idempotency-Key", "bad-create"}};
  expectError(api.call("POST", "/v1/sandboxes", Json{{"template", 5}}, badKey), 400,
              "validation_error");
  const Response badAgain = api.call("POST", "/v1/sandboxes", Json{{"template", 5}}, badKey);
  expectError(badAgain, 400, "validation_error");
  REQUIRE(badAgain.header("Idempotent-Replayed") == "true");
  // ... but not 5xx answers: the retry runs again.
  const httplib::Headers serverKey{{"Idempotency-Key", "five-hundred"}};
  expectError(api.call("POST", "/v1/templates", Json{{"slug", "x"}}, serverKey), 501,
              "not_implemented");
  const Response serverAgain = api.call("POST", "/v1/templates", Json{{"slug", "x"}}, serverKey);
  expectError(serverAgain, 501, "not_implemented");
  REQUIRE(serverAgain.header("Idempotent-Replayed").empty());

  // A fault before the handler is not kept either: the retry creates the sandbox, once.
  const httplib::Headers faultKey{{"Idempotency-Key", "after-503"}};
  addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"status", 503}});
  expectError(api.call("POST", "/v1/sandboxes", kCreate, faultKey), 503, "service_unavailable");
  const Response retried = api.call("POST", "/v1/sandboxes", kCreate, faultKey);
  REQUIRE(retried.status == 201);
  REQUIRE(retried.header("Idempotent-Replayed").empty());
  REQUIRE(api.call("POST", "/v1/sandboxes", kCreate, faultKey).header("Idempotent-Replayed") ==
          "true");
  REQUIRE(sandboxCount(api) == 2);

  // GET ignores the header.
  REQUIRE(
      api.call("GET", "/v1/sandboxes", std::nullopt, key).header("Idempotent-Replayed").empty());
  // /_emu/reset forgets the kept answers.
  REQUIRE(api.post("/_emu/reset").status == 200);
  const Response afterReset = api.call("POST", "/v1/sandboxes", kCreate, key);
  REQUIRE(afterReset.status == 201);
  REQUIRE(afterReset.header("Idempotent-Replayed").empty());
}

TEST_CASE("Idempotency-Key scope: another credential, PATCH, expiry after 24 h") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  Api other(emu, emu.mintKey(emu.defaultOrgId()));  // same organization, another key
  const httplib::Headers key{{"Idempotency-Key", "shared"}};

  const Response mine = api.call("POST", "/v1/sandboxes", kCreate, key);
  const Response theirs = other.call("POST", "/v1/sandboxes", kCreate, key);
  REQUIRE(mine.status == 201);
  REQUIRE(theirs.status == 201);
  REQUIRE(theirs.header("Idempotent-Replayed").empty());
  REQUIRE(theirs.data()["id"] != mine.data()["id"]);
  REQUIRE(sandboxCount(api) == 2);
  // The same key presented as a bearer token is the same credential.
  const Response asBearer =
      Api(emu, emu.apiKey(), Auth::kBearer).call("POST", "/v1/sandboxes", kCreate, key);
  REQUIRE(asBearer.header("Idempotent-Replayed") == "true");
  REQUIRE(asBearer.data()["id"] == mine.data()["id"]);

  // PATCH is covered as well.
  const std::string id = mine.data()["id"];
  const httplib::Headers patchKey{{"Idempotency-Key", "rename"}};
  const Response renamed =
      api.call("PATCH", "/v1/sandboxes/" + id, Json{{"name", "one"}}, patchKey);
  REQUIRE(renamed.status == 200);
  const Response renamedAgain =
      api.call("PATCH", "/v1/sandboxes/" + id, Json{{"name", "one"}}, patchKey);
  REQUIRE(renamedAgain.header("Idempotent-Replayed") == "true");
  REQUIRE(renamedAgain.raw == renamed.raw);

  // Kept for 24 h of the emulator's clock.
  emu.advanceClock(std::chrono::hours(23));
  REQUIRE(api.call("POST", "/v1/sandboxes", kCreate, key).header("Idempotent-Replayed") == "true");
  REQUIRE(sandboxCount(api) == 2);
  emu.advanceClock(std::chrono::hours(1) + std::chrono::seconds(1));
  const Response expired = api.call("POST", "/v1/sandboxes", kCreate, key);
  REQUIRE(expired.status == 201);
  REQUIRE(expired.header("Idempotent-Replayed").empty());
  REQUIRE(expired.data()["id"] != mine.data()["id"]);
  REQUIRE(sandboxCount(api) == 3);
}

TEST_CASE("Idempotency-Key values are validated") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  // (An empty value cannot be told from no header: httplib drops empty header fields.)
  const Response tooLong =
      api.call("POST", "/v1/sandboxes", kCreate, {{"Idempotency-Key", std::string(256, 'k')}});
  expectError(tooLong, 400, "validation_error");
  REQUIRE(tooLong.body["error"]["details"]["field"] == "Idempotency-Key");
  REQUIRE(api.call("POST", "/v1/sandboxes", kCreate, {{"Idempotency-Key", std::string(255, 'k')}})
              .status == 201);
  // A control character (httplib::Client would not send it).
  const RawAnswer raw =
      rawRequest(emu.port(), rawHttp("POST", "/v1/sandboxes", emu.apiKey(), kCreate.dump(),
                                     "Idempotency-Key: a\x01"
                                     "b\r\n",
                                     true));
  const ParsedAnswer answer = parseAnswer(raw.bytes);
  INFO(raw.bytes);
  REQUIRE(answer.status == 400);
  REQUIRE(Json::parse(answer.body)["error"]["code"] == "validation_error");
  REQUIRE(sandboxCount(api) == 1);
}

TEST_CASE("a create whose answer was cut is replayed to the retry: one sandbox") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());

  for (const std::string action : {"reset-mid-body", "truncate", "malformed-json", "empty"}) {
    INFO(action);
    REQUIRE(api.post("/_emu/reset").status == 200);
    const std::string key = "cut-" + action;
    addFault(api, Json{{"path", "/v1/sandboxes"}, {"method", "POST"}, {"action", action}});
    const RawAnswer lost =
        rawRequest(emu.port(), rawHttp("POST", "/v1/sandboxes", emu.apiKey(), kCreate.dump(),
                                       "Idempotency-Key: " + key + "\r\n", true));
    REQUIRE(lost.closed);
    const Response retry = api.call("POST", "/v1/sandboxes", kCreate, {{"Idempotency-Key", key}});
    INFO(retry.raw);
    REQUIRE(retry.status == 201);
    REQUIRE(retry.header("Idempotent-Replayed") == "true");
    const Json list = api.get("/v1/sandboxes").data();
    REQUIRE(list.size() == 1);
    REQUIRE(list[0]["id"] == retry.data()["id"]);
    const Json posts = logged(api, "/v1/sandboxes", "POST");
    REQUIRE(posts.size() == 2);
    REQUIRE(posts[0]["fault"]["action"] == action);
    REQUIRE(posts[1]["replayed"] == true);
  }
}

TEST_CASE("a repeat that arrives while the first request runs waits, then gets the replay") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  const std::string id = api.runningSandbox()["id"];
  const fs::path dir = fs::path(emu.stateDir()) / "sandboxes" / id / "workspace";
  const Json body{{"command", "echo run >> count; while [ ! -f go ]; do sleep 0.02; done; echo ok"},
                  {"timeout", 30000}};

  struct Outcome {
    int status = 0;
    std::string replayed;
    std::string body;
  };
  const auto post = [&](Outcome& out) {
    httplib::Client client("127.0.0.1", emu.port());
    client.set_read_timeout(60, 0);
    const auto res = client.Post("/v1/sandboxes/" + id + "/exec",
                                 {{"X-API-Key", emu.apiKey()}, {"Idempotency-Key", "exec-once"}},
                                 body.dump(), "application/json");
    if (!res) return;
    out.status = res->status;
    out.replayed = res->get_header_value("Idempotent-Replayed");
    out.body = res->body;
  };
  Outcome first;
  Outcome second;
  std::thread a([&] { post(first); });
  REQUIRE(eventually([&] { return fs::exists(dir / "count"); }));
  std::thread b([&] { post(second); });
  // Gives the repeat time to arrive while the command still waits; the assertions below hold
  // whichever way the two requests interleave.
  std::this_thread::sleep_for(200ms);
  std::ofstream(dir / "go") << "go";
  a.join();
  b.join();
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  REQUIRE(first.replayed.empty());
  REQUIRE(second.replayed == "true");
  REQUIRE(second.body == first.body);
  std::ifstream in(dir / "count");
  const std::string count((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(count == "run\n");  // the command ran once
}
