// Loading a tokenizer from a Hugging Face directory: tokenizer.json + tokenizer_config.json.
#include "text/tokenizer.h"

#include "schwarm/error.h"
#include "text/tokenizer_impl.h"

namespace schwarm {

Tokenizer Tokenizer::from_hf_dir(const std::string& dir) {
  throw FileError(dir, "tokenizer.json loading is not implemented yet");
}

}  // namespace schwarm
