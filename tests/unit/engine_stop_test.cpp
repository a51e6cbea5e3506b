// Engine stop conditions and streaming on tiny-deepseek-v3 (random weights): the stop ids and stop
// strings are taken from what greedy generation actually produces, so every case is deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "runtime/engine.h"
#include "runtime/kv_cache.h"
#include "schwarm/error.h"
#include "text/tokenizer.h"

namespace {

using namespace schwarm;

const std::string kDir = std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3";
constexpr int64_t kN = 24;

struct Fixture {
  Checkpoint cp = Checkpoint::open(kDir);
  std::unique_ptr<Model> model = make_model(cp);
  std::unique_ptr<Backend> backend = make_ref_backend();
  Tokenizer tok = Tokenizer::open(kDir);
  std::vector<int32_t> prompt = tok.encode("Hello world, the swarm", true);
};

Fixture& fx() {
  static Fixture f;
  return f;
}

struct GenResult {
  std::vector<int32_t> ids;
  std::string text;
  FinishReason reason = FinishReason::None;
  std::vector<std::string> pieces;  // one per sampled token
  bool last_finished = false;
};

GenResult generate(RequestOptions ro, int64_t n = kN) {
  Engine e(*fx().model, *fx().backend);
  e.set_tokenizer(&fx().tok);
  GenResult out;
  ro.on_token = [&out](const StreamEvent& ev) {
    out.pieces.emplace_back(ev.text);
    out.last_finished = ev.finished;
  };
  const int64_t r = e.submit(fx().prompt, n, std::move(ro));
  e.run();
  out.ids = e.output(r);
  out.text = e.text(r);
  out.reason = e.finish_reason(r);
  return out;
}

RequestOptions no_stop() {
  RequestOptions ro;
  ro.stop_ids = std::vector<int32_t>{};  // not even the tokenizer's end of generation
  return ro;
}

std::string concat(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x;
  return s;
}

TEST(EngineStop, MaxNewTokensAndStreamingAgree) {
  const GenResult base = generate(no_stop());
  ASSERT_EQ(static_cast<int64_t>(base.ids.size()), kN);
  EXPECT_EQ(base.reason, FinishReason::MaxTokens);
  EXPECT_EQ(base.pieces.size(), base.ids.size());
  EXPECT_TRUE(base.last_finished);
  EXPECT_EQ(concat(base.pieces), base.text);
  // The text is what a streaming detokenizer makes of the ids.
  StreamingDetokenizer d(fx().tok);
  std::string want;
  for (int32_t t : base.ids) want += d.push(t);
  want += d.flush();
  EXPECT_EQ(base.text, want);
  EXPECT_FALSE(base.text.empty());
}

TEST(EngineStop, StopIdEndsTheRequestAndIsNotPrinted) {
  const GenResult base = generate(no_stop());
  // The first token at index >= 3 that did not occur before: stopping on it ends exactly there.
  size_t k = 3;
  while (k < base.ids.size() && std::count(base.ids.begin(), base.ids.begin() + static_cast<long>(k), base.ids[k]))
    ++k;
  ASSERT_LT(k, base.ids.size()) << "greedy output repeats from index 3 on";
  RequestOptions ro;
  ro.stop_ids = std::vector<int32_t>{base.ids[k]};
  const GenResult r = generate(ro);
  EXPECT_EQ(r.reason, FinishReason::StopId);
  EXPECT_EQ(r.ids, std::vector<int32_t>(base.ids.begin(), base.ids.begin() + static_cast<long>(k) + 1));
  StreamingDetokenizer d(fx().tok);
  std::string want;
  for (size_t i = 0; i < k; ++i) want += d.push(base.ids[i]);
  want += d.flush();
  EXPECT_EQ(r.text, want);
  EXPECT_EQ(concat(r.pieces), r.text);
}

TEST(EngineStop, TokenizerEndOfGenerationIsTheDefaultStop) {
  Engine e(*fx().model, *fx().backend);
  e.set_tokenizer(&fx().tok);
  const int32_t eos = fx().tok.eos_id();
  ASSERT_GE(eos, 0);
  int calls = 0;
  e.set_sampler([&](std::span<const float> logits, int64_t) { return ++calls == 3 ? eos : argmax_token(logits); });
  const int64_t r = e.submit(fx().prompt, kN);
  e.run();
  EXPECT_EQ(e.output(r).size(), 3u);
  EXPECT_EQ(e.output(r).back(), eos);
  EXPECT_EQ(e.finish_reason(r), FinishReason::StopId);
  EXPECT_EQ(e.text(r).find("end"), std::string::npos) << e.text(r);
}

// Index of the first byte of the last UTF-8 character of s.
size_t last_char(const std::string& s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}
// Length of the first UTF-8 character of s.
size_t first_char_len(const std::string& s) {
  size_t i = 1;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

TEST(EngineStop, StopStringSplitAcrossTokensIsCaughtAndCut) {
  const GenResult base = generate(no_stop());
  // A stop string made of the last character of one token's text and the first of the next's,
  // whose first occurrence in the text is exactly there (so it spans the two tokens).
  std::string stop;
  size_t j = 0, at = 0;
  for (size_t off = 0; j + 1 < base.pieces.size(); off += base.pieces[j].size(), ++j) {
    const std::string& a = base.pieces[j];
    const std::string& b = base.pieces[j + 1];
    if (a.empty() || b.empty()) continue;
    const std::string s = a.substr(last_char(a)) + b.substr(0, first_char_len(b));
    const size_t pos = off + last_char(a);
    if (base.text.find(s) == pos) {
      stop = s;
      at = pos;
      break;
    }
  }
  ASSERT_FALSE(stop.empty()) << "no stop string spanning two tokens in: " << base.text;
  RequestOptions ro = no_stop();
  ro.stop_strings = {"this never occurs \xE2\x9C\x93", stop};
  const GenResult r = generate(ro);
  EXPECT_EQ(r.reason, FinishReason::StopString);
  EXPECT_EQ(r.text, base.text.substr(0, at)) << "stop string '" << stop << "'";
  EXPECT_EQ(concat(r.pieces), r.text);
  EXPECT_TRUE(r.last_finished);
  EXPECT_EQ(r.ids, std::vector<int32_t>(base.ids.begin(), base.ids.begin() + static_cast<long>(j) + 2));
}

TEST(EngineStop, StopStringHeldBackUntilDecidedThenReleased) {
  const GenResult base = generate(no_stop());
  // The text's last character followed by one that never comes: held back at the end, then
  // released when the budget ends, so the text is complete.
  const std::string& last = base.text;
  RequestOptions ro = no_stop();
  ro.stop_strings = {last.substr(last_char(last)) + "\x01"};
  const GenResult r = generate(ro);
  EXPECT_EQ(r.reason, FinishReason::MaxTokens);
  EXPECT_EQ(r.text, base.text);
  EXPECT_EQ(concat(r.pieces), base.text);
}

TEST(EngineStop, SameSeedSameTokensWhateverTheBatch) {
  RequestOptions ro = no_stop();
  ro.sampling.temperature = 1.5f;
  ro.sampling.seed = 42;
  const GenResult alone = generate(ro, 12);

  Engine e(*fx().model, *fx().backend);
  e.set_tokenizer(&fx().tok);
  RequestOptions other = no_stop();
  other.sampling.temperature = 0.7f;
  other.sampling.seed = 1;
  e.submit(fx().tok.encode("something else entirely", true), 5, other);
  const int64_t r = e.submit(fx().prompt, 12, ro);
  e.run();
  EXPECT_EQ(e.output(r), alone.ids);

  ro.sampling.seed = 43;
  EXPECT_NE(generate(ro, 12).ids, alone.ids);
}

TEST(EngineStop, BadStopStringsAreErrors) {
  Engine e(*fx().model, *fx().backend);
  RequestOptions ro;
  ro.stop_strings = {"x"};
  EXPECT_THROW(e.submit(fx().prompt, 4, ro), Error);  // no tokenizer
  e.set_tokenizer(&fx().tok);
  ro.stop_strings = {""};
  EXPECT_THROW(e.submit(fx().prompt, 4, ro), Error);
  RequestOptions bad;
  bad.sampling.top_p = 0;
  EXPECT_THROW(e.submit(fx().prompt, 4, bad), Error);
}

TEST(KvCacheBytes, ConfigFunctionAgreesWithTheModelsLayout) {
  // tiny-deepseek-v3 (MLA): 3 layers * (kv_lora_rank 32 + qk_rope_head_dim 8) * 4 bytes = 480.
  EXPECT_EQ(kv_cache_bytes_per_token(fx().model->config()), 480);
  EXPECT_EQ(kv_bytes_per_token(fx().model->kv_layout()), 480);
  Engine e(*fx().model, *fx().backend);
  EXPECT_EQ(e.cache().bytes_per_token(), 480);
  const Checkpoint gqa = Checkpoint::open(std::string(SCHWARM_TEST_DATA_DIR) + "/golden/qwen3-moe");
  const std::unique_ptr<Model> m = make_model(gqa);
  EXPECT_EQ(kv_cache_bytes_per_token(m->config()), kv_bytes_per_token(m->kv_layout()));
  EXPECT_EQ(kv_cache_bytes_per_token(m->config()),
            m->config().num_layers * 2 * m->config().num_kv_heads * m->config().head_dim * 4);
}

}  // namespace
