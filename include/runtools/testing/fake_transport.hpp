#pragma once

/// @file
/// A scriptable Transport for unit tests of code that uses the SDK: queue the
/// responses the "server" gives, run the code, inspect the requests it made.
///
/// @code
/// auto fake = std::make_shared<runtools::testing::FakeTransport>();
/// fake->enqueueJson(200, {{"data", {{"id", "sandbox-1"}, {"status", "running"}}}});
/// runtools::ClientOptions options;
/// options.apiKey = "rt_test_x";
/// options.transport = fake;
/// runtools::RunTools rt(options);
/// rt.sandbox.get("sandbox-1").refresh();
/// assert(fake->requests().at(0).method == "GET");
/// @endcode

#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/export.h"
#include "runtools/http.hpp"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {
namespace testing {

/// @par Thread safety
/// Safe to use from several threads at once.
class FakeTransport : public Transport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  /// Queues a response for a future request (first in, first out).
  void enqueue(HttpResponse response);
  /// Queues a JSON response.
  void enqueueJson(int status, const nlohmann::json& body, HttpHeaders headers = {});
  /// Queues an exception (e.g. a TransportError or TimeoutError) to be thrown
  /// by send() instead of answering.
  void enqueueException(std::exception_ptr error);
  /// Answers requests when the queue is empty.
  void setHandler(Handler handler);

  /// Every request received so far, in order (a streamed body is recorded
  /// in `body`).
  std::vector<HttpRequest> requests() const;
  /// The most recent request; throws std::out_of_range when there is none.
  HttpRequest lastRequest() const;
  /// Forgets the recorded requests and queued responses.
  void clear();

  HttpResponse send(const HttpRequest& request) override;

 private:
  struct Scripted {
    HttpResponse response;
    std::exception_ptr error;
  };
  mutable std::mutex mutex_;
  std::deque<Scripted> queue_;
  Handler handler_;
  std::vector<HttpRequest> requests_;
};

}  // namespace testing
}  // namespace runtools
