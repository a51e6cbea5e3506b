// libFuzzer target for the GGUF reader: any input must parse or throw schwarm::Error, never crash.
#include <cstddef>
#include <cstdint>
#include <span>

#include "io/gguf_file.h"
#include "schwarm/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const schwarm::GgufContents c = schwarm::parse_gguf(std::span(data, size), "fuzz.gguf");
    // Touch what the reader handed out: every view must lie inside the input.
    volatile uint64_t sum = 0;
    for (const auto& t : c.tensors) {
      if (!t.data.empty()) sum = sum + t.data.front() + t.data.back();
      if (!t.data.empty() && (t.data.data() < data || t.data.data() + t.data.size() > data + size))
        __builtin_trap();
    }
    for (const auto& [k, v] : c.metadata) sum = sum + k.size() + static_cast<uint64_t>(v.type);
  } catch (const schwarm::Error&) {
  }
  return 0;
}
