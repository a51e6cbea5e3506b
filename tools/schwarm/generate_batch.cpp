// schwarm generate --jsonl IN.jsonl [--out OUT.jsonl] [--parallel N]: every line of IN is a request
// (support/jsonl_requests.h); all of them run through one schwarm::Batch, up to N at once, a new
// one joining as another finishes (continuous batching).
//
// Output: one JSON line per request line, in the order of the input (blank lines excepted):
//   {"id": ..., "line": 3, "text": "...", "finish_reason": "max_tokens", "prompt_tokens": 12,
//    "generated_tokens": 32, "timings": {"prefill_ms": ..., "decode_ms": ...,
//    "prefill_tokens_per_s": ..., "decode_tokens_per_s": ...}}
//                                     (and "tokens": [...] with --print-ids)
//   {"id": ..., "line": 4, "error": "IN.jsonl:4: unknown key 'temprature' (known: ...)"}
// A record is written and flushed as soon as it and every earlier one are done (a finished request
// waits in memory only for slower earlier ones), so OUT always holds a prefix of the final output:
// an interrupted run (Ctrl-C, which cancels what is running; or a kill) keeps every record written.
// Exit status: 0 when every request succeeded, 1 when some line had an error (the others still
// ran), 130 after Ctrl-C.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "interrupt.h"
#include "jsonl_requests.h"
#include "jsonl_writer.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {
namespace {

nlohmann::ordered_json error_record(const nlohmann::json& id, int64_t line,
                                    const std::string& message) {
  return {{"id", id}, {"line", line}, {"error", message}};
}

nlohmann::ordered_json result_record(const nlohmann::json& id, int64_t line,
                                     const GenerateResult& r, bool with_tokens) {
  nlohmann::ordered_json j = {{"id", id},
                              {"line", line},
                              {"text", r.text},
                              {"finish_reason", finish_reason_name(r.finish_reason)},
                              {"prompt_tokens", r.prompt_tokens},
                              {"generated_tokens", r.generated_tokens},
                              {"timings",
                               {{"prefill_ms", r.timings.prefill_ms},
                                {"decode_ms", r.timings.decode_ms},
                                {"prefill_tokens_per_s", r.timings.prefill_tokens_per_s()},
                                {"decode_tokens_per_s", r.timings.decode_tokens_per_s()}}}};
  if (with_tokens) j["tokens"] = r.tokens;
  return j;
}

// The library request for one parsed line; throws Error for what only the model can tell (no
// tokenizer, ids out of range, a prompt longer than the context).
schwarm::BatchRequest make_request(const Llm& llm, const GenerateArgs& a,
                                   const cli::BatchRequest& in) {
  schwarm::BatchRequest out;
  if (!llm.has_tokenizer())
    throw Error("the checkpoint has no tokenizer, so text prompts cannot be used");
  if (in.prompt) {
    out.prompt = llm.tokenize(*in.prompt, !a.no_bos);
  } else {
    std::vector<schwarm::ChatMessage> messages;
    for (const auto& m : in.messages) messages.push_back({m.role, m.content});
    out.prompt = llm.tokenize_chat(messages, true);
  }
  if (out.prompt.empty()) throw Error("the prompt is empty after tokenization");
  check_prompt_ids(llm, out.prompt);
  check_fits_context(llm, static_cast<int64_t>(out.prompt.size()));
  const int64_t n = in.max_tokens.value_or(a.n_predict);
  out.options.max_tokens = n < 0 ? llm.context_length() : n;
  out.options.sampling = a.sampling.overlaid(in.sampling).options();
  out.options.stop_strings = a.stop;
  out.options.stop_strings.insert(out.options.stop_strings.end(), in.stop.begin(), in.stop.end());
  return out;
}

}  // namespace

int run_jsonl_batch(const GenerateArgs& a) {
  std::ifstream in(a.jsonl, std::ios::binary);
  if (!in) throw FileError(a.jsonl, "cannot read");
  std::FILE* out = stdout;
  if (!a.out.empty()) {
    out = std::fopen(a.out.c_str(), "wb");
    if (!out) throw FileError(a.out, "cannot write");
  }
  struct Closer {
    std::FILE* f;
    ~Closer() {
      if (f != stdout) std::fclose(f);
    }
  } closer{out};
  OrderedJsonlWriter writer(out, a.out.empty() ? "stdout" : a.out);

  const Llm llm = load_model(a.model);
  BatchOptions bo;
  bo.max_parallel = a.parallel;
  Batch batch(llm, bo);

  struct Pending {
    int64_t seq;
    nlohmann::json id;
    int64_t line;
  };
  std::vector<Pending> by_index;  // Batch index -> where its record goes
  int64_t seq = 0, line_no = 0, failed = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const ParsedLine p = parse_request_line(line, line_no);
    if (!p.request && p.error.empty()) continue;  // blank
    const std::string where = a.jsonl + ":" + std::to_string(line_no) + ": ";
    if (!p.request) {
      writer.put(seq++, error_record(p.id, line_no, where + p.error));
      ++failed;
      continue;
    }
    try {
      const int64_t index = batch.add(make_request(llm, a, *p.request));
      if (index != static_cast<int64_t>(by_index.size()))
        throw Error("internal: unexpected batch index");
      by_index.push_back({seq++, p.request->id, line_no});
    } catch (const Error& e) {
      writer.put(seq++, error_record(p.request->id, line_no, where + e.what()));
      ++failed;
    }
  }
  if (in.bad()) throw FileError(a.jsonl, "read error");
  spdlog::info("{} requests, {} run at once", by_index.size(), a.parallel);

  InterruptScope ctrl_c;  // Ctrl-C cancels the running requests; their records are still written
  batch.run(
      [&](const BatchResult& r) {
        const Pending& p = by_index.at(static_cast<size_t>(r.index));
        if (r.ok()) {
          writer.put(p.seq, result_record(p.id, p.line, r.result, a.print_ids));
        } else {
          writer.put(p.seq, error_record(p.id, p.line,
                                         a.jsonl + ":" + std::to_string(p.line) + ": " + r.error));
          ++failed;
        }
      },
      &interrupt_flag());
  if (interrupted()) {
    std::fprintf(stderr, "schwarm: interrupted; %lld records written\n",
                 static_cast<long long>(writer.written()));
    return 130;
  }
  if (failed > 0) {
    std::fprintf(stderr, "schwarm: %lld of %lld requests failed (their records say why)\n",
                 static_cast<long long>(failed), static_cast<long long>(seq));
    return 1;
  }
  return 0;
}

}  // namespace schwarm::cli
