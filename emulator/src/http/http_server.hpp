// The HTTP front end: httplib::Server glue. Every request goes through one dispatcher that
// splits the raw target into percent-decoded segments, applies injected faults, the rate limit
// and authentication, routes, replays or keeps idempotent answers, renders the documented
// envelopes and headers, and records the request in the request log.
#pragma once

#include <httplib.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "control/fault_injector.hpp"
#include "control/idempotency_store.hpp"
#include "control/request_log.hpp"
#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "stores/auth.hpp"

namespace rtemu {

class RequestBody;  // a request body read through httplib's ContentReader
struct Exchange;    // what dispatch() learns about one request as it goes

// The emulator's parts the front end consults for every request.
struct FrontendServices {
  KeyStore& keys;
  RateLimiter& limiter;
  FaultInjector& faults;
  IdempotencyStore& idempotency;
  RequestLog& log;
};

class HttpFrontend {
 public:
  HttpFrontend(const Router& router, const FrontendServices& services, bool quiet);
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
  void serve(const httplib::Request& req, httplib::Response& res, Exchange& ex, RequestBody* body);
  // Runs the matched route's handler and renders its reply (or its ApiError) into `res`.
  void invoke(const Route& route, ApiRequest& request, const httplib::Request& req,
              httplib::Response& res, Exchange& ex);
  void render(Reply reply, const httplib::Request& req, httplib::Response& res, Exchange& ex);
  static void readBufferedBody(RequestBody& body, std::string& out);

  // The steps of serve(): the request as handlers see it, its body (buffered or streamed),
  // the rate limit, authentication and routing refusals, an idempotent replay (true: `res`
  // holds the kept answer; otherwise `ticket` may hold the key's claim), keeping the answer.
  static ApiRequest apiRequestOf(const httplib::Request& req, const Exchange& ex);
  static void takeBody(const Router::Match& match, RequestBody& body, ApiRequest& request,
                       std::string& buffered);
  void admit(const std::optional<std::string>& credential, const httplib::Request& req,
             httplib::Response& res);
  void authorize(const Router::Match& match, const std::optional<std::string>& credential,
                 const httplib::Request& req, httplib::Response& res, ApiRequest& request);
  bool replayKept(const Router::Match& match, const std::optional<std::string>& credential,
                  const std::string& bufferedBody, const httplib::Request& req,
                  httplib::Response& res, Exchange& ex, IdempotencyStore::Ticket& ticket);
  static void keepAnswer(IdempotencyStore::Ticket& ticket, const httplib::Response& res,
                         const Exchange& ex);

  // The steps of render(): streamed bodies, files, and the JSON envelope.
  static void renderStream(const StreamBody& stream, const httplib::Request& req,
                           httplib::Response& res, Exchange& ex);
  static void renderFile(const FileBody& file, httplib::Response& res, Exchange& ex);
  static Json envelope(const Reply& reply, const std::string& requestId);

  const Router& router_;
  KeyStore& keys_;
  RateLimiter& limiter_;
  FaultInjector& faults_;
  IdempotencyStore& idempotency_;
  RequestLog& log_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> threadDone_{false};
  int port_ = -1;
  int listenFd_ = -1;  // the listening socket (owned by server_)
};

}  // namespace rtemu
