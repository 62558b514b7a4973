// runtools agent run|list, runtools thread list|events

#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>
#include <runtools/agent.hpp>
#include <runtools/errors.hpp>
#include <runtools/thread.hpp>

#include "context.hpp"
#include "errors.hpp"

namespace rtcli {

namespace {

// Stops the run server-side after Ctrl-C abandoned its stream (best effort).
void cancelRun(Context& ctx, const std::string& runId) {
  if (runId.empty()) return;
  try {
    ctx.cleanupClient().agent.cancel(runId);
  } catch (const runtools::Error&) {
    warn("could not cancel run " + runId + ": " + describeCurrentException().message);
  }
}

void addRun(CLI::App& group, Context& ctx) {
  struct Args {
    std::string slug, prompt, thread;
    bool newThread = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = group.add_subcommand("run", "Run an agent, printing its answer as it streams");
  cmd->add_option("SLUG", args->slug, "Agent slug or id")->required();
  cmd->add_option("PROMPT", args->prompt, "What to ask")->required();
  auto* thread = cmd->add_option("--thread", args->thread, "Continue this thread");
  cmd->add_flag("--new-thread", args->newThread, "Start a new thread")->excludes(thread);
  cmd->callback([args, &ctx] {
    runtools::RunOptions options;
    if (!args->thread.empty()) options.threadId = args->thread;
    options.thread = args->newThread;
    options.cancellation = ctx.cancellation();
    const bool json = ctx.global.json;
    std::string runId;
    bool endsWithNewline = true;
    auto onEvent = [&](const runtools::RunEvent& event) {
      if (runId.empty() && event.data.is_object()) runId = event.data.value("runId", "");
      if (json) return true;
      if (event.isTextDelta()) {
        const std::string text = event.textDelta();
        if (!text.empty()) endsWithNewline = text.back() == '\n';
        return writeFd(STDOUT_FILENO, text);
      }
      if (event.isToolCall()) std::cerr << "[tool " << event.toolCall().name << "]\n";
      return true;
    };
    runtools::RunResult result;
    try {
      result = ctx.client().agent.run(args->slug, args->prompt, onEvent, options);
    } catch (const runtools::CancelledError&) {
      cancelRun(ctx, runId);
      throw;
    }
    if (json) {
      ctx.out().document(result.raw);
    } else {
      if (!endsWithNewline) writeFd(STDOUT_FILENO, "\n");
      if (result.threadId) std::cerr << "thread " << *result.threadId << "\n";
    }
    if (!result.completed() && !result.stoppedEarly) {
      const std::string code = result.error ? result.error->code : "run_" + result.status;
      const std::string message =
          result.error ? result.error->message : "the run ended " + result.status;
      throw CommandError(code, message + " (run " + result.runId + ")");
    }
  });
}

void addAgentList(CLI::App& group, Context& ctx) {
  auto* cmd = group.add_subcommand("list", "List agents");
  cmd->callback([&ctx] {
    const auto agents = ctx.client().agent.list();
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& a : agents) {
      // The agent's own environment may hold credentials: never printed.
      nlohmann::json raw = a.raw;
      if (raw.is_object()) {
        raw.erase("envJson");
        raw.erase("env");
      }
      doc.push_back(raw);
      rows.push_back(
          {a.slug, a.name, a.model, a.executionMode, a.visibility, std::to_string(a.version)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"SLUG", "NAME", "MODEL", "MODE", "VISIBILITY", "VERSION"}, rows,
                      "No agents.");
    });
  });
}

void addThreadList(CLI::App& group, Context& ctx) {
  auto archived = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand("list", "List threads");
  cmd->add_flag("--archived", *archived, "Include archived threads");
  cmd->callback([archived, &ctx] {
    runtools::ThreadListOptions options;
    options.archived = *archived;
    const auto threads = ctx.client().threads.list(options);
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& t : threads) {
      doc.push_back(t.raw);
      rows.push_back({t.id, t.agentId, t.title, timeText(t.updatedAt)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"ID", "AGENT", "TITLE", "UPDATED"}, rows, "No threads.");
    });
  });
}

std::string eventSummary(const runtools::ThreadEvent& event) {
  if (!event.payload.is_object()) return "";
  for (const char* field : {"content", "text", "result", "name", "message"}) {
    const auto it = event.payload.find(field);
    if (it != event.payload.end() && it->is_string()) {
      std::string text = it->get<std::string>();
      for (char& c : text)
        if (c == '\n') c = ' ';
      return text.size() > 80 ? text.substr(0, 77) + "..." : text;
    }
  }
  return "";
}

void addThreadEvents(CLI::App& group, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto* cmd = group.add_subcommand("events", "Show the durable events of a thread");
  cmd->add_option("ID", *id, "Thread id")->required();
  cmd->callback([id, &ctx] {
    const auto events = ctx.client().threads.events(*id);
    nlohmann::json doc = nlohmann::json::array();
    std::vector<Row> rows;
    for (const auto& e : events) {
      doc.push_back(e.raw);
      rows.push_back({std::to_string(e.sequence), e.type, timeText(e.createdAt), eventSummary(e)});
    }
    ctx.out().show(doc, [&] {
      ctx.out().table({"SEQ", "TYPE", "CREATED", "SUMMARY"}, rows, "No events.");
    });
  });
}

}  // namespace

void addAgentCommands(CLI::App& root, Context& ctx) {
  CLI::App* agent = addGroup(root, "agent", "Agents and their runs");
  addRun(*agent, ctx);
  addAgentList(*agent, ctx);
  CLI::App* thread = addGroup(root, "thread", "Threads: durable conversations with agents");
  addThreadList(*thread, ctx);
  addThreadEvents(*thread, ctx);
}

}  // namespace rtcli
