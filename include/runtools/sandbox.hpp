#pragma once

/// @file
/// Sandboxes: Linux VMs that run commands (docs/wire-contract.md §4.1, TypeScript `rt.sandbox`).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/activity.hpp"
#include "runtools/cancellation.hpp"
#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/operation.hpp"
#include "runtools/page.hpp"
#include "runtools/raw_json.hpp"

namespace runtools::internal {
class ServiceClient;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// Requested machine size. Unset fields take the platform's defaults.
struct SandboxResources {
  std::optional<int> vcpus;
  std::optional<std::string> memory;  ///< e.g. "4GB"
  std::optional<std::string> disk;    ///< e.g. "10GB"
};

/// A workspace mounted into a sandbox. `path` is `/workspace` or below.
struct Mount {
  std::string workspaceId;
  std::string path = "/workspace";
  bool readOnly = false;
};

/// The state of a sandbox as reported by the platform.
struct SandboxInfo {
  std::string id;
  std::optional<std::string> name;
  /// pending, creating, running, pausing, paused, resuming, destroying,
  /// destroyed, stopped, failed, error, orphaned, suspected_missing
  std::string status;
  std::vector<std::string> tags;
  /// The wire field `template` (a C++ keyword).
  std::string templateName;
  std::string ownerUserId;
  std::string ownerDisplayName;
  std::string ownerEmail;
  std::optional<std::string> projectId;
  std::vector<Mount> mounts;
  bool hasWritableWorkspaceMount = false;
  bool sshReady = false;
  bool vncReady = false;
  std::string ip;
  std::string publicIp;
  bool sshAccessConfigured = false;
  std::string sshAuthMethod;
  std::optional<std::string> vncUrl;
  SandboxResources resources;
  std::optional<Timestamp> createdAt;
  nlohmann::json metadata;
  /// The object as received, for fields this struct does not model.
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, SandboxInfo& info);

/// Options of SandboxClient::create. Only set fields are sent.
struct CreateSandboxOptions {
  /// `base-ubuntu` or `desktop-ubuntu`.
  std::string templateName = "base-ubuntu";
  std::optional<std::string> name;
  std::vector<std::string> tags;
  /// Public keys or registered SSH key ids.
  std::vector<std::string> sshKeys;
  std::optional<std::string> rootPassword;
  std::optional<SandboxResources> resources;
  std::map<std::string, std::string> env;
  /// Idle time before auto-pause, sent in seconds; zero disables auto-pause.
  std::optional<std::chrono::seconds> idleTimeout;
  std::vector<Mount> mounts;
  std::optional<nlohmann::json> metadata;
  std::optional<std::string> projectId;
};

/// Filters of SandboxClient::list / listPage.
struct ListSandboxesOptions {
  std::optional<std::string> status;
  /// Sandboxes carrying every one of these tags.
  std::vector<std::string> tags;
  std::optional<std::string> templateName;
  std::optional<std::string> excludeTemplate;
  /// Page size, 1..500.
  std::optional<int> limit;
  std::optional<std::string> cursor;
  /// Every sandbox of the organization (admin only).
  bool all = false;
};

/// Fields of Sandbox::update. Unset fields are left unchanged.
struct UpdateSandboxOptions {
  std::optional<std::string> name;
  std::optional<std::string> projectId;
  /// Detach the sandbox from its project (sends `projectId: null`).
  bool clearProjectId = false;
};

/// Options of Sandbox::exec.
struct ExecOptions {
  /// Working directory inside the sandbox (platform default `/workspace`).
  std::optional<std::string> cwd;
  /// Server-side limit for the command (platform default 30 s). The HTTP
  /// request is allowed this long plus 30 s.
  std::optional<std::chrono::milliseconds> timeout;
  /// Merged over the sandbox's environment.
  std::map<std::string, std::string> env;
  /// When either is set, the command's output is streamed: each callback
  /// receives output as the command produces it, and returning false stops
  /// the command (the result then has `stopped`). The result still holds
  /// the whole output, as with a plain exec.
  std::function<bool(std::string_view)> onStdout;
  std::function<bool(std::string_view)> onStderr;
  /// Abandons the call with CancelledError (a streamed command is stopped).
  std::optional<CancellationToken> cancellation;
};

/// Outcome of a command. A non-zero exit code is a result, not an exception.
struct ExecResult {
  /// Everything the command wrote to standard output.
  std::string stdoutText;
  /// Everything the command wrote to standard error.
  std::string stderrText;
  int exitCode = 0;
  /// `durationMs` (or `executionTime`) when the server reported it.
  std::optional<std::chrono::milliseconds> durationMs;
  /// The command was killed at its timeout (exit code 124 by convention).
  bool timedOut = false;
  /// A streaming callback stopped the command; exitCode is then -1.
  bool stopped = false;

  bool ok() const noexcept { return exitCode == 0 && !timedOut && !stopped; }
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, ExecResult& result);

/// A public URL for a port inside a sandbox.
struct SandboxUrl {
  std::string url;
  int port = 0;
  std::optional<Timestamp> expiresAt;
};

/// One resource-usage sample of a sandbox (`GET /v1/sandboxes/{id}/metrics`,
/// docs/wire-contract.md §4.1.4). Sizes are MiB; `cpuPercent` is a share of the
/// sandbox's vCPUs, 0..100. A sandbox that is not running reports 0 usage.
struct SandboxMetrics {
  std::string sandboxId;
  std::string status;  ///< the sandbox's status when sampled
  double cpuPercent = 0;
  std::int64_t memoryUsedMb = 0;
  std::int64_t memoryLimitMb = 0;
  std::int64_t diskUsedMb = 0;
  std::int64_t diskLimitMb = 0;
  std::optional<Timestamp> sampledAt;
  /// The sample as received, for fields this struct does not model.
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, SandboxMetrics& metrics);

/// How a Sandbox::onMetrics listener ended.
enum class MetricsEnd {
  Stopped,      ///< the callback returned false
  Unavailable,  ///< the deployment has no metrics endpoint (404 or 501), or the sandbox is gone
};

/// Options of Sandbox::onMetrics.
struct MetricsListenOptions {
  /// Time between samples (at least 10 ms).
  std::chrono::milliseconds pollInterval{1000};
  /// Ends the listener with CancelledError from another thread.
  std::optional<CancellationToken> cancellation;
};

/// How to reach a sandbox over SSH.
struct SshInfo {
  std::string host;
  int port = 22;
  std::string user;
  std::string command;
  std::optional<std::string> keyId;
};

/// Options of Sandbox::waitForReady.
struct WaitOptions {
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds pollInterval{1000};
  /// Stops the wait with CancelledError from another thread.
  std::optional<CancellationToken> cancellation;
};

/// A handle on one sandbox. Obtained from SandboxClient::create (with the
/// state of the create response) or SandboxClient::get (no request made).
/// Copies share the same sandbox and the same cached state.
///
/// @par Thread safety
/// Safe to use from several threads at once.
class Sandbox {
 public:
  Sandbox(std::shared_ptr<internal::ServiceClient> api, std::string id,
          std::optional<SandboxInfo> state = std::nullopt);

  const std::string& id() const noexcept { return id_; }
  /// Last known status; "unknown" until the state was fetched.
  std::string status() const;
  /// Last known SSH readiness.
  bool sshReady() const;
  /// Last known desktop readiness (desktop-ubuntu only).
  bool vncReady() const;
  /// Desktop URL when available.
  std::optional<std::string> vncUrl() const;
  /// Last fetched full state, if any.
  std::optional<SandboxInfo> state() const;

  /// Fetches the current state (`GET /v1/sandboxes/{id}`).
  SandboxInfo refresh() const;
  /// Alias of refresh().
  SandboxInfo info() const { return refresh(); }
  /// Renames the sandbox or moves it between projects.
  SandboxInfo update(const UpdateSandboxOptions& options) const;
  /// Runs `command` through a shell in the sandbox.
  ExecResult exec(const std::string& command, const ExecOptions& options = {}) const;
  /// Requests a pause; returns the reported status (`pausing` or `paused`).
  std::string pause() const;
  /// Requests a resume; returns the reported status (`resuming` or `running`).
  std::string resume() const;
  /// Destroys the sandbox permanently.
  void destroy() const;
  /// Polls until the sandbox is running and reachable over SSH (and VNC for
  /// desktop sandboxes). Throws TimeoutError when the time is up and
  /// SandboxFailedError when the sandbox lands in failed, error, stopped,
  /// orphaned, destroying or destroyed.
  ///
  /// A sandbox destroyed during the wait ends it with SandboxFailedError and
  /// sandboxStatus() `destroyed` whether the platform reports the status
  /// `destroyed` or answers the poll with 404 (as it does for a destroyed
  /// sandbox); status() then reports `destroyed` too. That 404 counts as
  /// destroyed once this handle has seen the sandbox (from create(), a
  /// refresh or an earlier poll); a handle that never saw it gets the
  /// NotFoundError, since the id may never have existed.
  SandboxInfo waitForReady(const WaitOptions& options = {}) const;
  template <class Rep, class Period>
  SandboxInfo waitForReady(std::chrono::duration<Rep, Period> timeout,
                           std::chrono::milliseconds pollInterval = std::chrono::seconds(1)) const {
    using Millis = std::chrono::milliseconds;
    WaitOptions options;
    // Clamp before converting: a duration beyond the range of milliseconds
    // means "wait as long as it takes".
    options.timeout = std::chrono::duration<double, std::milli>(timeout).count() >=
                              static_cast<double>(Millis::max().count())
                          ? Millis::max()
                          : std::chrono::duration_cast<Millis>(timeout);
    options.pollInterval = pollInterval;
    return waitForReady(options);
  }
  /// Polls until the sandbox reports `status` (e.g. "paused" after pause()).
  /// Throws TimeoutError when the time is up, and SandboxFailedError when the
  /// sandbox lands in a state it cannot leave (failed, destroyed, ...) first.
  /// A 404 while waiting means `destroyed`, as for waitForReady(): it ends
  /// the wait with SandboxFailedError, or returns (with status `destroyed`)
  /// when `destroyed` is the status waited for.
  SandboxInfo waitForStatus(const std::string& status, const WaitOptions& options = {}) const;
  /// Public URL of `port` inside the sandbox.
  SandboxUrl url(int port) const;
  /// SSH connection details.
  SshInfo ssh() const;
  /// Alias of ssh(), the name used by the TypeScript SDK proposal.
  SshInfo sshInfo() const { return ssh(); }
  /// The latest resource-usage sample (`GET /v1/sandboxes/{id}/metrics`).
  /// Throws the typed error of the answer, including NotFoundError where a
  /// deployment has no metrics endpoint.
  SandboxMetrics metrics() const;
  /// Polls metrics() every `pollInterval` and hands each sample to
  /// `onSample` until it returns false (MetricsEnd::Stopped). A 404 or 501
  /// answer (a deployment without the endpoint, or the sandbox destroyed)
  /// ends the listener with MetricsEnd::Unavailable instead of an exception;
  /// other errors are thrown, and the cancellation token, the client's token
  /// or the call deadline end it with CancelledError or TimeoutError. The
  /// TypeScript SDK delivers the same samples over a subscription; this is
  /// its polling form.
  MetricsEnd onMetrics(const std::function<bool(const SandboxMetrics&)>& onSample,
                       const MetricsListenOptions& options = {}) const;
  /// One page of the sandbox's activity feed, newest first.
  Page<ActivityEvent> activityPage(const ActivityListOptions& options = {}) const;
  /// The whole activity feed, following cursors.
  std::vector<ActivityEvent> activity(const ActivityListOptions& options = {}) const;
  /// The activity feed as a lazy range, one page in memory at a time.
  PageRange<ActivityEvent> iterateActivity(const ActivityListOptions& options = {}) const;

  /// @name Non-blocking forms
  /// Each starts the call of the same name on the client's asynchronous
  /// engine and returns its handle at once; the handle delivers the same
  /// value or typed error. Callbacks (ExecOptions::onStdout, ...) run
  /// where completions run. See RunTools::async for any other sequence.
  /// @{
  Operation<SandboxInfo> refreshAsync() const;
  Operation<ExecResult> execAsync(const std::string& command,
                                  const ExecOptions& options = {}) const;
  Operation<std::string> pauseAsync() const;
  Operation<std::string> resumeAsync() const;
  Operation<void> destroyAsync() const;
  Operation<SandboxInfo> waitForReadyAsync(const WaitOptions& options = {}) const;
  Operation<SandboxInfo> waitForStatusAsync(const std::string& status,
                                            const WaitOptions& options = {}) const;
  Operation<MetricsEnd> onMetricsAsync(std::function<bool(const SandboxMetrics&)> onSample,
                                       const MetricsListenOptions& options = {}) const;
  /// @}

 private:
  struct Shared;
  void remember(const SandboxInfo& info) const;
  std::string lifecycleAction(const char* action, const char* transitional,
                              const char* settled) const;
  ExecResult execStreamed(const ExecOptions& options, nlohmann::json body,
                          std::chrono::milliseconds timeout) const;
  template <class Done>
  SandboxInfo pollUntil(Done done, const std::string& goal, const WaitOptions& options) const;

  std::shared_ptr<internal::ServiceClient> api_;
  std::string id_;
  std::shared_ptr<Shared> shared_;
};

/// Sandbox lifecycle (`rt.sandbox`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class SandboxClient {
 public:
  explicit SandboxClient(std::shared_ptr<internal::ServiceClient> api);

  /// Requests a new sandbox and returns as soon as the platform accepted it
  /// (status `creating` or `pending`): call waitForReady() before exec().
  Sandbox create(const CreateSandboxOptions& options = {}) const;
  /// Every sandbox matching `filters`, following cursors across pages.
  std::vector<SandboxInfo> list(const ListSandboxesOptions& filters = {}) const;
  /// One page of sandboxes.
  Page<SandboxInfo> listPage(const ListSandboxesOptions& filters = {}) const;
  /// Every sandbox matching `filters` as a lazy range: pages are fetched as
  /// the loop reaches them, one in memory at a time (see PageRange).
  PageRange<SandboxInfo> iterate(const ListSandboxesOptions& filters = {}) const;
  /// A handle on sandbox `id` (an id or a name). Makes no request.
  Sandbox get(std::string id) const;
  /// Destroys sandbox `id` permanently.
  void destroy(const std::string& id) const;

  /// @name Non-blocking forms (see Sandbox's)
  /// @{
  Operation<Sandbox> createAsync(const CreateSandboxOptions& options = {}) const;
  Operation<std::vector<SandboxInfo>> listAsync(const ListSandboxesOptions& filters = {}) const;
  Operation<Page<SandboxInfo>> listPageAsync(const ListSandboxesOptions& filters = {}) const;
  Operation<void> destroyAsync(const std::string& id) const;
  /// @}

 private:
  std::shared_ptr<internal::ServiceClient> api_;
};

}  // namespace runtools
