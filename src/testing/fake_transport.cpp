#include "runtools/testing/fake_transport.hpp"

#include <stdexcept>

#include "runtools/errors.hpp"

namespace runtools::testing {

void FakeTransport::enqueue(HttpResponse response) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(Scripted{std::move(response), nullptr});
}

void FakeTransport::enqueueJson(int status, const nlohmann::json& body, HttpHeaders headers) {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  if (!response.headers.has("Content-Type")) {
    response.headers.add("Content-Type", "application/json");
  }
  response.body = body.dump();
  enqueue(std::move(response));
}

void FakeTransport::enqueueException(std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(Scripted{HttpResponse{}, std::move(error)});
}

void FakeTransport::setHandler(Handler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  handler_ = std::move(handler);
}

std::vector<HttpRequest> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

HttpRequest FakeTransport::lastRequest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (requests_.empty()) throw std::out_of_range("FakeTransport: no request was sent");
  return requests_.back();
}

void FakeTransport::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  requests_.clear();
  queue_.clear();
}

namespace {

// The request as recorded: a streamed body is read into `body`.
HttpRequest materialize(const HttpRequest& request) {
  HttpRequest copy = request;
  copy.bodySink = nullptr;  // the caller owns the sink; do not keep it alive
  if (request.bodySource) {
    request.bodySource->rewind();
    copy.body.clear();
    char buffer[64 * 1024];
    while (const std::size_t n = request.bodySource->read(buffer, sizeof buffer)) {
      copy.body.append(buffer, n);
    }
    copy.bodySource = nullptr;
  }
  return copy;
}

// Hands a 2xx body to the request's sink, as a real transport would.
HttpResponse deliver(const HttpRequest& request, HttpResponse response) {
  if (request.bodySink && response.status >= 200 && response.status < 300) {
    request.bodySink->begin(response.status, response.headers);
    request.bodySink->write(response.body.data(), response.body.size());
    response.body.clear();
  }
  return response;
}

}  // namespace

HttpResponse FakeTransport::send(const HttpRequest& request) {
  Handler handler;
  HttpRequest recorded = materialize(request);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(recorded);
    if (!queue_.empty()) {
      Scripted next = std::move(queue_.front());
      queue_.pop_front();
      if (next.error) std::rethrow_exception(next.error);
      return deliver(request, std::move(next.response));
    }
    handler = handler_;
  }
  if (handler) return deliver(request, handler(recorded));
  throw TransportError(
      TransportError::Kind::ConnectionFailed,
      "FakeTransport: no response queued for " + request.method + " " + request.url);
}

}  // namespace runtools::testing
