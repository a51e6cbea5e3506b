#pragma once
// A one-line progress bar on stderr ("loading NAME [#####.....]  45%  1.2 / 2.7 GiB"), drawn only
// when stderr is a terminal and not silenced (-q); redrawn at most every 100 ms, erased by
// finish() (or the destructor) so the output that follows starts on a clean line.
#include <chrono>
#include <cstdint>
#include <string>

namespace schwarm::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, bool quiet);  // draws nothing when quiet or stderr is not a tty
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(uint64_t done, uint64_t total);
  void finish();
  bool enabled() const { return enabled_; }

  // The bar's text for `width` columns of bar (no terminal codes): exposed for tests.
  static std::string render(const std::string& label, uint64_t done, uint64_t total, int width);

 private:
  std::string label_;
  bool enabled_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// "512 B", "1.50 KiB", "2.73 GiB".
std::string human_bytes(uint64_t n);

}  // namespace schwarm::cli
