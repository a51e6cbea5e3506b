// Backends by name ("cpu", "ref", "cuda", "cuda:N"), and make_cuda_backend: the CUDA backend
// where this build has one (SCHWARM_CUDA) and a device is present, nullptr otherwise.
#include <cerrno>
#include <cstdlib>

#include "backend/backend.h"
#include "schwarm/error.h"

#if defined(SCHWARM_HAS_CUDA)
#include "backend/cuda/cuda_backend.h"
#endif

namespace schwarm {

bool cuda_backend_compiled() {
#if defined(SCHWARM_HAS_CUDA)
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
#if defined(SCHWARM_HAS_CUDA)
  return cuda::make_backend(device);
#else
  (void)device;
  return nullptr;
#endif
}

namespace {
// "cuda" -> 0, "cuda:N" -> N; -1 for any other name.
int cuda_device_of(const std::string& name) {
  if (name == "cuda") return 0;
  if (name.rfind("cuda:", 0) != 0 || name.size() == 5 || name.size() > 9) return -1;
  for (size_t i = 5; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return -1;
  return std::atoi(name.c_str() + 5);
}
}  // namespace

bool is_backend_name(const std::string& name) { return name == "cpu" || name == "ref" || cuda_device_of(name) >= 0; }

std::unique_ptr<Backend> make_backend_by_name(const std::string& name, int threads) {
  if (name == "cpu") return make_cpu_backend(threads);
  if (name == "ref") return make_ref_backend();
  const int device = cuda_device_of(name);
  if (device < 0) throw Error("unknown backend '" + name + "' (known: cpu, ref, cuda, cuda:N)");
  if (!cuda_backend_compiled())
    throw Error("backend '" + name + "': this build of schwarm has no CUDA backend (it was built without nvcc; "
                "rebuild with the CUDA toolkit installed, SCHWARM_CUDA=ON)");
  std::unique_ptr<Backend> be = make_cuda_backend(device);
  if (!be) throw Error("backend '" + name + "': no CUDA device found (no NVIDIA GPU or driver on this machine)");
  return be;
}

}  // namespace schwarm
