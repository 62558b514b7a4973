#include "internal/curl_init.hpp"

#include <curl/curl.h>

#include <mutex>
#include <string>

#include "runtools/errors.hpp"

namespace runtools::internal {

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      throw TransportError(TransportError::Kind::Network,
                           std::string("libcurl initialisation failed: ") + curl_easy_strerror(rc));
    }
  });
}

}  // namespace runtools::internal
