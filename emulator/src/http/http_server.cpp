#include "http/http_server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
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

#include "http/api_error.hpp"
#include "util/ids.hpp"

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
// More request headers than this are refused with 431 (httplib itself only bounds the length
// of each header line).
constexpr std::size_t kMaxRequestHeaders = 256;
constexpr char kJson[] = "application/json";
// What a malformed-json fault sends instead of the real body.
constexpr char kMalformedJson[] = "{\"data\": {\"id\": ";

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

// httplib offers no hook to reach the socket of an accepted connection, so the connections of
// this server are found by scanning /proc/self/fd for connected sockets whose local port is
// ours. Each candidate is dup()ed first and checked through the duplicate, so a descriptor
// closed and reused concurrently can never make us act on some other socket. `visit` gets the
// descriptor number, the duplicate (closed afterwards) and the peer's address.
template <typename Visit>
void forEachServerConnection(int port, Visit visit) {
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
    sockaddr_storage peer{};
    socklen_t peerLen = sizeof(peer);
    if (::fstat(sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
        ::getsockopt(sock, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optLen) == 0 && !listening &&
        ::getsockname(sock, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      int localPort = -1;
      if (local.ss_family == AF_INET) {
        localPort = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
      } else if (local.ss_family == AF_INET6) {
        localPort = ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
      }
      if (localPort == port &&
          ::getpeername(sock, reinterpret_cast<sockaddr*>(&peer), &peerLen) == 0) {
        visit(fd, sock, peer, peerLen);
      }
    }
    ::close(sock);
  }
}

// httplib 0.11 keeps an idle keep-alive connection open for its whole timeout even after
// Server::stop(), and the thread pool joins those workers, so stop() would take up to 5 s.
// To make it prompt, shut down every connected socket whose local port is ours: the worker
// then sees EOF and returns.
void shutdownServerConnections(int port) {
  forEachServerConnection(
      port, [](int, int sock, const sockaddr_storage&, socklen_t) { ::shutdown(sock, SHUT_RDWR); });
}

// Closes the connection of `req` without sending anything (the reset-before fault); the peer
// sees a connection reset. Called from that connection's own handler, so its descriptor stays
// httplib's until the handler returns: it is swapped for /dev/null (dup3), which closes
// httplib's reference to the socket, and with SO_LINGER 0 the last reference (our duplicate)
// closes it with a RST. httplib then "writes" its answer to /dev/null through send(), which
// fails (not a socket), and closes the connection. Falls back to shutdown(), which the peer
// sees as EOF, if the swap fails. False when the connection was not found.
bool abortConnection(int port, const httplib::Request& req) {
  bool found = false;
  forEachServerConnection(
      port, [&](int fd, int sock, const sockaddr_storage& peer, socklen_t peerLen) {
        if (found) return;
        char host[NI_MAXHOST];
        char service[NI_MAXSERV];
        if (::getnameinfo(reinterpret_cast<const sockaddr*>(&peer), peerLen, host, sizeof(host),
                          service, sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0 ||
            req.remote_addr != host || std::to_string(req.remote_port) != service) {
          return;
        }
        found = true;
        linger hard{1, 0};
        ::setsockopt(sock, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
        const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devNull < 0 || ::dup3(devNull, fd, O_CLOEXEC) < 0) ::shutdown(sock, SHUT_RDWR);
        if (devNull >= 0) ::close(devNull);
      });
  return found;
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

// A StreamSink over httplib's DataSink of a chunked response. With `maxChunks`, the stream
// is cut after that many chunks: later writes fail as if the client had gone.
class ChunkedSink : public StreamSink {
 public:
  explicit ChunkedSink(httplib::DataSink& sink, std::optional<std::size_t> maxChunks = std::nullopt)
      : sink_(sink), chunksLeft_(maxChunks) {}

  bool write(const std::string& bytes) override {
    if (!ok_) return false;
    if (bytes.empty()) return true;  // an empty chunk would end the body
    if (chunksLeft_ && (*chunksLeft_)-- == 0) {
      ok_ = false;
      return false;
    }
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
  std::optional<std::size_t> chunksLeft_;
  bool ok_ = true;
};

// A StreamSink that discards everything: runs a stream to its end when its answer is replaced
// (malformed-json and empty faults), so that the server still does all it would have done.
class DiscardSink : public StreamSink {
 public:
  bool write(const std::string&) override { return true; }
  bool connected() override { return true; }
};

bool isCutAction(FaultAction action) {
  return action == FaultAction::kResetMidBody || action == FaultAction::kTruncate;
}

// How many of `size` body bytes a cutting fault lets through: about half for reset-mid-body,
// all but the last one for truncate. Both then close the connection.
std::uint64_t cutPoint(FaultAction action, std::uint64_t size) {
  if (size == 0) return 0;
  return action == FaultAction::kTruncate ? size - 1 : size / 2;
}

// The headers the client sent: httplib adds the connection's addresses as pseudo-headers.
std::vector<std::pair<std::string, std::string>> clientHeaders(const httplib::Request& req) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : req.headers) {
    if (name != "REMOTE_ADDR" && name != "REMOTE_PORT" && name != "LOCAL_ADDR" &&
        name != "LOCAL_PORT") {
      headers.emplace_back(name, value);
    }
  }
  return headers;
}

// Replaces the header `name` (every occurrence) with `value`.
void replaceHeader(httplib::Response& res, const std::string& name, const std::string& value) {
  res.headers.erase(name);
  res.set_header(name, value);
}

// The answer of a malformed-json or empty fault in place of a rendered one.
void replaceBody(httplib::Response& res, const FaultSpec& spec) {
  if (spec.action == FaultAction::kMalformedJson) {
    if (spec.status) res.status = *spec.status;
    res.set_content(kMalformedJson, kJson);
  } else {
    res.status = spec.status.value_or(200);
    res.set_content(std::string(), kJson);
  }
}

// Damages a rendered in-memory answer (after-the-handler faults). The cutting faults send the
// status line and headers with the body's true Content-Length, then cutPoint() bytes, then
// close the connection (the content provider fails). An empty body cannot be cut: it is then
// sent whole.
void damageBody(httplib::Response& res, const FaultSpec& spec) {
  if (!isCutAction(spec.action)) {
    replaceBody(res, spec);
    return;
  }
  if (res.body.empty()) return;
  auto body = std::make_shared<const std::string>(std::move(res.body));
  res.body.clear();
  const std::uint64_t cut = cutPoint(spec.action, body->size());
  const std::string contentType = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");  // set_content_provider() adds it again
  res.set_content_provider(
      body->size(), contentType.empty() ? std::string("application/octet-stream") : contentType,
      [body, cut](std::size_t offset, std::size_t, httplib::DataSink& sink) {
        if (offset < cut) sink.write(body->data() + offset, static_cast<std::size_t>(cut - offset));
        return false;
      });
}

}  // namespace

// What dispatch() and serve() learn about one request as it is handled.
struct Exchange {
  std::string requestId;
  std::string rawPath;
  std::vector<std::string> segments;
  std::optional<AppliedFault> fault;
  std::optional<std::string> idempotencyKey;  // the header, when present
  bool replayed = false;
  bool closeConnection = false;  // the handler asked for it
  bool provided = false;         // the body is produced while sent (stream, file)
  bool noAnswer = false;         // reset-before: the connection is closed without an answer

  FaultAction afterAction() const {
    return fault && fault->spec.stage() == FaultStage::kAfter ? fault->spec.action
                                                              : FaultAction::kNone;
  }
};

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

HttpFrontend::HttpFrontend(const Router& router, const FrontendServices& services, bool quiet)
    : router_(router),
      keys_(services.keys),
      limiter_(services.limiter),
      faults_(services.faults),
      idempotency_(services.idempotency),
      log_(services.log) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server_.set_keep_alive_max_count(kKeepAliveMaxCount);
  server_.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server_.set_payload_max_length(kServerPayloadMaxBytes);
  // SO_REUSEADDR but not httplib's default SO_REUSEPORT, which would let a second emulator
  // silently share a port instead of failing to bind. TCP_NODELAY (inherited by accepted
  // sockets): httplib writes headers and body separately, and Nagle's algorithm would hold the
  // body back until the client's delayed ACK, some 40 ms per keep-alive request. The socket is
  // remembered so that bind() can lengthen its accept queue.
  server_.set_socket_options([this](socket_t sock) {
    listenFd_ = sock;
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
  // JSON error envelope and a request id, and are recorded in the request log (dispatch()
  // records the others). Our own error responses already have a body.
  httplib::Server::HandlerWithResponse onError = [this](const httplib::Request& req,
                                                        httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string requestId = res.get_header_value("X-Request-ID");
    if (requestId.empty()) {  // never reached dispatch()
      requestId = newRequestId();
      res.set_header("X-Request-ID", requestId);
      const std::size_t q = req.target.find('?');
      RequestRecord record;
      record.requestId = requestId;
      record.method = req.method;
      record.path = req.target.substr(0, q);
      record.query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
      record.status = res.status;
      record.headers = clientHeaders(req);
      log_.add(std::move(record));
    }
    if (!res.has_header("X-RateLimit-Limit")) {
      const auto credential = extractCredential(req.get_header_value("Authorization"),
                                                req.get_header_value("X-API-Key"));
      setRateHeaders(res, limiter_.peek(bucketFor(credential, req.remote_addr)));
    }
    const std::string code = errorCodeForStatus(res.status);
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
  // httplib listens with a backlog of 5: a burst of connections (parallel clients, or clients
  // that connect and hang up) overflows it and the kernel drops SYNs, which clients retry only
  // after a second. Listening again on the bound socket only changes its backlog.
  if (listenFd_ >= 0) ::listen(listenFd_, SOMAXCONN);
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
  Exchange ex;
  ex.requestId = newRequestId();
  res.set_header("X-Request-ID", ex.requestId);
  const std::size_t q = req.target.find('?');
  ex.rawPath = req.target.substr(0, q);
  ex.segments = splitPathSegments(ex.rawPath);
  if (req.has_header("Idempotency-Key"))
    ex.idempotencyKey = req.get_header_value("Idempotency-Key");
  try {
    if (req.headers.size() > kMaxRequestHeaders) {
      throw ApiError(431, "request_header_fields_too_large",
                     "More than " + std::to_string(kMaxRequestHeaders) + " request headers");
    }
    std::optional<std::string> faultHeader;
    if (req.has_header("X-Emu-Fault")) faultHeader = req.get_header_value("X-Emu-Fault");
    ex.fault = faults_.take(req.method, ex.rawPath, ex.segments, faultHeader);
    if (ex.fault) faults_.delay(ex.fault->spec);
    if (ex.fault && ex.fault->spec.action == FaultAction::kResetBefore) {
      ex.noAnswer = true;
      res.status = 503;  // never sent: httplib needs a status to "write"
      res.set_content("reset", "text/plain");
    } else if (ex.fault && ex.fault->spec.stage() == FaultStage::kBefore) {
      const FaultAnswer answer = faults_.beforeAnswer(ex.fault->spec, ex.requestId);
      res.status = answer.status;
      for (const auto& [name, value] : answer.headers)
        res.set_header(name, value);
      if (!answer.contentType.empty()) res.set_content(answer.body, answer.contentType);
    } else {
      serve(req, res, ex, body);
    }
  } catch (const ApiError& error) {
    writeError(res, error, ex.requestId);
  } catch (const std::exception&) {
    writeError(res, ApiError(500, "internal_error", "Internal error"), ex.requestId);
  }
  if (!res.has_header("X-RateLimit-Limit")) {
    // Refused before the rate limiter ran (unreadable or oversize body, injected fault).
    const auto credential =
        extractCredential(req.get_header_value("Authorization"), req.get_header_value("X-API-Key"));
    setRateHeaders(res, limiter_.peek(bucketFor(credential, req.remote_addr)));
  }
  if (ex.fault && !ex.noAnswer) {
    for (const auto& [name, value] : faults_.retryHeaders(ex.fault->spec))
      replaceHeader(res, name, value);
    // Streams and files were damaged as they were set up (render()).
    if (ex.afterAction() != FaultAction::kNone && !ex.provided) damageBody(res, ex.fault->spec);
  }
  // A body the handler did not read (or read only in part) would otherwise be parsed as the
  // next request: drain it when small enough, else close the connection after this answer.
  if (body && !body->complete() && !ex.noAnswer) {
    const int status = res.status;  // httplib sets 400/413 when a read fails
    if ((ex.closeConnection || body->consumed() || !body->drain()) &&
        res.get_header_value("Connection") != "close") {
      res.set_header("Connection", "close");
    }
    res.status = status;
  }
  // Recorded before anything is sent, so that a client that has its answer (or its reset) sees
  // the request in the log.
  if (!RequestLog::excluded(ex.segments)) {
    RequestRecord record;
    record.requestId = ex.requestId;
    record.method = req.method;
    record.path = ex.rawPath;
    record.query = q == std::string::npos ? std::string() : req.target.substr(q + 1);
    if (!ex.noAnswer) record.status = res.status;
    record.fault = ex.fault ? ex.fault->toJson() : Json(nullptr);
    record.idempotencyKey = ex.idempotencyKey;
    record.replayed = ex.replayed;
    record.headers = clientHeaders(req);
    log_.add(std::move(record));
  }
  if (ex.noAnswer && !abortConnection(port_, req)) {
    res.set_header("Connection", "close");  // not found (cannot happen): at least end it
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

void HttpFrontend::serve(const httplib::Request& req, httplib::Response& res, Exchange& ex,
                         RequestBody* body) {
  ApiRequest request = apiRequestOf(req, ex);
  const Router::Match match = router_.match(req.method, request.segments);
  std::string bufferedBody;
  request.body = &bufferedBody;
  if (body) takeBody(match, *body, request, bufferedBody);
  const auto credential =
      extractCredential(req.get_header_value("Authorization"), req.get_header_value("X-API-Key"));
  admit(credential, req, res);
  authorize(match, credential, req, res, request);
  request.params = match.params;
  IdempotencyStore::Ticket ticket;
  if (replayKept(match, credential, bufferedBody, req, res, ex, ticket)) return;
  invoke(*match.route, request, req, res, ex);
  keepAnswer(ticket, res, ex);
}

ApiRequest HttpFrontend::apiRequestOf(const httplib::Request& req, const Exchange& ex) {
  const std::size_t q = req.target.find('?');
  ApiRequest request;
  request.method = req.method;
  request.rawPath = ex.rawPath;
  request.rawQuery = q == std::string::npos ? std::string() : req.target.substr(q + 1);
  request.segments = ex.segments;
  request.query = parseQuery(request.rawQuery);
  request.headers.assign(req.headers.begin(), req.headers.end());
  request.requestId = ex.requestId;
  return request;
}

void HttpFrontend::takeBody(const Router::Match& match, RequestBody& body, ApiRequest& request,
                            std::string& buffered) {
  if (match.route && match.route->bodyMode == BodyMode::kStreamed) {
    request.bodyStream = &body;
  } else {
    // As before content readers: the body is read before anything else is decided.
    readBufferedBody(body, buffered);
  }
}

void HttpFrontend::admit(const std::optional<std::string>& credential, const httplib::Request& req,
                         httplib::Response& res) {
  const RateDecision rate = limiter_.consume(bucketFor(credential, req.remote_addr));
  setRateHeaders(res, rate);
  if (!rate.allowed) {
    res.set_header("Retry-After", std::to_string(rate.retryAfterSeconds));
    throw ApiError(
        429, "rate_limited",
        "Rate limit exceeded; retry after " + std::to_string(rate.retryAfterSeconds) + " s");
  }
}

void HttpFrontend::authorize(const Router::Match& match,
                             const std::optional<std::string>& credential,
                             const httplib::Request& req, httplib::Response& res,
                             ApiRequest& request) {
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
}

// Idempotency-Key (docs/wire-contract.md §6.6) on POST and PATCH outside the control plane.
// Requests whose body is streamed to the handler (uploads) are not kept, nor are requests for
// a server-sent event stream: see idempotency_store.hpp.
bool HttpFrontend::replayKept(const Router::Match& match,
                              const std::optional<std::string>& credential,
                              const std::string& bufferedBody, const httplib::Request& req,
                              httplib::Response& res, Exchange& ex,
                              IdempotencyStore::Ticket& ticket) {
  if (!ex.idempotencyKey || (req.method != "POST" && req.method != "PATCH") ||
      FaultInjector::exempt(ex.segments)) {
    return false;
  }
  IdempotencyStore::validateKey(*ex.idempotencyKey);
  const bool streamed =
      match.route->bodyMode == BodyMode::kStreamed ||
      req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
  if (streamed) return false;
  IdempotencyStore::Begin begun =
      idempotency_.begin(IdempotencyStore::scopeFor(credential.value_or(""), req.method, ex.rawPath,
                                                    *ex.idempotencyKey),
                         bufferedBody);
  if (!begun.replay) {
    ticket = std::move(begun.ticket);
    return false;
  }
  const IdempotencyStore::Stored& stored = *begun.replay;
  res.status = stored.status;
  for (const auto& [name, value] : stored.headers)
    res.set_header(name, value);
  res.set_header("Idempotent-Replayed", "true");
  if (!stored.contentType.empty() || !stored.body.empty()) {
    res.set_content(stored.body, stored.contentType);
  }
  ex.replayed = true;
  return true;
}

// The true answer is kept before any fault damages it (dispatch()), so that a retry with the
// same key gets it back although the first answer was lost.
void HttpFrontend::keepAnswer(IdempotencyStore::Ticket& ticket, const httplib::Response& res,
                              const Exchange& ex) {
  if (!ticket || res.status >= 500 || ex.provided) return;
  IdempotencyStore::Stored stored;
  stored.status = res.status;
  stored.contentType = res.get_header_value("Content-Type");
  stored.body = res.body;
  for (const auto& [name, value] : res.headers) {
    const bool own = name == "Content-Type" || name == "Content-Length" || name == "X-Request-ID" ||
                     name.rfind("X-RateLimit-", 0) == 0;
    if (!own) stored.headers.emplace_back(name, value);
  }
  ticket.complete(std::move(stored));
}

void HttpFrontend::invoke(const Route& route, ApiRequest& request, const httplib::Request& req,
                          httplib::Response& res, Exchange& ex) {
  try {
    struct CloseFlag {  // copies the handler's request even when it throws
      const ApiRequest& request;
      bool& out;
      ~CloseFlag() { out = request.closeConnection; }
    } closeFlag{request, ex.closeConnection};
    render(route.handler(request), req, res, ex);
  } catch (const ApiError& error) {
    writeError(res, error, ex.requestId);
  } catch (const std::exception&) {
    writeError(res, ApiError(500, "internal_error", "Internal error"), ex.requestId);
  }
}

void HttpFrontend::render(Reply reply, const httplib::Request& req, httplib::Response& res,
                          Exchange& ex) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers)
    res.set_header(name, value);
  if (reply.stream) {
    renderStream(*reply.stream, req, res, ex);
  } else if (reply.file) {
    renderFile(*reply.file, res, ex);
  } else if (reply.raw) {
    for (const auto& [name, value] : reply.raw->headers)
      res.set_header(name, value);
    res.set_content(reply.raw->body, reply.raw->contentType);
  } else {
    res.set_content(dumpJson(envelope(reply, ex.requestId)), kJson);
  }
}

void HttpFrontend::renderStream(const StreamBody& stream, const httplib::Request& req,
                                httplib::Response& res, Exchange& ex) {
  const FaultAction fault = ex.afterAction();
  if (fault == FaultAction::kMalformedJson || fault == FaultAction::kEmpty) {
    // The stream runs to its end (its effects happen), then the answer is replaced.
    DiscardSink discard;
    try {
      stream.produce(discard);
    } catch (const std::exception&) {
    }
    replaceBody(res, ex.fault->spec);
    ex.provided = true;
    return;
  }
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
  state->body = stream;
  // A cutting fault lets the first chunk (the first event) through, then fails the stream as
  // if the client had gone and closes the connection without the final empty chunk; a
  // stream's length is not known in advance, so truncate cuts at the same place.
  const bool cut = isCutAction(fault);
  res.set_chunked_content_provider(
      state->body.contentType,
      [state, cut](std::size_t, httplib::DataSink& sink) {
        state->started = true;
        ChunkedSink out(sink, cut ? std::optional<std::size_t>(1) : std::nullopt);
        try {
          state->body.produce(out);
        } catch (const std::exception&) {
          return false;  // the body cannot be finished: the connection is closed
        }
        if (!out.ok() || cut) return false;
        sink.done();
        return true;
      },
      [state](bool) {
        if (!state->started && state->body.abandoned) {
          state->started = true;  // once
          state->body.abandoned();
        }
      });
  ex.provided = true;
}

void HttpFrontend::renderFile(const FileBody& file, httplib::Response& res, Exchange& ex) {
  const FaultAction fault = ex.afterAction();
  for (const auto& [name, value] : file.headers)
    res.set_header(name, value);
  if (fault == FaultAction::kMalformedJson || fault == FaultAction::kEmpty) {
    replaceBody(res, ex.fault->spec);
    ex.provided = true;
    return;
  }
  if (file.size == 0) {
    res.set_content(std::string(), file.contentType.c_str());
    return;
  }
  const std::shared_ptr<const int> fd = file.fd;
  const std::uint64_t size = file.size;
  // A cutting fault stops the download after cutPoint() bytes and closes the connection.
  const std::uint64_t end = isCutAction(fault) ? cutPoint(fault, size) : size;
  res.set_content_provider(
      static_cast<std::size_t>(size), file.contentType.c_str(),
      [fd, end](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        if (offset >= end) return false;
        char buf[64 * 1024];
        const std::size_t want =
            std::min({length, sizeof(buf), static_cast<std::size_t>(end - offset)});
        const ssize_t n = ::pread(*fd, buf, want, static_cast<off_t>(offset));
        // A file that shrank meanwhile cannot honour its Content-Length: abort.
        if (n <= 0) return false;
        return sink.write(buf, static_cast<std::size_t>(n));
      });
  ex.provided = true;
}

Json HttpFrontend::envelope(const Reply& reply, const std::string& requestId) {
  if (reply.bare) return reply.data;
  Json out = Json{{"data", reply.data}, {"meta", {{"requestId", requestId}}}};
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
  return out;
}

}  // namespace rtemu
