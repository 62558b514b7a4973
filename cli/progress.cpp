#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "output.hpp"

namespace rtcli {

namespace {

constexpr int kBarWidth = 30;
constexpr std::chrono::milliseconds kRedrawEvery{100};

}  // namespace

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled) {}

ProgressBar::~ProgressBar() {
  // A transfer that failed leaves the bar where it stopped, on its own line.
  if (drawn_ && !finished_) writeFd(STDERR_FILENO, "\n");
}

void ProgressBar::update(std::uint64_t done, std::optional<std::uint64_t> total) {
  done_ = done;
  total_ = total;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - lastDraw_ < kRedrawEvery) return;
  lastDraw_ = now;
  draw();
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  if (total_) done_ = std::max(done_, *total_);
  draw();
  finished_ = true;
  writeFd(STDERR_FILENO, "\n");
}

runtools::TransferOptions ProgressBar::transferOptions() {
  runtools::TransferOptions options;
  if (enabled_) {
    options.onProgress = [this](const runtools::TransferProgress& progress) {
      update(progress.bytesDone, progress.bytesTotal);
    };
  }
  return options;
}

void ProgressBar::draw() {
  std::string line = "\r" + label_ + " ";
  if (total_ && *total_ > 0) {
    const double fraction =
        std::min(1.0, static_cast<double>(done_) / static_cast<double>(*total_));
    const int filled = static_cast<int>(fraction * kBarWidth);
    line += "[" + std::string(static_cast<std::size_t>(filled), '=') +
            std::string(static_cast<std::size_t>(kBarWidth - filled), ' ') + "] ";
    char percent[8];
    std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
    line += percent;
    line += "  " + bytesText(done_) + " / " + bytesText(*total_);
  } else {
    line += bytesText(done_);
  }
  line += "\x1b[K";  // clear what a longer earlier line left
  writeFd(STDERR_FILENO, line);
  drawn_ = true;
}

bool progressWanted(bool json) {
  return !json && ::isatty(STDERR_FILENO) == 1;
}

}  // namespace rtcli
