// Streams an agent's answer as it is produced, then continues the same
// thread with a second prompt.

#include <iostream>

#include <runtools/runtools.hpp>

int main() try {
  runtools::RunTools rt;

  // A managed agent needs no sandbox of its own.
  runtools::AgentDefinition definition;
  definition.slug = "stream-example";
  definition.name = "Streaming example";
  definition.executionMode = "managed";
  definition.systemPrompt = "Answer briefly.";
  definition.maxTokens = 1024;
  rt.agent.upsert(definition);

  auto printEvent = [](const runtools::RunEvent& event) {
    if (event.isTextDelta()) {
      std::cout << event.textDelta() << std::flush;  // text as it arrives
    } else if (event.isToolCall()) {
      std::cout << "\n[tool " << event.toolCall().name << "]\n";
    }
    return true;  // false would stop the stream
  };

  runtools::RunOptions options;
  options.thread = true;
  auto first = rt.agent.run("stream-example", "What is a sandbox?", printEvent, options);
  std::cout << "\n-- " << first.status << ", " << first.usage.totalTokens << " tokens, thread "
            << first.threadId.value_or("(none)") << "\n";

  // Continue the conversation in the same thread.
  runtools::RunOptions next;
  next.threadId = first.threadId;
  auto second = rt.agent.run("stream-example", "And a workspace?", printEvent, next);
  std::cout << "\n-- " << second.status << "\n";

  // The thread keeps both turns.
  auto events = rt.threads.events(*first.threadId);
  std::cout << "thread has " << events.size() << " events\n";
  rt.agent.remove("stream-example");
  return second.completed() ? 0 : 1;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
