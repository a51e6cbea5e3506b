// schwarm chat -m MODEL [--system-prompt TEXT] [-n N] [sampling flags] [--timings]: an interactive
// conversation in the checkpoint's chat template, answers streamed to stdout. On a terminal lines
// are read with line editing and history; from a pipe, one message per line (no prompt printed),
// so a conversation can be scripted. Commands: /reset /save FILE /load FILE /stats /help /exit.
//
// The conversation's KV cache is kept between turns: each turn appends only what the template adds
// for the new message (see Conversation::add_user), so only those tokens are evaluated.
// Ctrl-C while an answer is streamed stops that answer; at the prompt Ctrl-D or /exit ends the chat
// (Ctrl-C there ends the program; the history file is already written).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "interrupt.h"
#include "line_input.h"
#include "model_args.h"
#include "sampling_args.h"
#include "schwarm/schwarm.hpp"
#include "subcommands.h"

namespace schwarm::cli {
namespace {

struct ChatArgs {
  ModelArgs model;
  SamplingArgs sampling;
  std::string system;
  int64_t n_predict = -1;
  bool timings = false;
  bool print_prompt_ids = false;
  bool plain = false;
  bool no_history = false;
};

// A conversation: its messages and a Session whose history is the rendered conversation (plus the
// answers' tokens as they were generated).
class Conversation {
 public:
  Conversation(const Llm& llm, std::string system)
      : llm_(llm), session_(llm), system_(std::move(system)) {
    reset();
  }

  // Adds a user message and appends to the session what the chat template adds for it. The
  // template renders the whole conversation; when the session's history, as text, is a prefix of
  // that rendering, only the rest is tokenized and appended (the answer's end-of-turn marker, if
  // the answer did not end with it, and the new turn). When the template rewrites earlier turns
  // (some strip reasoning from old answers) the history is replaced by the full rendering and
  // evaluated again. Returns the appended ids. On error the conversation is unchanged.
  std::vector<int32_t> add_user(const std::string& text) {
    messages_.push_back({"user", text});
    try {
      const std::string target = llm_.apply_chat_template(messages_, true);
      const std::vector<int32_t>& history = session_.tokens();
      const std::string have = history.empty() ? "" : llm_.detokenize(history);
      std::vector<int32_t> ids;
      if (!history.empty() && target.compare(0, have.size(), have) == 0) {
        ids = llm_.tokenize(std::string_view(target).substr(have.size()), false, true);
      } else {
        if (!history.empty()) {
          spdlog::info(
              "(the chat template rewrote earlier turns: evaluating the conversation again)");
          session_.reset();
          spans_.clear();  // the answers' tokens are re-tokenized text now
        }
        ids = llm_.tokenize_chat(messages_, true);
      }
      session_.append(ids);
      return ids;
    } catch (...) {
      messages_.pop_back();
      throw;
    }
  }

  GenerateResult answer(const GenerateOptions& options) {
    GenerateResult r = session_.generate(options);
    // The answer as the history holds it: the bytes of its tokens (text held back when the answer
    // was stopped, or bytes of a split character, included), without the end-of-turn id, which the
    // template writes itself. Then the next turn's rendering starts with the history's text.
    std::span<const int32_t> said(r.tokens);
    if (r.finish_reason == FinishReason::StopId && !said.empty())
      said = said.first(said.size() - 1);
    messages_.push_back({"assistant", llm_.detokenize(said)});
    const int64_t begin = static_cast<int64_t>(session_.tokens().size() - r.tokens.size());
    spans_[messages_.size() - 1] = {begin, begin + static_cast<int64_t>(said.size())};
    ++turns_;
    last_ = r;
    totals_.prefill_ms += r.timings.prefill_ms;
    totals_.prefill_tokens += r.timings.prefill_tokens;
    totals_.decode_ms += r.timings.decode_ms;
    totals_.decode_tokens += r.timings.decode_tokens;
    generated_ += r.generated_tokens;
    return r;
  }

  void reset() {
    session_.reset();
    messages_.clear();
    spans_.clear();
    if (!system_.empty()) messages_.push_back({"system", system_});
  }

  // The chat file: the messages and the exact token history, for this model only.
  void save(const std::string& path) const {
    nlohmann::ordered_json j;
    j["format"] = "schwarm-chat";
    j["version"] = 1;
    j["architecture"] = llm_.architecture();
    j["vocab_size"] = llm_.vocab_size();
    j["messages"] = nlohmann::ordered_json::array();
    // JSON holds only valid UTF-8, so an answer that split a character is saved with U+FFFD; the
    // span of its tokens lets /load restore its exact bytes (and so keep the next turn's prefix).
    for (size_t i = 0; i < messages_.size(); ++i) {
      nlohmann::ordered_json m = {{"role", messages_[i].role}, {"content", messages_[i].content}};
      if (const auto it = spans_.find(i); it != spans_.end())
        m["tokens"] = {it->second.first, it->second.second};
      j["messages"].push_back(m);
    }
    j["tokens"] = session_.tokens();
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      if (!f.flush()) throw FileError(path, "cannot write");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw FileError(path, "cannot write (rename failed)");
  }

  void load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw FileError(path, "cannot read");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      throw FileError(path, std::string("not a chat file (invalid JSON: ") + e.what() + ")");
    }
    std::vector<ChatMessage> messages;
    std::map<size_t, std::pair<int64_t, int64_t>> spans;
    std::vector<int32_t> tokens;
    try {
      if (j.value("format", "") != "schwarm-chat" || j.value("version", 0) != 1)
        throw FileError(path, "not a schwarm chat file (saved with /save)");
      if (j.at("architecture").get<std::string>() != llm_.architecture() ||
          j.at("vocab_size").get<int32_t>() != llm_.vocab_size())
        throw FileError(path, "saved for another model (" +
                                  j.at("architecture").get<std::string>() + ", vocabulary " +
                                  std::to_string(j.at("vocab_size").get<int64_t>()) + ")");
      tokens = j.at("tokens").get<std::vector<int32_t>>();
      for (const auto& m : j.at("messages")) {
        messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
        if (!m.contains("tokens")) continue;
        const auto span = m.at("tokens").get<std::pair<int64_t, int64_t>>();
        if (span.first < 0 || span.first > span.second ||
            span.second > static_cast<int64_t>(tokens.size()))
          throw FileError(path,
                          "malformed chat file: a message's token span is outside the history");
        spans[messages.size() - 1] = span;
        messages.back().content =
            llm_.detokenize(std::span(tokens).subspan(span.first, span.second - span.first));
      }
    } catch (const nlohmann::json::exception& e) {
      throw FileError(path, std::string("malformed chat file: ") + e.what());
    }
    Session fresh(llm_);
    fresh.append(tokens);  // checks ids and length before anything is replaced
    session_ = std::move(fresh);
    messages_ = std::move(messages);
    spans_ = std::move(spans);
  }

  std::string stats() const {
    char buf[512];
    std::string s;
    std::snprintf(buf, sizeof buf,
                  "turns: %lld\ncontext: %zu of %lld tokens used (%lld in the KV cache)\n",
                  static_cast<long long>(turns_), session_.tokens().size(),
                  static_cast<long long>(session_.context_length()),
                  static_cast<long long>(session_.n_cached()));
    s += buf;
    if (last_) s += "last answer: " + timing_summary(*last_) + "\n";
    std::snprintf(buf, sizeof buf,
                  "all answers: %lld prompt tokens at %.2f t/s, %lld generated at %.2f t/s\n",
                  static_cast<long long>(totals_.prefill_tokens), totals_.prefill_tokens_per_s(),
                  static_cast<long long>(generated_), totals_.decode_tokens_per_s());
    s += buf;
    return s;
  }

 private:
  const Llm& llm_;
  Session session_;
  std::string system_;
  std::vector<ChatMessage> messages_;
  std::map<size_t, std::pair<int64_t, int64_t>>
      spans_;  // message -> its answer's [begin, end) in the history
  int64_t turns_ = 0;
  std::optional<GenerateResult> last_;
  Timings totals_;  // summed over answers
  int64_t generated_ = 0;
};

constexpr const char* kHelp =
    "commands: /reset (start over), /save FILE, /load FILE (the conversation), /stats, /help, "
    "/exit\n"
    "a line ending in \\ continues on the next line; //text sends /text\n";

// Runs one slash command; false when the chat should end.
bool run_command(const std::string& line, Conversation& chat) {
  const size_t sp = line.find(' ');
  const std::string cmd = line.substr(0, sp);
  std::string arg = sp == std::string::npos ? "" : line.substr(sp + 1);
  arg.erase(0, arg.find_first_not_of(' '));
  arg.erase(arg.find_last_not_of(' ') + 1);
  if (cmd == "/exit" || cmd == "/quit") return false;
  if (cmd == "/reset") {
    chat.reset();
    std::printf("(conversation reset)\n");
  } else if (cmd == "/save" || cmd == "/load") {
    if (arg.empty()) throw Error(cmd + " needs a file name: " + cmd + " FILE");
    if (cmd == "/save")
      chat.save(arg);
    else
      chat.load(arg);
    std::printf("(%s %s)\n", cmd == "/save" ? "saved to" : "loaded", arg.c_str());
  } else if (cmd == "/stats") {
    std::fputs(chat.stats().c_str(), stdout);
  } else if (cmd == "/help") {
    std::fputs(kHelp, stdout);
  } else {
    throw Error("unknown command " + cmd + " (/help lists them)");
  }
  std::fflush(stdout);
  return true;
}

int run_chat(const ChatArgs& a) {
  const Llm llm = load_model(a.model);
  if (!llm.has_chat_template())
    throw Error(
        llm.path() +
        ": the checkpoint has no chat template (use schwarm generate -p for plain prompts)");
  Conversation chat(llm, a.system);
  const std::unique_ptr<LineInput> input =
      open_line_input(a.no_history ? "" : default_history_file(), a.plain);
  if (input->editing() && !a.model.quiet) std::fprintf(stderr, "%s", kHelp);
  bool failed = false;
  while (std::optional<std::string> line = input->read("> ")) {
    if (line->empty()) continue;
    try {
      if ((*line)[0] == '/' && line->compare(0, 2, "//") != 0) {
        if (!run_command(*line, chat)) break;
        continue;
      }
      const std::string message = line->compare(0, 2, "//") == 0 ? line->substr(1) : *line;
      const std::vector<int32_t> ids = chat.add_user(message);
      if (a.print_prompt_ids) std::fprintf(stderr, "[prompt ids] %s\n", join_ids(ids).c_str());
      GenerateOptions g;
      g.sampling = a.sampling.options();
      g.max_tokens = a.n_predict < 0 ? llm.context_length() : a.n_predict;
      g.on_token = print_to_stdout();
      InterruptScope ctrl_c;  // Ctrl-C now ends this answer only
      g.stop_flag = &interrupt_flag();
      const GenerateResult r = chat.answer(g);
      std::printf("\n");
      std::fflush(stdout);
      if (r.finish_reason == FinishReason::Cancelled) std::fprintf(stderr, "(answer stopped)\n");
      if (r.finish_reason == FinishReason::ContextFull)
        std::fprintf(
            stderr,
            "(the context is full: /reset starts a new conversation; -c sets a larger context)\n");
      if (a.timings) std::fprintf(stderr, "[%s]\n", timing_summary(r).c_str());
    } catch (const Error& e) {
      // One failed turn (a message that does not fit, a bad /load file) does not end the chat.
      std::fprintf(stderr, "schwarm: error: %s\n", e.what());
      failed = true;
    }
  }
  // Scripted (piped) chats report a failed turn in the exit code.
  return failed && !input->editing() ? 1 : 0;
}

}  // namespace

void add_chat(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* sub = app.add_subcommand(
      "chat", "Chat with a model in its chat template (interactive, or lines from a pipe)");
  add_model_flags(*sub, a->model, /*default_model=*/true);
  sub->add_option("--system-prompt,--system", a->system,
                  "a system message that starts the conversation");
  sub->add_option("-n,--n-predict", a->n_predict,
                  "tokens per answer at most (-1: until the model ends it)")
      ->check(int_range(-1, int64_t{1} << 40));
  add_sampling_flags(*sub, a->sampling);
  sub->add_flag("--timings", a->timings,
                "after each answer, print its token counts and tokens/sec on stderr");
  sub->add_flag("--print-prompt-ids", a->print_prompt_ids,
                "print the token ids each turn appends to the conversation on stderr");
  sub->add_flag("--plain", a->plain, "read plain lines even on a terminal (no line editing)");
  sub->add_flag("--no-history", a->no_history,
                "keep no history file ($SCHWARM_HISTORY, else ~/.schwarm_history)");
  sub->callback([a, &run] { run = [a] { return run_chat(*a); }; });
}

}  // namespace schwarm::cli
