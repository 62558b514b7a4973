#pragma once

// The C API's handles, the one guard every entry point runs its body in
// (no exception crosses into C), and the conversions shared by the entry
// points: C strings in and out, JSON options in, JSON results out.

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/runtools.h"
#include "runtools/runtools.hpp"

struct rt_error {
  rt_status status = RT_ERR_INTERNAL;
  std::string code;
  std::string message;
  std::string requestId;
  int httpStatus = 0;
  std::int64_t retryAfterMs = -1;
  int attempts = 1;
};

struct rt_cancel {
  runtools::CancellationToken token;
};

struct rt_client_options {
  runtools::ClientOptions options;
};

struct rt_call_options {
  runtools::CallOptions options;
};

struct rt_client {
  explicit rt_client(runtools::ClientOptions options) : rt(std::move(options)) {}
  /// An operation's own view of a client (see rt_op_start).
  explicit rt_client(runtools::RunTools client) : rt(std::move(client)) {}
  /// Cancels the operations started through this client and waits for
  /// their end, so that no callback runs once rt_client_free() returned.
  ~rt_client();
  rt_client(const rt_client&) = delete;
  rt_client& operator=(const rt_client&) = delete;

  runtools::RunTools rt;
  runtools::CancellationToken operations;
  std::mutex mutex;
  std::vector<runtools::OperationBase> started;
};

struct rt_exec_result {
  runtools::ExecResult result;
};

namespace runtools::c {

/// The status and error object for the exception in flight.
rt_status failWithCurrentException(rt_error** error) noexcept;

/// Runs `body` (which returns nothing), turning every exception into a
/// status and, when `error` is not NULL, an error object.
template <typename Body>
rt_status guard(rt_error** error, Body&& body) noexcept {
  if (error != nullptr) *error = nullptr;
  try {
    body();
    return RT_OK;
  } catch (...) {
    return failWithCurrentException(error);
  }
}

/// A status for invalid input found by the C layer itself.
[[noreturn]] void invalid(const std::string& message);

/// `value` as a string; InvalidArgumentError naming `what` when NULL.
std::string required(const char* value, const char* what);

/// A malloc'd copy of `value`, for a `char**` out parameter.
char* copyOut(const std::string& value);
/// Sets `*out` (when `out` is not NULL) to a copy of `value`.
void setOut(char** out, const std::string& value);
/// Sets `*out` to NULL, so that a failed call leaves no stale pointer.
void clearOut(char** out) noexcept;

/// The JSON object in `text` (an empty one for NULL). Refuses text that is
/// not an object, and any key not in `allowed`, with InvalidArgumentError
/// naming `what`.
nlohmann::json parseOptions(const char* text, const char* what,
                            std::initializer_list<const char*> allowed);

/// `options[key]` converted to T, when present and not null; a value of the
/// wrong type is an InvalidArgumentError naming the key.
template <typename T>
std::optional<T> field(const nlohmann::json& options, const char* key) {
  const auto found = options.find(key);
  if (found == options.end() || found->is_null()) return std::nullopt;
  try {
    return found->get<T>();
  } catch (const nlohmann::json::exception&) {
    invalid(std::string("option \"") + key + "\" has the wrong type");
  }
}

/// The client to call through: `client`'s, with `call`'s settings if given.
RunTools clientFor(rt_client* client, const rt_call_options* call);

/// `{data: [raw...], hasMore, nextCursor}` for a page of models with `raw`.
template <typename T>
nlohmann::json pageJson(const Page<T>& page) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& item : page.data)
    data.push_back(item.raw);
  return {{"data", std::move(data)},
          {"hasMore", page.hasMore},
          {"nextCursor", page.nextCursor ? nlohmann::json(*page.nextCursor) : nullptr}};
}

/// Dumps JSON for the C side; invalid UTF-8 is replaced, never thrown.
std::string dump(const nlohmann::json& value);

}  // namespace runtools::c
