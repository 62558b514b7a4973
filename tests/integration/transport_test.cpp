// The libcurl transport over real sockets: connection reuse, timeouts,
// refused connections, header hygiene, responses from a misbehaving proxy.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "local_server.hpp"
#include "runtools/client.hpp"
#include "runtools/errors.hpp"
#include "runtools/http.hpp"

using namespace runtools;
using std::chrono::milliseconds;

namespace {

// A TCP socket bound to an ephemeral loopback port. Listening, it accepts
// connections into its backlog and never answers.
class RawSocket {
 public:
  explicit RawSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listening) {
      REQUIRE(::listen(fd_, 16) == 0);
    } else {
      ::close(fd_);  // nothing listens on the port any more
      fd_ = -1;
    }
  }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

using test::LocalServer;

ClientOptions optionsFor(const std::string& url, int maxRetries = 0) {
  ClientOptions options;
  options.apiKey = "rt_test_TransportTransportTransport00";
  options.apiUrl = url;
  options.toolsUrl = url;
  options.authUrl = url;
  options.storageUrl = url;
  options.maxRetries = maxRetries;
  options.retryPolicy.initialDelay = milliseconds(1);
  options.retryPolicy.maxDelay = milliseconds(2);
  return options;
}

}  // namespace

TEST_CASE("a refused connection is a TransportError of kind ConnectionFailed") {
  RawSocket closed(false);
  auto transport = makeCurlTransport();
  HttpRequest request;
  request.url = closed.url() + "/v1/sandboxes";
  try {
    transport->send(request);
    FAIL("expected TransportError");
  } catch (const TransportError& e) {
    CHECK(e.kind() == TransportError::Kind::ConnectionFailed);
    CHECK(e.beforeRequestSent());
  }

  RunTools rt(optionsFor(closed.url(), 2));
  CHECK_THROWS_WITH(rt.sandbox.list(), Catch::Contains("3 attempts"));
}

TEST_CASE("a server that never answers hits the request timeout") {
  RawSocket silent(true);
  auto transport = makeCurlTransport();
  HttpRequest request;
  request.url = silent.url() + "/v1/sandboxes?secret=hidden";
  request.timeout = milliseconds(300);
  try {
    transport->send(request);
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    const std::string text = e.what();
    CHECK(text.find("timed out") != std::string::npos);
    CHECK(text.find("hidden") == std::string::npos);  // no query strings in messages
  }

  ClientOptions options = optionsFor(silent.url());
  options.timeout = milliseconds(200);
  RunTools rt(options);
  CHECK_THROWS_AS(rt.sandbox.get("sandbox-1").refresh(), TimeoutError);
}

TEST_CASE("header values with CR or LF are refused before sending") {
  LocalServer local;
  int hits = 0;
  local.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++hits;
    res.set_content("{}", "application/json");
  });
  auto transport = makeCurlTransport();
  HttpRequest request;
  request.url = local.url() + "/x";
  request.headers.add("X-Injected", "a\r\nX-Evil: 1");
  CHECK_THROWS_AS(transport->send(request), InvalidArgumentError);
  CHECK(hits == 0);
}

TEST_CASE("sequential calls reuse one keep-alive connection") {
  LocalServer local;
  std::mutex mutex;
  std::set<int> clientPorts;
  local.server().Get("/v1/sandboxes/s", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      clientPorts.insert(req.remote_port);
    }
    res.set_content(R"({"data":{"id":"s","status":"running"}})", "application/json");
  });
  RunTools rt(optionsFor(local.url()));
  auto sandbox = rt.sandbox.get("s");
  for (int i = 0; i < 10; ++i)
    sandbox.refresh();
  CHECK(clientPorts.size() == 1);
}

TEST_CASE("an HTML page from a proxy becomes a typed error over real HTTP") {
  LocalServer local;
  local.server().Get("/v1/sandboxes/s", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                    "text/html");
  });
  RunTools rt(optionsFor(local.url()));
  try {
    rt.sandbox.get("s").refresh();
    FAIL("expected ServerError");
  } catch (const ServerError& e) {
    CHECK(e.status() == 503);
    CHECK(e.message().find("503 Service Temporarily Unavailable") != std::string::npos);
  }
}

TEST_CASE("redirects are not followed, so credentials never travel elsewhere") {
  LocalServer target;
  int targetHits = 0;
  target.server().Get(".*", [&](const httplib::Request&, httplib::Response& res) {
    ++targetHits;
    res.set_content("{}", "application/json");
  });
  LocalServer origin;
  origin.server().Get(".*", [&](const httplib::Request&, httplib::Response& res) {
    res.set_redirect(target.url() + "/steal");
  });
  RunTools rt(optionsFor(origin.url()));
  try {
    rt.sandbox.get("s").refresh();
    FAIL("a redirect must surface as an error");
  } catch (const ApiError& e) {
    CHECK(e.status() == 302);
  }
  CHECK(targetHits == 0);
}

TEST_CASE("a GET that fails with 503 is retried and then succeeds over real HTTP") {
  LocalServer local;
  int calls = 0;
  local.server().Get("/v1/sandboxes/s", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls < 3) {
      res.status = 503;
      res.set_header("Retry-After", "0");
      res.set_content(R"({"error":{"code":"service_unavailable","message":"busy"}})",
                      "application/json");
      return;
    }
    res.set_content(R"({"data":{"id":"s","status":"running"}})", "application/json");
  });
  RunTools rt(optionsFor(local.url(), 2));
  CHECK(rt.sandbox.get("s").refresh().status == "running");
  CHECK(calls == 3);
}

namespace {

// Answers the first request of every connection; reads the second one and
// closes the connection without answering, as a server whose keep-alive
// connection timed out at the wrong moment would.
class DroppingServer {
 public:
  DroppingServer() : socket_(true) {
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~DroppingServer() {
    stop_ = true;
    // Wake accept() with a throwaway connection.
    HttpRequest wake;
    wake.url = socket_.url() + "/wake";
    wake.timeout = milliseconds(500);
    try {
      makeCurlTransport()->send(wake);
    } catch (const std::exception&) {
    }
    acceptor_.join();
    for (auto& t : workers_)
      t.join();
  }
  DroppingServer(const DroppingServer&) = delete;
  DroppingServer& operator=(const DroppingServer&) = delete;

  std::string url() const { return socket_.url(); }
  int requestsSeen(const std::string& startOfLine) {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& line : lines_)
      n += line.rfind(startOfLine, 0) == 0 ? 1 : 0;
    return n;
  }
  // The Idempotency-Key header of each request starting with `startOfLine`.
  std::vector<std::string> idempotencyKeys(const std::string& startOfLine) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> keys;
    for (const auto& head : lines_) {
      if (head.rfind(startOfLine, 0) != 0) continue;
      const auto at = head.find("\r\nIdempotency-Key: ");
      keys.push_back(at == std::string::npos
                         ? std::string()
                         : head.substr(at + 19, head.find("\r\n", at + 2) - at - 19));
    }
    return keys;
  }

 private:
  // Reads one request (headers and Content-Length body); false at EOF.
  bool readRequest(int fd) {
    std::string data;
    char buffer[4096];
    std::size_t headerEnd = std::string::npos;
    while ((headerEnd = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    std::size_t length = 0;
    const auto cl = data.find("Content-Length: ");
    if (cl != std::string::npos && cl < headerEnd) length = std::stoul(data.substr(cl + 16));
    while (data.size() < headerEnd + 4 + length) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(data.substr(0, headerEnd));
    return true;
  }

  void serve(int fd) {
    if (readRequest(fd)) {
      const std::string body = R"({"data":{"stdout":"ok\n","stderr":"","exitCode":0}})";
      const std::string response =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Connection: keep-alive\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
      readRequest(fd);  // the second request on this connection is dropped
    }
    ::close(fd);
  }

  void acceptLoop() {
    while (!stop_) {
      const int fd = ::accept(socket_.fd(), nullptr, nullptr);
      if (fd < 0) continue;
      if (stop_) {
        ::close(fd);
        break;
      }
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  RawSocket socket_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace

TEST_CASE("a command is never sent twice over a dead keep-alive connection") {
  DroppingServer server;
  ClientOptions options = optionsFor(server.url());
  options.retryPolicy.idempotencyKeys = false;
  RunTools rt(options);
  auto sandbox = rt.sandbox.get("s");
  sandbox.refresh();                             // leaves a keep-alive connection open
  CHECK(sandbox.exec("echo ok").exitCode == 0);  // must not go over that connection
  CHECK(server.requestsSeen("POST /v1/sandboxes/s/exec") == 1);
}

TEST_CASE("a command resent after a dead keep-alive connection carries the same key") {
  DroppingServer server;
  RunTools rt(optionsFor(server.url()));
  auto sandbox = rt.sandbox.get("s");
  sandbox.refresh();
  CHECK(sandbox.exec("echo ok").exitCode == 0);
  const auto keys = server.idempotencyKeys("POST /v1/sandboxes/s/exec");
  REQUIRE_FALSE(keys.empty());
  CHECK(keys.front().size() == 36);
  for (const auto& key : keys)
    CHECK(key == keys.front());  // the server can tell a resend from a second command
}

TEST_CASE("a bodyless POST carries no form content type and malformed requests are refused") {
  LocalServer local;
  std::string contentType = "unset";
  local.server().Post(
      "/v1/sandboxes/s/pause", [&](const httplib::Request& req, httplib::Response& res) {
        contentType = req.get_header_value("Content-Type");
        res.set_content(R"({"data":{"id":"s","status":"pausing"}})", "application/json");
      });
  RunTools rt(optionsFor(local.url()));
  CHECK(rt.sandbox.get("s").pause() == "pausing");
  CHECK(contentType.empty());

  auto transport = makeCurlTransport();
  HttpRequest getWithBody;
  getWithBody.url = local.url() + "/x";
  getWithBody.body = "{}";
  CHECK_THROWS_AS(transport->send(getWithBody), InvalidArgumentError);
  HttpRequest badName;
  badName.url = local.url() + "/x";
  badName.headers.add("X-A: injected", "v");
  CHECK_THROWS_AS(transport->send(badName), InvalidArgumentError);
}

TEST_CASE("a download cut off mid-body leaves no file under the real name") {
  LocalServer local;
  int attempts = 0;
  local.server().Get("/v1/workspaces/w/direct",
                     [&](const httplib::Request&, httplib::Response& res) {
                       ++attempts;
                       res.set_content_provider(1000, "application/octet-stream",
                                                [](size_t offset, size_t, httplib::DataSink& sink) {
                                                  if (offset > 0) return false;  // hang up halfway
                                                  const std::string half(500, 'h');
                                                  sink.write(half.data(), half.size());
                                                  return true;
                                                });
                     });
  RunTools rt(optionsFor(local.url(), 1));
  const auto dir = std::filesystem::temp_directory_path() /
                   ("rt-cut-" + std::to_string(::getpid()) + "-" + std::to_string(attempts));
  std::filesystem::create_directories(dir);
  const auto target = dir / "file.bin";
  CHECK_THROWS_AS(rt.workspace.files("w").downloadTo("/file.bin", target.string()), TransportError);
  CHECK(attempts == 2);  // a download is a GET: retried once, then given up
  CHECK(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}
