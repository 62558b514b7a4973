#include "test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
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
  config.streamDelay = 5ms;
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
  // JSON answers must parse; raw downloads (GET .../direct) are left in `raw`.
  if (!response.raw.empty() &&
      result->get_header_value("Content-Type").rfind("application/json", 0) == 0) {
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

std::string Api::createWorkspace(const std::string& name, const std::string& slug) {
  Json body{{"name", name}};
  if (!slug.empty()) body["slug"] = slug;
  const Response r = call("POST", "/v1/workspaces", body);
  INFO(r.raw);
  REQUIRE(r.status == 201);
  return r.data()["id"];
}

std::string SseResponse::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::vector<std::string> SseResponse::types() const {
  std::vector<std::string> out;
  for (const SseFrame& frame : frames)
    out.push_back(frame.event);
  return out;
}

SseResponse postSse(int port, const std::string& key, const std::string& target, const Json& body,
                    const std::function<bool(const SseFrame&)>& onFrame) {
  SseResponse out;
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = target;
  req.headers = {
      {"X-API-Key", key}, {"Accept", "text/event-stream"}, {"Accept-Encoding", "gzip, deflate"}};
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  std::string pending;
  req.response_handler = [&](const httplib::Response& res) {
    out.status = res.status;
    out.headers = res.headers;
    return true;
  };
  req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    out.body.append(data, size);
    pending.append(data, size);
    std::size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      const std::string block = pending.substr(0, end);
      pending.erase(0, end + 2);
      SseFrame frame;
      std::string dataText;
      bool hasData = false;
      std::size_t start = 0;
      while (start <= block.size()) {
        std::size_t nl = block.find('\n', start);
        if (nl == std::string::npos) nl = block.size();
        const std::string line = block.substr(start, nl - start);
        start = nl + 1;
        if (line.rfind(": ", 0) == 0) {
          out.comments.push_back(line.substr(2));
        } else if (line.rfind("event: ", 0) == 0) {
          frame.event = line.substr(7);
        } else if (line.rfind("data: ", 0) == 0) {
          dataText += (hasData ? "\n" : "") + line.substr(6);
          hasData = true;
        }
      }
      if (!hasData && frame.event.empty()) continue;  // comments only
      frame.data = Json::parse(dataText, nullptr, false);
      if (frame.data.is_discarded()) frame.data = Json();
      out.frames.push_back(frame);
      if (onFrame && !onFrame(out.frames.back())) {
        out.disconnected = true;
        return false;
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  client.send(req, res, error);
  if (out.status == 0) out.status = res.status;
  return out;
}

void expectError(const Response& r, int status, const std::string& code) {
  INFO(r.raw);
  REQUIRE(r.status == status);
  REQUIRE(r.errorCode() == code);
  REQUIRE(r.body["error"].contains("message"));
  REQUIRE(r.body["error"].value("requestId", std::string()).rfind("req_", 0) == 0);
}

std::int64_t parseIsoMs(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  INFO(text);
  REQUIRE(std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &year, &month, &day, &hour,
                      &minute, &second, &millis) == 7);
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + millis;
}

std::string queryParam(const std::string& url, const std::string& key) {
  const auto q = url.find('?');
  if (q == std::string::npos) return {};
  std::string query = url.substr(q + 1);
  std::size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(start, amp - start);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string::npos ? std::string()
                                     : httplib::detail::decode_url(pair.substr(eq + 1), true);
    }
    start = amp + 1;
  }
  return {};
}

Response getUrl(const std::string& url, const httplib::Headers& extra) {
  const std::string prefix = "http://127.0.0.1:";
  INFO(url);
  REQUIRE(url.rfind(prefix, 0) == 0);
  const auto slash = url.find('/', prefix.size());
  REQUIRE(slash != std::string::npos);
  const int port = std::stoi(url.substr(prefix.size(), slash - prefix.size()));
  return Api(port, "", Auth::kNone).call("GET", url.substr(slash), std::nullopt, extra);
}

std::string connectOAuth(Api& api, const std::string& provider, const std::string& scopes) {
  const Response start =
      api.call("GET", "/v1/oauth/start/" + provider + (scopes.empty() ? "" : "?scopes=" + scopes),
               std::nullopt, {{"Accept", "application/json"}});
  INFO(start.raw);
  REQUIRE(start.status == 200);
  const Response authorize = getUrl(start.data()["authUrl"].get<std::string>());
  REQUIRE(authorize.status == 307);
  const Response callback = getUrl(authorize.header("Location"));
  INFO(callback.raw);
  REQUIRE(callback.status == 307);
  const std::string location = callback.header("Location");
  REQUIRE(queryParam(location, "status") == "success");
  const std::string id = queryParam(location, "connection_id");
  REQUIRE_FALSE(id.empty());
  return id;
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

namespace rtemu_test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rtemu-test-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string rawExchange(int port, const std::string& request,
                        const std::function<bool(const std::string&)>& stopAfter) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  while (!(stopAfter && stopAfter(answer))) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

RawAnswer rawRequest(int port, const std::string& request, RawRead read) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close before reading everything
    sent += static_cast<std::size_t>(n);
  }
  RawAnswer answer;
  if (read == RawRead::kHangUp) {
    ::close(fd);
    return answer;
  }
  char buf[4096];
  while (!(read == RawRead::kUntilAnswer && parseAnswer(answer.bytes).complete)) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 15000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      answer.closed = true;
      answer.reset = n < 0 && errno == ECONNRESET;
      break;
    }
    answer.bytes.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

ParsedAnswer parseAnswer(const std::string& bytes) {
  ParsedAnswer out;
  const std::size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos || bytes.rfind("HTTP/1.1 ", 0) != 0) return out;
  out.status = std::atoi(bytes.substr(9, 3).c_str());
  std::size_t start = bytes.find("\r\n") + 2;
  while (start < end) {
    const std::size_t nl = bytes.find("\r\n", start);
    const std::string line = bytes.substr(start, nl - start);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      const std::size_t value = line.find_first_not_of(' ', colon + 1);
      out.headers.emplace(line.substr(0, colon),
                          value == std::string::npos ? std::string() : line.substr(value));
    }
    start = nl + 2;
  }
  out.body = bytes.substr(end + 4);
  const auto length = out.headers.find("Content-Length");
  const auto encoding = out.headers.find("Transfer-Encoding");
  if (length != out.headers.end()) {
    out.complete = out.body.size() >= std::strtoull(length->second.c_str(), nullptr, 10);
  } else if (encoding != out.headers.end() && encoding->second == "chunked") {
    out.complete =
        out.body.size() >= 5 && out.body.compare(out.body.size() - 5, 5, "0\r\n\r\n") == 0;
  }
  return out;
}

Child::Child(const std::vector<std::string>& args) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  std::vector<std::string> argvStrings = args;
  std::vector<char*> argv;
  for (std::string& a : argvStrings)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  out_ = fds[0];
  REQUIRE(rc == 0);
}

Child::~Child() {
  if (out_ >= 0) ::close(out_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::optional<std::string> Child::readLine() {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (true) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{out_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[256];
    const ssize_t n = ::read(out_, buf, sizeof(buf));
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

int Child::wait() {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

}  // namespace rtemu_test
