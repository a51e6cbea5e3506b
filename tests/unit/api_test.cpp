// The public C++ API (schwarm/schwarm.hpp) on tiny-deepseek-v3 (random weights, tokenizer, chat
// template) and a golden case: every check compares two paths (a kept session against a fresh one,
// a batch against single runs, the API against the internal layers), never hard-coded outputs.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "model/model.h"
#include "schwarm/schwarm.hpp"
#include "text/jinja/chat_template.h"
#include "text/tokenizer.h"

namespace {

using namespace schwarm;

const std::string kDir = std::string(SCHWARM_TEST_DATA_DIR) + "/checkpoints/tiny-deepseek-v3";
const std::string kGolden = std::string(SCHWARM_TEST_DATA_DIR) + "/golden/qwen3-moe";

Llm load_ref(const std::string& path = kDir, int64_t context = 0) {
  LoadOptions o;
  o.backend = "ref";
  o.context_size = context;
  return Llm::load(path, o);
}

const Llm& tiny() {
  static const Llm llm = load_ref();
  return llm;
}

// Greedy, never stopping on an id: the token counts are exact.
GenerateOptions greedy(int64_t n) {
  GenerateOptions g;
  g.max_tokens = n;
  g.stop_ids = std::vector<int32_t>{};
  return g;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What one fresh session generates after `prompt`.
GenerateResult alone(const Llm& llm, const std::vector<int32_t>& prompt, const GenerateOptions& g) {
  Session s(llm);
  s.append(prompt);
  return s.generate(g);
}

TEST(Api, VersionIsTheBuildVersion) { EXPECT_STREQ(version(), SCHWARM_VERSION); }

TEST(Api, LoadReportsWhatTheCheckpointHolds) {
  const Llm& llm = tiny();
  const Checkpoint cp = Checkpoint::open(kDir);
  const ModelConfig c = config_from_checkpoint(cp);
  const Tokenizer tok = Tokenizer::open(kDir);
  EXPECT_EQ(llm.architecture(), "DeepseekV3ForCausalLM");
  EXPECT_EQ(llm.family(), arch_family_name(c.family));
  EXPECT_EQ(llm.n_params(), count_params(c).total);
  EXPECT_EQ(llm.n_active_params(), count_params(c).active);
  uint64_t bytes = 0;
  for (const std::string& f : cp.files()) bytes += std::filesystem::file_size(f);
  EXPECT_EQ(llm.file_size(), bytes);
  EXPECT_EQ(llm.vocab_size(), c.vocab_size);
  EXPECT_EQ(llm.trained_context_length(), c.max_position_embeddings);
  EXPECT_EQ(llm.context_length(), std::min<int64_t>(c.max_position_embeddings, 4096));
  EXPECT_TRUE(llm.has_tokenizer());
  EXPECT_TRUE(llm.has_chat_template());
  EXPECT_EQ(llm.bos_id(), tok.bos_id());
  EXPECT_EQ(llm.eos_id(), tok.eos_id());
  EXPECT_TRUE(llm.is_end_of_generation(tok.eos_id()));
  EXPECT_EQ(llm.backend(), "ref");
}

TEST(Api, LoadProgressEndsAtTheTotal) {
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  LoadOptions o;
  o.backend = "ref";
  o.on_progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  const Llm llm = Llm::load(kDir, o);
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front().first, 0u);
  EXPECT_EQ(calls.back().first, calls.back().second);
  EXPECT_GT(calls.back().second, 0u);
  EXPECT_LE(calls.back().second, llm.file_size());
}

TEST(Api, TokenizeRoundTripsAndMatchesTheTokenizer) {
  const std::string text = "Hello world, the swarm \xE2\x9C\x93 flies";
  const Tokenizer tok = Tokenizer::open(kDir);
  const std::vector<int32_t> ids = tiny().tokenize(text);
  EXPECT_EQ(ids, tok.encode(text, true));
  EXPECT_EQ(ids.front(), tiny().bos_id());
  EXPECT_EQ(tiny().detokenize(ids, /*skip_special=*/true), text);
  std::string pieces;
  for (int32_t id : tiny().tokenize(text, false)) pieces += tiny().token_to_piece(id);
  EXPECT_EQ(pieces, text);
}

TEST(Api, ChatTemplateIsTheCheckpointsTemplate) {
  const std::vector<ChatMessage> messages = {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "How are you?"}};
  // The same conversation rendered by the text layer directly, as `schwarm template` does.
  nlohmann::ordered_json context = {{"messages", nlohmann::ordered_json::array()}, {"add_generation_prompt", true}};
  for (const ChatMessage& m : messages) context["messages"].push_back({{"role", m.role}, {"content", m.content}});
  const CheckpointChatTemplate found = find_chat_template(kDir);
  fill_special_tokens(context, found);
  const std::string expected = ChatTemplate::parse(found.source, found.origin).render(context);
  EXPECT_EQ(tiny().apply_chat_template(messages), expected);
  EXPECT_NE(tiny().apply_chat_template(messages, false), expected);
  EXPECT_EQ(tiny().tokenize_chat(messages), tiny().tokenize(expected, false, true));
}

TEST(Api, SecondTurnEvaluatesOnlyTheNewTokensAndMatchesAFreshSession) {
  const std::vector<int32_t> turn1 = tiny().tokenize("The swarm gathers");
  const std::vector<int32_t> turn2 = tiny().tokenize(" and then it flies", false);
  Session s(tiny());
  s.append(turn1);
  const GenerateResult r1 = s.generate(greedy(6));
  EXPECT_EQ(r1.prompt_tokens, static_cast<int64_t>(turn1.size()));
  EXPECT_EQ(r1.cached_tokens, 0);
  ASSERT_EQ(r1.generated_tokens, 6);
  EXPECT_EQ(r1.finish_reason, FinishReason::MaxTokens);
  const std::vector<int32_t> history = s.tokens();
  EXPECT_EQ(history, concat(turn1, r1.tokens));
  EXPECT_EQ(s.n_cached(), static_cast<int64_t>(history.size()) - 1);  // the last token is not evaluated yet

  s.append(turn2);
  const GenerateResult r2 = s.generate(greedy(6));
  EXPECT_EQ(r2.cached_tokens, static_cast<int64_t>(history.size()) - 1);
  EXPECT_EQ(r2.prompt_tokens, static_cast<int64_t>(turn2.size()) + 1);
  EXPECT_EQ(r2.timings.prefill_tokens, r2.prompt_tokens);
  EXPECT_EQ(r2.timings.decode_tokens, 5);

  const GenerateResult fresh = alone(tiny(), concat(history, turn2), greedy(6));
  EXPECT_EQ(fresh.prompt_tokens, static_cast<int64_t>(history.size() + turn2.size()));
  EXPECT_EQ(r2.tokens, fresh.tokens);
  EXPECT_EQ(r2.text, fresh.text);
}

TEST(Api, ContinuingWithoutNewTokensEqualsOneLongerGeneration) {
  const std::vector<int32_t> p = tiny().tokenize("Once upon a time");
  Session s(tiny());
  s.append(p);
  const GenerateResult a = s.generate(greedy(4));
  const GenerateResult b = s.generate(greedy(4));
  EXPECT_EQ(b.prompt_tokens, 1);
  EXPECT_EQ(concat(a.tokens, b.tokens), alone(tiny(), p, greedy(8)).tokens);
}

TEST(Api, PrefillThenGenerateEqualsGenerate) {
  const std::vector<int32_t> p = tiny().tokenize("Prefill me, then decode");
  Session s(tiny());
  s.append(p);
  const Timings t = s.prefill();
  EXPECT_EQ(t.prefill_tokens, static_cast<int64_t>(p.size()));
  EXPECT_EQ(s.n_cached(), static_cast<int64_t>(p.size()));
  EXPECT_EQ(s.prefill().prefill_tokens, 0);  // nothing new
  const GenerateResult r = s.generate(greedy(5));
  EXPECT_EQ(r.prompt_tokens, 0);
  EXPECT_EQ(r.cached_tokens, static_cast<int64_t>(p.size()));
  EXPECT_EQ(r.tokens, alone(tiny(), p, greedy(5)).tokens);
}

TEST(Api, StopFlagAndCallbackEndTheGeneration) {
  const std::vector<int32_t> p = tiny().tokenize("Stop me");
  std::atomic<bool> stop{false};
  GenerateOptions g = greedy(20);
  g.stop_flag = &stop;
  int calls = 0;
  g.on_token = [&](int32_t, std::string_view) {
    if (++calls == 3) stop = true;
    return true;
  };
  Session s(tiny());
  s.append(p);
  GenerateResult r = s.generate(g);
  EXPECT_EQ(r.generated_tokens, 3);
  EXPECT_EQ(r.finish_reason, FinishReason::Cancelled);
  EXPECT_EQ(s.tokens().size(), p.size() + 3);

  // The session goes on after a cancelled turn, as if it had ended normally.
  stop = false;
  g.stop_flag = nullptr;
  g.max_tokens = 4;
  g.on_token = [&](int32_t, std::string_view) { return true; };
  const GenerateResult more = s.generate(g);
  EXPECT_EQ(concat(r.tokens, more.tokens), alone(tiny(), p, greedy(7)).tokens);

  // A callback returning false stops too.
  g.on_token = [n = 0](int32_t, std::string_view) mutable { return ++n < 2; };
  r = alone(tiny(), p, g);
  EXPECT_EQ(r.generated_tokens, 2);
  EXPECT_EQ(r.finish_reason, FinishReason::Cancelled);

  // Set before the start: nothing is generated.
  stop = true;
  g.on_token = nullptr;
  g.stop_flag = &stop;
  r = alone(tiny(), p, g);
  EXPECT_EQ(r.generated_tokens, 0);
  EXPECT_EQ(r.finish_reason, FinishReason::Cancelled);
}

TEST(Api, StreamedPiecesAddUpToTheText) {
  const std::vector<int32_t> p = tiny().tokenize("Stream this");
  const GenerateResult plain = alone(tiny(), p, greedy(16));
  ASSERT_GE(plain.text.size(), 4u);
  for (const bool with_stop : {false, true}) {
    GenerateOptions g = greedy(16);
    if (with_stop) g.stop_strings = {plain.text.substr(plain.text.size() / 2, 2)};
    std::string streamed;
    size_t calls = 0;
    g.on_token = [&](int32_t, std::string_view text) {
      streamed += text;
      ++calls;
      return true;
    };
    const GenerateResult r = alone(tiny(), p, g);
    EXPECT_EQ(streamed, r.text);
    EXPECT_EQ(calls, r.tokens.size());
    if (with_stop) {
      EXPECT_EQ(r.finish_reason, FinishReason::StopString);
      EXPECT_EQ(r.text, plain.text.substr(0, plain.text.find(g.stop_strings[0])));
    }
  }
}

TEST(Api, SaveAndLoadGiveTheSameContinuation) {
  const std::vector<int32_t> p = tiny().tokenize("Remember this conversation");
  const std::vector<int32_t> next = tiny().tokenize(" and continue", false);
  const std::string file = testing::TempDir() + "api_test_session.json";
  GenerateOptions g = greedy(5);
  g.sampling.temperature = 0.9f;
  g.sampling.seed = 42;
  Session a(tiny());
  a.append(p);
  a.generate(g);
  a.save(file);
  a.append(next);
  const GenerateResult ra = a.generate(g);

  Session b(tiny());
  b.load(file);
  EXPECT_EQ(b.n_cached(), 0);
  b.append(next);
  const GenerateResult rb = b.generate(g);
  EXPECT_EQ(ra.tokens, rb.tokens);
  EXPECT_EQ(a.tokens(), b.tokens());

  // A session file of another model is refused, naming the file.
  Session other(load_ref(kGolden));
  try {
    other.load(file);
    FAIL() << "expected FileError";
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), file);
  }
  std::remove(file.c_str());
}

TEST(Api, ContextLimitEndsGenerationAndRefusesLongHistories) {
  const std::vector<int32_t> p = tiny().tokenize("Short context");
  const Llm small = load_ref(kDir, static_cast<int64_t>(p.size()) + 3);
  Session s(small);
  s.append(p);
  const GenerateResult r = s.generate(greedy(10));
  EXPECT_EQ(r.generated_tokens, 3);
  EXPECT_EQ(r.finish_reason, FinishReason::ContextFull);
  EXPECT_THROW(s.generate(greedy(1)), Error);
  EXPECT_THROW(s.append(p), Error);
  s.reset();
  EXPECT_TRUE(s.tokens().empty());
  s.append(p);
  EXPECT_EQ(s.generate(greedy(3)).tokens, r.tokens);
}

TEST(Api, BatchGivesEachRequestItsSingleRunOutput) {
  const Llm llm = load_ref(kDir, 64);
  std::vector<BatchRequest> reqs(5);
  reqs[0].prompt = llm.tokenize("A short one");
  reqs[0].options = greedy(7);
  reqs[1].prompt_text = "A much longer prompt that takes more positions in the cache";
  reqs[1].options = greedy(3);
  reqs[2].prompt = std::vector<int32_t>(80, 5);  // longer than the context of 64
  reqs[3].prompt_text = "Sampled with a seed";
  reqs[3].options = greedy(9);
  reqs[3].options.sampling.temperature = 0.8f;
  reqs[3].options.sampling.seed = 7;
  reqs[4].prompt = llm.tokenize("Late joiner");
  reqs[4].options = greedy(4);
  std::string streamed3;
  reqs[3].options.on_token = [&](int32_t, std::string_view t) {
    streamed3 += t;
    return true;
  };

  Batch batch(llm, BatchOptions{2});
  for (const BatchRequest& r : reqs) batch.add(r);
  std::vector<int64_t> done_order;
  const std::vector<BatchResult> results = batch.run([&](const BatchResult& r) { done_order.push_back(r.index); });
  ASSERT_EQ(results.size(), reqs.size());
  EXPECT_EQ(done_order.size(), reqs.size());
  EXPECT_FALSE(results[2].ok());
  EXPECT_NE(results[2].error.find("80 tokens"), std::string::npos) << results[2].error;
  for (size_t i : {0u, 1u, 3u, 4u}) {
    ASSERT_TRUE(results[i].ok()) << results[i].error;
    EXPECT_EQ(results[i].index, static_cast<int64_t>(i));
    const std::vector<int32_t> prompt = reqs[i].prompt.empty() ? llm.tokenize(reqs[i].prompt_text) : reqs[i].prompt;
    GenerateOptions g = reqs[i].options;
    g.on_token = nullptr;
    const GenerateResult single = alone(llm, prompt, g);
    EXPECT_EQ(results[i].result.tokens, single.tokens) << "request " << i;
    EXPECT_EQ(results[i].result.text, single.text) << "request " << i;
    EXPECT_EQ(results[i].result.prompt_tokens, static_cast<int64_t>(prompt.size()));
    EXPECT_EQ(results[i].result.generated_tokens, reqs[i].options.max_tokens);
  }
  EXPECT_EQ(streamed3, results[3].result.text);
  // A batch can be reused.
  batch.add(reqs[0]);
  EXPECT_EQ(batch.run().at(0).result.tokens, results[0].result.tokens);
}

TEST(Api, TwoModelsAndSessionsInOneProcess) {
  const Llm golden = load_ref(kGolden);
  EXPECT_FALSE(golden.has_tokenizer());
  EXPECT_THROW(golden.tokenize("x"), Error);
  const std::vector<int32_t> pg = {1, 5, 9, 3, 7};
  const std::vector<int32_t> pt = tiny().tokenize("Interleaved");
  Session a(golden), b(tiny()), c(golden);
  a.append(pg);
  b.append(pt);
  c.append(pg);
  const GenerateResult ra = a.generate(greedy(4));
  const GenerateResult rb = b.generate(greedy(4));
  const GenerateResult rc = c.generate(greedy(4));
  EXPECT_EQ(ra.tokens, rc.tokens);
  EXPECT_EQ(rb.tokens, alone(tiny(), pt, greedy(4)).tokens);
  // A session keeps its model alive.
  std::optional<Session> kept;
  {
    const Llm temp = load_ref(kGolden);
    kept.emplace(temp);
  }
  kept->append(pg);
  EXPECT_EQ(kept->generate(greedy(4)).tokens, ra.tokens);
}

TEST(Api, ErrorsNameTheProblem) {
  const std::string bad = std::string(SCHWARM_TEST_DATA_DIR) + "/no-such-checkpoint";
  try {
    Llm::load(bad);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-checkpoint"), std::string::npos) << e.what();
  }
  std::string error;
  EXPECT_FALSE(Llm::try_load(bad, {}, &error).has_value());
  EXPECT_NE(error.find("no-such-checkpoint"), std::string::npos) << error;
  LoadOptions o;
  o.backend = "tpu";
  EXPECT_FALSE(Llm::try_load(kDir, o, &error).has_value());
  EXPECT_NE(error.find("tpu"), std::string::npos) << error;

  Session s(tiny());
  EXPECT_FALSE(s.try_generate(greedy(1), &error).has_value());
  EXPECT_NE(error.find("nothing to continue"), std::string::npos) << error;
  EXPECT_THROW(s.append(std::vector<int32_t>{tiny().vocab_size()}), Error);
  s.append(tiny().tokenize("x"));
  GenerateOptions g = greedy(1);
  g.sampling.top_p = 0;
  EXPECT_FALSE(s.try_generate(g, &error).has_value());
  EXPECT_NE(error.find("top_p"), std::string::npos) << error;
  EXPECT_TRUE(s.try_generate(greedy(1), &error).has_value());
}

}  // namespace
