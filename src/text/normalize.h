#pragma once
// Unicode normalisation for tokenizer.json normalizers, done by utf8proc.
#include <string>
#include <string_view>

namespace schwarm::text {

// NFC (canonical decomposition, then canonical composition) of valid UTF-8 text. ASCII-only text
// is returned unchanged without calling into utf8proc. Throws schwarm::Error if utf8proc fails.
std::string nfc(std::string_view text);

}  // namespace schwarm::text
