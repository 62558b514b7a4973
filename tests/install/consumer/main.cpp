// Uses the installed SDK: version macros, a call that fails at the transport
// level (nothing listens on the port), and typed errors thrown inside the
// library (over the public FakeTransport) caught here by their type, which
// with the shared library needs their typeinfo exported.

#include <runtools/runtools.hpp>
#include <runtools/testing/fake_transport.hpp>

#ifdef CURLINC_CURL_H
#error "a public runtools header pulled in curl/curl.h"
#endif

#include <cstdlib>
#include <iostream>
#include <memory>
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

  auto fake = std::make_shared<runtools::testing::FakeTransport>();
  const nlohmann::json notFound = {{"error", {{"code", "not_found"}, {"message", "no sandbox"}}}};
  fake->enqueueJson(404, notFound);
  fake->enqueueJson(404, notFound);
  runtools::ClientOptions fakeOptions;
  fakeOptions.apiKey = options.apiKey;
  fakeOptions.transport = fake;
  runtools::RunTools faked(fakeOptions);
  try {
    faked.sandbox.get("sandbox-missing").refresh();
    std::cerr << "expected a NotFoundError\n";
    return 1;
  } catch (const runtools::NotFoundError& e) {
    std::cout << "NotFoundError as expected: " << e.what() << "\n";
  }
  try {
    faked.sandbox.get("sandbox-missing").refreshAsync().get();
    std::cerr << "expected a NotFoundError from the operation\n";
    return 1;
  } catch (const runtools::ApiError& e) {
    if (e.status() != 404) {
      std::cerr << "expected HTTP 404, got " << e.status() << "\n";
      return 1;
    }
    std::cout << "ApiError (404) from an operation as expected\n";
  }
  std::cout << "runtools " << runtools::version() << " OK\n";
  return 0;
}
