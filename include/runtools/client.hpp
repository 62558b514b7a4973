#pragma once

/// @file
/// The RunTools facade: one object that owns the connection to every platform
/// service and exposes the resource clients.

#include <functional>  // std::function: the body of async()
#include <memory>
#include <string>
#include <type_traits>  // std::invoke_result_t: async()'s result type

#include "runtools/agent.hpp"
#include "runtools/auth.hpp"
#include "runtools/export.h"
#include "runtools/operation.hpp"
#include "runtools/options.hpp"
#include "runtools/request.hpp"
#include "runtools/sandbox.hpp"
#include "runtools/secrets.hpp"
#include "runtools/thread.hpp"
#include "runtools/tools.hpp"
#include "runtools/workspace.hpp"

namespace runtools::internal {
struct Services;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// Entry point of the SDK.
///
/// @code
/// runtools::RunTools rt;  // reads RUNTOOLS_API_KEY
/// auto sandbox = rt.sandbox.create();
/// sandbox.waitForReady();
/// std::cout << sandbox.exec("uname -a").stdoutText;
/// sandbox.destroy();
/// @endcode
///
/// Construction resolves and validates every option (see ClientOptions) and
/// throws ConfigurationError, naming the option or environment variable,
/// when no credential is configured, a base URL is one libcurl would refuse,
/// a setting is out of range or an extra header cannot be sent. Copies are
/// cheap and share connections.
///
/// @par Thread safety
/// A RunTools object and its resource clients are safe to use from several
/// threads at once.
class RunTools {
 public:
  explicit RunTools(ClientOptions options = {});

  /// A client whose calls use `options` (a per-call timeout, an overall
  /// deadline, retries, an idempotency key, a cancellation token). It shares
  /// this client's connections; make one per logical operation:
  /// @code
  /// runtools::CallOptions call;
  /// call.deadline = std::chrono::seconds(30);
  /// call.cancellation = token;
  /// rt.with(call).sandbox.create().waitForReady();
  /// @endcode
  /// Throws ConfigurationError for an invalid setting; the settings shared
  /// with ClientOptions (timeout, maxRetries, retryPolicy, headers) are
  /// checked exactly as the constructor checks them.
  RunTools with(const CallOptions& options) const;

  /// The `X-RateLimit-*` figures of the last response that carried them
  /// (shared with the clients made by with()).
  RateLimitInfo rateLimit() const;

  /// Runs `body` as one asynchronous operation and returns its handle. The
  /// body is ordinary SDK code: its blocking calls, run on the engine (see
  /// ClientOptions::completions), suspend the operation instead of blocking
  /// a thread, so any sequence of calls, pagination, waits and streams
  /// becomes non-blocking:
  /// @code
  /// auto op = rt.async([rt] {
  ///   auto sandbox = rt.sandbox.create();
  ///   sandbox.waitForReady();
  ///   return sandbox.exec("make test").exitCode;
  /// });
  /// // ... later, or from a continuation: op.get()
  /// @endcode
  /// What the body throws ends the operation with that error. The body
  /// must be copyable and must not block on anything but the SDK.
  template <class F>
  auto async(F body) const -> Operation<std::invoke_result_t<F&>> {
    using T = std::invoke_result_t<F&>;
    auto slot = std::make_shared<internal::OperationSlot<T>>();
    auto core = startAsync([slot, body = std::move(body)]() mutable { slot->fill(body); });
    return Operation<T>(std::move(core), std::move(slot));
  }

  /// Calls an endpoint the SDK has not modelled yet, through the pipeline
  /// of every typed call: the service's base URL and credential, retries
  /// (with an Idempotency-Key for a POST), the timeout, deadline and
  /// cancellation of CallOptions, envelope unwrap, the typed errors of
  /// runtools/errors.hpp, and redaction. Throws InvalidArgumentError for a
  /// malformed method or path before anything is sent.
  /// @code
  /// runtools::RawRequest call;
  /// call.method = "POST";
  /// call.path = "/workflows/wf_1/run";
  /// call.body = nlohmann::json{{"input", {{"ticket", 42}}}};
  /// auto answer = rt.request(call);  // answer.data: the run
  /// @endcode
  RawResponse request(const RawRequest& call) const;
  /// The non-blocking form of request().
  Operation<RawResponse> requestAsync(RawRequest call) const;

  /// Game-loop mode (CompletionMode::Poll): runs, on this thread and
  /// without waiting, what the engine has ready: finished transfers, due
  /// timers, new operations, their callbacks and continuations. Call it
  /// once a frame, always from the same thread. Returns how many
  /// operation steps ran. Throws InvalidArgumentError in the other mode.
  std::size_t poll() const;

  /// Resolved base URLs (without `/v1`).
  const std::string& apiUrl() const noexcept;
  const std::string& toolsUrl() const noexcept;
  const std::string& authUrl() const noexcept;
  const std::string& storageUrl() const noexcept;

  /// Internal: a client over already built services.
  explicit RunTools(std::shared_ptr<const internal::Services> services);

 private:
  std::shared_ptr<internal::OperationCore> startAsync(std::function<void()> step) const;

  std::shared_ptr<const internal::Services> services_;

 public:
  /// Sandboxes (`rt.sandbox` in the TypeScript SDK).
  SandboxClient sandbox;
  /// Workspaces and their files.
  WorkspaceClient workspace;
  /// The same client as `workspace`.
  WorkspaceClient workspaces;
  /// Agents, runs and attachments (`rt.agent`).
  AgentClient agent;
  /// Threads (`rt.threads`).
  ThreadClient threads;
  /// Tool Hub (`rt.tools`).
  ToolsClient tools;
  /// Secrets (`rt.secrets`).
  SecretsClient secrets;
  /// OAuth connections, provider configs, API keys, SSH keys, identity (`rt.auth`).
  AuthClient auth;
  /// SSH keys (`rt.sshKeys`; the same as `rt.auth.sshKeys`).
  SshKeyClient sshKeys;
};

}  // namespace runtools
