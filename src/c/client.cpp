// The C API's core: versions and statuses, strings, errors, cancellation,
// client and call options, the client itself.

#include <cstring>

#include "c/handles.hpp"
#include "runtools/version.hpp"

using runtools::c::guard;
using runtools::c::invalid;
using runtools::c::required;

namespace {

// Options setters: NULL options are an error, as is a value out of range.
template <typename Options, typename Body>
rt_status setOption(Options* options, Body&& body) {
  return guard(nullptr, [&] {
    if (options == nullptr) invalid("options must not be NULL");
    body(options->options);
  });
}

std::chrono::milliseconds positiveMillis(std::int64_t value, const char* what) {
  if (value <= 0) invalid(std::string(what) + " must be positive");
  return std::chrono::milliseconds(value);
}

}  // namespace

extern "C" {

const char* rt_status_name(rt_status status) {
  switch (status) {
    case RT_OK:
      return "ok";
    case RT_ERR_INVALID_ARGUMENT:
      return "invalid_argument";
    case RT_ERR_CONFIGURATION:
      return "configuration";
    case RT_ERR_FILE:
      return "file";
    case RT_ERR_TRANSPORT:
      return "transport";
    case RT_ERR_TIMEOUT:
      return "timeout";
    case RT_ERR_CANCELLED:
      return "cancelled";
    case RT_ERR_STREAM:
      return "stream";
    case RT_ERR_INVALID_RESPONSE:
      return "invalid_response";
    case RT_ERR_SANDBOX_FAILED:
      return "sandbox_failed";
    case RT_ERR_BAD_REQUEST:
      return "bad_request";
    case RT_ERR_AUTHENTICATION:
      return "authentication";
    case RT_ERR_PAYMENT_REQUIRED:
      return "payment_required";
    case RT_ERR_PERMISSION_DENIED:
      return "permission_denied";
    case RT_ERR_NOT_FOUND:
      return "not_found";
    case RT_ERR_CONFLICT:
      return "conflict";
    case RT_ERR_PAYLOAD_TOO_LARGE:
      return "payload_too_large";
    case RT_ERR_RATE_LIMITED:
      return "rate_limited";
    case RT_ERR_SERVER:
      return "server";
    case RT_ERR_API:
      return "api";
    case RT_ERR_OUT_OF_MEMORY:
      return "out_of_memory";
    case RT_ERR_INTERNAL:
      return "internal";
  }
  return "unknown";
}

const char* rt_version(void) {
  return runtools::version();
}

void rt_string_free(char* text) {
  std::free(text);
}

void rt_secret_free(char* secret) {
  if (secret == nullptr) return;
  volatile char* bytes = secret;
  for (std::size_t i = 0, n = std::strlen(secret); i < n; ++i)
    bytes[i] = '\0';
  std::free(secret);
}

void rt_error_free(rt_error* error) {
  delete error;
}

rt_status rt_error_status(const rt_error* error) {
  return error != nullptr ? error->status : RT_ERR_INVALID_ARGUMENT;
}

const char* rt_error_code(const rt_error* error) {
  return error != nullptr ? error->code.c_str() : "";
}

const char* rt_error_message(const rt_error* error) {
  return error != nullptr ? error->message.c_str() : "";
}

const char* rt_error_request_id(const rt_error* error) {
  return error != nullptr ? error->requestId.c_str() : "";
}

int rt_error_http_status(const rt_error* error) {
  return error != nullptr ? error->httpStatus : 0;
}

int64_t rt_error_retry_after_ms(const rt_error* error) {
  return error != nullptr ? error->retryAfterMs : -1;
}

int rt_error_attempts(const rt_error* error) {
  return error != nullptr ? error->attempts : 0;
}

rt_cancel* rt_cancel_new(void) {
  return new (std::nothrow) rt_cancel();
}

void rt_cancel_cancel(rt_cancel* cancel) {
  if (cancel != nullptr) cancel->token.cancel();
}

int rt_cancel_is_cancelled(const rt_cancel* cancel) {
  return cancel != nullptr && cancel->token.isCancelled() ? 1 : 0;
}

void rt_cancel_free(rt_cancel* cancel) {
  delete cancel;
}

rt_client_options* rt_client_options_new(void) {
  return new (std::nothrow) rt_client_options();
}

void rt_client_options_free(rt_client_options* options) {
  delete options;
}

rt_status rt_client_options_set_api_key(rt_client_options* options, const char* api_key) {
  return setOption(options,
                   [&](runtools::ClientOptions& o) { o.apiKey = required(api_key, "api_key"); });
}

rt_status rt_client_options_set_access_token(rt_client_options* options, const char* access_token) {
  return setOption(options, [&](runtools::ClientOptions& o) {
    o.accessToken = required(access_token, "access_token");
  });
}

rt_status rt_client_options_set_url(rt_client_options* options, rt_service service,
                                    const char* base_url) {
  return setOption(options, [&](runtools::ClientOptions& o) {
    std::string url = required(base_url, "base_url");
    switch (service) {
      case RT_SERVICE_API:
        o.apiUrl = std::move(url);
        return;
      case RT_SERVICE_TOOLS:
        o.toolsUrl = std::move(url);
        return;
      case RT_SERVICE_AUTH:
        o.authUrl = std::move(url);
        return;
      case RT_SERVICE_STORAGE:
        o.storageUrl = std::move(url);
        return;
    }
    invalid("unknown service");
  });
}

rt_status rt_client_options_set_timeout_ms(rt_client_options* options, int64_t timeout_ms) {
  return setOption(options, [&](runtools::ClientOptions& o) {
    o.timeout = positiveMillis(timeout_ms, "timeout_ms");
  });
}

rt_status rt_client_options_set_max_retries(rt_client_options* options, int max_retries) {
  return setOption(options, [&](runtools::ClientOptions& o) { o.maxRetries = max_retries; });
}

rt_status rt_client_new(const rt_client_options* options, rt_client** client, rt_error** error) {
  if (client != nullptr) *client = nullptr;
  return guard(error, [&] {
    if (client == nullptr) invalid("client must not be NULL");
    *client = new rt_client(options != nullptr ? options->options : runtools::ClientOptions{});
  });
}

rt_client::~rt_client() {
  operations.cancel();
  for (const auto& op : started) {
    try {
      op.wait();
    } catch (...) {
      // A wait refused on the engine's own thread: nothing more to do.
    }
  }
}

void rt_client_free(rt_client* client) {
  delete client;
}

rt_status rt_client_options_set_completion_mode(rt_client_options* options,
                                                rt_completion_mode mode) {
  return setOption(options, [&](runtools::ClientOptions& o) {
    if (mode != RT_COMPLETIONS_IO_THREAD && mode != RT_COMPLETIONS_POLL) {
      invalid("unknown completion mode");
    }
    o.completions = mode == RT_COMPLETIONS_POLL ? runtools::CompletionMode::Poll
                                                : runtools::CompletionMode::IoThread;
  });
}

rt_status rt_client_poll(rt_client* client, size_t* ran, rt_error** error) {
  if (ran != nullptr) *ran = 0;
  return guard(error, [&] {
    if (client == nullptr) invalid("client must not be NULL");
    const std::size_t steps = client->rt.poll();
    if (ran != nullptr) *ran = steps;
  });
}

rt_call_options* rt_call_options_new(void) {
  return new (std::nothrow) rt_call_options();
}

void rt_call_options_free(rt_call_options* options) {
  delete options;
}

rt_status rt_call_options_set_deadline_ms(rt_call_options* options, int64_t deadline_ms) {
  return setOption(options, [&](runtools::CallOptions& o) {
    o.deadline = positiveMillis(deadline_ms, "deadline_ms");
  });
}

rt_status rt_call_options_set_timeout_ms(rt_call_options* options, int64_t timeout_ms) {
  return setOption(options, [&](runtools::CallOptions& o) {
    o.timeout = positiveMillis(timeout_ms, "timeout_ms");
  });
}

rt_status rt_call_options_set_max_retries(rt_call_options* options, int max_retries) {
  return setOption(options, [&](runtools::CallOptions& o) { o.maxRetries = max_retries; });
}

rt_status rt_call_options_set_cancel(rt_call_options* options, const rt_cancel* cancel) {
  return setOption(options, [&](runtools::CallOptions& o) {
    if (cancel == nullptr) {
      o.cancellation.reset();
    } else {
      o.cancellation = cancel->token;
    }
  });
}

}  // extern "C"
