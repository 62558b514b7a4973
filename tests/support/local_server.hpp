#pragma once

// A small HTTP server on a background loopback thread, for tests that need a
// peer other than the emulator (a proxy's error page, a redirect target).

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

namespace runtools::test {

class LocalServer {
 public:
  LocalServer() {
    server_.set_keep_alive_max_count(1000);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the server runs: wait for it, or the
    // destructor could join a thread that never stops.
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  httplib::Server& server() { return server_; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace runtools::test
