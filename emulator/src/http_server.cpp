#include "http_server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "api_error.hpp"
#include "ids.hpp"

namespace rtemu {
namespace {

constexpr std::size_t kMaxPayloadBytes = 16u << 20;
constexpr std::size_t kKeepAliveMaxCount = 1000;
constexpr time_t kKeepAliveTimeoutSeconds = 5;
constexpr std::size_t kWorkerThreads = 64;
constexpr char kJson[] = "application/json";

Json errorBody(const std::string& code, const std::string& message, const std::string& requestId,
               const ApiError* details = nullptr) {
  Json error{{"code", code}, {"message", message}, {"requestId", requestId}};
  if (details && details->field()) {
    error["details"] =
        Json{{"field", *details->field()}, {"reason", details->reason().value_or("")}};
  }
  return Json{{"error", std::move(error)}};
}

void writeError(httplib::Response& res, const ApiError& error, const std::string& requestId) {
  res.status = error.status();
  res.set_content(dumpJson(errorBody(error.code(), error.what(), requestId, &error)), kJson);
}

void setRateHeaders(httplib::Response& res, const RateDecision& d) {
  res.set_header("X-RateLimit-Limit", std::to_string(d.limit));
  res.set_header("X-RateLimit-Remaining", std::to_string(d.remaining));
  res.set_header("X-RateLimit-Reset", std::to_string(d.resetUnixSeconds));
}

// Code for an error produced by httplib itself (malformed request, body too large...).
std::string codeForStatus(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 429:
      return "rate_limited";
    case 501:
      return "not_implemented";
    case 503:
      return "service_unavailable";
    default:
      return status >= 500 ? "internal_error" : "bad_request";
  }
}

// Routes under these prefixes require a credential even when the path is unknown, so that
// unauthenticated callers cannot probe the route table.
bool isProtectedPath(const std::vector<std::string>& segments) {
  if (segments.empty()) return false;
  if (segments[0] == "_emu") return true;
  return segments[0] == "v1" && !(segments.size() == 2 && segments[1] == "status");
}

std::string bucketFor(const std::optional<std::string>& credential, const std::string& addr) {
  return credential ? "key:" + *credential : "addr:" + addr;
}

void requireAccess(Access access, const Principal& principal) {
  const char* scope = nullptr;
  switch (access) {
    case Access::kPublic:
    case Access::kAuthenticated:
      return;
    case Access::kControl:
      if (!principal.defaultOrg) {
        throw ApiError(403, "forbidden",
                       "The emulator control plane needs a key of the default organization");
      }
      return;
    case Access::kSandboxRead:
      scope = "sandbox:read";
      break;
    case Access::kSandboxCreate:
      scope = "sandbox:create";
      break;
    case Access::kSandboxWrite:
      scope = "sandbox:write";
      break;
  }
  if (!scopesAllow(principal.scopes, scope)) {
    throw ApiError(403, "forbidden", std::string("The API key lacks the '") + scope + "' scope");
  }
}

// httplib 0.11 keeps an idle keep-alive connection open for its whole timeout even after
// Server::stop(), and the thread pool joins those workers, so stop() would take up to 5 s.
// To make it prompt, shut down every connected socket whose local port is ours: the worker
// then sees EOF and returns. httplib offers no hook to track accepted sockets, hence the scan
// of /proc/self/fd. Each candidate is dup()ed first and checked through the duplicate, so a
// descriptor closed and reused concurrently can never make us shut down some other socket.
void shutdownServerConnections(int port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return;
  std::vector<int> fds;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && fd != ::dirfd(dir)) {
      fds.push_back(static_cast<int>(fd));
    }
  }
  ::closedir(dir);
  for (const int fd : fds) {
    const int sock = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (sock < 0) continue;
    struct stat st {};
    int listening = 0;
    socklen_t optLen = sizeof(listening);
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (::fstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
        ::getsockopt(sock, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optLen) == 0 && !listening &&
        ::getsockname(sock, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      int localPort = -1;
      if (local.ss_family == AF_INET) {
        localPort = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
      } else if (local.ss_family == AF_INET6) {
        localPort = ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
      }
      if (localPort == port) ::shutdown(sock, SHUT_RDWR);
    }
    ::close(sock);
  }
}

}  // namespace

HttpFrontend::HttpFrontend(const Router& router, const KeyStore& keys, RateLimiter& limiter,
                           bool quiet)
    : router_(router), keys_(keys), limiter_(limiter) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server_.set_keep_alive_max_count(kKeepAliveMaxCount);
  server_.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server_.set_payload_max_length(kMaxPayloadBytes);
  // Only SO_REUSEADDR: httplib's default also sets SO_REUSEPORT, which would let a second
  // emulator silently share a port instead of failing to bind.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  });

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    dispatch(req, res);
  };
  server_.Get(".*", handler);
  server_.Post(".*", handler);
  server_.Put(".*", handler);
  server_.Patch(".*", handler);
  server_.Delete(".*", handler);
  server_.Options(".*", handler);

  // Errors raised by httplib itself (unparsable request, payload too large...) still get the
  // JSON error envelope and a request id. Our own error responses already have a body.
  httplib::Server::HandlerWithResponse onError = [this](const httplib::Request& req,
                                                        httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string requestId = res.get_header_value("X-Request-ID");
    if (requestId.empty()) {
      requestId = newRequestId();
      res.set_header("X-Request-ID", requestId);
    }
    if (!res.has_header("X-RateLimit-Limit")) {
      const auto credential = extractCredential(req.get_header_value("Authorization"),
                                                req.get_header_value("X-API-Key"));
      setRateHeaders(res, limiter_.peek(bucketFor(credential, req.remote_addr)));
    }
    const std::string code = codeForStatus(res.status);
    res.set_content(
        dumpJson(errorBody(code, "HTTP error " + std::to_string(res.status) + " (" + code + ")",
                           requestId)),
        kJson);
    return httplib::Server::HandlerResponse::Handled;
  };
  server_.set_error_handler(std::move(onError));
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        const std::string requestId = newRequestId();
        res.status = 500;
        res.set_header("X-Request-ID", requestId);
        res.set_content(dumpJson(errorBody("internal_error", "Internal error", requestId)), kJson);
      });
  if (!quiet) {
    // Method, decoded path (never the query or any header) and status only.
    server_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "runtools-emulator: %s %s -> %d\n", req.method.c_str(), req.path.c_str(),
                   res.status);
    });
  }
}

HttpFrontend::~HttpFrontend() {
  stop();
}

int HttpFrontend::bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) throw std::runtime_error("invalid port " + std::to_string(port));
  if (port == 0) {
    port_ = server_.bind_to_any_port(host);
  } else {
    port_ = server_.bind_to_port(host, port) ? port : -1;
  }
  if (port_ < 0) {
    throw std::runtime_error("cannot bind " + host + ":" + std::to_string(port));
  }
  return port_;
}

void HttpFrontend::start() {
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    threadDone_ = true;
  });
  // Server::stop() is a no-op until the accept loop runs, so wait for it.
  while (!server_.is_running() && !threadDone_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (threadDone_) {
    thread_.join();
    throw std::runtime_error("the HTTP server stopped right after starting");
  }
}

void HttpFrontend::stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  shutdownServerConnections(port_);
  thread_.join();
}

void HttpFrontend::dispatch(const httplib::Request& req, httplib::Response& res) {
  const std::string requestId = newRequestId();
  res.set_header("X-Request-ID", requestId);
  try {
    serve(req, res, requestId);
  } catch (const ApiError& error) {
    writeError(res, error, requestId);
  } catch (const std::exception&) {
    writeError(res, ApiError(500, "internal_error", "Internal error"), requestId);
  }
}

void HttpFrontend::serve(const httplib::Request& req, httplib::Response& res,
                         const std::string& requestId) {
  const std::string& target = req.target;
  const std::size_t q = target.find('?');
  ApiRequest request;
  request.method = req.method;
  request.rawPath = target.substr(0, q);
  request.rawQuery = q == std::string::npos ? std::string() : target.substr(q + 1);
  request.segments = splitPathSegments(request.rawPath);
  request.query = parseQuery(request.rawQuery);
  request.headers.assign(req.headers.begin(), req.headers.end());
  request.body = &req.body;
  request.requestId = requestId;

  const auto credential =
      extractCredential(req.get_header_value("Authorization"), req.get_header_value("X-API-Key"));
  const RateDecision rate = limiter_.consume(bucketFor(credential, req.remote_addr));
  setRateHeaders(res, rate);
  if (!rate.allowed) {
    res.set_header("Retry-After", std::to_string(rate.retryAfterSeconds));
    throw ApiError(
        429, "rate_limited",
        "Rate limit exceeded; retry after " + std::to_string(rate.retryAfterSeconds) + " s");
  }

  const Router::Match match = router_.match(req.method, request.segments);
  const bool needsAuth =
      match.route ? match.route->access != Access::kPublic : isProtectedPath(request.segments);
  if (needsAuth) {
    if (!credential) throw ApiError(401, "unauthorized", "Missing API key or access token");
    request.principal = keys_.authenticate(*credential);
  }
  if (match.outcome == Router::Outcome::kNotFound) {
    throw notFound("No route for " + req.method + " " + req.path);
  }
  if (match.outcome == Router::Outcome::kMethodNotAllowed) {
    std::string allow;
    for (const std::string& m : match.allowedMethods)
      allow += (allow.empty() ? "" : ", ") + m;
    res.set_header("Allow", allow);
    throw ApiError(405, "method_not_allowed", "Method " + req.method + " not allowed");
  }
  requireAccess(match.route->access, request.principal);
  request.params = match.params;

  const Reply reply = match.route->handler(request);
  res.status = reply.status;
  if (reply.raw) {
    for (const auto& [name, value] : reply.raw->headers)
      res.set_header(name, value);
    res.set_content(reply.raw->body, reply.raw->contentType);
    return;
  }
  Json body;
  if (reply.bare) {
    body = reply.data;
  } else {
    body = Json{{"data", reply.data}, {"meta", {{"requestId", requestId}}}};
    if (reply.page) {
      const Json cursor = reply.page->nextCursor ? Json(*reply.page->nextCursor) : Json(nullptr);
      body["meta"]["hasMore"] = reply.page->hasMore;
      body["meta"]["nextCursor"] = cursor;
      body["hasMore"] = reply.page->hasMore;
      body["nextCursor"] = cursor;
    }
  }
  res.set_content(dumpJson(body), kJson);
}

}  // namespace rtemu
