#pragma once

// Loopback peers that never finish an answer, one for each state a call can
// be caught in while nothing flows: a connection that never completes, a
// request never answered, a body that stops halfway, an event stream that
// goes quiet after its headers. Shared by the cancellation tests and the
// benchmark that prints cancellation latencies.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace runtools::test {

class SilentPeer {
 public:
  enum class Stage {
    Connecting,   ///< the TCP handshake never completes (the listen queue is full)
    FirstByte,    ///< connected, the request is taken, no byte of an answer comes
    MidBody,      ///< status, headers and half the body, then nothing
    QuietStream,  ///< an event stream's headers and one comment, then nothing
  };

  explicit SilentPeer(Stage stage) : stage_(stage) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 0) != 0) {
      throw std::runtime_error("SilentPeer: cannot listen on loopback");
    }
    socklen_t length = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
    if (stage_ == Stage::Connecting) {
      fillListenQueue(addr);
    } else if (stage_ != Stage::FirstByte) {
      // FirstByte needs no thread: the kernel completes the handshake and
      // buffers the request, and nobody ever reads it.
      thread_ = std::thread([this] { serve(); });
    }
  }

  ~SilentPeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (const int fd : held_)
      ::close(fd);
    ::close(listener_);
  }

  SilentPeer(const SilentPeer&) = delete;
  SilentPeer& operator=(const SilentPeer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  static const char* name(Stage stage) {
    switch (stage) {
      case Stage::Connecting:
        return "connecting";
      case Stage::FirstByte:
        return "first-byte";
      case Stage::MidBody:
        return "mid-body";
      case Stage::QuietStream:
        return "quiet-stream";
    }
    return "?";
  }

 private:
  // With a backlog of 0 the kernel queues one connection that nobody
  // accepts; SYNs beyond it are dropped, so a later connect stays in
  // SYN_SENT until its own timeout.
  void fillListenQueue(const sockaddr_in& addr) {
    for (int i = 0; i < 3; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
      held_.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  void serve() {
    while (!stop_) {
      pollfd ready{listener_, POLLIN, 0};
      if (::poll(&ready, 1, 20) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      held_.push_back(fd);  // kept open, silent, until the peer is destroyed
      readRequestHead(fd);
      const std::string answer =
          stage_ == Stage::MidBody
              ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
                "\r\n{\"data\":{\"id\":\"half"
              : "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                "Transfer-Encoding: chunked\r\n\r\n3\r\n:\n\n\r\n";
      (void)!::write(fd, answer.data(), answer.size());
    }
  }

  void readRequestHead(int fd) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && !stop_) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, 20) <= 0) continue;
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return;
      head.append(buffer, static_cast<std::size_t>(n));
    }
  }

  Stage stage_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> held_;
};

}  // namespace runtools::test
