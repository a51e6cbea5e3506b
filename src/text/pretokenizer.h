#pragma once
// Pre-tokenization: a sequence of regexes, each splitting every piece so far into its matches
// and the text between them (Hugging Face's Split with behavior "Isolated"). Later regexes see
// one piece at a time, so lookarounds never cross a piece boundary. PCRE2 with UTF and UCP,
// JIT-compiled where available, under match limits: a runaway match throws schwarm::Error.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schwarm::text {

class PreTokenizer {
 public:
  PreTokenizer() = default;  // no regexes: the whole text is one piece
  // Throws schwarm::Error naming the pattern when one does not compile.
  explicit PreTokenizer(const std::vector<std::string>& regexes);

  // The regexes for a GGUF tokenizer.ggml.pre name (as llama.cpp maps them), or nullopt when
  // the name is unknown. "" and "default" give llama.cpp's default set.
  static std::optional<std::vector<std::string>> regexes_for(std::string_view pre_name);
  // GPT-2's split regex (ByteLevel with use_regex).
  static const std::string& gpt2_regex();

  // Appends the pieces of `text` (views into it) to `out`. Empty text gives no pieces.
  // `text` must be valid UTF-8.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  bool empty() const { return regexes_.empty(); }

 private:
  struct Regex;
  std::vector<std::shared_ptr<const Regex>> regexes_;
};

}  // namespace schwarm::text
