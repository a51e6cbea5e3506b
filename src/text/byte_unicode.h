#pragma once
// GPT-2's byte-level alphabet: every byte gets a printable code point, so a byte-level BPE
// vocabulary stores arbitrary bytes as ordinary text ("Ġ" is the space byte 0x20).
#include <cstdint>
#include <string>
#include <string_view>

namespace schwarm::text {

// The UTF-8 text of the code point standing for `byte`.
const std::string& byte_to_unicode(uint8_t byte);
// The byte a code point stands for, or -1 when it is not in the alphabet.
int unicode_to_byte(uint32_t code_point);
// Maps every byte of `bytes` to its code point's UTF-8.
std::string bytes_to_unicode_text(std::string_view bytes);
// The bytes a byte-level token text stands for. Code points outside the alphabet are kept as
// their own UTF-8 (a vocabulary should not hold any).
std::string unicode_text_to_bytes(std::string_view text);

}  // namespace schwarm::text
