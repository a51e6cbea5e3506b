// Lexer: splits a template into data and tag tokens exactly as jinja2's lexer does with
// trim_blocks=True and lstrip_blocks=True (what transformers uses for chat templates).
#include <cctype>
#include <cstring>

#include "schwarm/error.h"
#include "text/jinja/ast.h"
#include "text/jinja/value.h"

namespace schwarm::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

[[noreturn]] void fail(const std::string& name, int line, const std::string& msg) {
  throw Error(name + ":" + std::to_string(line) + ": " + msg);
}

// Newlines to "\n" and one trailing newline dropped (keep_trailing_newline=False).
std::string normalize(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else out += in[i];
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

int count_lines(const std::string& s, size_t a, size_t b) {
  int n = 0;
  for (size_t i = a; i < b && i < s.size(); ++i) n += s[i] == '\n';
  return n;
}

// Python "unicode-escape" decoding of a string literal's body.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    auto hex = [&](size_t n) -> bool {
      if (i + n >= s.size() + 0 && i + n > s.size() - 1 + 1) return false;
      uint32_t v = 0;
      for (size_t k = 1; k <= n; ++k) {
        if (i + k >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + k]))) return false;
        const char h = s[i + k];
        v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      if (v > 0x10FFFF) return false;
      append_utf8(out, v);
      i += n;
      return true;
    };
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\n': break;
      case 'x': if (!hex(2)) out += "\\x"; break;
      case 'u': if (!hex(4)) out += "\\u"; break;
      case 'U': if (!hex(8)) out += "\\U"; break;
      default:
        if (c >= '0' && c <= '7') {
          uint32_t v = 0;
          size_t k = 0;
          while (k < 3 && i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7') v = v * 8 + static_cast<uint32_t>(s[i + k++] - '0');
          i += k - 1;
          append_utf8(out, v);
        } else {
          out += '\\';
          out += c;
        }
    }
  }
  return out;
}

const char* const kOps[] = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[", "]", "(",
                            ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};

}  // namespace

std::vector<Token> tokenize(const std::string& raw, const std::string& name) {
  const std::string src = normalize(raw);
  std::vector<Token> toks;
  size_t pos = 0;
  int line = 1;
  bool line_starting = true;
  const size_t n = src.size();
  while (pos < n) {
    // Find the next tag opener.
    size_t open = pos;
    char kind = 0;
    while (true) {
      open = src.find('{', open);
      if (open == std::string::npos || open + 1 >= n) {
        open = std::string::npos;
        break;
      }
      const char k = src[open + 1];
      if (k == '{' || k == '%' || k == '#') {
        kind = k;
        break;
      }
      ++open;
    }
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    const int text_line = line;
    line += count_lines(src, pos, open == std::string::npos ? n : open);
    if (open == std::string::npos) {
      if (!text.empty()) toks.push_back({Tok::Data, text, text_line});
      break;
    }
    size_t p = open + 2;
    const char sign = p < n && (src[p] == '-' || src[p] == '+') ? src[p] : 0;
    if (sign) ++p;
    if (sign == '-') {
      size_t e = text.size();
      while (e > 0 && is_space(text[e - 1])) --e;
      text.resize(e);
    } else if (sign != '+' && kind != '{') {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting) {
        bool ws = l_pos < text.size();
        for (size_t i = l_pos; i < text.size(); ++i) ws = ws && is_space(text[i]);
        if (ws) text.resize(l_pos);
      }
    }
    if (!text.empty()) toks.push_back({Tok::Data, text, text_line});

    // Ends a tag at q (pointing at the closer's first char); applies right-side whitespace control.
    auto finish = [&](size_t q, size_t closer_len, bool minus, bool plus, bool trims) {
      size_t e = q + closer_len;
      if (minus) {
        while (e < n && is_space(src[e])) ++e;
      } else if (!plus && trims && e < n && src[e] == '\n') {
        ++e;
      }
      line += count_lines(src, q, e);
      line_starting = e > 0 && src[e - 1] == '\n';
      pos = e;
    };

    if (kind == '#') {
      const size_t close = src.find("#}", p);
      if (close == std::string::npos) fail(name, line, "missing end of comment tag");
      line += count_lines(src, open, close);
      const bool minus = close > p && src[close - 1] == '-';
      const bool plus = close > p && src[close - 1] == '+';
      finish(close, 2, minus, plus, true);
      continue;
    }

    // {% raw %} ... {% endraw %}: everything between is data.
    if (kind == '%') {
      size_t q = p;
      while (q < n && is_space(src[q])) ++q;
      if (src.compare(q, 3, "raw") == 0 && (q + 3 >= n || !(std::isalnum(static_cast<unsigned char>(src[q + 3])) || src[q + 3] == '_'))) {
        q += 3;
        while (q < n && is_space(src[q])) ++q;
        const bool minus = q < n && src[q] == '-';
        const bool plus = q < n && src[q] == '+';
        if (minus || plus) ++q;
        if (src.compare(q, 2, "%}") != 0) fail(name, line, "expected '%}' after raw");
        line += count_lines(src, open, q);
        finish(q, 2, minus, plus, true);
        // Find {%-? endraw -?%}
        size_t search = pos;
        while (true) {
          const size_t o = src.find("{%", search);
          if (o == std::string::npos) fail(name, line, "missing endraw");
          size_t r = o + 2;
          const bool lminus = r < n && src[r] == '-';
          if (r < n && (src[r] == '-' || src[r] == '+')) ++r;
          while (r < n && is_space(src[r])) ++r;
          if (src.compare(r, 6, "endraw") != 0) {
            search = o + 2;
            continue;
          }
          r += 6;
          while (r < n && is_space(src[r])) ++r;
          const bool rminus = r < n && src[r] == '-';
          const bool rplus = r < n && src[r] == '+';
          if (rminus || rplus) ++r;
          if (src.compare(r, 2, "%}") != 0) fail(name, line, "expected '%}' after endraw");
          std::string body = src.substr(pos, o - pos);
          if (lminus) {
            size_t e = body.size();
            while (e > 0 && is_space(body[e - 1])) --e;
            body.resize(e);
          }
          if (!body.empty()) toks.push_back({Tok::Data, body, line});
          line += count_lines(src, pos, r);
          finish(r, 2, rminus, rplus, true);
          break;
        }
        continue;
      }
    }

    toks.push_back({kind == '{' ? Tok::VarBegin : Tok::BlockBegin, "", line});
    const char* closer = kind == '{' ? "}}" : "%}";
    int balance = 0;
    size_t q = p;
    while (true) {
      while (q < n && is_space(src[q])) {
        line += src[q] == '\n';
        ++q;
      }
      if (q >= n) fail(name, line, std::string("unexpected end of template, expected '") + closer + "'");
      if (balance == 0) {
        const bool minus = src[q] == '-' && src.compare(q + 1, 2, closer) == 0;
        const bool plus = kind == '%' && src[q] == '+' && src.compare(q + 1, 2, closer) == 0;
        if (minus || plus || src.compare(q, 2, closer) == 0) {
          const size_t c = minus || plus ? q + 1 : q;
          toks.push_back({kind == '{' ? Tok::VarEnd : Tok::BlockEnd, "", line});
          finish(c, 2, minus, plus, kind == '%');
          break;
        }
      }
      const char c = src[q];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = q;
        while (e < n && (std::isalnum(static_cast<unsigned char>(src[e])) || src[e] == '_')) ++e;
        toks.push_back({Tok::Name, src.substr(q, e - q), line});
        q = e;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t e = q;
        while (e < n && (std::isdigit(static_cast<unsigned char>(src[e])) || src[e] == '_')) ++e;
        bool is_float = false;
        if (e + 1 < n && src[e] == '.' && std::isdigit(static_cast<unsigned char>(src[e + 1]))) {
          is_float = true;
          ++e;
          while (e < n && (std::isdigit(static_cast<unsigned char>(src[e])) || src[e] == '_')) ++e;
        }
        if (e < n && (src[e] == 'e' || src[e] == 'E')) {
          size_t f = e + 1;
          if (f < n && (src[f] == '+' || src[f] == '-')) ++f;
          if (f < n && std::isdigit(static_cast<unsigned char>(src[f]))) {
            is_float = true;
            e = f;
            while (e < n && std::isdigit(static_cast<unsigned char>(src[e]))) ++e;
          }
        }
        std::string num;
        for (size_t k = q; k < e; ++k)
          if (src[k] != '_') num += src[k];
        toks.push_back({is_float ? Tok::Float : Tok::Int, num, line});
        q = e;
      } else if (c == '\'' || c == '"') {
        size_t e = q + 1;
        while (e < n && src[e] != c) e += src[e] == '\\' ? 2 : 1;
        if (e >= n) fail(name, line, "unterminated string");
        const std::string body = src.substr(q + 1, e - q - 1);
        toks.push_back({Tok::String, unescape(body), line});
        line += count_lines(src, q, e);
        q = e + 1;
      } else {
        const char* op = nullptr;
        for (const char* o : kOps)
          if (src.compare(q, std::strlen(o), o) == 0) {
            op = o;
            break;
          }
        if (!op) fail(name, line, std::string("unexpected char '") + c + "'");
        if (*op == '(' || *op == '[' || *op == '{') ++balance;
        if ((*op == ')' || *op == ']' || *op == '}') && balance > 0) --balance;
        toks.push_back({Tok::Op, op, line});
        q += std::strlen(op);
      }
    }
  }
  toks.push_back({Tok::End, "", line});
  return toks;
}

}  // namespace schwarm::jinja
