// Exactness against llama.cpp's tokenizer test vectors: every ggml-vocab-*.gguf that comes with
// .inp/.out files must tokenize each test string exactly as .out says (add_special = false,
// parse_special = false, as llama.cpp's tests/test-tokenizer-0.cpp runs them).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/gguf_file.h"
#include "schwarm/error.h"
#include "text/tokenizer.h"

namespace fs = std::filesystem;
using schwarm::TokenId;
using schwarm::Tokenizer;

namespace {

const fs::path kModels = SCHWARM_LLAMA_CPP_MODELS_DIR;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string text;
  std::vector<TokenId> ids;
};

// The .inp strings are separated by "\n__ggml_vocab_test__\n"; .out has one line of ids each.
std::vector<Case> read_cases(const fs::path& inp, const fs::path& out) {
  const std::string raw = read_all(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(raw.substr(pos));
      break;
    }
    texts.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream o(out);
  std::vector<Case> cases;
  size_t i = 0;
  for (std::string line; std::getline(o, line); ++i) {
    Case c;
    if (i < texts.size()) c.text = texts[i];
    std::istringstream ls(line);
    for (long id; ls >> id;) c.ids.push_back(static_cast<TokenId>(id));
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(texts.size(), cases.size()) << inp;
  return cases;
}

std::string show(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) s += std::to_string(id) + " ";
  return s;
}

std::vector<std::string> vocab_names() {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(kModels, ec)) return names;
  for (const auto& e : fs::directory_iterator(kModels)) {
    const std::string f = e.path().filename().string();
    if (f.starts_with("ggml-vocab-") && f.ends_with(".gguf") && fs::exists(e.path().string() + ".inp") &&
        fs::exists(e.path().string() + ".out"))
      names.push_back(f.substr(11, f.size() - 16));
  }
  std::sort(names.begin(), names.end());
  return names;
}

class VocabTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabTest, MatchesLlamaCppVectors) {
  const fs::path gguf = kModels / ("ggml-vocab-" + GetParam() + ".gguf");
  if (!fs::exists(gguf)) GTEST_SKIP() << gguf << " is missing: run scripts/fetch-test-data.sh";
  const auto file = schwarm::GgufFile::open(gguf.string());
  const auto* model = schwarm::find_metadata(file.metadata(), "tokenizer.ggml.model");
  const std::string kind = model && model->as_string() ? *model->as_string() : "";
  if (kind == "bert" || kind == "t5" || kind == "rwkv")
    GTEST_SKIP() << GetParam() << ": tokenizer model '" << kind
                 << "' (WordPiece/Unigram/RWKV) is not supported, only BPE and SentencePiece BPE";
  const Tokenizer tok = Tokenizer::from_gguf(file.metadata(), gguf.string());
  const auto cases = read_cases(gguf.string() + ".inp", gguf.string() + ".out");
  size_t passed = 0;
  for (const auto& c : cases) {
    const auto got = tok.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, c.ids) << GetParam() << " text '" << c.text << "'\n got:  " << show(got)
                          << "\n want: " << show(c.ids);
    if (got == c.ids) ++passed;
  }
  std::printf("[ vocab    ] %s: %zu/%zu test strings exact\n", GetParam().c_str(), passed, cases.size());
}

std::vector<std::string> params() {
  auto n = vocab_names();
  if (n.empty()) n.push_back("missing");
  return n;
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, VocabTest, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string s = p.param;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

}  // namespace
