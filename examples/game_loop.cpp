// A fixed 60 Hz game loop that drives RunTools without ever blocking a frame.
//
// The client runs in game-loop mode (CompletionMode::Poll): nothing happens
// in the background; each frame calls rt.poll(), which advances every
// operation in flight and runs their callbacks on this thread. Each step of
// the script below starts an operation and later frames check whether it is
// done: create a sandbox, wait for it, run a few commands, stream an agent
// run, upload a file with a progress bar, destroy the sandbox.

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <runtools/runtools.hpp>

using Clock = std::chrono::steady_clock;

namespace {

// One step of the script: starts its operation, then reports each frame
// whether it has finished (throwing the operation's error if it failed).
struct Step {
  std::string name;
  std::function<void()> start;
  std::function<bool()> finished;
};

// Handles of the operations in flight, checked once a frame.
struct World {
  runtools::Operation<runtools::Sandbox> created;
  std::optional<runtools::Sandbox> sandbox;
  runtools::Operation<runtools::SandboxInfo> ready;
  std::vector<runtools::Operation<runtools::ExecResult>> commands;
  runtools::Operation<runtools::RunResult> run;
  runtools::Operation<runtools::FileEntry> uploaded;
  runtools::Operation<void> destroyed;
  std::string progressBar;
};

std::string bar(const runtools::TransferProgress& progress) {
  const double total = static_cast<double>(progress.bytesTotal.value_or(progress.bytesDone));
  const int filled = total > 0 ? static_cast<int>(20.0 * progress.bytesDone / total) : 20;
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(20 - filled), '.') + "]";
}

std::vector<Step> script(const runtools::RunTools& rt, World& w) {
  return {
      {"create a sandbox", [&] { w.created = rt.sandbox.createAsync(); },
       [&] {
         if (!w.created.done()) return false;
         w.sandbox = w.created.get();
         return true;
       }},
      {"wait until it is ready", [&] { w.ready = w.sandbox->waitForReadyAsync(); },
       [&] { return w.ready.done() && (w.ready.get(), true); }},
      {"run three commands",
       [&] {
         for (const char* command : {"uname -s", "echo $((6 * 7))", "ls / | wc -l"})
           w.commands.push_back(w.sandbox->execAsync(command));
       },
       [&] {
         for (const auto& op : w.commands)
           if (!op.done()) return false;
         for (const auto& op : w.commands)
           std::cout << "  $ " << op.get().stdoutText;
         return true;
       }},
      {"stream an agent run",
       [&] {
         runtools::AgentDefinition agent;
         agent.slug = "game-loop-example";
         agent.name = "Game loop example";
         agent.executionMode = "managed";
         agent.systemPrompt = "Answer briefly.";
         // The upsert, then the run, both without blocking this loop.
         w.run = rt.async([rt, agent] { return rt.agent.upsert(agent); }).then([rt](auto) {
           return rt.agent.run("game-loop-example", "Say hello to the game.",
                               [](const runtools::RunEvent& event) {
                                 if (event.isTextDelta()) {
                                   std::cout << event.textDelta() << std::flush;
                                 }
                                 return true;
                               });
         });
       },
       [&] {
         if (!w.run.done()) return false;
         std::cout << "\n  run " << w.run.get().status << "\n";
         return true;
       }},
      {"upload a file with a progress bar",
       [&] {
         runtools::TransferOptions transfer;
         transfer.onProgress = [&w](const runtools::TransferProgress& progress) {
           w.progressBar = bar(progress);  // runs on this thread, inside poll()
         };
         w.uploaded = rt.async([rt, transfer] {
           runtools::CreateWorkspaceOptions create;
           create.name = "game-loop-example";
           const auto workspace = rt.workspace.create(create);
           auto entry = rt.workspace.files(workspace.id)
                            .upload("/assets/level.bin", std::string(8 << 20, 'x'), transfer);
           rt.workspace.remove(workspace.id);
           return entry;
         });
       },
       [&] {
         if (!w.progressBar.empty()) std::cout << "\r  " << w.progressBar << std::flush;
         if (!w.uploaded.done()) return false;
         std::cout << " " << w.uploaded.get().size << " bytes\n";
         return true;
       }},
      {"destroy the sandbox", [&] { w.destroyed = w.sandbox->destroyAsync(); },
       [&] { return w.destroyed.done() && (w.destroyed.get(), true); }},
  };
}

}  // namespace

int main() try {
  runtools::ClientOptions options;
  options.completions = runtools::CompletionMode::Poll;  // the game-loop mode
  runtools::RunTools rt(options);

  World world;
  const auto steps = script(rt, world);
  std::size_t current = 0;
  bool started = false;

  constexpr auto kFrame = std::chrono::microseconds(1'000'000 / 60);
  long frames = 0;
  double longestFrameMs = 0;
  auto nextFrame = Clock::now();
  while (current < steps.size()) {
    const auto frameStart = Clock::now();
    rt.poll();  // advances every operation; their callbacks run here
    if (!started) {
      std::cout << "frame " << frames << ": " << steps[current].name << "\n";
      steps[current].start();
      started = true;
    } else if (steps[current].finished()) {
      ++current;
      started = false;
    }
    // ... the game's own update and rendering would go here ...
    const std::chrono::duration<double, std::milli> spent = Clock::now() - frameStart;
    longestFrameMs = std::max(longestFrameMs, spent.count());
    ++frames;
    nextFrame += kFrame;
    std::this_thread::sleep_until(nextFrame);
  }
  std::cout << "done: frames=" << frames << " longest_frame_ms=" << longestFrameMs << "\n";
  return 0;
} catch (const runtools::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
