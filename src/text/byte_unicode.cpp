#include "text/byte_unicode.h"

#include <array>

#include "text/text_utf8.h"

namespace schwarm::text {
namespace {

struct ByteMap {
  std::array<std::string, 256> to_text;
  std::array<int32_t, 324> to_byte;  // code points used are < 256 + 68

  ByteMap() {
    to_byte.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the other 68 get 256, 257, ... in order.
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
      append_utf8(to_text[b], cp);
      to_byte[cp] = b;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t byte) { return byte_map().to_text[byte]; }

int unicode_to_byte(uint32_t code_point) {
  const auto& m = byte_map();
  return code_point < m.to_byte.size() ? m.to_byte[code_point] : -1;
}

std::string bytes_to_unicode_text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_unicode(static_cast<uint8_t>(c));
  return out;
}

std::string unicode_text_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const int b = unicode_to_byte(next_code_point(text, i));
    if (b >= 0)
      out += static_cast<char>(b);
    else
      out.append(text.substr(start, i - start));
  }
  return out;
}

}  // namespace schwarm::text
