// Memory of the three ways to walk a long list: a listPage loop, the lazy
// iterate() range, and list(), which keeps every item.

#include "pagination_bench.hpp"

#include <cstdio>
#include <functional>
#include <string>

#include "local_server.hpp"
#include "process_memory.hpp"
#include "runtools/runtools.hpp"

namespace {

constexpr int kPageSize = 500;

// A sandbox as the platform lists it, numbered `n`.
std::string sandboxJson(int n) {
  const std::string id = "sb_" + std::to_string(100000000 + n);
  return R"({"id":")" + id + R"(","name":"worker-)" + std::to_string(n) +
         R"(","status":"running","tags":["bench","pool-a"],"template":"base-ubuntu",)"
         R"("ownerUserId":"user_4f1c9a","ownerDisplayName":"Bench User",)"
         R"("ownerEmail":"bench@example.com","projectId":null,"mounts":[],)"
         R"("hasWritableWorkspaceMount":false,"sshReady":true,"vncReady":false,)"
         R"("ip":"10.0.3.17","publicIp":"203.0.113.17","sshAccessConfigured":true,)"
         R"("sshAuthMethod":"key","vncUrl":null,)"
         R"("resources":{"vcpus":2,"memory":"4GB","disk":"20GB"},)"
         R"("createdAt":"2026-11-02T10:15:30.000Z","metadata":{"team":"bench"}})";
}

// Serves `items` sandboxes in pages of kPageSize; the cursor is the offset.
void servePages(httplib::Server& server, int items) {
  server.Get("/v1/sandboxes", [items](const httplib::Request& req, httplib::Response& res) {
    const int offset = req.has_param("cursor") ? std::stoi(req.get_param_value("cursor")) : 0;
    const int end = std::min(items, offset + kPageSize);
    std::string body = R"({"data":[)";
    for (int n = offset; n < end; ++n) {
      if (n > offset) body += ',';
      body += sandboxJson(n);
    }
    const bool more = end < items;
    body += R"(],"meta":{"hasMore":)" + std::string(more ? "true" : "false") + R"(,"nextCursor":)" +
            (more ? "\"" + std::to_string(end) + "\"" : "null") + "}}";
    res.set_content(body, "application/json");
  });
}

// Peak resident set growth, in MB, while `walk` runs.
double peakMb(const std::function<std::size_t()>& walk, int items) {
  runtools::test::resetPeakRss();
  const long base = runtools::test::statusKb("VmRSS");
  const std::size_t seen = walk();
  const long peak = runtools::test::statusKb("VmHWM");
  if (seen != static_cast<std::size_t>(items)) std::fprintf(stderr, "walked %zu items\n", seen);
  return static_cast<double>(peak - base) / 1024.0;
}

}  // namespace

void printPaginationMemory(int items) {
  runtools::test::LocalServer server;
  servePages(server.server(), items);
  runtools::ClientOptions options;
  options.apiKey = "rt_test_PaginationPaginationPagination0";
  options.apiUrl = server.url();
  runtools::RunTools rt(options);
  runtools::ListSandboxesOptions filters;
  filters.limit = kPageSize;

  const double byPage = peakMb(
      [&] {
        std::size_t seen = 0;
        auto page = filters;
        for (;;) {
          const auto result = rt.sandbox.listPage(page);
          seen += result.data.size();
          if (!result.hasMore) break;
          page.cursor = result.nextCursor;
        }
        return seen;
      },
      items);
  const double lazily = peakMb(
      [&] {
        std::size_t seen = 0;
        for (const auto& sandbox : rt.sandbox.iterate(filters))
          seen += sandbox.id.empty() ? 0 : 1;
        return seen;
      },
      items);
  const double whole = peakMb([&] { return rt.sandbox.list(filters).size(); }, items);
  std::printf(
      "pagination: items=%d page=%d listPage_peak_mb=%.1f iterate_peak_mb=%.1f "
      "list_peak_mb=%.1f\n",
      items, kPageSize, byPage, lazily, whole);
}
