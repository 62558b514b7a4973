#include "runtools/sandbox.hpp"

#include <algorithm>
#include <mutex>

#include "internal/json_util.hpp"
#include "internal/operation.hpp"
#include "internal/pagination.hpp"
#include "internal/path.hpp"
#include "internal/service_client.hpp"
#include "internal/sse.hpp"
#include "internal/sse_stream.hpp"
#include "runtools/errors.hpp"

namespace runtools {

namespace js = internal::json;
using internal::makePath;
using nlohmann::json;

// ---------------------------------------------------------------- models

void from_json(const json& j, SandboxInfo& info) {
  info.id = js::string(j, {"id"});
  info.name = js::optString(j, {"name"});
  info.status = js::string(j, {"status"}, "unknown");
  info.tags = js::stringList(j, {"tags"});
  info.templateName = js::string(j, {"template"});
  info.ownerUserId = js::string(j, {"ownerUserId"});
  info.ownerDisplayName = js::string(j, {"ownerDisplayName"});
  info.ownerEmail = js::string(j, {"ownerEmail"});
  info.projectId = js::optString(j, {"projectId"});
  info.mounts.clear();
  if (const json* mounts = js::find(j, {"mounts"}); mounts != nullptr && mounts->is_array()) {
    for (const auto& m : *mounts) {
      Mount mount;
      mount.workspaceId = js::string(m, {"workspaceId"});
      mount.path = js::string(m, {"path"});
      mount.readOnly = js::boolean(m, {"readOnly"});
      info.mounts.push_back(std::move(mount));
    }
  }
  info.hasWritableWorkspaceMount = js::boolean(j, {"hasWritableWorkspaceMount"});
  info.sshReady = js::boolean(j, {"sshReady"});
  info.vncReady = js::boolean(j, {"vncReady"});
  info.ip = js::string(j, {"ip"});
  info.publicIp = js::string(j, {"publicIp"});
  info.sshAccessConfigured = js::boolean(j, {"sshAccessConfigured"});
  info.sshAuthMethod = js::string(j, {"sshAuthMethod"});
  info.vncUrl = js::optString(j, {"vncUrl"});
  info.resources = SandboxResources{};
  if (const json* r = js::find(j, {"resources"}); r != nullptr && r->is_object()) {
    if (auto vcpus = js::optInt(*r, {"vcpus"})) info.resources.vcpus = static_cast<int>(*vcpus);
    info.resources.memory = js::optString(*r, {"memory"});
    info.resources.disk = js::optString(*r, {"disk"});
  }
  info.createdAt = js::optTimestamp(j, {"createdAt"});
  const json* metadata = js::find(j, {"metadata"});
  info.metadata = metadata != nullptr ? *metadata : json();
  info.raw = j;
}

void from_json(const json& j, SandboxMetrics& metrics) {
  metrics.sandboxId = js::optString(j, {"sandboxId"}).value_or("");
  metrics.status = js::optString(j, {"status"}).value_or("");
  metrics.cpuPercent = js::optNumber(j, {"cpuPercent"}).value_or(0.0);
  metrics.memoryUsedMb = js::optInt(j, {"memoryUsedMb"}).value_or(0);
  metrics.memoryLimitMb = js::optInt(j, {"memoryLimitMb"}).value_or(0);
  metrics.diskUsedMb = js::optInt(j, {"diskUsedMb"}).value_or(0);
  metrics.diskLimitMb = js::optInt(j, {"diskLimitMb"}).value_or(0);
  metrics.sampledAt = js::optTimestamp(j, {"sampledAt"});
  metrics.raw = RawJson(j);
}

void from_json(const json& j, ExecResult& result) {
  result.stdoutText = js::string(j, {"stdout"});
  result.stderrText = js::string(j, {"stderr"});
  result.exitCode = static_cast<int>(js::optInt(j, {"exitCode", "exit_code"}).value_or(0));
  const auto ms = js::optInt(j, {"durationMs", "executionTime"});
  result.durationMs =
      ms ? std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(*ms)) : std::nullopt;
  result.timedOut = js::boolean(j, {"timedOut"});
}

namespace {

const std::chrono::milliseconds kDefaultExecTimeout{30000};
const std::chrono::milliseconds kExecHttpMargin{30000};

bool isValidMountPath(const std::string& path) {
  static const std::string kRoot = "/workspace";
  if (path.compare(0, kRoot.size(), kRoot) != 0) return false;
  if (path.size() == kRoot.size()) return true;
  if (path[kRoot.size()] != '/') return false;
  std::size_t start = kRoot.size() + 1;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return false;
    if (segment.empty() && end != path.size()) return false;  // "//"
    start = end + 1;
  }
  return true;
}

json toJson(const CreateSandboxOptions& options) {
  if (options.templateName.empty()) {
    throw InvalidArgumentError("CreateSandboxOptions::templateName must not be empty");
  }
  json body = {{"template", options.templateName}};
  if (options.name) body["name"] = *options.name;
  if (!options.tags.empty()) body["tags"] = options.tags;
  if (!options.sshKeys.empty()) body["sshKeys"] = options.sshKeys;
  if (options.rootPassword) body["rootPassword"] = *options.rootPassword;
  if (options.resources) {
    json resources = json::object();
    if (options.resources->vcpus) {
      if (*options.resources->vcpus <= 0) {
        throw InvalidArgumentError("CreateSandboxOptions::resources.vcpus must be positive");
      }
      resources["vcpus"] = *options.resources->vcpus;
    }
    if (options.resources->memory) resources["memory"] = *options.resources->memory;
    if (options.resources->disk) resources["disk"] = *options.resources->disk;
    body["resources"] = std::move(resources);
  }
  if (!options.env.empty()) body["env"] = js::stringMap(options.env);
  if (options.idleTimeout) {
    if (options.idleTimeout->count() < 0) {
      throw InvalidArgumentError("CreateSandboxOptions::idleTimeout must not be negative");
    }
    body["idleTimeout"] = options.idleTimeout->count();
  }
  if (!options.mounts.empty()) {
    json mounts = json::array();
    for (const auto& mount : options.mounts) {
      if (mount.workspaceId.empty()) {
        throw InvalidArgumentError("a mount needs a workspaceId");
      }
      if (!isValidMountPath(mount.path)) {
        throw InvalidArgumentError("mount path \"" + mount.path +
                                   "\" must be /workspace or a directory below it");
      }
      json m = {{"workspaceId", mount.workspaceId}, {"path", mount.path}};
      if (mount.readOnly) m["readOnly"] = true;
      mounts.push_back(std::move(m));
    }
    body["mounts"] = std::move(mounts);
  }
  if (options.metadata) body["metadata"] = *options.metadata;
  if (options.projectId) body["projectId"] = *options.projectId;
  return body;
}

internal::Query toQuery(const ListSandboxesOptions& filters) {
  internal::Query query;
  if (filters.status) query.emplace_back("status", *filters.status);
  for (const auto& tag : filters.tags)
    query.emplace_back("tag", tag);
  if (filters.templateName) query.emplace_back("template", *filters.templateName);
  if (filters.excludeTemplate) query.emplace_back("exclude_template", *filters.excludeTemplate);
  internal::addLimit(query, filters.limit, 500, "ListSandboxesOptions::limit");
  if (filters.cursor) query.emplace_back("cursor", *filters.cursor);
  if (filters.all) query.emplace_back("all", "true");
  return query;
}

internal::Query toQuery(const ActivityListOptions& options) {
  internal::Query query;
  internal::addLimit(query, options.limit, 500, "ActivityListOptions::limit");
  if (options.cursor) query.emplace_back("cursor", *options.cursor);
  return query;
}

bool isTerminalStatus(const std::string& status) {
  return status == "failed" || status == "error" || status == "destroyed" ||
         status == "destroying" || status == "stopped" || status == "orphaned";
}

bool isReady(const SandboxInfo& info) {
  return info.status == "running" && info.sshReady &&
         (info.templateName != "desktop-ubuntu" || info.vncReady);
}

}  // namespace

// ---------------------------------------------------------------- Sandbox

struct Sandbox::Shared {
  mutable std::mutex mutex;
  std::optional<SandboxInfo> state;
};

Sandbox::Sandbox(std::shared_ptr<internal::ServiceClient> api, std::string id,
                 std::optional<SandboxInfo> state)
    : api_(std::move(api)), id_(std::move(id)), shared_(std::make_shared<Shared>()) {
  if (id_.empty()) throw InvalidArgumentError("a sandbox id must not be empty");
  shared_->state = std::move(state);
}

void Sandbox::remember(const SandboxInfo& info) const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  shared_->state = info;
}

std::string Sandbox::status() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->state ? shared_->state->status : std::string("unknown");
}

bool Sandbox::sshReady() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->state && shared_->state->sshReady;
}

bool Sandbox::vncReady() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->state && shared_->state->vncReady;
}

std::optional<std::string> Sandbox::vncUrl() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->state ? shared_->state->vncUrl : std::nullopt;
}

std::optional<SandboxInfo> Sandbox::state() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->state;
}

SandboxInfo Sandbox::refresh() const {
  auto info = api_->get(makePath({"sandboxes", id_})).object("sandbox").get<SandboxInfo>();
  remember(info);
  return info;
}

SandboxInfo Sandbox::update(const UpdateSandboxOptions& options) const {
  json body = json::object();
  if (options.name) body["name"] = *options.name;
  if (options.clearProjectId) {
    body["projectId"] = nullptr;
  } else if (options.projectId) {
    body["projectId"] = *options.projectId;
  }
  if (body.empty()) throw InvalidArgumentError("UpdateSandboxOptions sets no field");
  const auto response = api_->patch(makePath({"sandboxes", id_}), std::move(body));
  // Servers may answer with the sandbox or with a bare acknowledgement.
  if (response.data().is_object() && response.data().contains("id")) {
    auto info = response.object("sandbox").get<SandboxInfo>();
    remember(info);
    return info;
  }
  return refresh();
}

ExecResult Sandbox::exec(const std::string& command, const ExecOptions& options) const {
  if (command.empty()) throw InvalidArgumentError("exec: the command must not be empty");
  json body = {{"command", command}};
  if (options.cwd) body["cwd"] = *options.cwd;
  if (options.timeout) {
    if (options.timeout->count() <= 0) {
      throw InvalidArgumentError("ExecOptions::timeout must be positive");
    }
    body["timeout"] = options.timeout->count();
  }
  if (!options.env.empty()) body["env"] = js::stringMap(options.env);
  const auto timeout = std::max(
      api_->defaultTimeout(),
      internal::saturatingAdd(options.timeout.value_or(kDefaultExecTimeout), kExecHttpMargin));
  if (options.onStdout || options.onStderr) {
    return execStreamed(options, std::move(body), timeout);
  }

  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"sandboxes", id_, "exec"});
  request.body = std::move(body);
  request.timeout = timeout;
  request.cancellation = options.cancellation;
  const auto response = api_->call(request);
  const json& data = response.object("exec result");
  if (!js::optInt(data, {"exitCode", "exit_code"})) {
    throw InvalidResponseError(response.status,
                               "the exec response of sandbox " + id_ + " carries no exit code");
  }
  return data.get<ExecResult>();
}

ExecResult Sandbox::execStreamed(const ExecOptions& options, json body,
                                 std::chrono::milliseconds timeout) const {
  ExecResult result;
  bool exited = false;
  internal::SseStream stream;
  // The command's text stays out of the messages: it may carry secrets.
  stream.what = "the output stream of a command in sandbox " + id_;
  stream.finalFrame = "the command's exit";
  stream.onEvent = [&](const internal::SseEvent& frame) {
    json data = json::parse(frame.data, nullptr, /*allow_exceptions=*/false);
    const std::string type = frame.event.empty() ? js::string(data, {"type"}) : frame.event;
    if (type == "stdout" || type == "stderr") {
      const std::string text = js::string(data, {"data"});
      const bool isStdout = type == "stdout";
      (isStdout ? result.stdoutText : result.stderrText) += text;
      const auto& callback = isStdout ? options.onStdout : options.onStderr;
      return callback ? callback(text) : true;
    }
    if (type == "exit") {
      exited = true;
      if (data.is_object()) {
        result.exitCode = static_cast<int>(js::optInt(data, {"exitCode"}).value_or(-1));
        const auto ms = js::optInt(data, {"durationMs", "executionTime"});
        if (ms) result.durationMs = std::chrono::milliseconds(*ms);
        result.timedOut = js::boolean(data, {"timedOut"});
      }
    }
    return true;
  };
  stream.complete = [&] { return exited; };
  stream.received = [&] {
    StreamError::Received received;
    received.stdoutText = result.stdoutText;
    received.stderrText = result.stderrText;
    return received;
  };
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"sandboxes", id_, "exec", "stream"});
  request.body = std::move(body);
  request.timeout = timeout;
  request.cancellation = options.cancellation;
  if (internal::callSseStream(*api_, std::move(request), stream).stopped) {
    // Closing the connection stops the command on the platform.
    result.stopped = true;
    result.exitCode = -1;
  }
  return result;
}

std::string Sandbox::lifecycleAction(const char* action, const char* transitional,
                                     const char* settled) const {
  internal::ApiRequest request;
  request.method = "POST";
  request.path = makePath({"sandboxes", id_, action});
  // Pausing a paused sandbox and resuming a running one are documented
  // no-ops, so these actions are safe to repeat.
  request.idempotent = true;
  std::string status;
  try {
    status = js::string(api_->call(request).data(), {"status"});
  } catch (const ConflictError& error) {
    // Already on its way (an earlier attempt whose answer was lost, or a
    // second call): report where the sandbox is rather than fail.
    if (!error.hasCode("invalid_state_transition")) throw;
    const auto current = refresh().status;
    if (current != transitional && current != settled) throw;
    return current;
  }
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->state && !status.empty()) shared_->state->status = status;
  return status;
}

std::string Sandbox::pause() const {
  return lifecycleAction("pause", "pausing", "paused");
}

std::string Sandbox::resume() const {
  return lifecycleAction("resume", "resuming", "running");
}

void Sandbox::destroy() const {
  api_->del(makePath({"sandboxes", id_}));
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->state) {
    shared_->state->status = "destroyed";
    shared_->state->sshReady = false;
    shared_->state->vncReady = false;
  }
}

template <class Done>
SandboxInfo Sandbox::pollUntil(Done done, const std::string& goal,
                               const WaitOptions& options) const {
  if (options.timeout.count() < 0) throw InvalidArgumentError("wait: negative timeout");
  const auto pollInterval = std::max(options.pollInterval, std::chrono::milliseconds(10));
  const auto& clock = api_->clock();
  // The wait's own timeout, cut short by the call's deadline (RunTools::with).
  const auto deadline = api_->deadline(options.timeout);
  const auto token = options.cancellation ? options.cancellation : api_->cancellation();
  // Whether this handle knows the sandbox existed (a create() response, an
  // earlier refresh or poll): only then does a 404 mean it went away.
  bool seen = state().has_value();
  for (;;) {
    if (token && token->isCancelled())
      throw CancelledError("waiting for sandbox " + id_ + " cancelled");
    SandboxInfo info;
    try {
      info = refresh();
      seen = true;
    } catch (const NotFoundError&) {
      // A destroyed sandbox answers 404 by id: the same as reporting
      // `destroyed`, so both end the wait alike. A sandbox never seen may
      // never have existed (a wrong id): that stays NotFoundError.
      if (!seen) throw;
      std::lock_guard<std::mutex> lock(shared_->mutex);
      if (!shared_->state) shared_->state = SandboxInfo{};
      shared_->state->id = id_;
      shared_->state->status = "destroyed";
      shared_->state->sshReady = false;
      shared_->state->vncReady = false;
      info = *shared_->state;
    }
    if (done(info)) return info;
    // `destroying` only leads to `destroyed`: terminal unless that is the goal.
    const bool onTheWay = info.status == "destroying" && goal == "destroyed";
    if (isTerminalStatus(info.status) && !onTheWay) throw SandboxFailedError(id_, info.status);
    const auto now = clock.now();
    if (now >= deadline) {
      throw TimeoutError(
          "sandbox " + id_ + " was not " + goal + " within the time allowed (" +
          std::to_string(options.timeout.count()) + " ms" +
          (api_->callDeadline()
               ? ", call deadline " + std::to_string(api_->callDeadline()->count()) + " ms"
               : std::string()) +
          "; last status: " + info.status + (info.sshReady ? "" : ", ssh not ready") + ")");
    }
    api_->sleepUntilOrCancel(std::min(deadline, internal::deadlineAfter(now, pollInterval)), token);
  }
}

SandboxInfo Sandbox::waitForReady(const WaitOptions& options) const {
  return pollUntil(isReady, "ready", options);
}

SandboxInfo Sandbox::waitForStatus(const std::string& status, const WaitOptions& options) const {
  if (status.empty()) throw InvalidArgumentError("waitForStatus: the status must not be empty");
  return pollUntil([&](const SandboxInfo& info) { return info.status == status; }, status, options);
}

SandboxUrl Sandbox::url(int port) const {
  if (port < 1 || port > 65535) {
    throw InvalidArgumentError("url: port must be between 1 and 65535");
  }
  const auto data = api_->get(makePath({"sandboxes", id_, "url"}), {{"port", std::to_string(port)}})
                        .object("sandbox URL");
  SandboxUrl out;
  out.url = js::string(data, {"url"});
  out.port = static_cast<int>(js::optInt(data, {"port"}).value_or(port));
  out.expiresAt = js::optTimestamp(data, {"expiresAt"});
  return out;
}

SshInfo Sandbox::ssh() const {
  const auto data = api_->get(makePath({"sandboxes", id_, "ssh"})).object("SSH access");
  SshInfo out;
  out.host = js::string(data, {"host"});
  out.port = static_cast<int>(js::optInt(data, {"port"}).value_or(22));
  out.user = js::string(data, {"user"});
  out.command = js::string(data, {"command"});
  out.keyId = js::optString(data, {"keyId"});
  return out;
}

Page<ActivityEvent> Sandbox::activityPage(const ActivityListOptions& options) const {
  const auto response = api_->get(makePath({"sandboxes", id_, "activity"}), toQuery(options));
  const json& data = response.data();
  const json* events = js::find(data, {"events"});
  return internal::makePage<ActivityEvent>(response.envelope, events != nullptr ? *events : data);
}

std::vector<ActivityEvent> Sandbox::activity(const ActivityListOptions& options) const {
  return internal::collectAll(iterateActivity(options));
}

PageRange<ActivityEvent> Sandbox::iterateActivity(const ActivityListOptions& options) const {
  return internal::pagesOf<ActivityEvent>(
      options, [self = *this](const ActivityListOptions& page) { return self.activityPage(page); });
}

SandboxMetrics Sandbox::metrics() const {
  const auto data = api_->get(makePath({"sandboxes", id_, "metrics"})).object("sandbox metrics");
  SandboxMetrics out = data.get<SandboxMetrics>();
  if (out.sandboxId.empty()) out.sandboxId = id_;
  return out;
}

MetricsEnd Sandbox::onMetrics(const std::function<bool(const SandboxMetrics&)>& onSample,
                              const MetricsListenOptions& options) const {
  if (!onSample) throw InvalidArgumentError("onMetrics: the callback must not be empty");
  const auto pollInterval = std::max(options.pollInterval, std::chrono::milliseconds(10));
  const auto token = options.cancellation ? options.cancellation : api_->cancellation();
  const auto deadline = api_->deadline(std::chrono::milliseconds::max());
  for (;;) {
    if (token && token->isCancelled()) {
      throw CancelledError("metrics of sandbox " + id_ + " cancelled");
    }
    SandboxMetrics sample;
    try {
      sample = metrics();
    } catch (const ApiError& error) {
      if (error.status() == 404 || error.status() == 501) return MetricsEnd::Unavailable;
      throw;
    }
    if (!onSample(sample)) return MetricsEnd::Stopped;
    const auto now = api_->clock().now();
    if (now >= deadline) {
      throw TimeoutError("metrics of sandbox " + id_ + ": the call deadline passed");
    }
    api_->sleepUntilOrCancel(std::min(deadline, internal::deadlineAfter(now, pollInterval)), token);
  }
}

Operation<SandboxInfo> Sandbox::refreshAsync() const {
  return internal::startOn<SandboxInfo>(*api_, [self = *this] { return self.refresh(); });
}

Operation<ExecResult> Sandbox::execAsync(const std::string& command,
                                         const ExecOptions& options) const {
  return internal::startOn<ExecResult>(
      *api_, [self = *this, command, options] { return self.exec(command, options); });
}

Operation<std::string> Sandbox::pauseAsync() const {
  return internal::startOn<std::string>(*api_, [self = *this] { return self.pause(); });
}

Operation<std::string> Sandbox::resumeAsync() const {
  return internal::startOn<std::string>(*api_, [self = *this] { return self.resume(); });
}

Operation<void> Sandbox::destroyAsync() const {
  return internal::startOn<void>(*api_, [self = *this] { self.destroy(); });
}

Operation<SandboxInfo> Sandbox::waitForReadyAsync(const WaitOptions& options) const {
  return internal::startOn<SandboxInfo>(
      *api_, [self = *this, options] { return self.waitForReady(options); });
}

Operation<SandboxInfo> Sandbox::waitForStatusAsync(const std::string& status,
                                                   const WaitOptions& options) const {
  return internal::startOn<SandboxInfo>(
      *api_, [self = *this, status, options] { return self.waitForStatus(status, options); });
}

Operation<MetricsEnd> Sandbox::onMetricsAsync(std::function<bool(const SandboxMetrics&)> onSample,
                                              const MetricsListenOptions& options) const {
  return internal::startOn<MetricsEnd>(*api_,
                                       [self = *this, onSample = std::move(onSample), options] {
                                         return self.onMetrics(onSample, options);
                                       });
}

// ---------------------------------------------------------------- SandboxClient

SandboxClient::SandboxClient(std::shared_ptr<internal::ServiceClient> api) : api_(std::move(api)) {}

Sandbox SandboxClient::create(const CreateSandboxOptions& options) const {
  auto info =
      api_->post(makePath({"sandboxes"}), toJson(options)).object("sandbox").get<SandboxInfo>();
  if (info.id.empty()) {
    throw InvalidResponseError(201, "the create-sandbox response carries no sandbox id");
  }
  std::string id = info.id;
  return Sandbox(api_, std::move(id), std::move(info));
}

Page<SandboxInfo> SandboxClient::listPage(const ListSandboxesOptions& filters) const {
  const auto response = api_->get(makePath({"sandboxes"}), toQuery(filters));
  const json& data = response.data();
  const json* items = data.is_array() ? &data : js::find(data, {"sandboxes", "items"});
  return internal::makePage<SandboxInfo>(response.envelope,
                                         items != nullptr ? *items : json::array());
}

std::vector<SandboxInfo> SandboxClient::list(const ListSandboxesOptions& filters) const {
  return internal::collectAll(iterate(filters));
}

PageRange<SandboxInfo> SandboxClient::iterate(const ListSandboxesOptions& filters) const {
  return internal::pagesOf<SandboxInfo>(
      filters, [self = *this](const ListSandboxesOptions& page) { return self.listPage(page); });
}

Sandbox SandboxClient::get(std::string id) const {
  return Sandbox(api_, std::move(id));
}

void SandboxClient::destroy(const std::string& id) const {
  api_->del(makePath({"sandboxes", id}));
}

Operation<Sandbox> SandboxClient::createAsync(const CreateSandboxOptions& options) const {
  return internal::startOn<Sandbox>(*api_,
                                    [self = *this, options] { return self.create(options); });
}

Operation<std::vector<SandboxInfo>> SandboxClient::listAsync(
    const ListSandboxesOptions& filters) const {
  return internal::startOn<std::vector<SandboxInfo>>(
      *api_, [self = *this, filters] { return self.list(filters); });
}

Operation<Page<SandboxInfo>> SandboxClient::listPageAsync(
    const ListSandboxesOptions& filters) const {
  return internal::startOn<Page<SandboxInfo>>(
      *api_, [self = *this, filters] { return self.listPage(filters); });
}

Operation<void> SandboxClient::destroyAsync(const std::string& id) const {
  return internal::startOn<void>(*api_, [self = *this, id] { self.destroy(id); });
}

}  // namespace runtools
