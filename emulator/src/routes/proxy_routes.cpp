#include "routes/proxy_routes.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "http/api_error.hpp"
#include "util/encoding.hpp"

namespace rtemu {
namespace {

constexpr time_t kConnectTimeoutSeconds = 5;
constexpr time_t kReadTimeoutSeconds = 60;

// Hop-by-hop headers, credentials and headers httplib computes itself are not forwarded.
bool forwardable(const std::string& name) {
  for (const char* skip :
       {"Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Content-Length",
        "Proxy-Authorization", "Proxy-Connection", "TE", "Trailer", "Authorization", "X-API-Key",
        "REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"}) {
    if (equalsIgnoreCase(name, skip)) return false;
  }
  return true;
}

// "/_emu/proxy/{id}/{port}/rest?q" -> "/rest?q" (the raw, still-encoded remainder).
std::string upstreamTarget(const ApiRequest& request) {
  std::size_t pos = std::string::npos;
  std::size_t from = 0;
  for (int slash = 0; slash < 5; ++slash) {
    pos = request.rawPath.find('/', from);
    if (pos == std::string::npos) break;
    from = pos + 1;
  }
  std::string path = pos == std::string::npos ? "/" : request.rawPath.substr(pos);
  if (!request.rawQuery.empty()) path += "?" + request.rawQuery;
  return path;
}

Reply forward(SandboxStore* store, ApiRequest& request) {
  const std::string& id = request.param("id");
  const std::string& portText = request.param("port");
  int port = 0;
  if (portText.empty() || portText.size() > 5 ||
      !std::all_of(portText.begin(), portText.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (port = std::stoi(portText)) < 1 || port > 65535) {
    throw validationError("port", "must be an integer between 1 and 65535");
  }
  const auto status = store->statusById(id);
  if (!status) throw notFound("Sandbox not found");
  if (*status != "running") {
    throw ApiError(409, "sandbox_not_running", "Sandbox is not running (status '" + *status + "')");
  }

  httplib::Request upstream;
  upstream.method = request.method;
  upstream.path = upstreamTarget(request);
  upstream.body = request.bodyText();
  for (const auto& [name, value] : request.headers) {
    if (forwardable(name)) upstream.headers.emplace(name, value);
  }

  httplib::Client client("127.0.0.1", port);
  client.set_url_encode(false);
  client.set_decompress(false);
  client.set_connection_timeout(kConnectTimeoutSeconds, 0);
  client.set_read_timeout(kReadTimeoutSeconds, 0);
  const httplib::Result result = client.send(upstream);
  if (!result) {
    throw ApiError(502, "bad_gateway",
                   "Nothing answered on port " + portText + " of sandbox " + id);
  }
  Reply reply;
  reply.status = result->status;
  RawBody raw;
  raw.body = result->body;
  raw.contentType = result->get_header_value("Content-Type");
  if (raw.contentType.empty()) raw.contentType = "application/octet-stream";
  for (const auto& [name, value] : result->headers) {
    if (forwardable(name) && !equalsIgnoreCase(name, "Content-Type")) {
      raw.headers.emplace_back(name, value);
    }
  }
  reply.raw = std::move(raw);
  return reply;
}

}  // namespace

void addProxyRoutes(Router& router, SandboxStore* store) {
  router.add("*", "/_emu/proxy/:id/:port/*", Access::kPublic,
             [store](ApiRequest& request) { return forward(store, request); });
}

}  // namespace rtemu
