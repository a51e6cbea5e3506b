// libFuzzer entry point for the safetensors parser: any input must parse or throw schwarm::Error;
// anything else (a crash, a sanitizer report, another exception type) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "io/safetensors_file.h"
#include "schwarm/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const schwarm::SafetensorsContents c =
        schwarm::parse_safetensors(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    // Touch every view so that a view outside the input shows up under ASan.
    volatile uint8_t sink = 0;
    for (const schwarm::TensorView& t : c.tensors) {
      if (!t.data.empty()) sink = sink + t.data.front() + t.data.back();
      (void)c.find_tensor(t.name);
    }
    (void)sink;
  } catch (const schwarm::Error&) {
  }
  return 0;
}
