// cuda: device selection, transfers, and the elementwise ops (embed, rms_norm, add, rope).
#include "backend/cuda/cuda_backend.h"

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_probe.h"
#include "backend/ref/op_common.h"
#include "elementwise.h"
#include "quant_matmul.h"

namespace schwarm::cuda {

using namespace backend_detail;

std::unique_ptr<Backend> make_backend(int device) {
  const std::vector<DeviceInfo> devices = list_devices();
  if (devices.empty()) return nullptr;
  if (device < 0 || static_cast<size_t>(device) >= devices.size())
    throw Error("cuda backend: there is no CUDA device " + std::to_string(device) + " (this machine has " +
                std::to_string(devices.size()) + ")");
  const DeviceInfo& d = devices[static_cast<size_t>(device)];
  if (d.compute_major < 8)
    throw Error("cuda backend: device " + std::to_string(device) + " (" + d.name + ") has compute capability " +
                std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor) +
                "; schwarm's kernels need 8.0 (Ampere) or newer");
  return std::make_unique<CudaBackend>(device);
}

CudaBackend::CudaBackend(int device) : device_(device) {
  SCHWARM_CUDA_CHECK(cudaSetDevice(device_));
  SCHWARM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

CudaBackend::~CudaBackend() {
  if (stream_) {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

bool CudaBackend::upload_weights(std::span<const TensorView> weights, const WeightProgressFn& progress) {
  SCHWARM_CUDA_CHECK(cudaSetDevice(device_));
  uint64_t total = 0, done = 0, reported = 0;
  for (const TensorView& w : weights) total += w.data.size();
  if (progress) progress(0, total);
  for (const TensorView& w : weights) {
    weights_.pin(w);
    done += w.data.size();
    if (progress && done - reported >= (uint64_t{64} << 20)) {
      progress(done, total);
      reported = done;
    }
  }
  if (progress) progress(total, total);
  return true;
}

void CudaBackend::begin_op() {
  SCHWARM_CUDA_CHECK(cudaSetDevice(device_));
  // The previous op ended with a synchronising download, or threw: then drain what it queued.
  SCHWARM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  arena_.reset();
}

template <class T>
T* CudaBackend::upload(std::span<const T> host, const char* what) {
  T* d = arena_.alloc<T>(static_cast<int64_t>(host.size()), what);
  if (!host.empty())
    SCHWARM_CUDA_CHECK(cudaMemcpyAsync(d, host.data(), host.size_bytes(), cudaMemcpyHostToDevice, stream_));
  return d;
}
template float* CudaBackend::upload<float>(std::span<const float>, const char*);
template int32_t* CudaBackend::upload<int32_t>(std::span<const int32_t>, const char*);

void CudaBackend::download(const float* dev, std::span<float> host) {
  if (!host.empty())
    SCHWARM_CUDA_CHECK(cudaMemcpyAsync(host.data(), dev, host.size_bytes(), cudaMemcpyDeviceToHost, stream_));
  SCHWARM_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void require_weight_type(TensorType t, const char* op) {
  check(k::weight_type_supported(t), op,
        std::string("weight type ") + std::string(tensor_type_name(t)) + " is not supported by the CUDA backend");
}

namespace {
std::vector<float> dequantized(const TensorView& w) {
  std::vector<float> f(static_cast<size_t>(w.numel()));
  type_traits(w.type).dequantize(w.data.data(), f.data(), w.numel());
  return f;
}
}  // namespace

void CudaBackend::embed(const TensorView& table, std::span<const int32_t> ids, std::span<float> y) {
  const Dims2 d = check_embed(table, ids, y);
  require_weight_type(table.type, "embed");
  begin_op();
  const void* w = weights_.bytes(table);
  const int32_t* dids = upload(ids, "token ids");
  float* dy = arena_.alloc<float>(static_cast<int64_t>(y.size()), "embeddings");
  k::gather_rows(table.type, w, d.cols, dids, static_cast<int64_t>(ids.size()), dy, stream_);
  download(dy, y);
}

void CudaBackend::rms_norm(std::span<const float> x, const TensorView& gain, float eps, std::span<float> y) {
  const int64_t dim = check_rms_norm(x, gain, y);
  begin_op();
  const float* g = weights_.derived(gain, "f32", [&] { return dequantized(gain); });
  float* dx = upload(x, "rms_norm input");
  k::rms_norm(dx, g, static_cast<int64_t>(x.size()) / dim, dim, eps, dx, stream_);
  download(dx, y);
}

void CudaBackend::add(std::span<const float> x, std::span<float> y) {
  check_add(x, y);
  begin_op();
  const float* dx = upload(x, "add input");
  float* dy = upload(std::span<const float>(y), "add output");
  k::add(dx, static_cast<int64_t>(x.size()), dy, stream_);
  download(dy, y);
}

void CudaBackend::rope(std::span<float> x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> pos,
                       const RopeSpec& rope) {
  check_rope_args(x, n_heads, head_dim, pos, rope);
  begin_op();
  float* dx = upload(std::span<const float>(x), "rope input");
  const int32_t* dpos = upload(pos, "positions");
  const float* dfreq = upload(std::span<const float>(rope.inv_freq), "rope frequencies");
  k::rope(dx, static_cast<int64_t>(pos.size()), n_heads, head_dim, dpos, dfreq, rope.rot_dim, rope.attention_factor,
          rope.style == RopeStyle::Interleaved, stream_);
  download(dx, x);
}

}  // namespace schwarm::cuda
