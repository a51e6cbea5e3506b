#include "text/special_tokens.h"

#include <algorithm>

namespace schwarm::text {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

SpecialTokenMatcher::SpecialTokenMatcher(std::vector<SpecialToken> tokens) : tokens_(std::move(tokens)) {
  std::erase_if(tokens_, [](const SpecialToken& t) { return t.text.empty(); });
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const SpecialToken& a, const SpecialToken& b) { return a.text.size() > b.text.size(); });
  for (uint32_t i = 0; i < tokens_.size(); ++i)
    by_first_[static_cast<uint8_t>(tokens_[i].text[0])].push_back(i);
}

void SpecialTokenMatcher::split(std::string_view text, bool parse_special, std::vector<Fragment>& out) const {
  size_t raw_start = 0;  // start of the pending raw text
  size_t pos = 0;
  while (pos < text.size()) {
    const SpecialToken* hit = nullptr;
    for (uint32_t i : by_first_[static_cast<uint8_t>(text[pos])]) {
      const SpecialToken& t = tokens_[i];
      if (!parse_special && !t.always) continue;
      if (text.compare(pos, t.text.size(), t.text) == 0) {
        hit = &t;
        break;
      }
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t raw_end = pos;
    if (hit->lstrip)
      while (raw_end > raw_start && is_space(text[raw_end - 1])) --raw_end;
    if (raw_end > raw_start) out.push_back({-1, text.substr(raw_start, raw_end - raw_start)});
    out.push_back({hit->id, text.substr(pos, hit->text.size())});
    pos += hit->text.size();
    if (hit->rstrip)
      while (pos < text.size() && is_space(text[pos])) ++pos;
    raw_start = pos;
  }
  if (raw_start < text.size()) out.push_back({-1, text.substr(raw_start)});
}

}  // namespace schwarm::text
