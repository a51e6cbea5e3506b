#pragma once
// What CUDA devices this process can use. Compiled only when SCHWARM_CUDA is ON.
#include <string>
#include <vector>

namespace schwarm::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  size_t total_memory_bytes = 0;
};

// Empty when no driver or no device is present (never throws for that).
std::vector<DeviceInfo> list_devices();

}  // namespace schwarm::cuda
