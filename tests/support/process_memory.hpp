#pragma once

// The process's own resident-set figures (Linux /proc), for measuring what a
// transfer costs in memory without timing anything.

#include <fstream>
#include <string>

namespace runtools::test {

/// A field of /proc/self/status in kB ("VmHWM", "VmRSS"); -1 when absent.
inline long statusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

/// Resets the peak resident set (VmHWM) to the current one; false if the
/// kernel does not allow it.
inline bool resetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace runtools::test
