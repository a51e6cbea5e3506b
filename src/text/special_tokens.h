#pragma once
// Finds special and added tokens written in text before pre-tokenization. Scans left to right
// and takes the longest token starting at each position (Hugging Face's leftmost-longest).
// lstrip/rstrip tokens swallow the whitespace beside them, as Hugging Face and llama.cpp do.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace schwarm::text {

struct SpecialToken {
  std::string text;
  int32_t id;
  bool always;  // matched even when parse_special is off (user-defined/added, not control)
  bool lstrip = false, rstrip = false;
};

// A stretch of input: raw text (id == -1) or one special token.
struct Fragment {
  int32_t id;
  std::string_view text;
};

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher() = default;
  explicit SpecialTokenMatcher(std::vector<SpecialToken> tokens);
  void split(std::string_view text, bool parse_special, std::vector<Fragment>& out) const;
  const std::vector<SpecialToken>& tokens() const { return tokens_; }

 private:
  std::vector<SpecialToken> tokens_;               // longest first
  std::array<std::vector<uint32_t>, 256> by_first_;  // indices into tokens_, longest first
};

}  // namespace schwarm::text
