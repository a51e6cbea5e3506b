// Drawing, quantizing and streaming the planned tensors. A tensor is made in chunks of whole
// rows (about 1M values), each from its own seed (the run's seed, the tensor's name, the chunk's
// index), so the file is the same whatever the thread count; chunks are drawn and quantized in
// parallel and written in order, and memory stays at a few chunks per thread.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "synth.h"
#include "schwarm/error.h"

namespace schwarm::synth {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// Approximately N(0, sigma): the sum of four 16-bit uniforms, centred and scaled to unit variance
// (Irwin-Hall; tails end at 2*sqrt(3) sigma, which is all random weights need).
void draw(const Init& init, uint64_t seed, std::span<float> out) {
  if (init.sigma == 0.0f) {
    std::fill(out.begin(), out.end(), init.constant);
    return;
  }
  const float scale = init.sigma * std::sqrt(3.0f) / 65536.0f;
  uint64_t state = seed;
  for (float& x : out) {
    const uint64_t r = splitmix64(state);
    const int64_t sum = static_cast<int64_t>(r & 0xFFFF) + static_cast<int64_t>((r >> 16) & 0xFFFF) +
                        static_cast<int64_t>((r >> 32) & 0xFFFF) + static_cast<int64_t>(r >> 48) - 2 * 65535;
    x = init.constant + scale * static_cast<float>(sum);
  }
}

struct Chunk {
  int64_t first_row = 0, rows = 0;
  std::vector<float> values;
  std::vector<uint8_t> bytes;
};

void make_chunk(const PlannedTensor& t, uint64_t seed, int64_t index, int64_t cols, Chunk& c) {
  const TypeTraits& tt = type_traits(t.info.type);
  const int64_t n = c.rows * cols;
  c.values.resize(static_cast<size_t>(n));
  uint64_t s = seed ^ fnv1a(t.info.name) ^ (static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull);
  draw(t.init, splitmix64(s), c.values);
  c.bytes.resize(static_cast<size_t>(*tensor_nbytes(t.info.type, std::vector<int64_t>{c.rows, cols})));
  tt.quantize(c.values.data(), c.bytes.data(), n);
}

void check_space(const std::string& path, uint64_t need) {
  std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  const auto space = std::filesystem::space(dir, ec);
  if (ec) throw FileError(path, "cannot query the free space of " + dir.string() + ": " + ec.message());
  if (space.available < need) {
    const auto gib = [](uint64_t b) { return std::to_string(static_cast<double>(b) / double(1ull << 30)).substr(0, 6); };
    throw FileError(path, "needs " + gib(need) + " GiB but only " + gib(space.available) + " GiB are free in " +
                              dir.string() + " (use fewer --layers)");
  }
}

}  // namespace

void write_plan(const Plan& plan, const std::string& path, uint64_t seed, int threads, const Progress& progress) {
  threads = std::max(1, threads);
  for (const PlannedTensor& t : plan.tensors)
    if (!type_traits(t.info.type).quantize)
      throw Error("tensor '" + t.info.name + "': no quantizer for type " + std::string(tensor_type_name(t.info.type)));
  check_space(path, plan.data_bytes);
  std::vector<GgufTensorInfo> infos;
  for (const PlannedTensor& t : plan.tensors) infos.push_back(t.info);
  GgufStreamWriter out(path, plan.metadata, std::move(infos));
  uint64_t done = 0;
  for (const PlannedTensor& t : plan.tensors) {
    const int64_t cols = t.info.shape.back();
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < t.info.shape.size(); ++d) rows *= t.info.shape[d];
    const int64_t rows_per_chunk = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(cols, 1));
    const int64_t n_chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
    std::vector<Chunk> batch(static_cast<size_t>(threads) * 2);
    for (int64_t first = 0; first < n_chunks; first += static_cast<int64_t>(batch.size())) {
      const int64_t count = std::min<int64_t>(static_cast<int64_t>(batch.size()), n_chunks - first);
      for (int64_t i = 0; i < count; ++i) {
        Chunk& c = batch[static_cast<size_t>(i)];
        c.first_row = (first + i) * rows_per_chunk;
        c.rows = std::min(rows_per_chunk, rows - c.first_row);
      }
      std::atomic<int64_t> next{0};
      std::exception_ptr error;
      std::mutex error_mutex;
      auto work = [&] {
        try {
          for (int64_t i; (i = next.fetch_add(1)) < count;)
            make_chunk(t, seed, first + i, cols, batch[static_cast<size_t>(i)]);
        } catch (...) {
          const std::lock_guard<std::mutex> lock(error_mutex);
          error = std::current_exception();
        }
      };
      std::vector<std::thread> pool;
      for (int w = 1; w < std::min<int64_t>(threads, count); ++w) pool.emplace_back(work);
      work();
      for (std::thread& th : pool) th.join();
      if (error) std::rethrow_exception(error);
      for (int64_t i = 0; i < count; ++i) out.append(batch[static_cast<size_t>(i)].bytes);
    }
    done += t.nbytes;
    if (progress) progress(done, plan.data_bytes);
  }
  out.finish();
}

}  // namespace schwarm::synth
