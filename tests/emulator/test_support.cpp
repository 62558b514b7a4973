#include "test_support.hpp"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

namespace rtemu_test {

rtemu::Config fastConfig() {
  rtemu::Config config;
  config.createDelay = 20ms;
  config.pauseDelay = 20ms;
  config.resumeDelay = 20ms;
  return config;
}

std::string Response::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return v;
    }
  }
  return {};
}

std::string Response::errorCode() const {
  if (!body.is_object() || !body.contains("error")) return {};
  return body["error"].value("code", std::string());
}

Api::Api(const rtemu::Emulator& emu, std::string key, Auth auth)
    : Api(emu.port(), std::move(key), auth) {}

Api::Api(int port, std::string key, Auth auth) : port_(port), key_(std::move(key)), auth_(auth) {}

Response Api::call(const std::string& method, const std::string& target,
                   const std::optional<Json>& body, const httplib::Headers& extra) {
  return callRaw(method, target, body ? body->dump() : std::string(), extra);
}

Response Api::callRaw(const std::string& method, const std::string& target, const std::string& body,
                      const httplib::Headers& extra) {
  httplib::Client client("127.0.0.1", port_);
  client.set_url_encode(false);
  client.set_read_timeout(120, 0);
  client.set_write_timeout(120, 0);
  httplib::Headers headers = extra;
  if (auth_ == Auth::kApiKeyHeader) headers.emplace("X-API-Key", key_);
  if (auth_ == Auth::kBearer) headers.emplace("Authorization", "Bearer " + key_);

  auto send = [&]() -> httplib::Result {
    if (method == "GET") return client.Get(target, headers);
    if (method == "DELETE") return client.Delete(target, headers, body, "application/json");
    if (method == "POST") return client.Post(target, headers, body, "application/json");
    if (method == "PUT") return client.Put(target, headers, body, "application/json");
    if (method == "PATCH") return client.Patch(target, headers, body, "application/json");
    if (method == "OPTIONS") return client.Options(target, headers);
    FAIL("unsupported method " << method);
    return client.Get(target, headers);
  };
  INFO(method << " " << target);
  const httplib::Result result = send();
  REQUIRE(result);
  Response response;
  response.status = result->status;
  response.raw = result->body;
  response.headers = result->headers;
  if (!response.raw.empty()) {
    response.body = Json::parse(response.raw, nullptr, false);
    REQUIRE_FALSE(response.body.is_discarded());
  }
  return response;
}

Json Api::createSandbox(Json body) {
  const Response r = call("POST", "/v1/sandboxes", body);
  INFO(r.raw);
  REQUIRE(r.status == 201);
  return r.data();
}

Json Api::waitForStatus(const std::string& id, const std::string& status,
                        std::chrono::milliseconds timeout) {
  Json last;
  const bool reached = eventually(
      [&] {
        const Response r = get("/v1/sandboxes/" + id);
        if (r.status != 200) return false;
        last = r.data();
        return last.value("status", std::string()) == status;
      },
      timeout);
  INFO("waiting for " << id << " to become " << status << "; last: " << last.dump());
  REQUIRE(reached);
  return last;
}

Json Api::runningSandbox(Json body) {
  const Json created = createSandbox(std::move(body));
  return waitForStatus(created["id"].get<std::string>(), "running");
}

Json Api::exec(const std::string& id, const std::string& command, Json extra) {
  extra["command"] = command;
  const Response r = call("POST", "/v1/sandboxes/" + id + "/exec", extra);
  INFO(r.raw);
  REQUIRE(r.status == 200);
  return r.data();
}

Json execUnchecked(int port, const std::string& key, const std::string& id,
                   const std::string& command, Json extra) {
  extra["command"] = command;
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  const auto result = client.Post("/v1/sandboxes/" + id + "/exec", {{"X-API-Key", key}},
                                  extra.dump(), "application/json");
  if (!result || result->status != 200) return Json();
  const Json body = Json::parse(result->body, nullptr, false);
  return body.is_object() && body.contains("data") ? body["data"] : Json();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

bool processGone(int pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = content.rfind(')');
  if (close == std::string::npos || close + 2 >= content.size()) return true;
  const char state = content[close + 2];
  return state == 'Z' || state == 'X';
}

}  // namespace rtemu_test
