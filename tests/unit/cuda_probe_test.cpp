// The CUDA device probe: lists what it finds, and reports "none" cleanly on machines without a
// GPU or driver (CI). Skips, saying why, where there is nothing to check.
#include <gtest/gtest.h>

#if defined(SCHWARM_HAS_CUDA)
#include "backend/cuda/device_probe.h"
#endif

TEST(CudaProbe, ListsDevicesOrNone) {
#if !defined(SCHWARM_HAS_CUDA)
  GTEST_SKIP() << "built without CUDA (nvcc not found or SCHWARM_CUDA=OFF)";
#else
  const auto devices = schwarm::cuda::list_devices();  // must not throw without a driver
  if (devices.empty()) GTEST_SKIP() << "no CUDA GPU on this machine";
  for (const auto& d : devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GE(d.compute_major, 7);
    EXPECT_GT(d.total_memory_bytes, 0u);
  }
#endif
}
