// The C API (schwarm.h): thin wrappers over the C++ API that turn exceptions into status codes and
// malloc'd messages.
#include "schwarm/schwarm.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "schwarm/schwarm.hpp"

struct schwarm_model {
  schwarm::Llm llm;
  std::string architecture;
};

struct schwarm_session {
  schwarm::Session session;
};

namespace {

static_assert(static_cast<int>(schwarm::FinishReason::MaxTokens) == SCHWARM_FINISH_MAX_TOKENS &&
              static_cast<int>(schwarm::FinishReason::StopId) == SCHWARM_FINISH_STOP_ID &&
              static_cast<int>(schwarm::FinishReason::StopString) == SCHWARM_FINISH_STOP_STRING &&
              static_cast<int>(schwarm::FinishReason::Cancelled) == SCHWARM_FINISH_CANCELLED &&
              static_cast<int>(schwarm::FinishReason::ContextFull) == SCHWARM_FINISH_CONTEXT_FULL,
              "schwarm_finish_reason mirrors schwarm::FinishReason");

char* copy_string(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

void set_error(char** error, const char* message) {
  if (!error) return;
  const size_t n = std::strlen(message);
  *error = static_cast<char*>(std::malloc(n + 1));
  if (*error) std::memcpy(*error, message, n + 1);
}

// Runs f, mapping exceptions to status codes and *error.
template <class F>
schwarm_status guarded(char** error, F&& f) {
  if (error) *error = nullptr;
  try {
    f();
    return SCHWARM_OK;
  } catch (const schwarm::FileError& e) {
    set_error(error, e.what());
    return SCHWARM_ERROR_FILE;
  } catch (const std::bad_alloc&) {
    set_error(error, "out of memory");
    return SCHWARM_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    return SCHWARM_ERROR_RUNTIME;
  } catch (...) {
    set_error(error, "unknown error");
    return SCHWARM_ERROR_RUNTIME;
  }
}

schwarm_status invalid(char** error, const char* what) {
  set_error(error, (std::string("invalid argument: ") + what).c_str());
  return SCHWARM_ERROR_INVALID_ARGUMENT;
}

#define SCHWARM_REQUIRE(cond, error)      \
  do {                                    \
    if (!(cond)) return invalid(error, #cond); \
  } while (0)

}  // namespace

extern "C" {

const char* schwarm_version(void) { return schwarm::version(); }
void schwarm_string_free(char* s) { std::free(s); }
void schwarm_tokens_free(int32_t* ids) { std::free(ids); }

schwarm_model_params schwarm_model_default_params(void) {
  schwarm_model_params p{};
  p.backend = "cpu";
  return p;
}

schwarm_status schwarm_model_load(const char* path, const schwarm_model_params* params, schwarm_model** model,
                                  char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(path && model, error);
  *model = nullptr;
  const schwarm_model_params p = params ? *params : schwarm_model_default_params();
  return guarded(error, [&] {
    schwarm::LoadOptions o;
    if (p.backend) o.backend = p.backend;
    o.threads = p.threads;
    o.context_size = p.context_size;
    o.quantize_activations = p.exact_activations == 0;
    if (p.progress) o.on_progress = [&p](uint64_t done, uint64_t total) { p.progress(done, total, p.progress_user_data); };
    schwarm::Llm llm = schwarm::Llm::load(path, o);
    std::string arch = llm.architecture();
    *model = new schwarm_model{std::move(llm), std::move(arch)};
  });
}

void schwarm_model_free(schwarm_model* model) { delete model; }

const char* schwarm_model_architecture(const schwarm_model* m) { return m ? m->architecture.c_str() : ""; }
int64_t schwarm_model_n_params(const schwarm_model* m) { return m ? m->llm.n_params() : 0; }
uint64_t schwarm_model_file_size(const schwarm_model* m) { return m ? m->llm.file_size() : 0; }
int32_t schwarm_model_vocab_size(const schwarm_model* m) { return m ? m->llm.vocab_size() : 0; }
int64_t schwarm_model_context_length(const schwarm_model* m) { return m ? m->llm.context_length() : 0; }
int schwarm_model_has_tokenizer(const schwarm_model* m) { return m && m->llm.has_tokenizer(); }
int schwarm_model_has_chat_template(const schwarm_model* m) { return m && m->llm.has_chat_template(); }
int32_t schwarm_model_bos_id(const schwarm_model* m) { return m ? m->llm.bos_id() : -1; }
int32_t schwarm_model_eos_id(const schwarm_model* m) { return m ? m->llm.eos_id() : -1; }

schwarm_status schwarm_tokenize(const schwarm_model* m, const char* text, size_t len, int add_special,
                                int parse_special, int32_t** ids, size_t* n_ids, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(m && (text || len == 0) && ids && n_ids, error);
  *ids = nullptr;
  *n_ids = 0;
  return guarded(error, [&] {
    const std::vector<int32_t> v =
        m->llm.tokenize(std::string_view(text ? text : "", len), add_special != 0, parse_special != 0);
    int32_t* out = static_cast<int32_t*>(std::malloc(std::max<size_t>(1, v.size()) * sizeof(int32_t)));
    if (!out) throw std::bad_alloc();
    if (!v.empty()) std::memcpy(out, v.data(), v.size() * sizeof(int32_t));
    *ids = out;
    *n_ids = v.size();
  });
}

schwarm_status schwarm_detokenize(const schwarm_model* m, const int32_t* ids, size_t n_ids, int skip_special,
                                  char** text, size_t* len, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(m && (ids || n_ids == 0) && text, error);
  *text = nullptr;
  return guarded(error, [&] {
    const std::string s = m->llm.detokenize(std::span<const int32_t>(ids, n_ids), skip_special != 0);
    *text = copy_string(s);
    if (len) *len = s.size();
  });
}

schwarm_status schwarm_apply_chat_template(const schwarm_model* m, const schwarm_chat_message* messages,
                                           size_t n_messages, int add_generation_prompt, char** text,
                                           char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(m && (messages || n_messages == 0) && text, error);
  *text = nullptr;
  for (size_t i = 0; i < n_messages; ++i) SCHWARM_REQUIRE(messages[i].role && messages[i].content, error);
  return guarded(error, [&] {
    std::vector<schwarm::ChatMessage> msgs;
    for (size_t i = 0; i < n_messages; ++i) msgs.push_back({messages[i].role, messages[i].content});
    *text = copy_string(m->llm.apply_chat_template(msgs, add_generation_prompt != 0));
  });
}

schwarm_status schwarm_session_new(schwarm_model* m, schwarm_session** session, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(m && session, error);
  *session = nullptr;
  return guarded(error, [&] { *session = new schwarm_session{schwarm::Session(m->llm)}; });
}

void schwarm_session_free(schwarm_session* session) { delete session; }

schwarm_status schwarm_session_append(schwarm_session* s, const int32_t* ids, size_t n_ids, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(s && (ids || n_ids == 0), error);
  return guarded(error, [&] { s->session.append(std::span<const int32_t>(ids, n_ids)); });
}

schwarm_status schwarm_session_reset(schwarm_session* s, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(s, error);
  return guarded(error, [&] { s->session.reset(); });
}

schwarm_status schwarm_session_tokens(const schwarm_session* s, const int32_t** ids, size_t* n_ids) {
  if (!s || !ids || !n_ids) return SCHWARM_ERROR_INVALID_ARGUMENT;
  *ids = s->session.tokens().data();
  *n_ids = s->session.tokens().size();
  return SCHWARM_OK;
}

schwarm_status schwarm_session_save(const schwarm_session* s, const char* path, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(s && path, error);
  return guarded(error, [&] { s->session.save(path); });
}

schwarm_status schwarm_session_load(schwarm_session* s, const char* path, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(s && path, error);
  return guarded(error, [&] { s->session.load(path); });
}

schwarm_generate_params schwarm_generate_default_params(void) {
  schwarm_generate_params p{};
  p.max_tokens = 256;
  p.top_p = 1.0f;
  p.repeat_penalty = 1.0f;
  return p;
}

schwarm_status schwarm_session_generate(schwarm_session* s, const schwarm_generate_params* params,
                                        schwarm_generate_result* result, char** error) {
  if (error) *error = nullptr;
  SCHWARM_REQUIRE(s && result, error);
  *result = schwarm_generate_result{};
  const schwarm_generate_params p = params ? *params : schwarm_generate_default_params();
  SCHWARM_REQUIRE(p.stop_strings || p.n_stop_strings == 0, error);
  for (size_t i = 0; i < p.n_stop_strings; ++i) SCHWARM_REQUIRE(p.stop_strings[i], error);
  return guarded(error, [&] {
    schwarm::GenerateOptions g;
    g.max_tokens = p.max_tokens;
    g.sampling.temperature = p.temperature;
    g.sampling.top_k = p.top_k;
    g.sampling.top_p = p.top_p;
    g.sampling.min_p = p.min_p;
    g.sampling.repetition_penalty = p.repeat_penalty;
    g.sampling.repetition_window = p.repeat_last_n;
    g.sampling.seed = p.seed;
    for (size_t i = 0; i < p.n_stop_strings; ++i) g.stop_strings.emplace_back(p.stop_strings[i]);
    if (p.ignore_eos) g.stop_ids = std::vector<int32_t>{};
    if (p.on_token)
      g.on_token = [&p](int32_t token, std::string_view text) {
        return p.on_token(token, text.data(), text.size(), p.user_data) == 0;
      };
    const schwarm::GenerateResult r = s->session.generate(g);
    schwarm_generate_result out{};
    out.text = copy_string(r.text);
    out.text_len = r.text.size();
    out.tokens = static_cast<int32_t*>(std::malloc(std::max<size_t>(1, r.tokens.size()) * sizeof(int32_t)));
    if (!out.tokens) {
      std::free(out.text);
      throw std::bad_alloc();
    }
    if (!r.tokens.empty()) std::memcpy(out.tokens, r.tokens.data(), r.tokens.size() * sizeof(int32_t));
    out.n_tokens = r.tokens.size();
    out.finish_reason = static_cast<schwarm_finish_reason>(r.finish_reason);
    out.prompt_tokens = r.prompt_tokens;
    out.cached_tokens = r.cached_tokens;
    out.prefill_ms = r.timings.prefill_ms;
    out.decode_ms = r.timings.decode_ms;
    *result = out;
  });
}

void schwarm_generate_result_free(schwarm_generate_result* result) {
  if (!result) return;
  std::free(result->text);
  std::free(result->tokens);
  *result = schwarm_generate_result{};
}

}  // extern "C"
