// Random identifiers and secrets used by the emulator (ids, request ids, API keys).
#pragma once

#include <cstddef>
#include <string>

namespace rtemu {

// Lower-case hexadecimal string of `n` characters from the OS CSPRNG.
std::string randomHex(std::size_t n);
// String of `n` characters drawn uniformly from [A-Za-z0-9] (the OS CSPRNG).
std::string randomAlnum(std::size_t n);
// String of `n` characters drawn uniformly from [a-z0-9] (the OS CSPRNG).
std::string randomLowerAlnum(std::size_t n);
// String of `n` characters drawn uniformly from `alphabet` (2..256 distinct bytes; the OS
// CSPRNG).
std::string randomFrom(const std::string& alphabet, std::size_t n);
// Random (version 4) UUID in canonical lower-case form.
std::string randomUuid();

std::string newRequestId();    // "req_" + 24 hex
std::string newSandboxId();    // "sandbox-" + 12 hex
std::string newActivityId();   // "act_" + 20 alnum
std::string newApiKey();       // "rt_test_" + 32 alnum
std::string newWorkosOrgId();  // "org_01H" + 23 Crockford base32 (ULID-like)
std::string newAgentId();      // "agt_" + 20 lower-case alnum
std::string newRunId();        // "run_" + 20 lower-case alnum
std::string newThreadId();     // "thr_" + 20 lower-case alnum
std::string newRolloutId();    // "rol_" + 20 lower-case alnum
std::string newToolCallId();   // "call_" + 12 lower-case alnum

}  // namespace rtemu
