// The C API's non-blocking calls: each runs the blocking entry point of the
// same name as one operation on the client's engine, through the client's
// own view of itself, so that its waits suspend instead of blocking.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "c/handles.hpp"

namespace {

using runtools::c::guard;
using runtools::c::invalid;

// What the blocking entry point returned, kept until the caller takes it.
struct Outcome {
  rt_status status = RT_OK;
  std::unique_ptr<rt_error> error;
  std::optional<std::string> result;
  std::unique_ptr<rt_exec_result> exec;
};

using Body = std::function<rt_status(rt_client*, char**, rt_exec_result**, rt_error**)>;

// A string argument copied for the operation (NULL stays NULL).
std::optional<std::string> keep(const char* text) {
  return text != nullptr ? std::optional<std::string>(text) : std::nullopt;
}

const char* view(const std::optional<std::string>& text) {
  return text ? text->c_str() : nullptr;
}

// The call options copied for the operation.
std::shared_ptr<rt_call_options> keep(const rt_call_options* call) {
  return call != nullptr ? std::make_shared<rt_call_options>(*call) : nullptr;
}

}  // namespace

struct rt_op {
  runtools::Operation<std::shared_ptr<Outcome>> op;
};

namespace {

// Starts `body` on `client`'s engine, cancelled by rt_client_free() too.
rt_status start(rt_client* client, rt_op** op, rt_error** error, Body body) {
  if (op != nullptr) *op = nullptr;
  return guard(error, [&] {
    if (client == nullptr) invalid("client must not be NULL");
    if (op == nullptr) invalid("op must not be NULL");
    runtools::CallOptions owned;
    owned.cancellation = client->operations;
    const runtools::RunTools through = client->rt.with(owned);
    auto handle = std::make_unique<rt_op>();
    handle->op = through.async([through, body] {
      rt_client view(through);
      auto outcome = std::make_shared<Outcome>();
      char* text = nullptr;
      rt_exec_result* exec = nullptr;
      rt_error* failure = nullptr;
      outcome->status = body(&view, &text, &exec, &failure);
      if (text != nullptr) {
        outcome->result = std::string(text);
        rt_string_free(text);
      }
      outcome->exec.reset(exec);
      outcome->error.reset(failure);
      return outcome;
    });
    std::lock_guard<std::mutex> lock(client->mutex);
    auto& started = client->started;
    started.erase(std::remove_if(started.begin(), started.end(),
                                 [](const runtools::OperationBase& o) { return o.done(); }),
                  started.end());
    started.push_back(handle->op);
    *op = handle.release();
  });
}

// The outcome of `op`, waited for; its error copied to `error`.
rt_status finish(rt_op* op, rt_error** error, const std::function<void(Outcome&)>& take) {
  if (error != nullptr) *error = nullptr;
  std::shared_ptr<Outcome> outcome;
  const rt_status waited = guard(error, [&] {
    if (op == nullptr) invalid("op must not be NULL");
    outcome = op->op.get();
  });
  if (waited != RT_OK) return waited;
  take(*outcome);
  if (outcome->error && error != nullptr) *error = new (std::nothrow) rt_error(*outcome->error);
  return outcome->status;
}

}  // namespace

extern "C" {

int rt_op_done(const rt_op* op) {
  return op != nullptr && op->op.done() ? 1 : 0;
}

rt_status rt_op_wait(rt_op* op, int64_t timeout_ms) {
  return guard(nullptr, [&] {
    if (op == nullptr) invalid("op must not be NULL");
    if (timeout_ms < 0) {
      op->op.wait();
    } else if (!op->op.waitFor(std::chrono::milliseconds(timeout_ms))) {
      throw runtools::TimeoutError("the operation is still running");
    }
  });
}

void rt_op_cancel(rt_op* op) {
  if (op != nullptr) op->op.cancel();
}

rt_status rt_op_result(rt_op* op, char** result, rt_error** error) {
  runtools::c::clearOut(result);
  return finish(op, error, [&](Outcome& outcome) {
    if (result != nullptr && outcome.result) *result = runtools::c::copyOut(*outcome.result);
  });
}

rt_status rt_op_exec_result(rt_op* op, rt_exec_result** result, rt_error** error) {
  if (result != nullptr) *result = nullptr;
  return finish(op, error, [&](Outcome& outcome) {
    if (result != nullptr && outcome.exec) {
      *result = new (std::nothrow) rt_exec_result(*outcome.exec);
    }
  });
}

void rt_op_free(rt_op* op) {
  if (op == nullptr) return;
  if (!op->op.done()) op->op.cancel();
  delete op;
}

rt_status rt_op_start(rt_client* client, rt_op_function body, void* user_data, rt_op** op,
                      rt_error** error) {
  if (body == nullptr) {
    if (op != nullptr) *op = nullptr;
    return guard(error, [] { invalid("body must not be NULL"); });
  }
  return start(client, op, error,
               [body, user_data](rt_client* c, char** text, rt_exec_result**, rt_error** e) {
                 return body(c, user_data, text, e);
               });
}

rt_status rt_sandbox_create_async(rt_client* client, const char* options_json,
                                  const rt_call_options* call, rt_op** op, rt_error** error) {
  return start(client, op, error,
               [options = keep(options_json), call = keep(call)](rt_client* c, char** text,
                                                                 rt_exec_result**, rt_error** e) {
                 return rt_sandbox_create(c, view(options), call.get(), text, e);
               });
}

rt_status rt_sandbox_wait_for_ready_async(rt_client* client, const char* sandbox_id,
                                          int64_t timeout_ms, const rt_call_options* call,
                                          rt_op** op, rt_error** error) {
  return start(client, op, error,
               [id = keep(sandbox_id), timeout_ms, call = keep(call)](
                   rt_client* c, char** text, rt_exec_result**, rt_error** e) {
                 return rt_sandbox_wait_for_ready(c, view(id), timeout_ms, call.get(), text, e);
               });
}

rt_status rt_sandbox_exec_async(rt_client* client, const char* sandbox_id, const char* command,
                                const char* options_json, rt_output_callback on_stdout,
                                rt_output_callback on_stderr, void* user_data,
                                const rt_call_options* call, rt_op** op, rt_error** error) {
  return start(client, op, error,
               [id = keep(sandbox_id), command = keep(command), options = keep(options_json),
                on_stdout, on_stderr, user_data,
                call = keep(call)](rt_client* c, char**, rt_exec_result** result, rt_error** e) {
                 return rt_sandbox_exec_stream(c, view(id), view(command), view(options), on_stdout,
                                               on_stderr, user_data, call.get(), result, e);
               });
}

rt_status rt_sandbox_destroy_async(rt_client* client, const char* sandbox_id,
                                   const rt_call_options* call, rt_op** op, rt_error** error) {
  return start(client, op, error,
               [id = keep(sandbox_id), call = keep(call)](rt_client* c, char**, rt_exec_result**,
                                                          rt_error** e) {
                 return rt_sandbox_destroy(c, view(id), call.get(), e);
               });
}

rt_status rt_files_upload_async(rt_client* client, const char* workspace_id, const char* local_file,
                                const char* remote_path, rt_progress_callback on_progress,
                                void* user_data, const rt_call_options* call, rt_op** op,
                                rt_error** error) {
  return start(
      client, op, error,
      [ws = keep(workspace_id), local = keep(local_file), remote = keep(remote_path), on_progress,
       user_data, call = keep(call)](rt_client* c, char**, rt_exec_result**, rt_error** e) {
        return rt_files_upload(c, view(ws), view(local), view(remote), on_progress, user_data,
                               call.get(), e);
      });
}

rt_status rt_files_download_async(rt_client* client, const char* workspace_id,
                                  const char* remote_path, const char* local_file,
                                  rt_progress_callback on_progress, void* user_data,
                                  const rt_call_options* call, rt_op** op, rt_error** error) {
  return start(
      client, op, error,
      [ws = keep(workspace_id), remote = keep(remote_path), local = keep(local_file), on_progress,
       user_data, call = keep(call)](rt_client* c, char**, rt_exec_result**, rt_error** e) {
        return rt_files_download(c, view(ws), view(remote), view(local), on_progress, user_data,
                                 call.get(), e);
      });
}

rt_status rt_agent_run_stream_async(rt_client* client, const char* agent_slug, const char* prompt,
                                    const char* options_json, rt_event_callback on_event,
                                    void* user_data, const rt_call_options* call, rt_op** op,
                                    rt_error** error) {
  return start(
      client, op, error,
      [slug = keep(agent_slug), prompt = keep(prompt), options = keep(options_json), on_event,
       user_data, call = keep(call)](rt_client* c, char** text, rt_exec_result**, rt_error** e) {
        return rt_agent_run_stream(c, view(slug), view(prompt), view(options), on_event, user_data,
                                   call.get(), text, e);
      });
}

}  // extern "C"
