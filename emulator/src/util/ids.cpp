#include "util/ids.hpp"

#include <sys/random.h>

#include <cerrno>
#include <random>
#include <vector>

namespace rtemu {
namespace {

void fillRandom(unsigned char* buf, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t got = ::getrandom(buf + done, len - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // getrandom is always available on supported kernels; fall back to random_device.
      std::random_device rd;
      for (; done < len; ++done)
        buf[done] = static_cast<unsigned char>(rd() & 0xFFu);
      return;
    }
    done += static_cast<std::size_t>(got);
  }
}

}  // namespace

std::string randomHex(std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::vector<unsigned char> bytes((n + 1) / 2);
  fillRandom(bytes.data(), bytes.size());
  std::string out;
  out.reserve(n);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  out.resize(n);
  return out;
}

std::string randomAlnum(std::size_t n) {
  return randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n);
}

std::string randomLowerAlnum(std::size_t n) {
  return randomFrom("abcdefghijklmnopqrstuvwxyz0123456789", n);
}

std::string randomFrom(const std::string& alphabet, std::size_t n) {
  const unsigned size = static_cast<unsigned>(alphabet.size());
  const unsigned limit = 256 - (256 % size);  // rejection bound for a uniform draw
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    fillRandom(buf, sizeof(buf));
    for (unsigned char b : buf) {
      if (b >= limit) continue;
      out.push_back(alphabet[b % size]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string randomUuid() {
  unsigned char b[16];
  fillRandom(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kDigits[b[i] >> 4]);
    out.push_back(kDigits[b[i] & 0x0F]);
  }
  return out;
}

std::string newRequestId() {
  return "req_" + randomHex(24);
}
std::string newSandboxId() {
  return "sandbox-" + randomHex(12);
}
std::string newActivityId() {
  return "act_" + randomAlnum(20);
}
std::string newApiKey() {
  return "rt_test_" + randomAlnum(32);
}
std::string newWorkosOrgId() {
  return "org_01H" + randomFrom("0123456789ABCDEFGHJKMNPQRSTVWXYZ", 23);
}
std::string newAgentId() {
  return "agt_" + randomLowerAlnum(20);
}
std::string newRunId() {
  return "run_" + randomLowerAlnum(20);
}
std::string newThreadId() {
  return "thr_" + randomLowerAlnum(20);
}
std::string newRolloutId() {
  return "rol_" + randomLowerAlnum(20);
}
std::string newToolCallId() {
  return "call_" + randomLowerAlnum(12);
}

}  // namespace rtemu
