#pragma once

/// @file
/// Agent runs: input messages, options, streamed events and results
/// (docs/wire-contract.md §4.5, §4.7, §6.2).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtools/cancellation.hpp"
#include "runtools/common.hpp"
#include "runtools/export.h"
#include "runtools/raw_json.hpp"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// One part of a message: text, or an uploaded attachment.
struct MessagePart {
  std::string type = "text";  ///< `text` or `attachment`
  std::string text;
  std::string attachmentId;

  static MessagePart fromText(std::string text);
  static MessagePart fromAttachment(std::string attachmentId);
};

/// A message of a caller-managed conversation.
struct Message {
  std::string role = "user";  ///< user, assistant or system
  std::string content;
  std::vector<MessagePart> parts;

  static Message user(std::string content, std::vector<MessagePart> parts = {});
  static Message assistant(std::string content);
  static Message system(std::string content);
};

/// What a run is asked: a prompt, or a list of messages.
struct RunInput {
  std::optional<std::string> prompt;
  std::vector<Message> messages;

  RunInput(std::string promptText) : prompt(std::move(promptText)) {}  // NOLINT: implicit by design
  RunInput(const char* promptText) : prompt(promptText) {}             // NOLINT
  RunInput(std::vector<Message> conversation)                          // NOLINT
      : messages(std::move(conversation)) {}
};

/// Options of a run.
struct RunOptions {
  /// Continue this thread.
  std::optional<std::string> threadId;
  /// Start a thread (the platform then returns its id in the result).
  bool thread = false;
  /// `config.maxTokens` (1..128000).
  std::optional<int> maxTokens;
  /// `config.maxTurns` (1..100).
  std::optional<int> maxTurns;
  /// `config.temperature` (0..2).
  std::optional<double> temperature;
  std::optional<nlohmann::json> metadata;
  /// Streams: abandon the run's stream (CancelledError) from another thread.
  /// The run itself goes on server-side unless cancelled with cancel().
  std::optional<CancellationToken> cancellation;
  /// Streams: fail with TimeoutError after this long without any data
  /// (the platform sends keep-alives every 15 s).
  std::chrono::milliseconds idleTimeout{60000};
  /// Non-streamed runs: how long to wait for the answer.
  std::chrono::milliseconds timeout{std::chrono::minutes(15)};
};

/// Token counts of a run.
struct Usage {
  std::int64_t promptTokens = 0;
  std::int64_t completionTokens = 0;
  std::int64_t totalTokens = 0;
  std::int64_t inputTokens = 0;
  std::int64_t outputTokens = 0;
  std::int64_t cachedInputTokens = 0;
  std::int64_t reasoningTokens = 0;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, Usage& usage);

/// An error reported by a run (an `error` frame, or `error` of a result).
struct RunError {
  std::string code;
  std::string message;
};

/// The outcome of a run.
struct RunResult {
  std::string runId;
  std::optional<std::string> threadId;
  std::optional<std::string> rolloutId;
  std::optional<std::string> sandboxId;
  std::string executionMode;
  /// completed, failed, cancelled, registered, dispatched, ... When a stream
  /// was stopped early by its callback: `stopped`.
  std::string status;
  /// The final answer text.
  std::string result;
  Usage usage;
  int iterations = 0;
  /// Set when the run failed or was cancelled.
  std::optional<RunError> error;
  /// The stream was stopped by the callback before the run finished.
  bool stoppedEarly = false;
  RawJson raw;

  bool completed() const noexcept { return status == "completed"; }
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, RunResult& result);

/// A tool call announced by a run.
struct ToolCall {
  std::string id;
  std::string name;
  nlohmann::json input;
};

/// The result of a tool call.
struct ToolResult {
  std::string id;
  /// The output as sent: usually a string.
  nlohmann::json output;
  bool isError = false;
};

/// One event of a streamed run, as it arrives.
struct RunEvent {
  /// run_started, assistant_message_delta, tool_call, tool_result,
  /// assistant_message, error, run_completed, or any type the platform adds.
  std::string type;
  /// The event's JSON payload as received.
  nlohmann::json data;
  std::int64_t sequence = 0;

  bool isTextDelta() const noexcept { return type == "assistant_message_delta"; }
  bool isToolCall() const noexcept { return type == "tool_call"; }
  bool isToolResult() const noexcept { return type == "tool_result"; }
  /// `run_completed` or `error`: the last event of a stream.
  bool isTerminal() const noexcept { return type == "run_completed" || type == "error"; }
  /// The text of an assistant_message_delta (empty otherwise).
  std::string textDelta() const;
  /// The call of a tool_call event.
  ToolCall toolCall() const;
  /// The result of a tool_result event.
  ToolResult toolResult() const;
};

/// Receives each event as it arrives; returns false to stop the stream.
using RunEventHandler = std::function<bool(const RunEvent&)>;

/// A run as listed or looked up.
struct RunInfo {
  std::string id;
  std::string status;  ///< running, completed, failed, cancelled
  std::optional<std::string> agentId;
  std::optional<std::string> sandboxId;
  std::optional<std::string> userId;
  std::optional<std::string> threadId;
  std::optional<std::string> result;
  std::optional<Usage> usage;
  std::optional<RunError> error;
  std::optional<Timestamp> createdAt;
  std::optional<Timestamp> completedAt;
  RawJson raw;
};

RUNTOOLS_EXPORT void from_json(const nlohmann::json& j, RunInfo& info);

/// Filters of AgentClient::runs.
struct RunListOptions {
  std::optional<std::string> agent;
  std::optional<std::string> status;
  std::optional<int> limit;  ///< 1..500
  std::optional<std::string> cursor;
  bool all = false;
};

/// An uploaded attachment, ready to be referenced from a message part.
struct Attachment {
  std::string id;
  std::string threadId;
  std::string filename;
  std::string contentType;
  std::int64_t sizeBytes = 0;
  std::string status;
  RawJson raw;

  /// The message part that references this attachment.
  MessagePart part() const { return MessagePart::fromAttachment(id); }
};

/// Options of AgentClient::createAttachment.
struct CreateAttachmentOptions {
  std::string threadId;
  std::string filename;
  std::string contentType = "application/octet-stream";
  std::optional<std::string> agentSlug;
};

}  // namespace runtools
