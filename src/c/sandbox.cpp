// The C API's sandboxes: create, get, pages of the list, waits, lifecycle
// actions and exec, plain or streamed.

#include "c/handles.hpp"

using runtools::c::clearOut;
using runtools::c::clientFor;
using runtools::c::field;
using runtools::c::guard;
using runtools::c::invalid;
using runtools::c::parseOptions;
using runtools::c::required;
using runtools::c::setOut;

namespace {

runtools::CreateSandboxOptions createOptions(const char* text) {
  const auto json =
      parseOptions(text, "options_json",
                   {"template", "name", "tags", "sshKeys", "rootPassword", "resources", "env",
                    "idleTimeout", "mounts", "metadata", "projectId"});
  runtools::CreateSandboxOptions options;
  if (auto value = field<std::string>(json, "template")) options.templateName = *value;
  options.name = field<std::string>(json, "name");
  options.tags = field<std::vector<std::string>>(json, "tags").value_or(options.tags);
  options.sshKeys = field<std::vector<std::string>>(json, "sshKeys").value_or(options.sshKeys);
  options.rootPassword = field<std::string>(json, "rootPassword");
  if (auto resources = field<nlohmann::json>(json, "resources")) {
    const auto checked =
        parseOptions(resources->dump().c_str(), "resources", {"cpu", "vcpus", "memory", "disk"});
    runtools::SandboxResources r;
    r.vcpus = field<int>(checked, "cpu");
    if (auto vcpus = field<int>(checked, "vcpus")) r.vcpus = vcpus;
    r.memory = field<std::string>(checked, "memory");
    r.disk = field<std::string>(checked, "disk");
    options.resources = r;
  }
  options.env = field<std::map<std::string, std::string>>(json, "env").value_or(options.env);
  if (auto seconds = field<std::int64_t>(json, "idleTimeout")) {
    options.idleTimeout = std::chrono::seconds(*seconds);
  }
  for (const auto& mount :
       field<nlohmann::json>(json, "mounts").value_or(nlohmann::json::array())) {
    const auto checked =
        parseOptions(mount.dump().c_str(), "a mount", {"workspaceId", "path", "readOnly"});
    runtools::Mount m;
    m.workspaceId = field<std::string>(checked, "workspaceId").value_or("");
    if (auto path = field<std::string>(checked, "path")) m.path = *path;
    m.readOnly = field<bool>(checked, "readOnly").value_or(false);
    options.mounts.push_back(m);
  }
  options.metadata = field<nlohmann::json>(json, "metadata");
  options.projectId = field<std::string>(json, "projectId");
  return options;
}

runtools::ListSandboxesOptions listFilters(const char* text) {
  const auto json =
      parseOptions(text, "filters_json", {"status", "tags", "template", "limit", "cursor", "all"});
  runtools::ListSandboxesOptions filters;
  filters.status = field<std::string>(json, "status");
  filters.tags = field<std::vector<std::string>>(json, "tags").value_or(filters.tags);
  filters.templateName = field<std::string>(json, "template");
  filters.limit = field<int>(json, "limit");
  filters.cursor = field<std::string>(json, "cursor");
  filters.all = field<bool>(json, "all").value_or(false);
  return filters;
}

runtools::ExecOptions execOptions(const char* text, const rt_call_options* call) {
  const auto json = parseOptions(text, "options_json", {"cwd", "env", "timeout"});
  runtools::ExecOptions options;
  options.cwd = field<std::string>(json, "cwd");
  options.env = field<std::map<std::string, std::string>>(json, "env").value_or(options.env);
  if (auto ms = field<std::int64_t>(json, "timeout"))
    options.timeout = std::chrono::milliseconds(*ms);
  if (call != nullptr) options.cancellation = call->options.cancellation;
  return options;
}

runtools::WaitOptions waitOptions(std::int64_t timeoutMs, const rt_call_options* call) {
  runtools::WaitOptions wait;
  if (timeoutMs > 0) wait.timeout = std::chrono::milliseconds(timeoutMs);
  if (call != nullptr) wait.cancellation = call->options.cancellation;
  return wait;
}

runtools::Sandbox sandboxFor(rt_client* client, const rt_call_options* call, const char* id) {
  return clientFor(client, call).sandbox.get(required(id, "sandbox_id"));
}

// Runs one lifecycle action that reports the sandbox's status.
template <typename Action>
rt_status statusAction(rt_client* client, const char* id, const rt_call_options* call,
                       char** status, rt_error** error, Action action) {
  clearOut(status);
  return guard(error, [&] { setOut(status, action(sandboxFor(client, call, id))); });
}

rt_status execWith(rt_client* client, const char* id, const char* command,
                   runtools::ExecOptions options, const rt_call_options* call,
                   rt_exec_result** result, rt_error** error) {
  if (result != nullptr) *result = nullptr;
  return guard(error, [&] {
    if (result == nullptr) invalid("result must not be NULL");
    auto outcome = sandboxFor(client, call, id).exec(required(command, "command"), options);
    *result = new rt_exec_result{std::move(outcome)};
  });
}

}  // namespace

extern "C" {

rt_status rt_sandbox_create(rt_client* client, const char* options_json,
                            const rt_call_options* call, char** sandbox_json, rt_error** error) {
  clearOut(sandbox_json);
  return guard(error, [&] {
    const auto sandbox = clientFor(client, call).sandbox.create(createOptions(options_json));
    const auto state = sandbox.state();  // the create response's
    setOut(sandbox_json,
           runtools::c::dump(state ? state->raw.json() : nlohmann::json{{"id", sandbox.id()}}));
  });
}

rt_status rt_sandbox_get(rt_client* client, const char* sandbox_id, const rt_call_options* call,
                         char** sandbox_json, rt_error** error) {
  clearOut(sandbox_json);
  return guard(error, [&] {
    setOut(sandbox_json, runtools::c::dump(sandboxFor(client, call, sandbox_id).refresh().raw));
  });
}

rt_status rt_sandbox_list_page(rt_client* client, const char* filters_json,
                               const rt_call_options* call, char** page_json, rt_error** error) {
  clearOut(page_json);
  return guard(error, [&] {
    const auto page = clientFor(client, call).sandbox.listPage(listFilters(filters_json));
    setOut(page_json, runtools::c::dump(runtools::c::pageJson(page)));
  });
}

rt_status rt_sandbox_wait_for_ready(rt_client* client, const char* sandbox_id, int64_t timeout_ms,
                                    const rt_call_options* call, char** sandbox_json,
                                    rt_error** error) {
  clearOut(sandbox_json);
  return guard(error, [&] {
    const auto info =
        sandboxFor(client, call, sandbox_id).waitForReady(waitOptions(timeout_ms, call));
    setOut(sandbox_json, runtools::c::dump(info.raw));
  });
}

rt_status rt_sandbox_wait_for_status(rt_client* client, const char* sandbox_id, const char* status,
                                     int64_t timeout_ms, const rt_call_options* call,
                                     char** sandbox_json, rt_error** error) {
  clearOut(sandbox_json);
  return guard(error, [&] {
    const auto info = sandboxFor(client, call, sandbox_id)
                          .waitForStatus(required(status, "status"), waitOptions(timeout_ms, call));
    setOut(sandbox_json, runtools::c::dump(info.raw));
  });
}

rt_status rt_sandbox_pause(rt_client* client, const char* sandbox_id, const rt_call_options* call,
                           char** status, rt_error** error) {
  return statusAction(client, sandbox_id, call, status, error,
                      [](const runtools::Sandbox& s) { return s.pause(); });
}

rt_status rt_sandbox_resume(rt_client* client, const char* sandbox_id, const rt_call_options* call,
                            char** status, rt_error** error) {
  return statusAction(client, sandbox_id, call, status, error,
                      [](const runtools::Sandbox& s) { return s.resume(); });
}

rt_status rt_sandbox_destroy(rt_client* client, const char* sandbox_id, const rt_call_options* call,
                             rt_error** error) {
  return guard(error, [&] { sandboxFor(client, call, sandbox_id).destroy(); });
}

void rt_exec_result_free(rt_exec_result* result) {
  delete result;
}

int rt_exec_result_exit_code(const rt_exec_result* result) {
  return result != nullptr ? result->result.exitCode : -1;
}

int rt_exec_result_timed_out(const rt_exec_result* result) {
  return result != nullptr && result->result.timedOut ? 1 : 0;
}

int rt_exec_result_stopped(const rt_exec_result* result) {
  return result != nullptr && result->result.stopped ? 1 : 0;
}

int64_t rt_exec_result_duration_ms(const rt_exec_result* result) {
  return result != nullptr && result->result.durationMs ? result->result.durationMs->count() : -1;
}

const char* rt_exec_result_stdout(const rt_exec_result* result, size_t* length) {
  static const std::string kNone;
  const std::string& text = result != nullptr ? result->result.stdoutText : kNone;
  if (length != nullptr) *length = text.size();
  return text.c_str();
}

const char* rt_exec_result_stderr(const rt_exec_result* result, size_t* length) {
  static const std::string kNone;
  const std::string& text = result != nullptr ? result->result.stderrText : kNone;
  if (length != nullptr) *length = text.size();
  return text.c_str();
}

rt_status rt_sandbox_exec(rt_client* client, const char* sandbox_id, const char* command,
                          const char* options_json, const rt_call_options* call,
                          rt_exec_result** result, rt_error** error) {
  if (result != nullptr) *result = nullptr;
  runtools::ExecOptions options;
  const rt_status parsed = guard(error, [&] { options = execOptions(options_json, call); });
  if (parsed != RT_OK) return parsed;
  return execWith(client, sandbox_id, command, std::move(options), call, result, error);
}

rt_status rt_sandbox_exec_stream(rt_client* client, const char* sandbox_id, const char* command,
                                 const char* options_json, rt_output_callback on_stdout,
                                 rt_output_callback on_stderr, void* user_data,
                                 const rt_call_options* call, rt_exec_result** result,
                                 rt_error** error) {
  if (result != nullptr) *result = nullptr;
  runtools::ExecOptions options;
  const rt_status parsed = guard(error, [&] {
    options = execOptions(options_json, call);
    auto forward = [user_data](rt_output_callback callback) {
      return [callback, user_data](std::string_view chunk) {
        return callback == nullptr || callback(chunk.data(), chunk.size(), user_data) != 0;
      };
    };
    // onStdout is always set, so that the command's output streams even
    // when only stderr is asked for.
    options.onStdout = forward(on_stdout);
    if (on_stderr != nullptr) options.onStderr = forward(on_stderr);
  });
  if (parsed != RT_OK) return parsed;
  return execWith(client, sandbox_id, command, std::move(options), call, result, error);
}

}  // extern "C"
