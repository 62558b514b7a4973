#include "routes/sandbox_routes.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

#include "http/api_error.hpp"
#include "http/sse.hpp"
#include "util/process.hpp"

namespace rtemu {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kListDefaultLimit = 500;
constexpr std::size_t kListMaxLimit = 500;
constexpr std::size_t kActivityDefaultLimit = 50;
constexpr std::size_t kActivityMaxLimit = 500;
constexpr std::int64_t kDefaultExecTimeoutMs = 30'000;
constexpr std::int64_t kMaxExecTimeoutMs = 3'600'000;

constexpr std::array<const char*, 2> kTemplates = {"base-ubuntu", "desktop-ubuntu"};
constexpr std::array<const char*, 13> kStatuses = {
    "pending",   "creating", "running", "pausing", "paused",   "resuming",         "destroying",
    "destroyed", "stopped",  "failed",  "error",   "orphaned", "suspected_missing"};

template <std::size_t N>
bool oneOf(const std::string& value, const std::array<const char*, N>& choices) {
  return std::any_of(choices.begin(), choices.end(),
                     [&](const char* choice) { return value == choice; });
}

std::optional<std::string> readNonEmptyString(const Json& body, const char* field) {
  auto value = readString(body, field);
  if (value && value->empty()) throw validationError(field, "must not be empty");
  return value;
}

Json parseResources(const Json& body) {
  Json resources{{"vcpus", 2}, {"memory", "4GB"}, {"disk", "10GB"}};
  const auto given = readObject(body, "resources");
  if (!given) return resources;
  std::optional<std::int64_t> vcpus;
  try {
    vcpus = readInteger(*given, "vcpus");
  } catch (const ApiError&) {
    vcpus = 0;
  }
  if (vcpus && *vcpus <= 0) throw validationError("resources.vcpus", "must be a positive integer");
  if (vcpus) resources["vcpus"] = *vcpus;
  for (const char* field : {"memory", "disk"}) {
    const auto it = given->find(field);
    if (it == given->end() || it->is_null()) continue;
    if (!it->is_string() || it->get<std::string>().empty()) {
      throw validationError(std::string("resources.") + field, "must be a non-empty string");
    }
    resources[field] = *it;
  }
  return resources;
}

Json parseMounts(const Json& body) {
  Json mounts = Json::array();
  const auto it = body.find("mounts");
  if (it == body.end() || it->is_null()) return mounts;
  if (!it->is_array()) throw validationError("mounts", "must be an array");
  for (const Json& mount : *it) {
    if (!mount.is_object()) throw validationError("mounts", "each mount must be an object");
    const auto workspaceId = readString(mount, "workspaceId");
    if (!workspaceId || workspaceId->empty()) {
      throw validationError("mounts.workspaceId", "is required");
    }
    const auto path = readString(mount, "path");
    if (!path) throw validationError("mounts.path", "is required");
    const auto normalized = normalizeWorkspacePath(*path);
    if (!normalized) throw validationError("mounts.path", "must be /workspace or below");
    const bool readOnly = readBool(mount, "readOnly").value_or(false);
    // Mounts are symlinks in the sandbox directory: one inside another would put a link into
    // the outer workspace's files, so nested mount paths are refused like duplicates.
    for (const Json& other : mounts) {
      const std::string& existing = other["path"].get_ref<const std::string&>();
      const auto within = [](const std::string& a, const std::string& b) {
        return a == b ||
               (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
      };
      if (within(*normalized, existing) || within(existing, *normalized)) {
        throw validationError("mounts.path", "mount paths must be distinct and not nested ('" +
                                                 existing + "' and '" + *normalized + "')");
      }
    }
    mounts.push_back(
        Json{{"workspaceId", *workspaceId}, {"path", *normalized}, {"readOnly", readOnly}});
  }
  return mounts;
}

SandboxSpec parseCreateBody(const Json& body) {
  SandboxSpec spec;
  const auto templateSlug = readString(body, "template");
  if (!templateSlug) throw validationError("template", "is required");
  if (!oneOf(*templateSlug, kTemplates)) {
    throw validationError("template", "must be one of base-ubuntu, desktop-ubuntu");
  }
  spec.templateSlug = *templateSlug;
  spec.name = readNonEmptyString(body, "name");
  spec.tags = readStringArray(body, "tags").value_or(std::vector<std::string>{});
  spec.sshKeys = readStringArray(body, "sshKeys").value_or(std::vector<std::string>{});
  const auto rootPassword = readString(body, "rootPassword");
  spec.sshAuthMethod = !spec.sshKeys.empty() ? "key" : rootPassword ? "password" : "none";
  spec.resources = parseResources(body);
  spec.env = readEnvMap(body, "env").value_or(std::map<std::string, std::string>{});
  spec.idleTimeout = readInteger(body, "idleTimeout");
  if (spec.idleTimeout && *spec.idleTimeout < 0) {
    throw validationError("idleTimeout", "must be a non-negative number of seconds");
  }
  spec.mounts = parseMounts(body);
  spec.metadata = readObject(body, "metadata").value_or(Json::object());
  spec.projectId = readString(body, "projectId");
  return spec;
}

SandboxPatch parsePatchBody(const Json& body) {
  SandboxPatch patch;
  if (body.contains("name")) patch.name = readNonEmptyString(body, "name");
  if (body.contains("projectId")) patch.projectId = readString(body, "projectId");
  return patch;
}

SandboxFilter parseFilter(const ApiRequest& request) {
  SandboxFilter filter;
  filter.status = request.queryValue("status");
  if (filter.status && !oneOf(*filter.status, kStatuses)) {
    throw validationError("status", "is not a sandbox status");
  }
  filter.tags = request.queryValues("tag");
  filter.templateSlug = request.queryValue("template");
  filter.excludeTemplate = request.queryValue("exclude_template");
  return filter;
}

Reply paged(const Json& items, const ApiRequest& request, std::size_t defaultLimit,
            std::size_t maxLimit, const char* wrapKey = nullptr) {
  const PageRequest page = parsePageRequest(request, defaultLimit, maxLimit);
  Reply reply;
  Pagination pagination;
  Json slice = slicePage(items, page, pagination);
  reply.data = wrapKey ? Json{{wrapKey, std::move(slice)}} : std::move(slice);
  reply.page = pagination;
  return reply;
}

std::vector<std::string> buildEnvironment(const SandboxRoutesConfig& config,
                                          const ExecTarget& target,
                                          const std::map<std::string, std::string>& requestEnv) {
  std::map<std::string, std::string> env{
      {"PATH", config.pathEnv}, {"HOME", target.workspaceDir.string()},
      {"LANG", "C.UTF-8"},      {"TERM", "dumb"},
      {"SHELL", "/bin/sh"},     {"RUNTOOLS_SANDBOX_ID", target.sandboxId},
  };
  for (const auto& [name, value] : target.env)
    env[name] = value;
  for (const auto& [name, value] : requestEnv)
    env[name] = value;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env)
    out.push_back(name + "=" + value);
  return out;
}

ExecOptions parseExecBody(const std::string& text) {
  const Json body = parseJsonObjectBody(text);
  const auto command = readString(body, "command");
  if (!command || command->empty()) throw validationError("command", "is required");
  if (command->find('\0') != std::string::npos) {
    throw validationError("command", "must not contain NUL");
  }
  std::int64_t timeoutMs = readInteger(body, "timeout").value_or(kDefaultExecTimeoutMs);
  if (timeoutMs <= 0) throw validationError("timeout", "must be a positive number of milliseconds");
  timeoutMs = std::min(timeoutMs, kMaxExecTimeoutMs);
  const std::string cwdText = readString(body, "cwd").value_or("/workspace");
  const auto cwd = normalizeWorkspacePath(cwdText);
  if (!cwd) throw validationError("cwd", "must be /workspace or below");
  ExecOptions options;
  options.command = *command;
  options.cwd = *cwd;
  options.env = readEnvMap(body, "env").value_or(std::map<std::string, std::string>{});
  options.timeout = std::chrono::milliseconds(timeoutMs);
  return options;
}

Reply exec(const SandboxRoutesConfig& config, ApiRequest& request) {
  const ExecOptions options = parseExecBody(request.bodyText());
  const ExecTarget target = config.store->prepareExec(request.principal.orgId, request.param("id"));
  CommandResult result = execInSandbox(config, request.principal, target, options, nullptr);
  return okReply(Json{{"stdout", std::move(result.stdoutText)},
                      {"stderr", std::move(result.stderrText)},
                      {"exitCode", result.exitCode},
                      {"durationMs", result.durationMs},
                      {"executionTime", result.durationMs},
                      {"timedOut", result.timedOut}});
}

// Keep-alive comment interval of streams that are otherwise silent.
constexpr std::chrono::seconds kPingInterval{15};

// POST .../exec/stream: validation and errors as exec (JSON, before the stream starts), then
// stdout/stderr frames as the command writes, and a final exit frame. A client that goes away
// gets the command's process group killed.
Reply execStream(const SandboxRoutesConfig& config, ApiRequest& request) {
  const ExecOptions options = parseExecBody(request.bodyText());
  const ExecTarget target = config.store->prepareExec(request.principal.orgId, request.param("id"));
  const Principal caller = request.principal;
  Reply reply;
  reply.headers = {{"Cache-Control", "no-cache"}};
  StreamBody body;
  body.contentType = "text/event-stream";
  body.produce = [config, caller, target, options](StreamSink& sink) {
    using SteadyClock = std::chrono::steady_clock;
    Utf8Stream utf8[2];
    bool gone = false;
    SteadyClock::time_point lastWrite = SteadyClock::now();
    const auto send = [&](const std::string& frame) {
      if (gone || !sink.write(frame)) {
        gone = true;
        return false;
      }
      lastWrite = SteadyClock::now();
      return true;
    };
    const auto output = [&](int stream, const std::string& text) {
      return text.empty() ||
             send(sseFrame(stream == 1 ? "stdout" : "stderr", Json{{"data", text}}));
    };
    CommandObserver observer;
    observer.onOutput = [&](int stream, const char* data, std::size_t size) {
      return output(stream, utf8[stream == 1 ? 0 : 1].feed(data, size));
    };
    observer.onTick = [&] {
      if (gone || !sink.connected()) {
        gone = true;
        return false;
      }
      if (SteadyClock::now() - lastWrite >= kPingInterval) return send(sseComment("ping"));
      return true;
    };
    CommandResult result;
    try {
      result = execInSandbox(config, caller, target, options, &observer);
    } catch (const ApiError& error) {
      send(sseFrame("error", Json{{"code", error.code()}, {"message", error.what()}}));
      return;
    }
    if (gone) return;
    output(1, utf8[0].finish());
    output(2, utf8[1].finish());
    output(2, result.stderrText);  // the timeout note
    send(sseFrame("exit", Json{{"exitCode", result.exitCode},
                               {"durationMs", result.durationMs},
                               {"timedOut", result.timedOut}}));
  };
  reply.stream = std::move(body);
  return reply;
}

std::optional<int> parsePort(const std::optional<std::string>& text) {
  if (!text || text->empty() || text->size() > 5) return std::nullopt;
  int port = 0;
  for (char c : *text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

}  // namespace

CommandResult execInSandbox(const SandboxRoutesConfig& config, const Principal& caller,
                            const ExecTarget& target, const ExecOptions& options,
                            const CommandObserver* observer) {
  const std::string relative = options.cwd.substr(std::string("/workspace").size());
  const fs::path hostDir =
      relative.empty() ? target.workspaceDir : target.workspaceDir / relative.substr(1);
  const auto missingDir = [&] {
    CommandResult missing;
    missing.exitCode = 1;
    const std::string message = "sh: cd: " + options.cwd + ": No such file or directory\n";
    if (observer) {
      if (observer->onOutput) observer->onOutput(2, message.data(), message.size());
    } else {
      missing.stderrText = message;
    }
    return missing;
  };

  CommandResult result;
  std::error_code ec;
  if (!fs::is_directory(hostDir, ec)) {
    result = missingDir();
  } else {
    CommandSpec spec;
    spec.command = options.command;
    spec.workingDir = hostDir.string();
    spec.environment = buildEnvironment(config, target, options.env);
    spec.timeout = options.timeout;
    SandboxStore* store = config.store;
    const std::string sandboxId = target.sandboxId;
    const auto attach = [store, &sandboxId](pid_t pgid) {
      return store->attachProcessGroup(sandboxId, pgid);
    };
    try {
      result = observer ? streamCommand(spec, attach, *observer) : runCommand(spec, attach);
    } catch (const std::system_error& error) {
      // The directory can vanish between the check above and the spawn (a concurrent command
      // removed it): same answer as when it was missing from the start.
      if (error.code() != std::errc::no_such_file_or_directory) {
        throw ApiError(500, "internal_error", "The command could not be started");
      }
      result = missingDir();
    }
  }
  config.store->recordExec(caller, target.sandboxId, options.command, result.exitCode,
                           result.durationMs, result.timedOut);
  return result;
}

std::optional<std::string> normalizeWorkspacePath(const std::string& path) {
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(start, slash - start);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  if (parts.empty() || parts.front() != "workspace") return std::nullopt;
  std::string out;
  for (const std::string& part : parts)
    out += "/" + part;
  return out;
}

void addSandboxRoutes(Router& router, const SandboxRoutesConfig& config) {
  SandboxStore* store = config.store;

  router.add("POST", "/v1/sandboxes", Access::kSandboxCreate, [config](ApiRequest& request) {
    SandboxSpec spec = parseCreateBody(parseJsonObjectBody(request.bodyText()));
    for (const Json& mount : spec.mounts) {
      const std::string workspaceId = mount["workspaceId"];
      if (!config.workspaceExists ||
          !config.workspaceExists(request.principal.orgId, workspaceId)) {
        throw notFound("Workspace " + workspaceId + " not found");
      }
    }
    return okReply(config.store->create(request.principal, std::move(spec)), 201);
  });
  router.add("GET", "/v1/sandboxes", Access::kSandboxRead, [store](ApiRequest& request) {
    const SandboxFilter filter = parseFilter(request);
    // Validate paging before doing the work.
    parsePageRequest(request, kListDefaultLimit, kListMaxLimit);
    return paged(store->list(request.principal.orgId, filter), request, kListDefaultLimit,
                 kListMaxLimit);
  });
  router.add("GET", "/v1/sandboxes/:id", Access::kSandboxRead, [store](ApiRequest& request) {
    return okReply(store->get(request.principal.orgId, request.param("id")));
  });
  router.add("PATCH", "/v1/sandboxes/:id", Access::kSandboxWrite, [store](ApiRequest& request) {
    const SandboxPatch patch = parsePatchBody(parseJsonObjectBody(request.bodyText()));
    return okReply(store->update(request.principal, request.param("id"), patch));
  });
  router.add("DELETE", "/v1/sandboxes/:id", Access::kSandboxWrite, [store](ApiRequest& request) {
    // `async` and `stream` are accepted and ignored: deletion is immediate.
    return okReply(store->destroy(request.principal, request.param("id")));
  });
  router.add("POST", "/v1/sandboxes/:id/pause", Access::kSandboxWrite,
             [store](ApiRequest& request) {
               return okReply(store->pause(request.principal, request.param("id")));
             });
  router.add("POST", "/v1/sandboxes/:id/resume", Access::kSandboxWrite,
             [store](ApiRequest& request) {
               return okReply(store->resume(request.principal, request.param("id")));
             });
  router.add("POST", "/v1/sandboxes/:id/exec", Access::kSandboxWrite,
             [config](ApiRequest& request) { return exec(config, request); });
  router.add("POST", "/v1/sandboxes/:id/exec/stream", Access::kSandboxWrite,
             [config](ApiRequest& request) { return execStream(config, request); });
  router.add("GET", "/v1/sandboxes/:id/url", Access::kSandboxRead, [config](ApiRequest& request) {
    const auto port = parsePort(request.queryValue("port"));
    if (!port) throw validationError("port", "must be an integer between 1 and 65535");
    const RunningSandbox sandbox =
        config.store->requireRunning(request.principal.orgId, request.param("id"));
    const std::string url =
        config.baseUrl() + "/_emu/proxy/" + sandbox.id + "/" + std::to_string(*port) + "/";
    return okReply(Json{{"url", url}, {"port", *port}, {"expiresAt", nullptr}});
  });
  router.add("GET", "/v1/sandboxes/:id/ssh", Access::kSandboxRead, [store](ApiRequest& request) {
    const RunningSandbox sandbox =
        store->requireRunning(request.principal.orgId, request.param("id"));
    return okReply(
        Json{{"host", "ssh.runtools.ai"},
             {"port", 22},
             {"user", sandbox.id},
             {"command", "ssh " + sandbox.id + "@ssh.runtools.ai"},
             {"keyId", sandbox.sshKeys.empty() ? Json(nullptr) : Json(sandbox.sshKeys[0])}});
  });
  router.add("GET", "/v1/sandboxes/:id/metrics", Access::kSandboxRead,
             [store](ApiRequest& request) {
               return okReply(store->metrics(request.principal.orgId, request.param("id")));
             });
  router.add("GET", "/v1/sandboxes/:id/activity", Access::kSandboxRead,
             [store](ApiRequest& request) {
               parsePageRequest(request, kActivityDefaultLimit, kActivityMaxLimit);
               return paged(store->activity(request.principal.orgId, request.param("id")), request,
                            kActivityDefaultLimit, kActivityMaxLimit, "events");
             });
}

}  // namespace rtemu
