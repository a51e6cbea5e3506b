#pragma once
// The tokenizer part of `schwarm inspect`: a summary read from tokenizer.json +
// tokenizer_config.json, or from a GGUF file's tokenizer.ggml.* metadata.
#include <string>

#include "io/gguf_file.h"
#include "schwarm/inspect.h"

namespace schwarm {

// Empty summary (present = false) when the directory has no tokenizer.json. Throws FileError for
// a tokenizer file that is not valid JSON or has the wrong shape.
TokenizerSummary summarize_hf_tokenizer(const std::string& dir);
TokenizerSummary summarize_gguf_tokenizer(const GgufMetadata& metadata);

}  // namespace schwarm
