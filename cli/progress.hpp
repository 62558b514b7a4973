#pragma once

// The progress bar of uploads and downloads: drawn on stderr when stderr is
// a terminal, nothing at all otherwise (pipes, files, --json).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <runtools/workspace.hpp>

namespace rtcli {

class ProgressBar {
 public:
  /// `enabled` false draws nothing (see progressWanted()).
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::uint64_t done, std::optional<std::uint64_t> total);
  /// Draws the final state and ends the line.
  void finish();

  /// TransferOptions whose onProgress feeds this bar.
  runtools::TransferOptions transferOptions();

 private:
  void draw();

  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  std::uint64_t done_ = 0;
  std::optional<std::uint64_t> total_;
  std::chrono::steady_clock::time_point lastDraw_;
};

/// stderr is a terminal and the output is not --json.
bool progressWanted(bool json);

}  // namespace rtcli
