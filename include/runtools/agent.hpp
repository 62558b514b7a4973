#pragma once

/// @file
/// Agents and their runs (`rt.agent`; docs/wire-contract.md §4.4–4.7).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/http.hpp"
#include "runtools/operation.hpp"
#include "runtools/page.hpp"
#include "runtools/raw_json.hpp"
#include "runtools/run.hpp"
#include "runtools/thread.hpp"

namespace runtools::internal {
class ServiceClient;
}  // namespace runtools::internal

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// A workspace or sandbox attached to an agent.
struct AgentResource {
  std::string type;  ///< workspace or sandbox
  std::string resourceId;
  std::optional<std::string> alias;
  nlohmann::json config;
};

/// An agent as reported by the platform.
struct Agent {
  std::string id;
  std::string orgId;
  std::string slug;
  std::string name;
  std::string description;
  std::string model;
  std::string executionMode;  ///< in_sandbox, managed, local-mac
  std::string visibility;     ///< private, org, public
  std::string systemPrompt;
  /// Tools: names, or objects.
  std::vector<nlohmann::json> tools;
  std::optional<std::string> sandboxId;
  std::optional<std::string> sandboxSlug;
  std::optional<std::string> targetDeviceId;
  std::string status;
  /// Model settings (maxIterations, maxTokens, temperature, ...).
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json providerOptions = nlohmann::json::object();
  std::map<std::string, std::string> env;
  std::vector<AgentResource> resources;
  int version = 0;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> updatedAt;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, Agent& agent);

/// An agent definition for AgentClient::upsert, or a partial change for
/// AgentClient::update (unset fields are left as they are). Validated
/// against the documented ranges before anything is sent.
struct AgentDefinition {
  /// `^[a-z0-9][a-z0-9-]*[a-z0-9]$` or one character `[a-z0-9]`.
  std::string slug;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> model;
  std::optional<std::string> systemPrompt;
  /// Tool names (strings) or tool objects.
  std::optional<std::vector<nlohmann::json>> tools;
  /// Sandbox id, name or rt-config tag; required for `in_sandbox`.
  std::optional<std::string> sandbox;
  /// `in_sandbox` (the platform's default), `managed` or `local-mac`.
  std::optional<std::string> executionMode;
  /// Required for `local-mac`.
  std::optional<std::string> targetDeviceId;
  std::optional<std::vector<AgentResource>> resources;
  std::optional<std::map<std::string, std::string>> env;
  std::optional<int> maxIterations;        ///< 1..100
  std::optional<int> maxTokens;            ///< 1..128000
  std::optional<double> temperature;       ///< 0..2
  std::optional<double> topP;              ///< 0..1
  std::optional<int> topK;                 ///< positive
  std::optional<double> presencePenalty;   ///< -2..2
  std::optional<double> frequencyPenalty;  ///< -2..2
  std::optional<std::int64_t> seed;
  std::optional<std::vector<std::string>> stopSequences;
  std::optional<std::string> toolChoice;
  std::optional<nlohmann::json> providerOptions;
  std::optional<std::string> color;
  std::optional<std::string> avatarSeed;
  std::optional<std::string> tier;  ///< platform or byok
  std::optional<std::string> projectId;
  std::optional<std::string> defaultFolderHint;
};

/// Checks a definition against the documented ranges and rules; throws
/// InvalidArgumentError naming the field. `complete` applies the rules of a
/// whole definition (slug required, `in_sandbox` needs a sandbox).
RUNTOOLS_EXPORT void validateAgentDefinition(const AgentDefinition& definition, bool complete);

/// The answer to AgentClient::upsert.
struct UpsertAgentResult {
  std::string id;
  std::string slug;
  std::string action;  ///< created or updated
  int version = 0;
  std::optional<std::string> sandboxId;
  std::optional<std::string> targetDeviceId;
  std::string endpoint;
};

/// Agents, runs and attachments (`rt.agent`).
///
/// @par Thread safety
/// Safe to use from several threads at once.
class AgentClient {
 public:
  explicit AgentClient(std::shared_ptr<internal::ServiceClient> api);

  std::vector<Agent> list() const;
  /// Creates the agent `definition.slug`, or updates it when it exists.
  UpsertAgentResult upsert(const AgentDefinition& definition) const;
  /// The TypeScript SDK's name for upsert.
  UpsertAgentResult create(const AgentDefinition& definition) const { return upsert(definition); }
  Agent get(const std::string& slug) const;
  /// Changes the fields set in `patch`.
  Agent update(const std::string& slug, const AgentDefinition& patch) const;
  void remove(const std::string& slug) const;
  /// `private`, `org` or `public`.
  Agent setVisibility(const std::string& slug, const std::string& visibility) const;

  /// Runs `agent` (slug or id) and waits for the whole answer (no stream).
  RunResult run(const std::string& agent, const RunInput& input,
                const RunOptions& options = {}) const;
  /// Runs `agent` as a stream: `onEvent` receives each event as it arrives
  /// and may return false to stop early (the result then has
  /// `stoppedEarly`). Returns the final result. A stream that breaks off
  /// before its final event raises StreamError; a stream that ends with an
  /// `error` frame returns a result whose status is `failed` or `cancelled`.
  RunResult run(const std::string& agent, const RunInput& input, const RunEventHandler& onEvent,
                const RunOptions& options = {}) const;
  /// Streams the run and returns its final result.
  RunResult stream(const std::string& agent, const RunInput& input,
                   const RunOptions& options = {}) const;
  /// The non-blocking forms of run(): `onEvent` runs where completions run
  /// (inside RunTools::poll() in game-loop mode), as each event arrives.
  Operation<RunResult> runAsync(const std::string& agent, const RunInput& input,
                                const RunOptions& options = {}) const;
  Operation<RunResult> runAsync(const std::string& agent, const RunInput& input,
                                RunEventHandler onEvent, const RunOptions& options = {}) const;

  RunInfo getRun(const std::string& runId) const;
  /// Cancels a running run; returns its status (`cancelled`).
  std::string cancel(const std::string& runId) const;
  /// Every run matching `filters` (newest first), following cursors.
  std::vector<RunInfo> runs(const RunListOptions& filters = {}) const;
  Page<RunInfo> runsPage(const RunListOptions& filters = {}) const;
  /// The runs as a lazy range, one page in memory at a time.
  PageRange<RunInfo> iterateRuns(const RunListOptions& filters = {}) const;
  /// Threads of agent `slug`.
  std::vector<Thread> threads(const std::string& slug) const;
  /// The threads of agent `slug` as a lazy range.
  PageRange<Thread> iterateThreads(const std::string& slug) const;

  /// Creates an attachment, uploads `bytes` to the URL the platform returns
  /// (with its method and headers, never with your credentials) and
  /// completes it. Reference it from a message with Attachment::part().
  Attachment createAttachment(const CreateAttachmentOptions& options, std::string_view bytes) const;
  /// The same, streaming the upload from a local file.
  Attachment createAttachmentFromFile(const CreateAttachmentOptions& options,
                                      const std::string& localFile) const;

 private:
  Attachment attach(const CreateAttachmentOptions& options, std::shared_ptr<BodySource> body) const;

  std::shared_ptr<internal::ServiceClient> api_;
};

}  // namespace runtools
