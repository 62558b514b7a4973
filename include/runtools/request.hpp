#pragma once

/// @file
/// The escape hatch: a call to any endpoint of the platform, through the
/// same pipeline as every typed call (RunTools::request).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/export.h"
#include "runtools/http.hpp"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// The platform's services, each with its own base URL (ClientOptions).
enum class Service { Api, Tools, Auth, Storage };

/// A request to an endpoint the SDK has not modelled.
struct RawRequest {
  /// An HTTP method in capitals: GET, POST, PUT, PATCH, DELETE.
  std::string method = "GET";
  Service service = Service::Api;
  /// The path below `/v1`, such as `/workflows/wf_1/runs`. Each segment is
  /// percent-encoded by the SDK, so give ids as they are; empty segments,
  /// `.`/`..` and a `?` (query parameters go in `query`) are refused.
  std::string path;
  /// Query parameters in order; a name may repeat.
  std::vector<std::pair<std::string, std::string>> query;
  /// The JSON body, if any.
  std::optional<nlohmann::json> body;
  /// Whether repeating the request is harmless. Unset: true for GET, PUT
  /// and DELETE; a POST is made safe to retry with an Idempotency-Key when
  /// the retry policy sends them.
  std::optional<bool> idempotent;
};

/// The unwrapped answer of a RawRequest.
struct RawResponse {
  int status = 0;
  /// The envelope's `data` (the whole body when the answer has no envelope).
  nlohmann::json data;
  /// The envelope's `meta` (null when absent): pagination, request id, ...
  nlohmann::json meta;
  /// The request id the platform reported, if any.
  std::string requestId;
  HttpHeaders headers;
};

}  // namespace runtools
