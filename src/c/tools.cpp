// The C API's Tool Hub execution and secrets.

#include "c/handles.hpp"

using runtools::c::clearOut;
using runtools::c::clientFor;
using runtools::c::field;
using runtools::c::guard;
using runtools::c::invalid;
using runtools::c::parseOptions;
using runtools::c::required;
using runtools::c::setOut;

extern "C" {

rt_status rt_tools_execute(rt_client* client, const char* tool_slug, const char* request_json,
                           const rt_call_options* call, char** result_json, rt_error** error) {
  clearOut(result_json);
  return guard(error, [&] {
    using Map = std::map<std::string, std::string>;
    const auto json = parseOptions(request_json, "request_json",
                                   {"action", "params", "credentials", "credentialOverrides"});
    runtools::ExecuteToolOptions options;
    options.action = field<std::string>(json, "action").value_or("");
    if (options.action.empty()) invalid("request_json needs an \"action\"");
    options.params = field<nlohmann::json>(json, "params").value_or(nlohmann::json::object());
    options.credentials = field<Map>(json, "credentials").value_or(Map{});
    options.credentialOverrides = field<Map>(json, "credentialOverrides").value_or(Map{});
    const auto result =
        clientFor(client, call).tools.execute(required(tool_slug, "tool_slug"), options);
    setOut(result_json, runtools::c::dump(result.raw));
  });
}

rt_status rt_secrets_set(rt_client* client, const char* name, const char* value,
                         const char* options_json, const rt_call_options* call, rt_error** error) {
  return guard(error, [&] {
    const auto json =
        parseOptions(options_json, "options_json", {"scope", "category", "description", "orgWide"});
    runtools::SetSecretOptions options;
    options.scope = field<std::string>(json, "scope");
    options.category = field<std::string>(json, "category");
    options.description = field<std::string>(json, "description");
    options.orgWide = field<bool>(json, "orgWide").value_or(false);
    clientFor(client, call).secrets.set(required(name, "name"), required(value, "value"), options);
  });
}

rt_status rt_secrets_list(rt_client* client, const rt_call_options* call, char** secrets_json,
                          rt_error** error) {
  clearOut(secrets_json);
  return guard(error, [&] {
    nlohmann::json secrets = nlohmann::json::array();
    for (const auto& secret : clientFor(client, call).secrets.list())
      secrets.push_back(secret.raw);
    setOut(secrets_json, runtools::c::dump(secrets));
  });
}

rt_status rt_secrets_reveal(rt_client* client, const char* name, const rt_call_options* call,
                            char** value, rt_error** error) {
  clearOut(value);
  return guard(error, [&] {
    if (value == nullptr) invalid("value must not be NULL");
    const auto secret = clientFor(client, call).secrets.reveal(required(name, "name"));
    *value = runtools::c::copyOut(secret.reveal());
  });
}

}  // extern "C"
