#include "c/handles.hpp"

#include <cstring>

namespace runtools::c {
namespace {

const char* transportCode(TransportError::Kind kind) {
  switch (kind) {
    case TransportError::Kind::ConnectionFailed:
      return "connection_failed";
    case TransportError::Kind::HostNotFound:
      return "host_not_found";
    case TransportError::Kind::Tls:
      return "tls_failure";
    case TransportError::Kind::Network:
      return "network_failure";
  }
  return "network_failure";
}

rt_status apiStatus(const ApiError& e) {
  if (dynamic_cast<const BadRequestError*>(&e)) return RT_ERR_BAD_REQUEST;
  if (dynamic_cast<const AuthenticationError*>(&e)) return RT_ERR_AUTHENTICATION;
  if (dynamic_cast<const PaymentRequiredError*>(&e)) return RT_ERR_PAYMENT_REQUIRED;
  if (dynamic_cast<const PermissionDeniedError*>(&e)) return RT_ERR_PERMISSION_DENIED;
  if (dynamic_cast<const NotFoundError*>(&e)) return RT_ERR_NOT_FOUND;
  if (dynamic_cast<const ConflictError*>(&e)) return RT_ERR_CONFLICT;
  if (dynamic_cast<const PayloadTooLargeError*>(&e)) return RT_ERR_PAYLOAD_TOO_LARGE;
  if (dynamic_cast<const RateLimitError*>(&e)) return RT_ERR_RATE_LIMITED;
  if (dynamic_cast<const ServerError*>(&e)) return RT_ERR_SERVER;
  return RT_ERR_API;
}

void fill(rt_error& out, rt_status status, const char* code, const char* message) {
  out.status = status;
  out.code = code;
  out.message = message;
}

// Fills `out` from the exception in flight (rethrown here to be inspected).
void describe(rt_error& out) {
  try {
    throw;
  } catch (const ApiError& e) {
    out.status = apiStatus(e);
    out.code = e.code();
    out.requestId = e.requestId();
    out.httpStatus = e.status();
    out.attempts = e.attempts();
    if (const auto* limited = dynamic_cast<const RateLimitError*>(&e)) {
      if (limited->retryAfter()) out.retryAfterMs = limited->retryAfter()->count();
    }
    out.message = e.message().empty() ? e.what() : e.message();
  } catch (const FileTooLargeError& e) {
    fill(out, RT_ERR_INVALID_ARGUMENT, "file_too_large", e.what());
  } catch (const InvalidArgumentError& e) {
    fill(out, RT_ERR_INVALID_ARGUMENT, "invalid_argument", e.what());
  } catch (const ConfigurationError& e) {
    fill(out, RT_ERR_CONFIGURATION, "configuration_error", e.what());
  } catch (const FileError& e) {
    fill(out, RT_ERR_FILE, "file_error", e.what());
  } catch (const TransportError& e) {
    fill(out, RT_ERR_TRANSPORT, transportCode(e.kind()), e.what());
  } catch (const TimeoutError& e) {
    fill(out, RT_ERR_TIMEOUT, "timeout", e.what());
  } catch (const CancelledError& e) {
    fill(out, RT_ERR_CANCELLED, "cancelled", e.what());
  } catch (const StreamError& e) {
    fill(out, RT_ERR_STREAM, "stream_broken", e.what());
  } catch (const InvalidResponseError& e) {
    fill(out, RT_ERR_INVALID_RESPONSE, "invalid_response", e.what());
    out.httpStatus = e.status();
  } catch (const SandboxFailedError& e) {
    fill(out, RT_ERR_SANDBOX_FAILED, "sandbox_failed", e.what());
  } catch (const std::bad_alloc&) {
    fill(out, RT_ERR_OUT_OF_MEMORY, "out_of_memory", "out of memory");
  } catch (const std::exception& e) {
    fill(out, RT_ERR_INTERNAL, "internal_error", e.what());
  } catch (...) {
    fill(out, RT_ERR_INTERNAL, "internal_error", "an unknown failure");
  }
}

}  // namespace

rt_status failWithCurrentException(rt_error** error) noexcept {
  rt_error details;
  try {
    describe(details);
  } catch (...) {
    details.status = RT_ERR_OUT_OF_MEMORY;  // copying the texts failed
  }
  if (error != nullptr) {
    try {
      *error = new rt_error(std::move(details));
    } catch (...) {
      *error = nullptr;  // the status still says what happened
    }
  }
  return details.status;
}

void invalid(const std::string& message) {
  throw InvalidArgumentError(message);
}

std::string required(const char* value, const char* what) {
  if (value == nullptr) invalid(std::string(what) + " must not be NULL");
  return value;
}

char* copyOut(const std::string& value) {
  auto* copy = static_cast<char*>(std::malloc(value.size() + 1));
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, value.c_str(), value.size() + 1);
  return copy;
}

void setOut(char** out, const std::string& value) {
  if (out != nullptr) *out = copyOut(value);
}

void clearOut(char** out) noexcept {
  if (out != nullptr) *out = nullptr;
}

nlohmann::json parseOptions(const char* text, const char* what,
                            std::initializer_list<const char*> allowed) {
  if (text == nullptr) return nlohmann::json::object();
  nlohmann::json options;
  try {
    options = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    invalid(std::string(what) + " is not valid JSON");
  }
  if (!options.is_object()) invalid(std::string(what) + " must be a JSON object");
  for (const auto& item : options.items()) {
    bool known = false;
    for (const char* name : allowed)
      known = known || item.key() == name;
    if (!known) invalid(std::string(what) + " has an unknown field \"" + item.key() + "\"");
  }
  return options;
}

RunTools clientFor(rt_client* client, const rt_call_options* call) {
  if (client == nullptr) invalid("client must not be NULL");
  return call == nullptr ? client->rt : client->rt.with(call->options);
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace runtools::c
