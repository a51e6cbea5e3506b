// cpu: matmul and the SwiGLU FFN. Output rows are split among threads in blocks ("work items");
// the kernel regime is chosen per call by use_gemv (kernels.h):
// - gemv (n <= kGemvMaxTokens): fused decode + dot, the weight streams from memory once and is
//   never written anywhere; rows per item sized by weight bytes so the threads share evenly.
// - prefill: a panel of rows is decoded to f32 once into a thread-local buffer, then the
//   register-blocked micro-kernel multiplies it with all n activation rows.
// The FFN (and the MoE layer, cpu_moe.cpp) run as groups: gate, up and SwiGLU of a row block in
// one item, so each FFN is two pool jobs whatever the number of experts.
#include <algorithm>
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/q4k_x16.h"
#include "backend/cpu/row_decode.h"
#include "backend/ref/op_common.h"
#include "quant/act_q8k.h"

namespace schwarm {

using namespace backend_detail;

namespace {
// The decode regime: few tokens, and a fused kernel for the type.
bool use_gemv(const cpu::KernelTable& k, TensorType type, int64_t n) {
  return n <= cpu::kGemvMaxTokens && k.has_gemv(type);
}
bool use_gemm_q8(const cpu::KernelTable& k, TensorType type, int64_t n) {
  return n >= cpu::kGemmQ8MinTokens && k.gemm_q8 && k.has_gemm_q8(type);
}
// The integer gemv kernels take the rows the activation rounding applies to (whole 256-blocks for
// the K-quants, whole 32s for the 32-block types).
bool use_gemv_q8(const cpu::KernelTable& k, TensorType type, int64_t cols) {
  return k.gemv_q8 && k.has_gemv_q8(type) && quant::act_q8k_applies(type, cols);
}
}  // namespace

int64_t CpuBackend::rows_per_item(const TensorView& w, int64_t cols, int64_t n) const {
  int64_t rows;
  if (use_gemv(k_, w.type, n)) {
    // About 64 KiB of weight per item (1..1024 rows): long enough contiguous runs for the
    // prefetchers (with 16 KiB items Qwen3-30B-A3B decoded ~20 % slower on a Zen 4 EPYC, where the
    // kernels' compute and the memory stalls otherwise add up), still enough items to balance.
    const size_t rb = row_bytes(w, cols);
    rows = std::clamp<int64_t>(static_cast<int64_t>(65536 / std::max<size_t>(rb, 1)), 1, 1024);
  } else if (quantized_activations() && quant::act_q8k_applies(w.type, cols) && use_gemm_q8(k_, w.type, n)) {
    // The integer GEMM packs 16 rows at a time (32 per pass): items of 16 to 64 rows, about 64 KiB
    // of 8-bit panel.
    rows = std::clamp<int64_t>(65536 / std::max<int64_t>(cols, 1), 16, 64) / 16 * 16;
  } else {
    // A panel of up to 64 rows and 256 KiB of f32 (L2, beside a block of activations), a multiple
    // of the micro-kernel's 4 rows.
    rows = std::clamp<int64_t>(65536 / std::max<int64_t>(cols, 1), 4, 64) / 4 * 4;
  }
  // A repacked weight (prepare_weights) is multiplied by whole groups of cpu::kQ4kX16Rows rows.
  if (quantized_activations() && repacked_.find(w))
    rows = std::max<int64_t>(rows / cpu::kQ4kX16Rows, 1) * cpu::kQ4kX16Rows;
  return rows;
}

bool CpuBackend::int8_input(TensorType type, int64_t n, int64_t cols) const {
  return quantized_activations() && quant::act_q8k_applies(type, cols) &&
         (use_gemm_q8(k_, type, n) || use_gemv_q8(k_, type, cols));  // matmul_rows' integer kernels
}

CpuBackend::Input CpuBackend::prepare_input(TensorType type, const float* x, int64_t n, int64_t cols,
                                            InputScratch& s) {
  if (!quantized_activations() || !quant::act_q8k_applies(type, cols)) return {x, nullptr};
  // Rows in parallel where there are many (prefill; from inside a pool task this runs serially).
  if (int8_input(type, n, cols)) {
    cpu::size_q8_acts(n, cols, s.q);
    pool_.parallel_for(n, 8, [&](int64_t t0, int64_t t1) { cpu::prepare_q8_act_rows(type, x, t0, t1, s.q, k_.quantize_act); });
    return {x, &s.q};
  }
  s.xhat.resize(static_cast<size_t>(n * cols));
  pool_.parallel_for(n, 8, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) quant::round_trip_act_q8k(x + t * cols, cols, s.xhat.data() + t * cols);
  });
  return {s.xhat.data(), nullptr};
}

void CpuBackend::matmul_rows(const TensorView& w, int64_t cols, int64_t r0, int64_t nr, const Input& in, int64_t n,
                             float* y, int64_t ldy) const {
  const size_t rbytes = row_bytes(w, cols);
  const uint8_t* src = w.data.data() + static_cast<size_t>(r0) * rbytes;
  if (in.q) {
    // A repacked Q4_K matrix (prepare_weights): the item's whole groups of 16 rows by the kernels
    // for that layout; any other rows by the rest of this function, from the copy where they lie
    // past the matrix's last whole group (stored layout there), else from the stored bytes.
    if (const uint8_t* rp = r0 % cpu::kQ4kX16Rows == 0 ? repacked_.find(w) : nullptr) {
      const int64_t groups_end = w.shape[0] / cpu::kQ4kX16Rows * cpu::kQ4kX16Rows;
      const int64_t whole =
          std::max<int64_t>(0, std::min(nr, groups_end - r0)) / cpu::kQ4kX16Rows * cpu::kQ4kX16Rows;
      if (whole > 0) {
        const uint8_t* g = rp + static_cast<size_t>(r0) * rbytes;
        if (n >= cpu::kGemmQ8MinTokens)
          k_.gemm_q4k_x16(g, whole, cols, in.q->view(in.q_row0, n), y, ldy);
        else
          k_.gemv_q4k_x16(g, whole, cols, in.q->view(in.q_row0, n), y, ldy);
        r0 += whole, nr -= whole, y += whole;
        if (nr == 0) return;
      }
      src = (r0 >= groups_end ? rp : w.data.data()) + static_cast<size_t>(r0) * rbytes;
    }
    // Many tokens: the integer GEMM (rows repacked once); else the integer gemv kernels, 8 tokens
    // at a time over the item's rows (the rest by <= 4).
    if (use_gemm_q8(k_, w.type, n)) {
      k_.gemm_q8(w.type, src, rbytes, nr, cols, in.q->view(in.q_row0, n), y, ldy);
      return;
    }
    for (int64_t t0 = 0; t0 < n;) {
      const int64_t nt = n - t0 >= 8 ? 8 : std::min(cpu::kGemvMaxTokens, n - t0);
      k_.gemv_q8(w.type, src, rbytes, nr, cols, in.q->view(in.q_row0 + t0, nt), y + t0 * ldy, ldy);
      t0 += nt;
    }
    return;
  }
  const float* x = in.x;
  if (use_gemv(k_, w.type, n)) {
    k_.gemv(w.type, src, rbytes, nr, cols, x, n, y, ldy);
    return;
  }
  const float* wf;
  thread_local std::vector<float> buf;
  if (w.type == TensorType::F32) {
    wf = reinterpret_cast<const float*>(src);
  } else {
    buf.resize(static_cast<size_t>(nr * cols));
    if (!k_.decode(w.type, src, nr * cols, buf.data())) cpu::decode_rows(w, r0, nr, cols, buf.data());
    wf = buf.data();
  }
  k_.gemm_f32(wf, nr, cols, x, n, y, ldy);
}

void CpuBackend::matmul_unchecked(const TensorView& w, int64_t rows, int64_t cols, const float* x, int64_t n,
                                  float* y) {
  const int64_t rb = rows_per_item(w, cols, n);
  const Input in = prepare_input(w.type, x, n, cols, matmul_in_);
  pool_.parallel_for((rows + rb - 1) / rb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * rb;
      matmul_rows(w, cols, r0, std::min(rb, rows - r0), in, n, y + r0, rows);
    }
  });
}

void CpuBackend::matmul(const TensorView& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const Dims2 d = check_matmul(w, x, n, y);
  matmul_unchecked(w, d.rows, d.cols, x.data(), n, y.data());
}

void CpuBackend::ffn_groups(std::span<const FfnGroup> groups, int64_t hidden) {
  struct Item {
    int64_t g, r0, nr;
  };
  std::vector<Item> up_items, down_items;
  for (size_t g = 0; g < groups.size(); ++g) {
    const FfnGroup& f = groups[g];
    if (f.m == 0) continue;
    const auto gi = static_cast<int64_t>(g);
    const int64_t rb_up = rows_per_item(f.w->gate, hidden, f.m), rb_down = rows_per_item(f.w->down, f.inter, f.m);
    for (int64_t r = 0; r < f.inter; r += rb_up) up_items.push_back({gi, r, std::min(rb_up, f.inter - r)});
    for (int64_t r = 0; r < hidden; r += rb_down) down_items.push_back({gi, r, std::min(rb_down, hidden - r)});
  }
  // Inputs as the kernels read them (prepare_input): per group, gate's and up's (one when their
  // types agree) before the first job, down's after it.
  ffn_in_.resize(3 * groups.size());
  std::vector<Input> in(3 * groups.size(), Input{nullptr, nullptr});
  // (A pool job only when there is work: in the exact mode each is a pointer copy.)
  const auto per_group = [&](auto&& fn) {
    const auto ng = static_cast<int64_t>(groups.size());
    if (!quantized_activations()) {
      for (int64_t g = 0; g < ng; ++g) fn(g);
      return;
    }
    pool_.parallel_for(ng, 1, [&](int64_t g0, int64_t g1) {
      for (int64_t g = g0; g < g1; ++g) fn(g);
    });
  };
  per_group([&](int64_t g) {
    const FfnGroup& f = groups[static_cast<size_t>(g)];
    if (f.m == 0) return;
    const auto i = static_cast<size_t>(3 * g);
    if (f.xq) {
      in[i] = in[i + 1] = Input{nullptr, f.xq, f.xq_row0};
      return;
    }
    in[i] = prepare_input(f.w->gate.type, f.x, f.m, hidden, ffn_in_[i]);
    in[i + 1] = f.w->up.type == f.w->gate.type ? in[i] : prepare_input(f.w->up.type, f.x, f.m, hidden, ffn_in_[i + 1]);
  });
  // gate and up of a row block, then h = silu(gate) * up for it.
  pool_.parallel_for(static_cast<int64_t>(up_items.size()), 1, [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> gate, up;
    for (int64_t b = b0; b < b1; ++b) {
      const Item& it = up_items[static_cast<size_t>(b)];
      const FfnGroup& f = groups[static_cast<size_t>(it.g)];
      const auto sz = static_cast<size_t>(f.m * it.nr);
      gate.resize(sz);
      up.resize(sz);
      const auto gi = static_cast<size_t>(3 * it.g);
      matmul_rows(f.w->gate, hidden, it.r0, it.nr, in[gi], f.m, gate.data(), it.nr);
      matmul_rows(f.w->up, hidden, it.r0, it.nr, in[gi + 1], f.m, up.data(), it.nr);
      for (int64_t t = 0; t < f.m; ++t)
        k_.swiglu(gate.data() + t * it.nr, up.data() + t * it.nr, f.h + t * f.inter + it.r0, it.nr);
    }
  });
  per_group([&](int64_t g) {
    const FfnGroup& f = groups[static_cast<size_t>(g)];
    const auto i = static_cast<size_t>(3 * g + 2);
    if (f.m > 0) in[i] = prepare_input(f.w->down.type, f.h, f.m, f.inter, ffn_in_[i]);
  });
  pool_.parallel_for(static_cast<int64_t>(down_items.size()), 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const Item& it = down_items[static_cast<size_t>(b)];
      const FfnGroup& f = groups[static_cast<size_t>(it.g)];
      matmul_rows(f.w->down, f.inter, it.r0, it.nr, in[static_cast<size_t>(3 * it.g + 2)], f.m, f.y + it.r0, hidden);
    }
  });
}

void CpuBackend::ffn(const FfnWeights& w, std::span<const float> x, int64_t n, std::span<float> y) {
  const int64_t inter = check_ffn(w, x, n, y);
  moe_h_.resize(static_cast<size_t>(n * inter));
  const FfnGroup g{&w, inter, x.data(), n, moe_h_.data(), y.data()};
  ffn_groups(std::span(&g, 1), w.gate.shape[1]);
}

}  // namespace schwarm
