// schwarm generate -m MODEL (-p TEXT | -f FILE | --ids 1,2,3) [-n 32] [sampling flags]
// [--stop STR]... [--no-bos] [--print-ids]: the generated text streamed to stdout as it comes (one
// flush per piece), or with --print-ids (or when the checkpoint has no tokenizer) the generated
// ids, comma-separated on one line. Ctrl-C stops the generation (what was generated is kept) and
// exits with 130.
//
// schwarm generate -m MODEL --jsonl IN.jsonl [--out OUT.jsonl] [--parallel N]: a batch of requests,
// one JSON object per line, run with continuous batching (generate_batch.cpp).
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "interrupt.h"
#include "model_args.h"
#include "sampling_args.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    if (item.empty())
      throw Error("--ids: empty item at character " + std::to_string(i) + " of '" + text + "'");
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE || v < INT32_MIN || v > INT32_MAX)
      throw Error("--ids: '" + item +
                  "' is not a token id (expected integers separated by commas)");
    ids.push_back(static_cast<int32_t>(v));
    i = j + 1;
  }
  return ids;
}

void check_prompt_ids(const Llm& llm, const std::vector<int32_t>& ids) {
  for (int32_t t : ids)
    if (t < 0 || t >= llm.vocab_size())
      throw Error("token id " + std::to_string(t) + " is out of the vocabulary range [0, " +
                  std::to_string(llm.vocab_size()) + ")");
}

void check_fits_context(const Llm& llm, int64_t prompt_tokens) {
  if (prompt_tokens >= llm.context_length())
    throw Error("the prompt is " + std::to_string(prompt_tokens) +
                " tokens, too long for the context of " + std::to_string(llm.context_length()) +
                " tokens (-c sets the context size)");
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw FileError(path, "cannot read");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

namespace {

int run_single(const GenerateArgs& o) {
  const int n_sources = !o.prompt.empty() + !o.prompt_file.empty() + !o.ids.empty();
  if (n_sources != 1)
    throw Error(
        "generate: give the prompt either as text with -p, from a file with -f, or as token ids "
        "with --ids 1,2,3 "
        "(or a batch with --jsonl)");
  const std::vector<int32_t> given_ids = o.ids.empty() ? std::vector<int32_t>{} : parse_ids(o.ids);
  const Llm llm = load_model(o.model);
  const bool text_prompt = o.ids.empty();
  if ((text_prompt || !o.stop.empty()) && !llm.has_tokenizer())
    throw Error(
        std::string("generate: ") + (text_prompt ? "a text prompt" : "--stop") +
        " needs a tokenizer and " + llm.path() +
        " has none (text prompts are not supported yet for such checkpoints; pass token ids "
        "with --ids)");
  const std::vector<int32_t> ids =
      text_prompt
          ? llm.tokenize(o.prompt.empty() ? read_text_file(o.prompt_file) : o.prompt, !o.no_bos)
          : given_ids;
  if (ids.empty()) throw Error("generate: the prompt is empty after tokenization");
  check_prompt_ids(llm, ids);
  check_fits_context(llm, static_cast<int64_t>(ids.size()));

  Session session(llm);
  session.append(ids);
  GenerateOptions g;
  g.max_tokens = o.n_predict < 0 ? llm.context_length() : o.n_predict;
  g.sampling = o.sampling.options();
  g.stop_strings = o.stop;
  const bool text = llm.has_tokenizer() && !o.print_ids;
  if (text) g.on_token = print_to_stdout();
  InterruptScope ctrl_c;
  g.stop_flag = &interrupt_flag();
  GenerateResult r;
  if (g.max_tokens > 0) r = session.generate(g);
  if (!text) {
    std::printf("%s", join_ids(r.tokens).c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
  if (o.timings) std::fprintf(stderr, "[%s]\n", timing_summary(r).c_str());
  return r.finish_reason == FinishReason::Cancelled ? 130 : 0;
}

}  // namespace

void add_generate(CLI::App& app, Runner& run) {
  auto o = std::make_shared<GenerateArgs>();
  CLI::App* sub = app.add_subcommand(
      "generate", "Generate text (or token ids) from a prompt, or from a JSONL batch");
  add_model_flags(*sub, o->model, /*default_model=*/true);
  sub->add_option("-p,--prompt", o->prompt,
                  "prompt text (tokenized with the checkpoint's tokenizer, BOS added)");
  sub->add_option("-f,--file", o->prompt_file, "read the prompt text from this file");
  sub->add_option("--ids", o->ids, "prompt as comma-separated token ids");
  sub->add_option("--jsonl", o->jsonl,
                  "a batch: one request per line, {\"id\", \"prompt\" or \"messages\", "
                  "\"max_tokens\", sampling "
                  "options, \"stop\"}; results as JSON lines in the same order");
  sub->add_option(
      "--out", o->out,
      "with --jsonl: write the results here (default: stdout); each is flushed when written");
  CLI::Option* parallel =
      sub->add_option("--parallel", o->parallel,
                      "with --jsonl: requests run at once (continuous batching), >= 1")
          ->check(int_range(1, 4096));
  sub->add_option("-n,--n-predict", o->n_predict,
                  "tokens to generate at most (-1: until the model ends or the context is full)")
      ->check(int_range(-1, int64_t{1} << 40));
  add_sampling_flags(*sub, o->sampling);
  sub->add_option("--stop", o->stop, "stop at this text (not printed); may be repeated");
  sub->add_flag("--no-bos", o->no_bos,
                "do not add the tokenizer's BOS (and EOS) to a -p/-f prompt");
  sub->add_flag(
      "--print-ids", o->print_ids,
      "print the generated token ids, comma-separated, instead of text (--jsonl: add \"tokens\")");
  sub->add_flag("--timings", o->timings, "print token counts and tokens/sec on stderr at the end");
  sub->callback([o, parallel, &run] {
    for (const std::string& s : o->stop)
      if (s.empty()) throw CLI::ValidationError("--stop", "a stop string must not be empty");
    if (!o->jsonl.empty() && (!o->prompt.empty() || !o->prompt_file.empty() || !o->ids.empty()))
      throw CLI::ValidationError(
          "--jsonl",
          "give either a batch file with --jsonl or one prompt (-p, -f, --ids), not both");
    if (o->jsonl.empty() && (!o->out.empty() || parallel->count() > 0))
      throw CLI::ValidationError("--out/--parallel", "--out and --parallel go with --jsonl");
    run = [o] { return o->jsonl.empty() ? run_single(*o) : run_jsonl_batch(*o); };
  });
}

}  // namespace schwarm::cli
