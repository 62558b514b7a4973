// libFuzzer target: the response envelope and error parsers, and the header
// and timestamp parsers they use. First byte = status class; the rest is the
// body, with an optional "\n\n"-separated header block in front.

#include <cstddef>
#include <cstdint>
#include <string>

#include "internal/envelope.hpp"
#include "internal/redact.hpp"
#include "internal/retry.hpp"
#include "runtools/common.hpp"
#include "runtools/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace runtools;
  if (size == 0) return 0;
  static const int kStatuses[] = {200, 201, 204, 400, 401, 402, 403, 404, 409,
                                  413, 422, 429, 500, 502, 503, 504, 302, 418};
  HttpResponse response;
  response.status = kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto split = rest.find("\n\n");
  if (split != std::string::npos && split < 512) {
    std::size_t start = 0;
    const std::string block = rest.substr(0, split);
    while (start < block.size()) {
      const auto end = std::min(block.find('\n', start), block.size());
      const std::string line = block.substr(start, end - start);
      const auto colon = line.find(':');
      if (colon != std::string::npos)
        response.headers.add(line.substr(0, colon), line.substr(colon + 1));
      start = end + 1;
    }
    rest = rest.substr(split + 2);
  }
  response.body = rest;
  const internal::Redactor redact({"rt_test_FuzzFuzzFuzzFuzzFuzzFuzzFuzz0"});

  internal::parseErrorBody(response.status, response.headers, response.body);
  internal::serverRetryAfter(
      response.status, response.headers,
      std::chrono::system_clock::time_point(std::chrono::seconds(1800000000)));
  internal::parseHttpDate(response.body.substr(0, 64));
  parseTimestamp(response.body.substr(0, 48));
  try {
    if (response.status >= 200 && response.status < 300) {
      internal::parseSuccess(response, redact);
    } else {
      internal::throwApiError(response, redact, 1 + data[0] % 3);
    }
  } catch (const ApiError& e) {
    // Every error keeps its typed fields readable.
    (void)e.what();
    (void)e.code().size();
  } catch (const InvalidResponseError&) {
  }
  return 0;
}
