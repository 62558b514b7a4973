// Uses the installed SDK: version macros, configuration errors, and a call
// that fails at the transport level (nothing listens on the port).

#include <runtools/runtools.hpp>

#ifdef CURLINC_CURL_H
#error "a public runtools header pulled in curl/curl.h"
#endif

#include <cstdlib>
#include <iostream>
#include <string>

int main() {
  static_assert(RUNTOOLS_VERSION_MAJOR >= 0, "version macros are defined");
  if (std::string(runtools::version()) != RUNTOOLS_VERSION_STRING) {
    std::cerr << "header and library versions differ\n";
    return 1;
  }

  runtools::ClientOptions options;
  options.apiKey = "rt_test_ConsumerConsumerConsumerCons";
  options.apiUrl = "http://127.0.0.1:9";  // discard port: connection refused
  options.maxRetries = 0;
  runtools::RunTools rt(options);
  try {
    rt.sandbox.list();
    std::cerr << "expected a transport error\n";
    return 1;
  } catch (const runtools::TransportError& e) {
    std::cout << "transport error as expected: " << e.what() << "\n";
  }
  std::cout << "runtools " << runtools::version() << " OK\n";
  return 0;
}
