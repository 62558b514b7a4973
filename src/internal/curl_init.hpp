#pragma once

// libcurl's global initialisation, done once for the whole process.

namespace runtools::internal {

/// Calls curl_global_init once; throws TransportError when it fails.
void initCurlOnce();

}  // namespace runtools::internal
