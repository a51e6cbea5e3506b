// schwarm tokenize -m MODEL (-p TEXT | -f FILE | --stdin): text to token ids, printed exactly as
// llama.cpp's llama-tokenize prints them ("[1, 2, 3]" with --ids; otherwise one "    id -> 'piece'"
// line per token), with the same defaults: BOS when the checkpoint asks for it, special tokens
// parsed, and backslash escapes (\n \r \t \' \" \\ \xHH) processed unless --no-escape.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "schwarm/error.h"
#include "subcommands.h"
#include "text/tokenizer.h"

namespace schwarm::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  std::string file;
  bool from_stdin = false;
  bool ids = false;
  bool no_bos = false;
  bool no_parse_special = false;
  bool escape = true;
  bool show_count = false;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The escapes llama.cpp's tools understand; an unknown escape stays as written.
std::string process_escapes(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    const char c = in[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case '\'': case '"': case '\\': out += c; break;
      case 'x':
        if (i + 2 < in.size() && hex_digit(in[i + 1]) >= 0 && hex_digit(in[i + 2]) >= 0) {
          out += static_cast<char>(hex_digit(in[i + 1]) * 16 + hex_digit(in[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default: out += '\\'; out += c; break;
    }
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open the prompt file");
  std::string s{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw FileError(path, "cannot read the prompt file");
  return s;
}

// Where the first ill-formed UTF-8 sequence starts (for the error message).
size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t len = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size() || !is_valid_utf8(s.substr(i, len))) return i;
    i += len;
  }
  return i;
}

int run_tokenize(const TokenizeOptions& o) {
  std::string text;
  std::string what = "the prompt";
  if (o.from_stdin) {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
    what = "standard input";
  } else if (!o.file.empty()) {
    text = read_file(o.file);
    what = "'" + o.file + "'";
  } else {
    text = o.prompt;
  }
  if (o.escape) text = process_escapes(text);
  if (!is_valid_utf8(text)) {
    std::fprintf(stderr, "schwarm: error: %s is not valid UTF-8 (first bad byte at offset %zu)\n",
                 sanitize_utf8(what).c_str(), first_invalid_utf8(text));
    return 1;
  }

  const Tokenizer tok = Tokenizer::open(o.model);
  const bool add_special = tok.add_bos() && !o.no_bos;
  const std::vector<TokenId> ids = tok.encode(text, add_special, !o.no_parse_special);

  std::string out;
  if (o.ids) {
    out += '[';
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ", ";
      out += std::to_string(ids[i]);
    }
    out += "]\n";
  } else {
    char buf[32];
    for (TokenId id : ids) {
      std::snprintf(buf, sizeof buf, "%6d -> '", id);
      out += buf;
      out += tok.token_to_piece(id, /*show_special=*/true);
      out += "'\n";
    }
  }
  if (o.show_count) out += "Total number of tokens: " + std::to_string(ids.size()) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

void add_tokenize(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand(
      "tokenize", "Text to token ids, printed like llama.cpp's llama-tokenize");
  sub->add_option("-m,--model", opts->model, "GGUF file (vocab-only too) or Hugging Face directory")
      ->required();
  auto* p = sub->add_option("-p,--prompt", opts->prompt, "the text");
  auto* f = sub->add_option("-f,--file", opts->file, "read the text from FILE (bytes as they are)");
  auto* s = sub->add_flag("--stdin", opts->from_stdin, "read the text from standard input");
  p->excludes(f)->excludes(s);
  f->excludes(s);
  sub->add_flag("--ids", opts->ids, "print only the ids, as a list like [1, 2, 3]");
  sub->add_flag("--no-bos", opts->no_bos, "no BOS even where the checkpoint adds one");
  sub->add_flag("--no-parse-special", opts->no_parse_special,
                "special-token text such as <|im_start|> is plain text");
  sub->add_flag("--escape,!--no-escape", opts->escape,
                "process \\n \\r \\t \\' \\\" \\\\ \\xHH escapes (default: on, as llama-tokenize)");
  sub->add_flag("--show-count", opts->show_count, "print the number of tokens at the end");
  sub->callback([opts, p, f, s, &run] {
    if (!p->count() && !f->count() && !s->count())
      throw CLI::RequiredError("one of -p/--prompt, -f/--file, --stdin");
    run = [opts] { return run_tokenize(*opts); };
  });
}

}  // namespace schwarm::cli
