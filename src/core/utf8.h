#pragma once
// UTF-8 checks for strings that come from files (tensor names, vocab entries, metadata).
#include <string>
#include <string_view>

namespace schwarm {

// True when s is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// s with every ill-formed byte sequence replaced by U+FFFD, safe to print or put in JSON.
std::string sanitize_utf8(std::string_view s);

}  // namespace schwarm
