// The default Transport: libcurl easy handles kept in a pool so that each
// call reuses a warm connection (keep-alive), DNS results and TLS sessions
// shared between handles. One handle serves one call at a time, so calls
// from several threads never share a handle.

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

#include "internal/http_syntax.hpp"
#include "runtools/errors.hpp"
#include "runtools/http.hpp"

namespace runtools {
namespace {

using internal::hasControlCharacters;
using internal::isToken;

void globalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      throw TransportError(TransportError::Kind::Network,
                           std::string("libcurl initialisation failed: ") + curl_easy_strerror(rc));
    }
  });
}

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

  // Cancellation and idle tracking, checked from the progress callback.
  const CancellationToken* cancellation = nullptr;
  std::chrono::milliseconds idleTimeout{0};
  std::chrono::steady_clock::time_point lastActivity = std::chrono::steady_clock::now();
  curl_off_t lastDown = 0;
  curl_off_t lastUp = 0;
  enum class Abort { None, Cancelled, Idle } abort = Abort::None;
};

// Called by libcurl often during a transfer and about once a second while
// idle: gives up on cancellation or after idleTimeout without progress.
int onProgress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* exchange = static_cast<Exchange*>(user);
  if (exchange->cancellation != nullptr && exchange->cancellation->isCancelled()) {
    exchange->abort = Exchange::Abort::Cancelled;
    return 1;
  }
  const auto now = std::chrono::steady_clock::now();
  if (down != exchange->lastDown || up != exchange->lastUp) {
    exchange->lastDown = down;
    exchange->lastUp = up;
    exchange->lastActivity = now;
  } else if (exchange->idleTimeout.count() > 0 &&
             now - exchange->lastActivity > exchange->idleTimeout) {
    exchange->abort = Exchange::Abort::Idle;
    return 1;
  }
  return 0;
}

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t length = size * count;
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
  std::string_view line(data, length);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
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

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(const CurlTransportOptions& options)
      : options_(options), maxIdle_(options.maxIdleConnections) {
    globalInitOnce();
    share_ = curl_share_init();
    if (share_ == nullptr) throw std::bad_alloc();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlTransport::lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlTransport::unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlTransport() override {
    for (CURL* handle : idle_)
      curl_easy_cleanup(handle);
    curl_share_cleanup(share_);
  }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  HttpResponse send(const HttpRequest& request) override {
    for (const auto& [name, value] : request.headers) {
      if (!isToken(name)) {
        throw InvalidArgumentError("invalid HTTP header name");
      }
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

    HandleLease lease(*this);
    CURL* h = lease.get();
    Exchange exchange;
    exchange.handle = h;
    exchange.sink = request.bodySink.get();
    exchange.source = request.bodySource.get();
    if (request.cancellation) {
      if (request.cancellation->isCancelled()) {
        throw CancelledError(request.method + " " + describeUrl(request.url) + " cancelled");
      }
      exchange.cancellation = &*request.cancellation;
    }
    exchange.idleTimeout = request.idleTimeout;
    char errorText[CURL_ERROR_SIZE] = {0};

    SlistGuard headers;
    bool hasContentType = false;
    for (const auto& [name, value] : request.headers) {
      headers.append(value.empty() ? name + ";" : name + ": " + value);
      if (name.size() == 12 && curl_strnequal(name.c_str(), "Content-Type", 12)) {
        hasContentType = true;
      }
    }
    headers.append("Expect:");  // no 100-continue round trip for large bodies
    if (!hasContentType) headers.append("Content-Type:");  // not libcurl's form default

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
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
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errorText);
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
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &onBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &onHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &exchange);
    if (exchange.cancellation != nullptr || exchange.idleTimeout.count() > 0) {
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &onProgress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &exchange);
    }

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
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    }

    const CURLcode rc = curl_easy_perform(h);
    // Drop pointers into this frame before the handle goes back to the pool.
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);

    if (exchange.error) {
      lease.discard();
      std::rethrow_exception(exchange.error);
    }
    if (exchange.abort == Exchange::Abort::Cancelled) {
      lease.discard();
      throw CancelledError(request.method + " " + describeUrl(request.url) + " cancelled");
    }
    if (exchange.abort == Exchange::Abort::Idle) {
      lease.discard();
      throw TimeoutError(request.method + " " + describeUrl(request.url) + ": no data for " +
                         std::to_string(request.idleTimeout.count()) + " ms");
    }
    if (rc != CURLE_OK) {
      lease.discard();
      throwFor(rc, errorText, request);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    return std::move(exchange.response);
  }

 private:
  // Borrows an easy handle from the pool and gives it back (or drops it).
  class HandleLease {
   public:
    explicit HandleLease(CurlTransport& owner) : owner_(owner), handle_(owner.acquire()) {}
    ~HandleLease() { owner_.release(handle_, discard_); }
    HandleLease(const HandleLease&) = delete;
    HandleLease& operator=(const HandleLease&) = delete;
    CURL* get() const { return handle_; }
    void discard() { discard_ = true; }

   private:
    CurlTransport& owner_;
    CURL* handle_;
    bool discard_ = false;
  };

  CURL* acquire() {
    {
      std::lock_guard<std::mutex> lock(poolMutex_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        curl_easy_reset(handle);  // keeps live connections and caches
        return handle;
      }
    }
    CURL* handle = curl_easy_init();
    if (handle == nullptr) throw std::bad_alloc();
    return handle;
  }

  void release(CURL* handle, bool discard) {
    if (!discard) {
      std::lock_guard<std::mutex> lock(poolMutex_);
      if (idle_.size() < maxIdle_) {
        idle_.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
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
  std::vector<CURL*> idle_;
  std::mutex shareMutexes_[kLockSlots];
};

}  // namespace

std::shared_ptr<Transport> makeCurlTransport(const CurlTransportOptions& options) {
  return std::make_shared<CurlTransport>(options);
}

}  // namespace runtools
