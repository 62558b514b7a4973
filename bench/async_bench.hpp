#pragma once

#include <runtools/runtools.hpp>

#include <string>

// Prints `async-1000: threads=T wall_ms=W blocking8_wall_ms=B` (1,000
// concurrent GETs of sandbox `sandboxId` started from one thread, against
// the same calls on 8 blocking threads) and `poll-cost: inflight=100
// p99_us=...` (one poll() of a game-loop client with 100 operations in
// flight, each a wait polling at the default interval).
void printAsyncFigures(const runtools::ClientOptions& options, const std::string& sandboxId);
