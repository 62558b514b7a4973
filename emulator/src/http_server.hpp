// The HTTP front end: httplib::Server glue. Every request goes through one dispatcher that
// splits the raw target into percent-decoded segments, applies the rate limit, authenticates,
// routes, and renders the documented envelopes and headers.
#pragma once

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>

#include "auth.hpp"
#include "rate_limiter.hpp"
#include "router.hpp"

namespace rtemu {

class RequestBody;  // a request body read through httplib's ContentReader

class HttpFrontend {
 public:
  HttpFrontend(const Router& router, KeyStore& keys, RateLimiter& limiter, bool quiet);
  ~HttpFrontend();
  HttpFrontend(const HttpFrontend&) = delete;
  HttpFrontend& operator=(const HttpFrontend&) = delete;

  // Binds and listens (port 0 = any free port); returns the port. Throws std::runtime_error.
  int bind(const std::string& host, int port);
  // Serves on a background thread; returns once the accept loop runs.
  void start();
  // Stops accepting, closes idle keep-alive connections and joins the server thread.
  void stop();

 private:
  // `body` is null for methods without a body (GET, OPTIONS).
  void dispatch(const httplib::Request& req, httplib::Response& res, RequestBody* body);
  void serve(const httplib::Request& req, httplib::Response& res, const std::string& requestId,
             RequestBody* body, bool& closeConnection);
  static void readBufferedBody(RequestBody& body, std::string& out);

  const Router& router_;
  KeyStore& keys_;
  RateLimiter& limiter_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> threadDone_{false};
  int port_ = -1;
};

}  // namespace rtemu
