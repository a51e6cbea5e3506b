#pragma once
// schwarm: the C++ API. Load a checkpoint, tokenize, apply its chat template, and generate text in
// conversations (Session) or in batches of independent requests (Batch, continuous batching).
//
//   schwarm::Llm llm = schwarm::Llm::load("path/to/model");            // HF dir, .safetensors, .gguf
//   schwarm::Session chat(llm);
//   chat.append(llm.tokenize_chat({{"user", "Hello!"}}));
//   schwarm::GenerateOptions g;
//   g.on_token = [](int32_t, std::string_view text) { std::cout << text << std::flush; return true; };
//   schwarm::GenerateResult r = chat.generate(g);
//
// Errors: every function that can fail throws schwarm::Error (schwarm/error.h) with clear text;
// problems with a file are schwarm::FileError, whose message reads "PATH: problem". Llm::try_load
// and Session::try_generate are the no-throw variants; the C API (schwarm.h) never throws.
//
// State and threads: there is no global state; any number of models, sessions and batches may live
// in one process. An Llm is immutable once loaded; its const functions (tokenize, detokenize,
// apply_chat_template, the accessors) may be called from any number of threads at once. Sessions
// and Batches of one Llm may be used from different threads: their forward passes take turns on
// the model (one at a time per Llm); those of different Llms run in parallel. One Session or Batch
// object must not be used by two threads at once. Callbacks (on_token, on_done, on_progress) run
// on the calling thread, never while the model is locked, so they may call any function of the
// Llm; they must not call into the Session or Batch that is calling them. A Session or Batch keeps
// its Llm's weights alive (shared ownership): the Llm object itself may be destroyed first.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schwarm/error.h"
#include "schwarm/sampling.h"
#include "schwarm/version.h"

namespace schwarm {

// The library's version, "MAJOR.MINOR.PATCH" (SCHWARM_VERSION of the build that made the library).
const char* version();

// Load progress: bytes of weights paged in so far, out of the total. Called with done == total at
// the end.
using LoadProgressFn = std::function<void(uint64_t done, uint64_t total)>;

struct LoadOptions {
  // "cpu" (threaded, fast), "cuda" / "cuda:N" (GPU 0 / GPU N; a build with the CUDA toolkit),
  // or "ref" (plain scalar, for tests). An unusable choice (no GPU, no CUDA in this build) is an
  // Error from load naming why.
  std::string backend = "cpu";
  int threads = 0;              // cpu backend threads; 0: all hardware threads
  // KV cache positions of each Session (the conversation's length limit, prompt and generated
  // tokens together) and of each request of a Batch. 0: min(the model's trained context, 4096).
  int64_t context_size = 0;
  // Matmuls by K-quant weights (Q4_K, Q5_K, Q6_K) and Q8_0, Q4_0, Q5_0 take their input rounded to
  // 8 bits per block of 256, as llama.cpp does, so the cpu backend can use integer dot products
  // (about 2x faster decode and prefill); false: the activations as they are (the logits then
  // match a float reference to ~1e-5; other weight types are never affected).
  bool quantize_activations = true;
  LoadProgressFn on_progress;  // optional, called on the loading thread
};

// One message of a conversation for the chat template.
struct ChatMessage {
  std::string role;     // "system", "user", "assistant", ...
  std::string content;
};

// A loaded checkpoint: weights, tokenizer (when the checkpoint has one) and chat template. Cheap to
// copy (copies share the loaded model).
class Llm {
 public:
  // Opens a Hugging Face directory (config.json + *.safetensors [+ tokenizer.json]), a single
  // .safetensors file (config.json and tokenizer beside it) or a .gguf file, and binds the weights.
  // Throws FileError naming the file for a missing / malformed checkpoint, Error for an unknown
  // architecture, a bad option (unknown backend, negative threads or context_size).
  static Llm load(const std::string& path, const LoadOptions& options = {});
  // The same without exceptions: nullopt on failure, with the message in *error (when given).
  static std::optional<Llm> try_load(const std::string& path, const LoadOptions& options = {},
                                     std::string* error = nullptr) noexcept;

  // ---- what was loaded ----
  const std::string& path() const;
  const std::string& backend() const;  // as LoadOptions::backend named it
  std::string architecture() const;    // as the checkpoint names it: "DeepseekV3ForCausalLM", "deepseek2"
  std::string family() const;          // schwarm's family: "deepseek", "qwen3moe", "mixtral", ...
  int64_t n_params() const;            // parameters, counted from the config (all experts)
  int64_t n_active_params() const;     // parameters one token uses (shared + top-k routed experts)
  uint64_t file_size() const;          // bytes of all checkpoint files
  int32_t vocab_size() const;          // rows of the embedding (ids are in [0, vocab_size))
  int64_t context_length() const;      // KV positions per session (LoadOptions::context_size resolved)
  int64_t trained_context_length() const;  // the config's max_position_embeddings
  int64_t kv_bytes_per_token() const;  // KV cache bytes one position takes over all layers

  // ---- text ----
  bool has_tokenizer() const;
  bool has_chat_template() const;
  int32_t bos_id() const;  // -1 when none (or no tokenizer)
  int32_t eos_id() const;  // -1 when none (or no tokenizer)
  // eos, eot, eom, ...: the ids that end generation by default.
  bool is_end_of_generation(int32_t id) const;

  // Text to ids. add_special: add BOS (and EOS) where the checkpoint's tokenizer config says so.
  // parse_special: special tokens written in the text ("<|im_end|>") become their ids.
  // Throws Error without a tokenizer, or for invalid UTF-8.
  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true, bool parse_special = true) const;
  // Ids to text (special tokens dropped when skip_special). Ids that split a UTF-8 character give
  // ill-formed bytes; streamed text (on_token) is always complete UTF-8.
  std::string detokenize(std::span<const int32_t> ids, bool skip_special = false) const;
  // The bytes one token stands for.
  std::string token_to_piece(int32_t id) const;

  // The conversation rendered with the checkpoint's chat template (jinja2, as transformers renders
  // it; bos_token / eos_token from the checkpoint). add_generation_prompt: end with the assistant's
  // turn header. Throws Error when the checkpoint has no chat template or the template fails.
  std::string apply_chat_template(std::span<const ChatMessage> messages, bool add_generation_prompt = true) const;
  // tokenize(apply_chat_template(messages, add_generation_prompt), add_special = false,
  // parse_special = true): the template writes BOS itself (as transformers' apply_chat_template).
  std::vector<int32_t> tokenize_chat(std::span<const ChatMessage> messages, bool add_generation_prompt = true) const;

  // ---- scoring ----
  // The fp32 logits of every position of `tokens`, evaluated as one sequence from an empty
  // context: row i (vocab_size() values) scores the token after tokens[0..i]. Throws Error for an
  // empty input, ids outside the vocabulary, or more tokens than context_length(). Takes its turn
  // on the model like a Session's forward pass. `dump`, for layer-by-layer debugging, receives
  // every named intermediate of the forward pass ("embed", "attn_out", "layer_out" (transformers'
  // hidden_states[layer + 1]), "final_norm", "logits"; layer -1 outside the layers) as a
  // row-major [rows x cols] f32 matrix.
  using DumpFn = std::function<void(const std::string& name, int64_t layer, std::span<const float> data,
                                    int64_t rows, int64_t cols)>;
  std::vector<float> evaluate(std::span<const int32_t> tokens, const DumpFn& dump = {}) const;
  // True when tokenize(..., add_special = true) starts with BOS (the checkpoint's tokenizer config).
  bool adds_bos() const;

  struct Impl;  // the implementation (src/api/); not part of the API
  explicit Llm(std::shared_ptr<Impl> impl);
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

// Called for every sampled token with the newly final text: complete UTF-8, possibly empty (part
// of a character, or text that could still be the start of a stop string, is held back until it is
// decided). The pieces of one generation concatenate to GenerateResult::text. Return false to stop
// (the generation ends with FinishReason::Cancelled; the token is kept).
using TokenFn = std::function<bool(int32_t token, std::string_view text)>;

struct GenerateOptions {
  int64_t max_tokens = 256;  // new tokens at most (the context may end it earlier: ContextFull)
  SamplingOptions sampling;  // greedy by default
  // The generation ends when one of these appears in the text; the stop string is not part of the
  // text. Need a tokenizer.
  std::vector<std::string> stop_strings;
  // A sampled stop id ends the generation (and is kept in `tokens`, not in `text`). Unset: the
  // tokenizer's end-of-generation ids. An empty vector: never stop on an id (for benchmarks).
  std::optional<std::vector<int32_t>> stop_ids;
  TokenFn on_token;  // optional streaming callback
  // Checked before every token: when it reads true the generation ends (FinishReason::Cancelled).
  // May be set from another thread or a signal handler. Not owned.
  const std::atomic<bool>* stop_flag = nullptr;
};

struct Timings {
  double prefill_ms = 0;       // evaluating the prompt (new tokens) and choosing the first token
  double decode_ms = 0;        // every later token
  int64_t prefill_tokens = 0;  // tokens evaluated in the prefill
  int64_t decode_tokens = 0;   // tokens evaluated one by one after it
  double prefill_tokens_per_s() const { return prefill_ms > 0 ? prefill_tokens * 1000.0 / prefill_ms : 0; }
  double decode_tokens_per_s() const { return decode_ms > 0 ? decode_tokens * 1000.0 / decode_ms : 0; }
};

struct GenerateResult {
  std::string text;             // the generated text (no stop string, no end-of-generation token)
  std::vector<int32_t> tokens;  // the generated ids (the stop id, if any, included)
  FinishReason finish_reason = FinishReason::None;
  int64_t prompt_tokens = 0;  // tokens evaluated before the first new one (not in the KV cache yet)
  int64_t cached_tokens = 0;  // history positions reused from the KV cache (not evaluated again)
  int64_t generated_tokens = 0;  // == tokens.size()
  Timings timings;
};

// One conversation: a token history whose KV cache is kept between calls, so each turn evaluates
// only the tokens added since the last one. Owns a KV cache of llm.context_length() positions.
//
//   session.append(llm.tokenize_chat(messages));  // turn 1: the whole rendered conversation
//   session.generate(options);
//   session.append(new_turn_ids);                 // turn 2: only the new turn's tokens
//   session.generate(options);
//
// The last generated token is evaluated at the start of the next call (its logits are not needed
// until then), so prompt_tokens of a later turn is the new tokens + 1.
class Session {
 public:
  explicit Session(const Llm& llm);
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  // Adds tokens to the history; they are evaluated by the next prefill() or generate(). Throws
  // Error for ids outside the vocabulary or when the history would not fit in the context.
  void append(std::span<const int32_t> tokens);
  // append(llm.tokenize(text, add_special, /*parse_special=*/true)).
  void append_text(std::string_view text, bool add_special = false);

  // Evaluates the appended tokens now (the KV cache then holds the whole history) and returns how
  // long it took: prefill_tokens / prefill_ms is the prompt-processing rate. The next generate()
  // starts from the stored logits without evaluating anything again. No-op when nothing is pending.
  Timings prefill();

  // Generates after the history; the generated tokens become part of the history. Throws Error
  // when the history is empty or fills the context, for invalid options (sampling out of range,
  // stop strings without a tokenizer), or when the KV cache runs out. An exception thrown by
  // on_token is passed on (the history then holds the tokens generated so far).
  GenerateResult generate(const GenerateOptions& options = {});
  // The same without exceptions: nullopt on failure, with the message in *error (when given).
  std::optional<GenerateResult> try_generate(const GenerateOptions& options = {}, std::string* error = nullptr) noexcept;

  // Forgets the history and frees its KV cache.
  void reset();
  // The history: every appended and generated token, in order.
  const std::vector<int32_t>& tokens() const;
  int64_t n_cached() const;        // history positions held in the KV cache
  int64_t context_length() const;  // positions the session can hold

  // Saves the history to a file (JSON: format, model architecture and vocab size, token ids).
  // Sampling state is not saved: every generate() starts its sampler from its own options.seed.
  void save(const std::string& path) const;
  // Replaces the history with a saved one (checks that it was saved for a model with the same
  // architecture and vocabulary size); the KV cache is rebuilt by evaluating the whole history on
  // the next prefill() / generate(). Throws FileError naming the file when it cannot be read or
  // does not fit this model.
  void load(const std::string& path);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

struct PerplexityOptions {
  int64_t context = 512;  // tokens per chunk (llama-perplexity's -c)
  int64_t max_chunks = -1;  // -1: every whole chunk of the text
  // Called after each chunk with its index (from 0), the chunk count and the running estimate.
  std::function<void(int64_t chunk, int64_t chunks, double running_perplexity)> on_chunk;
};

struct PerplexityResult {
  double perplexity = 0;      // exp(mean_nll)
  double mean_nll = 0;        // mean negative log-likelihood per scored token (nats)
  double perplexity_error = 0;  // perplexity x the standard error of mean_nll (llama-perplexity's "+/-")
  int64_t chunks = 0;
  int64_t scored_tokens = 0;
};

// Perplexity of a token sequence as llama.cpp's llama-perplexity computes it, so the figures
// compare: the tokens (tokenized with add_special, so BOS first where the tokenizer adds one) are
// cut into whole chunks of `context` tokens (the rest dropped); each chunk is evaluated from an
// empty context with its first token replaced by BOS when the tokenizer adds one; the second half
// of each chunk is scored: positions j in [context/2, context-1) predict token j+1. Throws Error
// when fewer than 2 x context tokens are given (llama-perplexity's requirement), or for a context
// below 4 or above llm.context_length().
PerplexityResult perplexity(const Llm& llm, std::span<const int32_t> tokens, const PerplexityOptions& options = {});

// One request of a Batch.
struct BatchRequest {
  std::vector<int32_t> prompt;  // token ids; when empty, prompt_text is tokenized:
  std::string prompt_text;      //   llm.tokenize(prompt_text, add_special = true)
  GenerateOptions options;      // per request: budget, sampling, stops, streaming, stop flag
};

struct BatchResult {
  int64_t index = -1;     // the request's index (the order of Batch::add, from 0)
  std::string error;      // non-empty: the request failed (e.g. the prompt does not fit the
                          // context, or it is empty) and `result` is empty; the others go on
  GenerateResult result;  // timings: the forward passes the request took part in (shared ones too)
  bool ok() const { return error.empty(); }
};

struct BatchOptions {
  int64_t max_parallel = 4;  // requests in flight at once; the rest wait and join as others finish
};

// Continuous batching of independent requests: up to max_parallel requests are evaluated together,
// one forward pass per step (new requests' prompts and running requests' next tokens mixed); when
// a request finishes, the next waiting one joins. Each request gets the tokens it would get alone
// (same seed, same prompt: same output). KV cache: max_parallel * llm.context_length() positions.
class Batch {
 public:
  explicit Batch(const Llm& llm, BatchOptions options = {});
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  ~Batch();

  // Queues a request; returns its index. Throws Error for invalid options (sampling out of range,
  // stop strings without a tokenizer, max_tokens < 0). Prompt problems are reported per request.
  int64_t add(BatchRequest request);
  // Runs every queued request to the end. on_done is called as each one finishes (in finishing
  // order), on the calling thread. stop_flag: when it reads true, running requests end as
  // Cancelled and waiting ones get the error "cancelled". Returns all results in index order; the
  // queue is then empty (add() more and run() again to reuse the batch).
  std::vector<BatchResult> run(const std::function<void(const BatchResult&)>& on_done = {},
                               const std::atomic<bool>* stop_flag = nullptr);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace schwarm
