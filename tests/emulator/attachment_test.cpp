// Agent attachments: create, the key-less pre-signed upload, complete, resolve, and their use
// in a run's message parts.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "emulator_fixtures.hpp"
#include "test_support.hpp"

using namespace rtemu_test;

namespace {

std::string newThread(Api& api) {
  const Response r =
      api.post("/v1/run", Json{{"agent", "echo"}, {"prompt", "start"}, {"stream", false}});
  REQUIRE(r.status == 200);
  return r.data()["threadId"];
}

// The path of an upload URL ("http://host:port/_emu/uploads/ID" -> "/_emu/uploads/ID").
std::string pathOf(const std::string& url) {
  const auto at = url.find("/_emu/");
  REQUIRE(at != std::string::npos);
  return url.substr(at);
}

// True once `got` holds a whole response with a Content-Length.
bool wholeResponse(const std::string& got) {
  const auto end = got.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const auto cl = got.find("Content-Length: ");
  return cl != std::string::npos && cl < end &&
         got.size() >= end + 4 + std::stoul(got.substr(cl + 16));
}

}  // namespace

TEST_CASE("attachments: create, upload without a key, complete, resolve and run with them") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  REQUIRE(api.post("/v1/agents", Json{{"slug", "echo"}, {"executionMode", "managed"}}).status ==
          201);
  const std::string thread = newThread(api);

  const Response created = api.post("/v1/agent-attachments", Json{{"threadId", thread},
                                                                  {"filename", "notes.txt"},
                                                                  {"contentType", "text/plain"},
                                                                  {"agentSlug", "echo"},
                                                                  {"sizeBytes", 11}});
  INFO(created.raw);
  REQUIRE(created.status == 201);
  const Json& a = created.data();
  const std::string id = a["id"];
  REQUIRE(id.size() == 36);
  REQUIRE(id[14] == '4');
  REQUIRE(a["uploadUrl"] == emu.baseUrl() + "/_emu/uploads/" + id);
  REQUIRE(a["method"] == "PUT");
  REQUIRE(a["headers"] == Json{{"Content-Type", "text/plain"}});
  REQUIRE(a["expiresAt"].is_string());

  // The pre-signed upload needs no key; a second PUT replaces the first.
  Api anonymous(emu, "", Auth::kNone);
  Response up =
      anonymous.callRaw("PUT", pathOf(a["uploadUrl"]), "first", {{"Content-Type", "text/plain"}});
  INFO(up.raw);
  REQUIRE(up.status == 200);
  REQUIRE(up.data() == Json{{"id", id}, {"sizeBytes", 5}});
  up = anonymous.callRaw("PUT", pathOf(a["uploadUrl"]), "hello world");
  REQUIRE(up.status == 200);
  REQUIRE(up.data()["sizeBytes"] == 11);

  const Response completed = api.post("/v1/agent-attachments/" + id + "/complete");
  INFO(completed.raw);
  REQUIRE(completed.status == 200);
  REQUIRE(completed.data()["attachment"] == Json{{"id", id},
                                                 {"threadId", thread},
                                                 {"filename", "notes.txt"},
                                                 {"contentType", "text/plain"},
                                                 {"sizeBytes", 11},
                                                 {"status", "ready"},
                                                 {"materializations", Json::array()}});
  // Completing again is harmless; uploading after completion is refused.
  REQUIRE(api.post("/v1/agent-attachments/" + id + "/complete").status == 200);
  requireError(anonymous.callRaw("PUT", pathOf(a["uploadUrl"]), "late"), 409,
               "invalid_state_transition");

  const Response resolved =
      api.post("/v1/agent-attachments/" + id + "/resolve",
               Json{{"model", "claude-sonnet-4"}, {"isMostRecentUserAttachment", true}});
  INFO(resolved.raw);
  REQUIRE(resolved.status == 200);
  REQUIRE(resolved.data() == Json{{"attachmentId", id},
                                  {"model", "claude-sonnet-4"},
                                  {"kind", "text"},
                                  {"url", emu.baseUrl() + "/_emu/uploads/" + id},
                                  {"text", "hello world"}});
  requireError(api.post("/v1/agent-attachments/" + id + "/resolve", Json::object()), 400,
               "validation_error", "model");
  // The resolved URL serves the bytes.
  const Response download = anonymous.get(pathOf(resolved.data()["url"]));
  REQUIRE(download.status == 200);
  REQUIRE(download.raw == "hello world");

  // An image (no declared size), resolved as such.
  const std::string imageId =
      api.post("/v1/agent-attachments",
               Json{{"threadId", thread}, {"filename", "cat.png"}, {"contentType", "image/png"}})
          .data()["id"];
  REQUIRE(
      anonymous.callRaw("PUT", "/_emu/uploads/" + imageId, std::string("\x89PNG\0\1", 6)).status ==
      200);
  const Response imageDone = api.post("/v1/agent-attachments/" + imageId + "/complete");
  REQUIRE(imageDone.data()["attachment"]["sizeBytes"] == 6);
  const Json image =
      api.post("/v1/agent-attachments/" + imageId + "/resolve", Json{{"model", "m"}}).data();
  REQUIRE(image["kind"] == "image");
  REQUIRE(image["text"].is_null());

  // Attachment parts in the last user message: their names follow the echo.
  const Response run =
      api.post("/v1/run", Json{{"agent", "echo"},
                               {"threadId", thread},
                               {"stream", false},
                               {"messages",
                                {{{"role", "user"},
                                  {"content", "look"},
                                  {"parts",
                                   {{{"type", "attachment"}, {"attachmentId", id}},
                                    {{"type", "attachment"}, {"attachmentId", imageId}}}}}}}});
  INFO(run.raw);
  REQUIRE(run.status == 200);
  REQUIRE(run.data()["result"] == "echo: look [attachments: notes.txt, cat.png]");
  const Json events = api.get("/v1/threads/" + thread).data()["events"];
  const Json& userMessage = events[events.size() - 3];
  REQUIRE(userMessage["type"] == "user_message");
  REQUIRE(userMessage["payload"] == Json{{"content", "look"}, {"attachments", {id, imageId}}});
  // Attachments only (no text) are a valid user message.
  const Response only = api.post(
      "/v1/run",
      Json{{"agent", "echo"},
           {"stream", false},
           {"messages",
            {{{"role", "user"}, {"parts", {{{"type", "attachment"}, {"attachmentId", id}}}}}}}});
  REQUIRE(only.status == 200);
  REQUIRE(only.data()["result"] == "echo:  [attachments: notes.txt]");
}

TEST_CASE("attachments: validation, state errors, limits and isolation") {
  rtemu::Emulator emu(fastConfig());
  emu.start();
  Api api(emu, emu.apiKey());
  REQUIRE(api.post("/v1/agents", Json{{"slug", "echo"}, {"executionMode", "managed"}}).status ==
          201);
  const std::string thread = newThread(api);
  const Json base{
      {"threadId", thread}, {"filename", "a.bin"}, {"contentType", "application/octet-stream"}};
  const auto with = [&](const char* key, const Json& value) {
    Json body = base;
    if (value.is_null()) {
      body.erase(key);
    } else {
      body[key] = value;
    }
    return body;
  };

  requireError(api.post("/v1/agent-attachments", with("threadId", nullptr)), 400,
               "validation_error", "threadId");
  requireError(api.post("/v1/agent-attachments", with("threadId", "thr_unknown")), 404,
               "not_found");
  requireError(api.post("/v1/agent-attachments", with("filename", nullptr)), 400,
               "validation_error", "filename");
  requireError(api.post("/v1/agent-attachments", with("filename", "")), 400, "validation_error",
               "filename");
  requireError(api.post("/v1/agent-attachments", with("filename", "a/b")), 400, "validation_error",
               "filename");
  requireError(api.post("/v1/agent-attachments", with("contentType", nullptr)), 400,
               "validation_error", "contentType");
  requireError(api.post("/v1/agent-attachments", with("sizeBytes", -1)), 400, "validation_error",
               "sizeBytes");
  requireError(api.post("/v1/agent-attachments", with("sizeBytes", 104857601)), 400,
               "validation_error", "sizeBytes");
  requireError(api.post("/v1/agent-attachments", with("sizeBytes", "5")), 400, "validation_error",
               "sizeBytes");
  REQUIRE(api.post("/v1/agent-attachments", with("sizeBytes", 104857600)).status == 201);
  REQUIRE(api.post("/v1/agent-attachments", with("sizeBytes", 0)).status == 201);

  const std::string id = api.post("/v1/agent-attachments", with("sizeBytes", 3)).data()["id"];
  const std::string complete = "/v1/agent-attachments/" + id + "/complete";
  // Complete before any upload.
  requireError(api.post(complete), 409, "invalid_state_transition");
  // A run cannot use an attachment that is not completed.
  const Json parts = {{{"type", "attachment"}, {"attachmentId", id}}};
  const Json message = {{{"role", "user"}, {"content", "x"}, {"parts", parts}}};
  requireError(
      api.post("/v1/run", Json{{"agent", "echo"}, {"stream", false}, {"messages", message}}), 400,
      "validation_error");
  requireError(api.post("/v1/agent-attachments/" + id + "/resolve", Json{{"model", "m"}}), 409,
               "invalid_state_transition");
  // Declared size != received.
  Api anonymous(emu, "", Auth::kNone);
  REQUIRE(anonymous.callRaw("PUT", "/_emu/uploads/" + id, "abcd").status == 200);
  requireError(api.post(complete), 400, "validation_error", "sizeBytes");
  REQUIRE(anonymous.callRaw("PUT", "/_emu/uploads/" + id, "abc").status == 200);
  REQUIRE(api.post(complete).status == 200);

  // Unknown ids.
  requireError(anonymous.callRaw("PUT", "/_emu/uploads/00000000-0000-4000-8000-000000000000", "x"),
               404, "not_found");
  requireError(api.post("/v1/agent-attachments/00000000-0000-4000-8000-000000000000/complete"), 404,
               "not_found");
  const Json unknownParts = {{{"type", "attachment"}, {"attachmentId", "nope"}}};
  requireError(
      api.post("/v1/run",
               Json{{"agent", "echo"},
                    {"stream", false},
                    {"messages", {{{"role", "user"}, {"content", "x"}, {"parts", unknownParts}}}}}),
      400, "validation_error");

  // Over 100 MB by Content-Length: 413 before the body is read.
  const std::string other = api.post("/v1/agent-attachments", base).data()["id"];
  const std::string answer =
      rawExchange(emu.port(),
                  "PUT /_emu/uploads/" + other +
                      " HTTP/1.1\r\nHost: x\r\nContent-Length: 104857601\r\n"
                      "Content-Type: application/octet-stream\r\nExpect: 100-continue\r\n\r\n",
                  wholeResponse);
  REQUIRE(answer.rfind("HTTP/1.1 413", 0) == 0);
  REQUIRE(answer.find("payload_too_large") != std::string::npos);
  const std::string direct = rawExchange(
      emu.port(),
      "PUT /_emu/uploads/" + other + " HTTP/1.1\r\nHost: x\r\nContent-Length: 104857601\r\n\r\nabc",
      wholeResponse);
  REQUIRE(direct.rfind("HTTP/1.1 413", 0) == 0);
  // Nothing was stored.
  REQUIRE(api.post("/v1/agent-attachments/" + other + "/complete").status == 409);
  // Without a Content-Length (chunked), the upload is cut off once it passes 100 MB.
  {
    constexpr std::size_t kLimit = 104857600;
    const std::string chunk(256 * 1024, 'z');
    httplib::Client client("127.0.0.1", emu.port());
    client.set_write_timeout(60, 0);
    client.set_read_timeout(60, 0);
    const auto res = client.Put(("/_emu/uploads/" + other).c_str(), httplib::Headers{},
                                [&](std::size_t offset, httplib::DataSink& sink) {
                                  if (offset > kLimit) {
                                    sink.done();
                                    return true;
                                  }
                                  return sink.write(chunk.data(), chunk.size());
                                },
                                "application/octet-stream");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 413);
    REQUIRE(res->body.find("payload_too_large") != std::string::npos);
    REQUIRE(api.post("/v1/agent-attachments/" + other + "/complete").status == 409);
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(emu.stateDir()) / "attachments")) {
      INFO(entry.path());
      REQUIRE(entry.path().filename().string().rfind(".upload-", 0) != 0);  // no leftovers
    }
  }

  // Other organizations.
  Api stranger(emu, emu.mintKey());
  requireError(stranger.post(complete), 404, "not_found");
  requireError(stranger.post("/v1/agent-attachments/" + id + "/resolve", Json{{"model", "m"}}), 404,
               "not_found");
  requireError(stranger.post("/v1/agent-attachments", base), 404, "not_found");  // the thread
  REQUIRE(
      stranger.post("/v1/agents", Json{{"slug", "echo"}, {"executionMode", "managed"}}).status ==
      201);
  requireError(
      stranger.post("/v1/run", Json{{"agent", "echo"}, {"stream", false}, {"messages", message}}),
      400, "validation_error");
  // Attachment routes need agent:run.
  Api reader(emu, emu.mintKey(emu.defaultOrgId(), {"agent:read"}));
  requireError(reader.post("/v1/agent-attachments", base), 403, "forbidden");
}
