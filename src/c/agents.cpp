// The C API's agent runs (streamed, events to a callback) and threads.

#include "c/handles.hpp"

using runtools::c::clearOut;
using runtools::c::clientFor;
using runtools::c::field;
using runtools::c::guard;
using runtools::c::parseOptions;
using runtools::c::required;
using runtools::c::setOut;

namespace {

runtools::RunOptions runOptions(const char* text, const rt_call_options* call) {
  const auto json = parseOptions(
      text, "options_json",
      {"threadId", "thread", "maxTokens", "maxTurns", "temperature", "metadata", "idleTimeout"});
  runtools::RunOptions options;
  options.threadId = field<std::string>(json, "threadId");
  options.thread = field<bool>(json, "thread").value_or(false);
  options.maxTokens = field<int>(json, "maxTokens");
  options.maxTurns = field<int>(json, "maxTurns");
  options.temperature = field<double>(json, "temperature");
  options.metadata = field<nlohmann::json>(json, "metadata");
  if (auto ms = field<std::int64_t>(json, "idleTimeout")) {
    options.idleTimeout = std::chrono::milliseconds(*ms);
  }
  if (call != nullptr) options.cancellation = call->options.cancellation;
  return options;
}

runtools::AgentDefinition agentDefinition(const char* text) {
  const auto json =
      parseOptions(text, "definition_json",
                   {"slug", "name", "description", "model", "systemPrompt", "executionMode",
                    "sandbox", "env", "maxIterations", "maxTokens", "temperature", "projectId"});
  runtools::AgentDefinition d;
  d.slug = field<std::string>(json, "slug").value_or("");
  d.name = field<std::string>(json, "name");
  d.description = field<std::string>(json, "description");
  d.model = field<std::string>(json, "model");
  d.systemPrompt = field<std::string>(json, "systemPrompt");
  d.executionMode = field<std::string>(json, "executionMode");
  d.sandbox = field<std::string>(json, "sandbox");
  d.env = field<std::map<std::string, std::string>>(json, "env");
  d.maxIterations = field<int>(json, "maxIterations");
  d.maxTokens = field<int>(json, "maxTokens");
  d.temperature = field<double>(json, "temperature");
  d.projectId = field<std::string>(json, "projectId");
  return d;
}

nlohmann::json resultJson(const runtools::RunResult& run) {
  auto optional = [](const std::optional<std::string>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  nlohmann::json out = {{"runId", run.runId},
                        {"threadId", optional(run.threadId)},
                        {"rolloutId", optional(run.rolloutId)},
                        {"sandboxId", optional(run.sandboxId)},
                        {"executionMode", run.executionMode},
                        {"status", run.status},
                        {"result", run.result},
                        {"iterations", run.iterations},
                        {"stoppedEarly", run.stoppedEarly},
                        {"usage",
                         {{"promptTokens", run.usage.promptTokens},
                          {"completionTokens", run.usage.completionTokens},
                          {"totalTokens", run.usage.totalTokens}}},
                        {"error", nullptr}};
  if (run.error) out["error"] = {{"code", run.error->code}, {"message", run.error->message}};
  return out;
}

}  // namespace

extern "C" {

rt_status rt_agent_upsert(rt_client* client, const char* definition_json,
                          const rt_call_options* call, char** agent_json, rt_error** error) {
  clearOut(agent_json);
  return guard(error, [&] {
    const auto saved = clientFor(client, call).agent.upsert(agentDefinition(definition_json));
    nlohmann::json out = {{"id", saved.id},
                          {"slug", saved.slug},
                          {"action", saved.action},
                          {"version", saved.version},
                          {"sandboxId", saved.sandboxId ? nlohmann::json(*saved.sandboxId)
                                                        : nlohmann::json(nullptr)}};
    setOut(agent_json, runtools::c::dump(out));
  });
}

rt_status rt_agent_run_stream(rt_client* client, const char* agent_slug, const char* prompt,
                              const char* options_json, rt_event_callback on_event, void* user_data,
                              const rt_call_options* call, char** result_json, rt_error** error) {
  clearOut(result_json);
  return guard(error, [&] {
    const auto options = runOptions(options_json, call);
    const runtools::RunEventHandler handler = [&](const runtools::RunEvent& event) {
      if (on_event == nullptr) return true;
      const std::string data = runtools::c::dump(event.data);
      return on_event(event.type.c_str(), data.c_str(), user_data) != 0;
    };
    const auto run = clientFor(client, call)
                         .agent.run(required(agent_slug, "agent_slug"), required(prompt, "prompt"),
                                    handler, options);
    setOut(result_json, runtools::c::dump(resultJson(run)));
  });
}

rt_status rt_threads_list_page(rt_client* client, const char* filters_json,
                               const rt_call_options* call, char** page_json, rt_error** error) {
  clearOut(page_json);
  return guard(error, [&] {
    const auto json = parseOptions(filters_json, "filters_json", {"limit", "cursor", "archived"});
    runtools::ThreadListOptions filters;
    filters.limit = field<int>(json, "limit");
    filters.cursor = field<std::string>(json, "cursor");
    filters.archived = field<bool>(json, "archived").value_or(false);
    const auto page = clientFor(client, call).threads.listPage(filters);
    setOut(page_json, runtools::c::dump(runtools::c::pageJson(page)));
  });
}

rt_status rt_threads_events_page(rt_client* client, const char* thread_id, const char* filters_json,
                                 const rt_call_options* call, char** page_json, rt_error** error) {
  clearOut(page_json);
  return guard(error, [&] {
    const auto json =
        parseOptions(filters_json, "filters_json", {"limit", "cursor", "allRollouts", "rolloutId"});
    runtools::ThreadEventsOptions filters;
    filters.limit = field<int>(json, "limit");
    filters.cursor = field<std::string>(json, "cursor");
    filters.allRollouts = field<bool>(json, "allRollouts").value_or(false);
    filters.rolloutId = field<std::string>(json, "rolloutId");
    const auto page =
        clientFor(client, call).threads.eventsPage(required(thread_id, "thread_id"), filters);
    setOut(page_json, runtools::c::dump(runtools::c::pageJson(page)));
  });
}

}  // extern "C"
