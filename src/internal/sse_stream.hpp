#pragma once

// A call whose 2xx answer is a stream of server-sent events (agent runs,
// streamed exec), and the one place that decides how such a stream ended:
//
// - the final frame arrived: the call returns (even when the connection then
//   broke before the body's proper end);
// - the handler returned false: the call returns with `stopped`;
// - the stream had begun (the 2xx answer's headers arrived) and ended
//   before its final frame, however (a reset, a short body, a cut chunked
//   encoding, a close, an event too large): StreamError carrying what had
//   arrived and the underlying failure's description;
// - anything before the stream began (TransportError, ApiError), and every
//   TimeoutError and CancelledError, propagates as it is.

#include <functional>
#include <string>

#include "internal/service_client.hpp"
#include "internal/sse.hpp"
#include "runtools/errors.hpp"
#include "runtools/http.hpp"

namespace runtools::internal {

struct SseStream {
  /// Names the stream in messages: `the run stream of agent "echo"`.
  std::string what;
  /// Names the final frame in messages: `its run_completed or error event`.
  std::string finalFrame;
  /// Receives each complete event; returns false to stop the stream.
  SseParser::Handler onEvent;
  /// Whether the final frame has arrived.
  std::function<bool()> complete;
  /// What the events so far delivered (StreamError::Received::events is
  /// filled in by callSseStream).
  std::function<StreamError::Received()> received;
};

struct SseStreamEnd {
  /// The handler stopped the stream.
  bool stopped = false;
  /// The answer's headers; empty when stopped, or when the connection broke
  /// after the final frame.
  HttpHeaders headers;
};

/// Sends `request` (POST, with `Accept: text/event-stream`) and feeds its 2xx
/// body to `stream.onEvent`; see the top of this file for how it ends.
SseStreamEnd callSseStream(const ServiceClient& client, ApiRequest request,
                           const SseStream& stream);

}  // namespace runtools::internal
