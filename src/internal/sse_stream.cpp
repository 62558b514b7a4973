#include "internal/sse_stream.hpp"

#include <cstddef>
#include <memory>
#include <utility>

namespace runtools::internal {

SseStreamEnd callSseStream(const ServiceClient& client, ApiRequest request,
                           const SseStream& stream) {
  std::size_t events = 0;
  auto sink = std::make_shared<SseSink>([&](const SseEvent& event) {
    ++events;
    return stream.onEvent(event);
  });
  request.headers.set("Accept", "text/event-stream");
  request.bodySink = sink;

  // The messages name the stream and the failure (the transport's text is
  // already free of credentials), never the events' content.
  auto broken = [&](const std::string& how) {
    StreamError::Received received = stream.received ? stream.received() : StreamError::Received{};
    received.events = events;
    return StreamError(stream.what + " " + how, std::move(received));
  };

  SseStreamEnd end;
  try {
    end.headers = client.call(request).headers;
  } catch (const SseSink::Stop&) {
    end.stopped = true;
    return end;
  } catch (const StreamError& error) {
    // The parser's: an event beyond its size limit.
    throw broken("broke off: " + std::string(error.what()));
  } catch (const TransportError& error) {
    if (!sink->began()) throw;          // no stream began
    if (stream.complete()) return end;  // broke after the final frame
    throw broken("broke off before " + stream.finalFrame + " (" + std::to_string(events) +
                 " events received): " + error.what());
  }
  sink->finish();  // an event still open at the end is discarded
  if (!stream.complete()) {
    throw broken("ended before " + stream.finalFrame + " (" + std::to_string(events) +
                 " events received)");
  }
  return end;
}

}  // namespace runtools::internal
