#include "http_server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

#include "api_error.hpp"
#include "ids.hpp"

namespace rtemu {
namespace {

// Buffered (JSON) bodies: 16 MiB at most.
constexpr std::uint64_t kMaxBufferedBodyBytes = 16u << 20;
// Streaming routes enforce their own limits; this only stops httplib from refusing first.
constexpr std::size_t kServerPayloadMaxBytes = std::size_t{1} << 30;
// A body left unread by an early answer (auth failure, oversize JSON...) is read and discarded
// when it is at most this large, so that a client that sends its whole body before reading
// sees the answer; a larger one gets the answer and `Connection: close` instead.
constexpr std::uint64_t kMaxDrainBytes = std::uint64_t{128} << 20;
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
    case Access::kFilesRead:
      scope = "files:read";
      break;
    case Access::kFilesWrite:
      scope = "files:write";
      break;
    case Access::kAgentRead:
      scope = "agent:read";
      break;
    case Access::kAgentWrite:
      scope = "agent:write";
      break;
    case Access::kAgentRun:
      scope = "agent:run";
      break;
    case Access::kTools:
      scope = "tool:*";
      break;
    case Access::kSshKeys:
      scope = "ssh-key:*";
      break;
    case Access::kOrgRead:
      scope = "org:read";
      break;
    case Access::kTemplates:
      scope = "template:*";
      break;
    case Access::kWorkflows:
      scope = "workflow:*";
      break;
    case Access::kFull:
      scope = "*";
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

std::optional<std::uint64_t> parseContentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string text = req.get_header_value("Content-Length");
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// A StreamSink over httplib's DataSink of a chunked response.
class ChunkedSink : public StreamSink {
 public:
  explicit ChunkedSink(httplib::DataSink& sink) : sink_(sink) {}

  bool write(const std::string& bytes) override {
    if (!ok_) return false;
    if (bytes.empty()) return true;  // an empty chunk would end the body
    if (!sink_.is_writable() || !sink_.write(bytes.data(), bytes.size())) ok_ = false;
    return ok_;
  }
  // DataSink::is_writable() is false once the peer has closed its end (httplib peeks at the
  // socket), so a silent stream notices a disconnected client without writing.
  bool connected() override {
    if (ok_ && !sink_.is_writable()) ok_ = false;
    return ok_;
  }
  bool ok() const { return ok_; }

 private:
  httplib::DataSink& sink_;
  bool ok_ = true;
};

}  // namespace

// The body of one request, read through httplib's ContentReader (valid only while the
// handler runs). Tracks whether it has been consumed.
class RequestBody : public BodyStream {
 public:
  RequestBody(const httplib::Request& req, const httplib::ContentReader& reader)
      : req_(req), reader_(reader), length_(parseContentLength(req)) {
    // httplib reads a DELETE body only when it has a Content-Length; requests without a body
    // have nothing to consume.
    const bool chunked =
        req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    if (!chunked && (!length_ || *length_ == 0)) consumed_ = true;  // (and complete)
  }

  std::optional<std::uint64_t> contentLength() const override { return length_; }
  bool isMultipart() const override { return req_.is_multipart_form_data(); }

  bool readMultipart(const PartCallback& onPart, const DataCallback& onData) override {
    if (consumed_ || !isMultipart()) return false;
    consumed_ = true;
    complete_ = reader_(
        [&](const httplib::MultipartFormData& part) {
          return onPart(MultipartPart{part.name, part.filename, part.content_type});
        },
        [&](const char* data, std::size_t size) { return onData(data, size); });
    return complete_;
  }

  bool read(const DataCallback& onData) override { return readAll(onData); }

  // Reads the whole body (the data of every part when it is multipart), passing it to
  // `onData`. False when malformed, truncated or `onData` refused.
  bool readAll(const DataCallback& onData) {
    if (consumed_) return complete_;
    consumed_ = true;
    if (isMultipart()) {
      complete_ = reader_([](const httplib::MultipartFormData&) { return true; },
                          [&](const char* data, std::size_t size) { return onData(data, size); });
    } else {
      complete_ = reader_([&](const char* data, std::size_t size) { return onData(data, size); });
    }
    return complete_;
  }

  // Discards the unread rest of the body when it is small enough; false when the connection
  // must be closed instead (too large, or unreadable).
  bool drain() {
    if (consumed_) return true;
    if (length_ && *length_ > kMaxDrainBytes) return false;
    std::uint64_t seen = 0;
    return readAll([&seen](const char*, std::size_t size) {
      seen += size;
      return seen <= kMaxDrainBytes;
    });
  }

  bool consumed() const { return consumed_; }
  // Read to its end: the connection can serve another request.
  bool complete() const { return consumed_ && complete_; }

 private:
  const httplib::Request& req_;
  const httplib::ContentReader& reader_;
  const std::optional<std::uint64_t> length_;
  bool consumed_ = false;
  bool complete_ = true;
};

HttpFrontend::HttpFrontend(const Router& router, KeyStore& keys, RateLimiter& limiter, bool quiet)
    : router_(router), keys_(keys), limiter_(limiter) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server_.set_keep_alive_max_count(kKeepAliveMaxCount);
  server_.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server_.set_payload_max_length(kServerPayloadMaxBytes);
  // SO_REUSEADDR but not httplib's default SO_REUSEPORT, which would let a second emulator
  // silently share a port instead of failing to bind. TCP_NODELAY (inherited by accepted
  // sockets): httplib writes headers and body separately, and Nagle's algorithm would hold the
  // body back until the client's delayed ACK, some 40 ms per keep-alive request.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  });

  // Methods with a body go through content readers so that the body is read under our
  // control: buffered (with a limit) for JSON routes, streamed to the handler for uploads.
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    dispatch(req, res, nullptr);
  };
  auto withBody = [this](const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader& reader) {
    RequestBody body(req, reader);
    dispatch(req, res, &body);
  };
  server_.Get(".*", handler);
  server_.Post(".*", withBody);
  server_.Put(".*", withBody);
  server_.Patch(".*", withBody);
  server_.Delete(".*", withBody);
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
  // A client that asks before sending a body (curl does for large ones) learns at once that a
  // streamed route refuses its declared size; the error handler renders the JSON 413.
  server_.set_expect_100_continue_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        const std::size_t q = req.target.find('?');
        const Router::Match match =
            router_.match(req.method, splitPathSegments(req.target.substr(0, q)));
        const auto length = parseContentLength(req);
        if (match.route && match.route->maxBodyBytes > 0 && length &&
            *length > match.route->maxBodyBytes) {
          res.status = 413;  // httplib answers with res as is
          res.set_header("Connection", "close");
          return 413;
        }
        return 100;
      });
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

void HttpFrontend::dispatch(const httplib::Request& req, httplib::Response& res,
                            RequestBody* body) {
  const std::string requestId = newRequestId();
  res.set_header("X-Request-ID", requestId);
  bool closeConnection = false;
  try {
    serve(req, res, requestId, body, closeConnection);
  } catch (const ApiError& error) {
    writeError(res, error, requestId);
  } catch (const std::exception&) {
    writeError(res, ApiError(500, "internal_error", "Internal error"), requestId);
  }
  if (!res.has_header("X-RateLimit-Limit")) {
    // Refused before the rate limiter ran (unreadable or oversize body).
    const auto credential =
        extractCredential(req.get_header_value("Authorization"), req.get_header_value("X-API-Key"));
    setRateHeaders(res, limiter_.peek(bucketFor(credential, req.remote_addr)));
  }
  // A body the handler did not read (or read only in part) would otherwise be parsed as the
  // next request: drain it when small enough, else close the connection after this answer.
  if (body && !body->complete()) {
    const int status = res.status;  // httplib sets 400/413 when a read fails
    if ((closeConnection || body->consumed() || !body->drain()) &&
        res.get_header_value("Connection") != "close") {
      res.set_header("Connection", "close");
    }
    res.status = status;
  }
}

// Reads a buffered route's body into `out`: 413 over the limit (the rest is drained when small
// enough, else the connection is closed), 400 when the body is malformed or truncated.
void HttpFrontend::readBufferedBody(RequestBody& body, std::string& out) {
  const auto length = body.contentLength();
  const ApiError tooLarge(
      413, "payload_too_large",
      "Request body exceeds " + std::to_string(kMaxBufferedBodyBytes) + " bytes");
  if (length && *length > kMaxBufferedBodyBytes) throw tooLarge;
  const bool multipart = body.isMultipart();  // not JSON: its content is ignored
  bool over = false;
  const bool ok = body.readAll([&](const char* data, std::size_t size) {
    if (over || out.size() + size > kMaxBufferedBodyBytes) {
      over = true;
      return false;
    }
    if (!multipart) out.append(data, size);
    return true;
  });
  // Either way the body was read only in part: dispatch() closes the connection.
  if (over) throw tooLarge;
  if (!ok) throw ApiError(400, "bad_request", "The request body could not be read");
  if (multipart) out.clear();
}

void HttpFrontend::serve(const httplib::Request& req, httplib::Response& res,
                         const std::string& requestId, RequestBody* body, bool& closeConnection) {
  const std::string& target = req.target;
  const std::size_t q = target.find('?');
  ApiRequest request;
  request.method = req.method;
  request.rawPath = target.substr(0, q);
  request.rawQuery = q == std::string::npos ? std::string() : target.substr(q + 1);
  request.segments = splitPathSegments(request.rawPath);
  request.query = parseQuery(request.rawQuery);
  request.headers.assign(req.headers.begin(), req.headers.end());
  request.requestId = requestId;

  const Router::Match match = router_.match(req.method, request.segments);
  std::string bufferedBody;
  request.body = &bufferedBody;
  if (body) {
    if (match.route && match.route->bodyMode == BodyMode::kStreamed) {
      request.bodyStream = body;
    } else {
      // As before content readers: the body is read before anything else is decided.
      readBufferedBody(*body, bufferedBody);
    }
  }

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

  struct CloseFlag {  // copies the handler's request even when it throws
    const ApiRequest& request;
    bool& out;
    ~CloseFlag() { out = request.closeConnection; }
  } closeFlag{request, closeConnection};
  const Reply reply = match.route->handler(request);
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers)
    res.set_header(name, value);
  if (reply.stream) {
    // httplib 0.11 gzips a chunked text/* body for a client that accepts gzip, and its
    // compressor holds every event back until the end. The request object is the server's own
    // (mutable) one, alive for the whole exchange: forgetting Accept-Encoding keeps the events
    // flowing uncompressed.
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    struct State {
      StreamBody body;
      bool started = false;
    };
    auto state = std::make_shared<State>();
    state->body = *reply.stream;
    res.set_chunked_content_provider(
        state->body.contentType,
        [state](std::size_t, httplib::DataSink& sink) {
          state->started = true;
          ChunkedSink out(sink);
          try {
            state->body.produce(out);
          } catch (const std::exception&) {
            return false;  // the body cannot be finished: the connection is closed
          }
          if (!out.ok()) return false;
          sink.done();
          return true;
        },
        [state](bool) {
          if (!state->started && state->body.abandoned) {
            state->started = true;  // once
            state->body.abandoned();
          }
        });
    return;
  }
  if (reply.file) {
    for (const auto& [name, value] : reply.file->headers)
      res.set_header(name, value);
    if (reply.file->size == 0) {
      res.set_content(std::string(), reply.file->contentType.c_str());
      return;
    }
    const std::shared_ptr<const int> fd = reply.file->fd;
    const std::uint64_t size = reply.file->size;
    res.set_content_provider(
        static_cast<std::size_t>(size), reply.file->contentType.c_str(),
        [fd, size](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          char buf[64 * 1024];
          const std::size_t want =
              std::min({length, sizeof(buf), static_cast<std::size_t>(size - offset)});
          const ssize_t n = ::pread(*fd, buf, want, static_cast<off_t>(offset));
          // A file that shrank meanwhile cannot honour its Content-Length: abort.
          if (n <= 0) return false;
          return sink.write(buf, static_cast<std::size_t>(n));
        });
    return;
  }
  if (reply.raw) {
    for (const auto& [name, value] : reply.raw->headers)
      res.set_header(name, value);
    res.set_content(reply.raw->body, reply.raw->contentType);
    return;
  }
  Json out;
  if (reply.bare) {
    out = reply.data;
  } else {
    out = Json{{"data", reply.data}, {"meta", {{"requestId", requestId}}}};
    if (reply.extras.is_object()) {
      for (const auto& [name, value] : reply.extras.items())
        out[name] = value;
    }
    if (reply.page) {
      const Json cursor = reply.page->nextCursor ? Json(*reply.page->nextCursor) : Json(nullptr);
      out["meta"]["hasMore"] = reply.page->hasMore;
      out["meta"]["nextCursor"] = cursor;
      out["hasMore"] = reply.page->hasMore;
      out["nextCursor"] = cursor;
    }
  }
  res.set_content(dumpJson(out), kJson);
}

}  // namespace rtemu
