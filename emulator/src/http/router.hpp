// Transport-independent routing: requests as decoded path segments + parsed query, replies as
// JSON data (wrapped in the envelope by the HTTP layer), and a table of routes matched by
// segment patterns ("/v1/sandboxes/:id/exec", "/v1/workflows/*").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stores/auth.hpp"
#include "util/encoding.hpp"
#include "util/json_util.hpp"

namespace rtemu {

// What a route requires of the caller.
enum class Access {
  kPublic,         // no credential
  kAuthenticated,  // any valid key
  kSandboxRead,    // sandbox:read (or a wider scope)
  kSandboxCreate,  // sandbox:create
  kSandboxWrite,   // sandbox:write
  kFilesRead,      // files:read (workspaces and their files)
  kFilesWrite,     // files:write
  kAgentRead,      // agent:read (agents, runs, threads: GETs)
  kAgentWrite,     // agent:write (agent mutations)
  kAgentRun,       // agent:run (runs, thread mutations, attachments)
  kTools,          // tool:* (the Tool Hub)
  kSshKeys,        // ssh-key:* (SSH keys)
  kOrgRead,        // org:read (identity, organization, API key reads)
  kTemplates,      // template:* (templates)
  kWorkflows,      // workflow:* (workflows; 501)
  kFull,           // "*" only: everything no narrower scope covers
  kControl,        // any valid key of the default organization (/_emu/)
};

// One part header of a multipart/form-data body.
struct MultipartPart {
  std::string name;
  std::string filename;
  std::string contentType;
};

// The not-yet-read body of a request to a streaming route (uploads). The HTTP layer implements
// it; a handler reads the body at most once, while it runs.
class BodyStream {
 public:
  using PartCallback = std::function<bool(const MultipartPart&)>;
  using DataCallback = std::function<bool(const char* data, std::size_t size)>;

  virtual ~BodyStream() = default;
  // Content-Length when the body has one (nullopt for chunked bodies).
  virtual std::optional<std::uint64_t> contentLength() const = 0;
  virtual bool isMultipart() const = 0;
  // Streams a multipart/form-data body: `onPart` at each part's start, `onData` with its bytes
  // (in order). Returns false when the body is malformed or incomplete, or a callback returned
  // false. Only valid when isMultipart().
  virtual bool readMultipart(const PartCallback& onPart, const DataCallback& onData) = 0;
  // Streams the raw body (any content type) to `onData`. Returns false when it is truncated
  // or `onData` returned false.
  virtual bool read(const DataCallback& onData) = 0;
};

struct ApiRequest {
  std::string method;
  std::string rawPath;                // request target before '?', as received
  std::string rawQuery;               // after '?', as received (may be empty)
  std::vector<std::string> segments;  // percent-decoded, one per '/'-separated part
  QueryParams query;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::map<std::string, std::string> params;  // ":name" captures of the matched route
  const std::string* body = nullptr;          // buffered routes (empty for streaming ones)
  BodyStream* bodyStream = nullptr;           // streaming routes only
  Principal principal;                        // filled for authenticated routes
  std::string requestId;
  // Set by a streaming handler that answers without reading the body and does not want it
  // drained (e.g. an upload refused on its Content-Length): the connection is closed.
  bool closeConnection = false;

  std::optional<std::string> queryValue(const std::string& key) const;  // first occurrence
  // A boolean query flag: absent/empty/"false"/"0" -> false, "true"/"1" -> true, anything
  // else -> 400 validation_error.
  bool queryFlag(const std::string& key) const;
  // First header named `name` (case-insensitive); empty when absent.
  std::string header(const std::string& name) const;
  std::vector<std::string> queryValues(const std::string& key) const;  // all occurrences
  const std::string& param(const std::string& name) const;
  const std::string& bodyText() const;
};

struct Pagination {
  bool hasMore = false;
  std::optional<std::string> nextCursor;
};

// A non-JSON body passed through as is (the dev-URL proxy).
struct RawBody {
  std::string contentType;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A file streamed from disk (GET .../direct): `fd` is an open descriptor owned by the reply,
// read with pread() from offset 0 to `size`.
struct FileBody {
  std::shared_ptr<const int> fd;  // closes the descriptor when the last copy goes
  std::uint64_t size = 0;
  std::string contentType;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where a streamed reply writes (the HTTP connection, through a chunked body).
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Sends `bytes` as one chunk, at once (no buffering); false once the client has gone.
  virtual bool write(const std::string& bytes) = 0;
  // False once the client has disconnected (checked without writing).
  virtual bool connected() = 0;
};

// A body produced while it is sent (server-sent events): `produce` runs after the status and
// headers went out, on the connection's thread, and returns when the body is complete (or the
// client went away). When the body is never started (the headers could not be written),
// `abandoned` runs instead.
struct StreamBody {
  std::string contentType;
  std::function<void(StreamSink&)> produce;
  std::function<void()> abandoned;
};

struct Reply {
  int status = 200;
  Json data;
  std::optional<Pagination> page;  // list endpoints: emitted in meta AND at top level
  bool bare = false;               // body is `data` itself (no envelope), e.g. /health
  Json extras;  // an object: extra top-level envelope fields (e.g. "message"), or null
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  std::optional<RawBody> raw;                                // when set, sent instead of any JSON
  std::optional<FileBody> file;      // when set, streamed instead of any JSON
  std::optional<StreamBody> stream;  // when set, produced while sent (chunked)
};

// A plain (non-paginated) enveloped reply.
inline Reply okReply(Json data, int status = 200) {
  Reply reply;
  reply.status = status;
  reply.data = std::move(data);
  return reply;
}

// A 307 redirect to `location`, with `data` in the usual envelope.
inline Reply redirectReply(const std::string& location, Json data = Json::object()) {
  Reply reply = okReply(std::move(data), 307);
  reply.headers.emplace_back("Location", location);
  return reply;
}

using Handler = std::function<Reply(ApiRequest&)>;

// `handler`, with its 400 validation_error answers turned into 400 bad_request (see
// asBadRequest in api_error.hpp).
Handler withBadRequestErrors(Handler handler);

// How the HTTP layer hands a request body to a route.
enum class BodyMode {
  kBuffered,  // read in full (16 MiB at most) before routing; ApiRequest::body
  kStreamed,  // left unread for the handler; ApiRequest::bodyStream
};

struct Route {
  std::string method;                // "GET", ... or "*" for any method
  std::vector<std::string> pattern;  // literal, ":name", or a final "*" (zero or more segments)
  Access access = Access::kAuthenticated;
  Handler handler;
  BodyMode bodyMode = BodyMode::kBuffered;
  // Streamed routes: a declared Content-Length above this (0 = none) is refused with 413;
  // the HTTP layer also answers `Expect: 100-continue` with that 413, so the body is never sent.
  std::uint64_t maxBodyBytes = 0;
};

class Router {
 public:
  enum class Outcome { kMatched, kMethodNotAllowed, kNotFound };
  struct Match {
    Outcome outcome = Outcome::kNotFound;
    const Route* route = nullptr;               // kMatched
    std::map<std::string, std::string> params;  // kMatched
    std::vector<std::string> allowedMethods;    // kMethodNotAllowed
  };

  void add(const std::string& method, const std::string& pattern, Access access, Handler handler,
           BodyMode bodyMode = BodyMode::kBuffered, std::uint64_t maxBodyBytes = 0);
  Match match(const std::string& method, const std::vector<std::string>& segments) const;

 private:
  std::vector<Route> routes_;
};

// Pagination over an in-memory list: limit/cursor parsing and slicing.
struct PageRequest {
  std::size_t offset = 0;
  std::size_t limit = 0;
};
// Reads `limit` (1..maxLimit, default defaultLimit) and `cursor`; 400 on bad values.
PageRequest parsePageRequest(const ApiRequest& request, std::size_t defaultLimit,
                             std::size_t maxLimit);
std::string encodeCursor(std::size_t offset);
// Returns the slice of `items` (a JSON array) for `page` and fills `pagination`.
Json slicePage(const Json& items, const PageRequest& page, Pagination& pagination);

}  // namespace rtemu
