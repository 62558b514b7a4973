#pragma once

// Prints `cancel-latency: p50_ms=... p99_ms=... max_ms=...` over `rounds`
// cancellations in each state, and how far idle timeouts overshoot.
void printCancelLatency(int rounds);
