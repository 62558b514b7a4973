// The default Transport: libcurl handles kept in a pool so that each call
// reuses a warm connection (keep-alive), DNS results and TLS sessions shared
// between handles. One handle serves one call at a time, so calls from
// several threads never share a handle. Each transfer runs on libcurl's
// multi interface, driven by the calling thread (a blocking call) or by the
// asynchronous engine (a call made inside one of its operations), so that a
// cancellation or an idle deadline ends it at once in every state.

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "internal/curl_init.hpp"
#include "internal/engine.hpp"
#include "internal/http_syntax.hpp"
#include "runtools/errors.hpp"
#include "runtools/http.hpp"

namespace runtools {
namespace {

using internal::hasControlCharacters;
using internal::isToken;

// The URL without query string or fragment, for messages (a query may carry
// a token).
std::string describeUrl(const std::string& url) {
  const auto cut = url.find_first_of("?#");
  return cut == std::string::npos ? url : url.substr(0, cut);
}

// Error bodies are kept for messages; beyond this they are not needed.
constexpr std::size_t kMaxErrorBody = 1024 * 1024;

struct Exchange {
  CURL* handle = nullptr;
  HttpResponse response;
  BodySource* source = nullptr;
  BodySink* sink = nullptr;
  // An exception thrown by the source or the sink, rethrown after the transfer.
  std::exception_ptr error;

  // Cancellation and idle tracking, checked by the transfer loop between
  // two waits for the sockets.
  const CancellationToken* cancellation = nullptr;
  std::chrono::milliseconds idleTimeout{0};
  std::chrono::steady_clock::time_point lastActivity = std::chrono::steady_clock::now();
  enum class Abort { None, Cancelled, Idle } abort = Abort::None;

  const ProgressCallback* onUpload = nullptr;
  const ProgressCallback* onDownload = nullptr;
  curl_off_t reportedUp = 0;
  curl_off_t reportedDown = 0;

  void touched() { lastActivity = std::chrono::steady_clock::now(); }

  // Whether the transfer must stop now, and why (recorded in `abort`).
  bool mustStop(std::chrono::steady_clock::time_point now) {
    if (cancellation != nullptr && cancellation->isCancelled()) {
      abort = Abort::Cancelled;
    } else if (idleTimeout.count() > 0 && now - lastActivity >= idleTimeout) {
      abort = Abort::Idle;
    }
    return abort != Abort::None;
  }

  // How long the loop may wait for the sockets before it must look again:
  // until the idle deadline (cancellation wakes the wait by itself).
  int waitMillis(std::chrono::steady_clock::time_point now) const {
    constexpr int kLongest = 1000;
    if (idleTimeout.count() <= 0) return kLongest;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(lastActivity + idleTimeout - now);
    return static_cast<int>(std::clamp<long long>(left.count(), 1, kLongest));
  }
};

// Tells the sink that a 2xx answer's body is about to start (not after a
// 1xx answer's headers).
void beginBody(Exchange& exchange) {
  long status = 0;
  curl_easy_getinfo(exchange.handle, CURLINFO_RESPONSE_CODE, &status);
  if (exchange.sink == nullptr || status < 200 || status >= 300) return;
  try {
    exchange.sink->begin(static_cast<int>(status), exchange.response.headers);
  } catch (...) {
    exchange.error = std::current_exception();
  }
}

// Reports progress to the request's callbacks when a count has grown.
int onProgress(void* user, curl_off_t downTotal, curl_off_t down, curl_off_t upTotal,
               curl_off_t up) {
  auto* exchange = static_cast<Exchange*>(user);
  auto report = [](const ProgressCallback* callback, curl_off_t done, curl_off_t total,
                   curl_off_t& reported) {
    if (callback == nullptr || done <= reported) return;
    reported = done;
    TransferProgress progress;
    progress.bytesDone = static_cast<std::uint64_t>(done);
    if (total > 0) progress.bytesTotal = static_cast<std::uint64_t>(total);
    (*callback)(progress);
  };
  try {
    report(exchange->onUpload, up, upTotal, exchange->reportedUp);
    report(exchange->onDownload, down, downTotal, exchange->reportedDown);
  } catch (...) {
    exchange->error = std::current_exception();
    return 1;  // aborts the transfer
  }
  return 0;
}

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t length = size * count;
  exchange->touched();
  if (exchange->sink != nullptr) {
    long status = 0;
    curl_easy_getinfo(exchange->handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      try {
        exchange->sink->write(data, length);
      } catch (...) {
        exchange->error = std::current_exception();
        return 0;  // aborts the transfer
      }
      return length;
    }
    if (exchange->response.body.size() >= kMaxErrorBody) return length;
  }
  exchange->response.body.append(data, length);
  return length;
}

std::size_t onRead(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  exchange->touched();
  try {
    return exchange->source->read(buffer, size * count);
  } catch (...) {
    exchange->error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t length = size * count;
  exchange->touched();
  std::string_view line(data, length);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  if (line.empty()) {  // the end of a response's headers
    beginBody(*exchange);
    return exchange->error ? 0 : length;  // 0 aborts the transfer
  }
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after a 100 Continue, for instance): start over.
    exchange->response.headers = HttpHeaders();
    return length;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return length;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  exchange->response.headers.add(std::string(line.substr(0, colon)), std::string(value));
  return length;
}

// A positive timeout as libcurl's long milliseconds (0 would mean "none").
long toCurlMillis(std::chrono::milliseconds value) {
  const long long count = value.count();
  if (count <= 0) return 1;
  return static_cast<long>(std::min<long long>(count, std::numeric_limits<long>::max()));
}

class SlistGuard {
 public:
  ~SlistGuard() { curl_slist_free_all(list_); }
  void append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    list_ = next;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// Refuses what must never reach the wire: header names that are not tokens,
// values with CR/LF, a body on GET or HEAD.
void validate(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (!isToken(name)) throw InvalidArgumentError("invalid HTTP header name");
    if (hasControlCharacters(value)) {
      throw InvalidArgumentError("HTTP header \"" + name +
                                 "\" contains CR, LF or other control characters");
    }
  }
  if (!isToken(request.method)) throw InvalidArgumentError("invalid HTTP method");
  if ((request.method == "GET" || request.method == "HEAD") &&
      (!request.body.empty() || request.bodySource)) {
    throw InvalidArgumentError(request.method + " requests cannot carry a body");
  }
}

[[noreturn]] void throwCancelled(const HttpRequest& request) {
  throw CancelledError(request.method + " " + describeUrl(request.url) + " cancelled");
}

// The request's header fields, plus the two libcurl would add on its own
// and we do not want.
void appendHeaders(const HttpRequest& request, SlistGuard& headers) {
  bool hasContentType = false;
  for (const auto& [name, value] : request.headers) {
    headers.append(value.empty() ? name + ";" : name + ": " + value);
    if (name.size() == 12 && curl_strnequal(name.c_str(), "Content-Type", 12)) {
      hasContentType = true;
    }
  }
  headers.append("Expect:");  // no 100-continue round trip for large bodies
  if (!hasContentType) headers.append("Content-Type:");  // not libcurl's form default
}

void setMethodAndBody(CURL* h, const HttpRequest& request, Exchange& exchange) {
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (exchange.source != nullptr) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &onRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &exchange);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(exchange.source->size()));
  } else if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
             request.method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  }
}

void setCallbacks(CURL* h, Exchange& exchange) {
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &exchange);
  if (exchange.onUpload != nullptr || exchange.onDownload != nullptr) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &onProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &exchange);
  }
}

// Runs one transfer on the asynchronous engine whose fiber calls it: the
// easy handle joins the engine's multi handle and the fiber sleeps until the
// transfer ends, its token or operation is cancelled, or it goes idle.
CURLcode awaitTransfer(internal::Engine& engine, CURL* easy, Exchange& exchange) {
  engine.addTransfer(easy);
  CancellationToken::Registration wake;
  if (exchange.cancellation != nullptr) {
    wake = exchange.cancellation->onCancel(
        [&engine, task = engine.currentTask()] { engine.wake(task); });
  }
  CURLcode result = CURLE_OK;
  for (;;) {
    if (const auto outcome = engine.takeTransferResult()) {
      result = *outcome;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (engine.currentCancelled()) exchange.abort = Exchange::Abort::Cancelled;
    if (exchange.abort != Exchange::Abort::None || exchange.mustStop(now)) break;
    engine.park(now + std::chrono::milliseconds(exchange.waitMillis(now)));
  }
  wake.reset();
  engine.removeTransfer(easy);
  return result;
}

// Runs one transfer on `multi` until it completes, is cancelled or goes idle
// too long. Waiting for the sockets happens in curl_multi_poll, which a
// cancellation interrupts at once through curl_multi_wakeup, so a silent
// peer never delays a cancellation, whatever the state of the exchange.
CURLcode runTransfer(CURLM* multi, CURL* easy, Exchange& exchange) {
  if (auto* engine = internal::Engine::current()) return awaitTransfer(*engine, easy, exchange);
  if (curl_multi_add_handle(multi, easy) != CURLM_OK) throw std::bad_alloc();
  CancellationToken::Registration wake;
  if (exchange.cancellation != nullptr) {
    wake = exchange.cancellation->onCancel([multi] { curl_multi_wakeup(multi); });
  }
  CURLcode result = CURLE_OK;
  for (bool done = false; !done;) {
    int running = 0;
    CURLMcode status = curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
        result = message->data.result;
        done = true;
      }
    }
    if (done) break;
    const auto now = std::chrono::steady_clock::now();
    if (status != CURLM_OK || exchange.mustStop(now)) {
      if (status != CURLM_OK) result = CURLE_OUT_OF_MEMORY;
      break;
    }
    status = curl_multi_poll(multi, nullptr, 0, exchange.waitMillis(now), nullptr);
    if (status != CURLM_OK) {
      result = CURLE_OUT_OF_MEMORY;
      break;
    }
  }
  wake.reset();  // no wakeup may reach `multi` once it serves another call
  curl_multi_remove_handle(multi, easy);
  return result;
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(const CurlTransportOptions& options)
      : options_(options), maxIdle_(options.maxIdleConnections) {
    internal::initCurlOnce();
    share_ = curl_share_init();
    if (share_ == nullptr) throw std::bad_alloc();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlTransport() override {
    for (const Connection& connection : idle_)
      connection.cleanup();
    curl_share_cleanup(share_);
  }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResponse send(const HttpRequest& request) override {
    validate(request);
    if (request.cancellation && request.cancellation->isCancelled()) throwCancelled(request);

    Lease lease(*this);
    Exchange exchange;
    exchange.handle = lease.easy();
    exchange.sink = request.bodySink.get();
    exchange.source = request.bodySource.get();
    exchange.cancellation = request.cancellation ? &*request.cancellation : nullptr;
    exchange.idleTimeout = request.idleTimeout;
    if (request.onUploadProgress) exchange.onUpload = &request.onUploadProgress;
    if (request.onDownloadProgress) exchange.onDownload = &request.onDownloadProgress;
    char errorText[CURL_ERROR_SIZE] = {0};
    SlistGuard headers;
    appendHeaders(request, headers);

    CURL* h = lease.easy();
    setConnectionOptions(h, request, exchange);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errorText);
    setCallbacks(h, exchange);
    setMethodAndBody(h, request, exchange);

    const CURLcode rc = runTransfer(lease.multi(), h, exchange);
    // Drop pointers into this frame before the handle goes back to the pool.
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    return finish(rc, errorText, request, exchange, lease);
  }

 private:
  // An easy handle and the multi handle that drives it. Connections live in
  // the multi handle's cache, so the two stay together in the pool.
  struct Connection {
    CURL* easy = nullptr;
    CURLM* multi = nullptr;
    void cleanup() const {
      curl_multi_cleanup(multi);
      curl_easy_cleanup(easy);
    }
  };

  // Borrows a connection from the pool and gives it back (or drops it).
  class Lease {
   public:
    explicit Lease(CurlTransport& owner) : owner_(owner), connection_(owner.acquire()) {}
    ~Lease() { owner_.release(connection_, discard_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    CURL* easy() const { return connection_.easy; }
    CURLM* multi() const { return connection_.multi; }
    void discard() { discard_ = true; }

   private:
    CurlTransport& owner_;
    Connection connection_;
    bool discard_ = false;
  };

  void setConnectionOptions(CURL* h, const HttpRequest& request, const Exchange& exchange) const {
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SHARE, share_);
    // libcurl silently re-sends a request whose reused connection turns out
    // to be dead; a request that must not run twice gets a fresh connection.
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, request.idempotent ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!options_.caBundlePath.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, options_.caBundlePath.c_str());
    }
    if (!options_.caDirectory.empty()) {
      curl_easy_setopt(h, CURLOPT_CAPATH, options_.caDirectory.c_str());
    }
    if (!options_.proxy.empty()) curl_easy_setopt(h, CURLOPT_PROXY, options_.proxy.c_str());
    if (options_.insecureSkipTlsVerification) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, toCurlMillis(request.timeout));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, toCurlMillis(request.connectTimeout));
    // Compression for plain answers; a streamed body (events, downloads) is
    // taken as it is, so that no decoder holds events back.
    if (exchange.sink == nullptr) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  }

  // The response, or the exception that stands for how the exchange ended.
  static HttpResponse finish(CURLcode rc, const char* errorText, const HttpRequest& request,
                             Exchange& exchange, Lease& lease) {
    if (exchange.error || exchange.abort != Exchange::Abort::None || rc != CURLE_OK) {
      lease.discard();  // its connection is in an unknown state
    }
    if (exchange.error) std::rethrow_exception(exchange.error);
    if (exchange.abort == Exchange::Abort::Cancelled) throwCancelled(request);
    if (exchange.abort == Exchange::Abort::Idle) {
      throw TimeoutError(request.method + " " + describeUrl(request.url) + ": no data for " +
                         std::to_string(request.idleTimeout.count()) + " ms");
    }
    if (rc != CURLE_OK) throwFor(rc, errorText, request);
    long status = 0;
    curl_easy_getinfo(exchange.handle, CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    return std::move(exchange.response);
  }

  Connection acquire() {
    {
      std::lock_guard<std::mutex> lock(poolMutex_);
      if (!idle_.empty()) {
        Connection connection = idle_.back();
        idle_.pop_back();
        curl_easy_reset(connection.easy);  // keeps live connections and caches
        return connection;
      }
    }
    Connection connection;
    connection.easy = curl_easy_init();
    connection.multi = curl_multi_init();
    if (connection.easy == nullptr || connection.multi == nullptr) {
      connection.cleanup();
      throw std::bad_alloc();
    }
    return connection;
  }

  void release(const Connection& connection, bool discard) {
    if (!discard) {
      std::lock_guard<std::mutex> lock(poolMutex_);
      if (idle_.size() < maxIdle_) {
        idle_.push_back(connection);
        return;
      }
    }
    connection.cleanup();
  }

  [[noreturn]] static void throwFor(CURLcode rc, const char* errorText,
                                    const HttpRequest& request) {
    std::string detail = errorText[0] != '\0' ? errorText : curl_easy_strerror(rc);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r'))
      detail.pop_back();
    const std::string where = request.method + " " + describeUrl(request.url);
    using Kind = TransportError::Kind;
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        throw TimeoutError(where + " timed out after " + std::to_string(request.timeout.count()) +
                           " ms: " + detail);
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        throw TransportError(Kind::HostNotFound, where + ": host not found: " + detail);
      case CURLE_COULDNT_CONNECT:
        throw TransportError(Kind::ConnectionFailed, where + ": connection failed: " + detail);
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
        throw TransportError(Kind::Tls, where + ": TLS failure: " + detail);
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        throw InvalidArgumentError(where + ": " + detail);
      default:
        throw TransportError(Kind::Network, where + ": " + detail);
    }
  }

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    auto* self = static_cast<CurlTransport*>(user);
    self->shareMutexes_[index(data)].lock();
  }

  static void unlock(CURL*, curl_lock_data data, void* user) {
    auto* self = static_cast<CurlTransport*>(user);
    self->shareMutexes_[index(data)].unlock();
  }

  static std::size_t index(curl_lock_data data) {
    const auto i = static_cast<std::size_t>(data);
    return i < kLockSlots ? i : kLockSlots - 1;
  }

  static constexpr std::size_t kLockSlots = CURL_LOCK_DATA_LAST + 1;
  const CurlTransportOptions options_;
  std::size_t maxIdle_;
  CURLSH* share_ = nullptr;
  std::mutex poolMutex_;
  std::vector<Connection> idle_;
  std::mutex shareMutexes_[kLockSlots];
};

}  // namespace

std::shared_ptr<Transport> makeCurlTransport(const CurlTransportOptions& options) {
  return std::make_shared<CurlTransport>(options);
}

}  // namespace runtools
