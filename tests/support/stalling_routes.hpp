#pragma once

// Routes for a LocalServer that keep a call waiting, shared by the
// cancellation and fault tests and the benchmark: an endless slow download,
// a sandbox that is always busy (503 with a long Retry-After) and one that
// never stops being created.

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

namespace runtools::test {

/// GET /v1/workspaces/ws/direct: 64 KiB every 10 ms, forever; `sent` counts
/// the bytes written.
inline void serveEndlessSlowDownload(httplib::Server& server, std::atomic<std::size_t>& sent) {
  server.Get("/v1/workspaces/ws/direct", [&sent](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/octet-stream",
                                     [&sent](std::size_t, httplib::DataSink& sink) {
                                       const std::string chunk(64 * 1024, 'x');
                                       std::this_thread::sleep_for(std::chrono::milliseconds(10));
                                       sent += chunk.size();
                                       return sink.write(chunk.data(), chunk.size());
                                     });
  });
}

/// GET /v1/sandboxes/busy answers 503 with Retry-After: 30; GET
/// /v1/sandboxes/slow reports status `creating` every time.
inline void serveBusyAndCreating(httplib::Server& server) {
  server.Get("/v1/sandboxes/busy", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "30");
    res.set_content(R"({"error":{"code":"service_unavailable","message":"busy"}})",
                    "application/json");
  });
  server.Get("/v1/sandboxes/slow", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"data":{"id":"slow","status":"creating"}})", "application/json");
  });
}

}  // namespace runtools::test
