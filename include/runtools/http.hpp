#pragma once

/// @file
/// The HTTP transport seam: request and response values, the Transport
/// interface that the SDK sends every request through, and the default
/// libcurl-based implementation. Inject your own Transport (or the
/// runtools::testing::FakeTransport) through ClientOptions::transport.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtools/cancellation.hpp"
#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// An ordered list of HTTP header fields with case-insensitive lookup.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;
  using const_iterator = std::vector<Field>::const_iterator;

  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<Field> fields) : fields_(fields) {}

  /// Appends a field (keeps existing fields of the same name).
  void add(std::string name, std::string value);
  /// Replaces every field named `name` with one field.
  void set(std::string name, std::string value);
  /// Removes every field named `name`.
  void remove(std::string_view name);
  /// Value of the first field named `name` (case-insensitive).
  std::optional<std::string> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }
  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

/// A request body produced piece by piece (streamed uploads).
class BodySource {
 public:
  virtual ~BodySource() = default;
  /// Total size in bytes, sent as Content-Length.
  virtual std::uint64_t size() const = 0;
  /// Copies up to `capacity` bytes into `buffer`; returns 0 at the end.
  virtual std::size_t read(char* buffer, std::size_t capacity) = 0;
  /// Starts again from the first byte (before the request is repeated).
  virtual void rewind() = 0;
};

/// Receives the body of a successful (2xx) response as it arrives
/// (streamed downloads).
class BodySink {
 public:
  virtual ~BodySink() = default;
  /// Called once the status line and headers of a 2xx response have
  /// arrived, before its first body byte (again for a repeated request,
  /// after reset()). The default does nothing.
  virtual void begin(int status, const HttpHeaders& headers) {
    (void)status;
    (void)headers;
  }
  virtual void write(const char* data, std::size_t size) = 0;
  /// Discards what was written so far (before the request is repeated).
  virtual void reset() = 0;
};

/// How far one transfer has got, for a progress bar.
struct TransferProgress {
  /// Bytes of the body sent (upload) or received (download) so far.
  std::uint64_t bytesDone = 0;
  /// The whole body's size, when known (its Content-Length).
  std::optional<std::uint64_t> bytesTotal;
};

/// Called as a transfer moves, on the thread that runs the transfer, each
/// time bytesDone grows; an exception it throws ends the transfer and
/// reaches the caller.
using ProgressCallback = std::function<void(const TransferProgress&)>;

/// One HTTP request as the SDK hands it to a Transport.
struct HttpRequest {
  std::string method = "GET";
  /// Absolute URL, already percent-encoded.
  std::string url;
  HttpHeaders headers;
  std::string body;
  /// Limit for the whole exchange, connection included.
  std::chrono::milliseconds timeout{60000};
  /// Limit for establishing the connection.
  std::chrono::milliseconds connectTimeout{10000};
  /// Whether sending the request twice is harmless. When false, the
  /// transport must never repeat it on its own (libcurl would, on a reused
  /// connection found dead), so it uses a fresh connection.
  bool idempotent = false;
  /// When set, the body is read from here instead of `body`.
  std::shared_ptr<BodySource> bodySource;
  /// When set and cancelled, the transport abandons the exchange promptly and
  /// throws CancelledError.
  std::optional<CancellationToken> cancellation;
  /// When positive, the exchange fails with TimeoutError after this long
  /// without a byte sent or received (streams); `timeout` still applies.
  std::chrono::milliseconds idleTimeout{0};
  /// When set, the body of a 2xx response is handed here as it arrives
  /// instead of being collected in HttpResponse::body (error bodies are
  /// still collected).
  std::shared_ptr<BodySink> bodySink;
  /// Progress of the request body going out, and of the response body
  /// coming in. A repeated request starts again from 0.
  ProgressCallback onUploadProgress;
  ProgressCallback onDownloadProgress;
};

/// One HTTP response, whatever its status.
struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

/// Sends HTTP requests.
///
/// send() returns every response the server completed, whatever its status
/// code; it throws TransportError when no complete response arrived and
/// TimeoutError when HttpRequest::timeout elapsed. It never follows redirects.
/// It honours HttpRequest::bodySource, bodySink, cancellation, idleTimeout
/// and the progress callbacks, and lets an exception thrown by the source,
/// the sink or a progress callback propagate.
///
/// @par Thread safety
/// Implementations must allow concurrent send() calls from several threads.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

/// Settings of the libcurl transport.
struct CurlTransportOptions {
  /// Idle connections (libcurl easy handles) kept for reuse between calls.
  std::size_t maxIdleConnections = 16;
  /// CA certificates (PEM bundle file, hashed directory) for TLS verification.
  std::string caBundlePath;
  std::string caDirectory;
  /// A proxy URL; empty leaves libcurl's proxy environment variables in charge.
  std::string proxy;
  /// Turns TLS certificate and host verification OFF. Never in production.
  bool insecureSkipTlsVerification = false;
};

/// The default transport: libcurl with keep-alive connection reuse, safe for
/// concurrent use. libcurl's global initialisation happens once, internally.
RUNTOOLS_EXPORT std::shared_ptr<Transport> makeCurlTransport(
    const CurlTransportOptions& options = {});

}  // namespace runtools
