#include "bench_report.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <numeric>
#include <sstream>

#include "progress.h"

namespace schwarm::cli {

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double sample_stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);  // two-pass: no cancellation for close samples
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

namespace {
std::vector<double> as_double(const std::vector<uint64_t>& v) { return {v.begin(), v.end()}; }
}  // namespace

uint64_t BenchRecord::avg_ns() const {
  return static_cast<uint64_t>(std::llround(mean(as_double(samples_ns))));
}
uint64_t BenchRecord::stddev_ns() const {
  return static_cast<uint64_t>(std::llround(sample_stddev(as_double(samples_ns))));
}

std::vector<double> BenchRecord::samples_ts() const {
  std::vector<double> ts;
  for (uint64_t ns : samples_ns)
    ts.push_back(ns == 0 ? 0.0 : 1e9 * (n_prompt + n_gen) / static_cast<double>(ns));
  return ts;
}
double BenchRecord::avg_ts() const { return mean(samples_ts()); }
double BenchRecord::stddev_ts() const { return sample_stddev(samples_ts()); }

std::string BenchRecord::test_name() const {
  if (n_gen == 0) return "pp" + std::to_string(n_prompt);
  if (n_prompt == 0) return "tg" + std::to_string(n_gen);
  return "pp" + std::to_string(n_prompt) + "+tg" + std::to_string(n_gen);
}

std::string bench_markdown(const std::vector<BenchRecord>& records) {
  const std::vector<std::string> head = {"model",   "size", "params", "backend",
                                         "threads", "test", "t/s",    "peak RSS"};
  std::vector<std::vector<std::string>> rows;
  for (const BenchRecord& r : records) {
    char ts[64], params[32];
    std::snprintf(ts, sizeof ts, "%.2f ± %.2f", r.avg_ts(), r.stddev_ts());
    if (r.model_n_params < 1000000000ull)
      std::snprintf(params, sizeof params, "%.2f M", static_cast<double>(r.model_n_params) / 1e6);
    else
      std::snprintf(params, sizeof params, "%.2f B", static_cast<double>(r.model_n_params) / 1e9);
    rows.push_back({r.model_type, human_bytes(r.model_size), params, r.backend,
                    std::to_string(r.n_threads), r.test_name(), ts, human_bytes(r.peak_rss_bytes)});
  }
  // Column widths in characters (not bytes: "±" is two bytes of UTF-8, one column).
  const auto columns = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  std::vector<size_t> w(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    w[c] = columns(head[c]);
    for (const auto& row : rows) w[c] = std::max(w[c], columns(row[c]));
  }
  // Text columns left-aligned, numbers right-aligned, as llama-bench does.
  const auto left = [](size_t c) { return c == 0 || c == 3 || c == 5; };
  const auto cell = [&](const std::string& s, size_t c) {
    const std::string pad(w[c] - columns(s), ' ');
    std::string r = " ";  // appended piece by piece: GCC 12 warns (-Wrestrict) on " " + s + ...
    r += left(c) ? s : pad;
    r += left(c) ? pad : s;
    r += " |";
    return r;
  };
  std::ostringstream out;
  out << "|";
  for (size_t c = 0; c < head.size(); ++c) out << cell(head[c], c);
  out << "\n|";
  for (size_t c = 0; c < head.size(); ++c)
    out << " " << std::string(w[c] - 1, '-') << (left(c) ? "-" : ":") << " |";
  out << "\n";
  for (const auto& row : rows) {
    out << "|";
    for (size_t c = 0; c < head.size(); ++c) out << cell(row[c], c);
    out << "\n";
  }
  return out.str();
}

nlohmann::ordered_json bench_json(const BenchRecord& r) {
  nlohmann::ordered_json j;
  j["model_filename"] = r.model_filename;
  j["model_type"] = r.model_type;
  j["model_size"] = r.model_size;
  j["model_n_params"] = r.model_n_params;
  j["backend"] = r.backend;
  j["n_threads"] = r.n_threads;
  j["n_prompt"] = r.n_prompt;
  j["n_gen"] = r.n_gen;
  j["test_time"] = r.test_time;
  j["avg_ns"] = r.avg_ns();
  j["stddev_ns"] = r.stddev_ns();
  j["avg_ts"] = r.avg_ts();
  j["stddev_ts"] = r.stddev_ts();
  j["samples_ns"] = r.samples_ns;
  j["samples_ts"] = r.samples_ts();
  j["peak_rss_bytes"] = r.peak_rss_bytes;
  return j;
}

uint64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;  // Linux: kilobytes
}

std::string utc_timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace schwarm::cli
