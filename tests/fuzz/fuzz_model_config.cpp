// libFuzzer target: arbitrary bytes as a config.json. Any input must either parse into a valid
// ModelConfig (whose parameter count is then computed) or fail with schwarm::Error; crashes,
// sanitizer reports and other exception types are bugs.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "schwarm/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr,
                                                 /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const schwarm::ModelConfig c = schwarm::config_from_hf_json(j, "fuzz.json");
    const schwarm::ParamCounts n = schwarm::count_params(c);
    if (n.active > n.total || n.total <= 0) __builtin_trap();
    for (int64_t l = 0; l < c.num_layers && l < 4096; ++l) (void)c.layer_is_moe(l);
  } catch (const schwarm::Error&) {
  }
  return 0;
}
