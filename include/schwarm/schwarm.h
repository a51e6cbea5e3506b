/* schwarm: the C API, for C and for other languages' FFIs. It wraps the C++ API (schwarm.hpp):
 * opaque handles, status codes, and messages as strings the caller frees.
 *
 *   schwarm_model *model = NULL;
 *   char *err = NULL;
 *   if (schwarm_model_load("model-dir", NULL, &model, &err) != SCHWARM_OK) {
 *     fprintf(stderr, "%s\n", err);
 *     schwarm_string_free(err);
 *   }
 *
 * Errors: every function that can fail returns a schwarm_status and, when `error` is not NULL,
 * sets *error to a message the caller frees with schwarm_string_free (NULL on success). No
 * function throws or aborts on bad input; NULL handles give SCHWARM_ERROR_INVALID_ARGUMENT.
 *
 * Threads: as in schwarm.hpp. A model may be shared by sessions used from different threads (their
 * forward passes take turns); one session must not be used by two threads at once. There is no
 * global state. Callbacks run on the calling thread. */
#ifndef SCHWARM_SCHWARM_H
#define SCHWARM_SCHWARM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum schwarm_status {
  SCHWARM_OK = 0,
  SCHWARM_ERROR_INVALID_ARGUMENT = 1, /* a NULL handle or pointer where one is required */
  SCHWARM_ERROR_FILE = 2,             /* a file is missing, unreadable or malformed (message: "PATH: problem") */
  SCHWARM_ERROR_RUNTIME = 3,          /* anything else: an option out of range, an id outside the vocab,
                                         unknown architecture, no tokenizer, context full, ... */
  SCHWARM_ERROR_OUT_OF_MEMORY = 4
} schwarm_status;

typedef enum schwarm_finish_reason {
  SCHWARM_FINISH_NONE = 0,
  SCHWARM_FINISH_MAX_TOKENS = 1,   /* the token budget was used up */
  SCHWARM_FINISH_STOP_ID = 2,      /* an end-of-generation id (eos, ...) was sampled */
  SCHWARM_FINISH_STOP_STRING = 3,  /* a stop string appeared */
  SCHWARM_FINISH_CANCELLED = 4,    /* the callback returned non-zero */
  SCHWARM_FINISH_CONTEXT_FULL = 5  /* the session's context is full */
} schwarm_finish_reason;

typedef struct schwarm_model schwarm_model;
typedef struct schwarm_session schwarm_session;

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *schwarm_version(void);
/* Frees a string or array returned by this API (NULL is fine). */
void schwarm_string_free(char *s);
void schwarm_tokens_free(int32_t *ids);

/* ---- models ---- */
typedef struct schwarm_model_params {
  const char *backend;  /* "cpu" (default when NULL), "cuda", "cuda:N" or "ref" */
  int32_t threads;      /* cpu backend threads; 0: all */
  int64_t context_size; /* KV positions per session; 0: min(trained context, 4096) */
  /* Optional load progress (bytes done, bytes total), called on the loading thread. */
  void (*progress)(uint64_t done, uint64_t total, void *user_data);
  void *progress_user_data;
  /* Nonzero: matmuls by Q4_K/Q5_K/Q6_K/Q8_0/Q4_0/Q5_0 weights take the activations unrounded
     (LoadOptions::quantize_activations = false); 0 (default): rounded to 8 bits per 256, as
     llama.cpp does. */
  int32_t exact_activations;
} schwarm_model_params;

schwarm_model_params schwarm_model_default_params(void);
/* params may be NULL (defaults). On success *model is a new handle (free with schwarm_model_free). */
schwarm_status schwarm_model_load(const char *path, const schwarm_model_params *params, schwarm_model **model,
                                  char **error);
void schwarm_model_free(schwarm_model *model);

/* Accessors (0, -1 or "" for a NULL model). Strings are owned by the model. */
const char *schwarm_model_architecture(const schwarm_model *model);
int64_t schwarm_model_n_params(const schwarm_model *model);
uint64_t schwarm_model_file_size(const schwarm_model *model);
int32_t schwarm_model_vocab_size(const schwarm_model *model);
int64_t schwarm_model_context_length(const schwarm_model *model);
int schwarm_model_has_tokenizer(const schwarm_model *model);
int schwarm_model_has_chat_template(const schwarm_model *model);
int32_t schwarm_model_bos_id(const schwarm_model *model); /* -1 when none */
int32_t schwarm_model_eos_id(const schwarm_model *model); /* -1 when none */

/* ---- text ---- */
/* text[len] to ids: *ids (free with schwarm_tokens_free), *n_ids. add_special / parse_special as in
 * schwarm.hpp (Llm::tokenize). */
schwarm_status schwarm_tokenize(const schwarm_model *model, const char *text, size_t len, int add_special,
                                int parse_special, int32_t **ids, size_t *n_ids, char **error);
/* ids to text: *text is NUL-terminated (free with schwarm_string_free); *len (may be NULL) its length. */
schwarm_status schwarm_detokenize(const schwarm_model *model, const int32_t *ids, size_t n_ids, int skip_special,
                                  char **text, size_t *len, char **error);

typedef struct schwarm_chat_message {
  const char *role;
  const char *content;
} schwarm_chat_message;
/* The conversation rendered with the checkpoint's chat template; *text as for schwarm_detokenize. */
schwarm_status schwarm_apply_chat_template(const schwarm_model *model, const schwarm_chat_message *messages,
                                           size_t n_messages, int add_generation_prompt, char **text,
                                           char **error);

/* ---- sessions (one conversation; its KV cache is kept between calls) ---- */
schwarm_status schwarm_session_new(schwarm_model *model, schwarm_session **session, char **error);
void schwarm_session_free(schwarm_session *session);
/* Adds ids to the history; evaluated by the next generate. */
schwarm_status schwarm_session_append(schwarm_session *session, const int32_t *ids, size_t n_ids, char **error);
schwarm_status schwarm_session_reset(schwarm_session *session, char **error);
/* The history: *ids points into the session, valid until the next call on it. */
schwarm_status schwarm_session_tokens(const schwarm_session *session, const int32_t **ids, size_t *n_ids);
schwarm_status schwarm_session_save(const schwarm_session *session, const char *path, char **error);
schwarm_status schwarm_session_load(schwarm_session *session, const char *path, char **error);

/* Streaming: called for every sampled token with the newly final text (complete UTF-8, maybe
 * empty; not NUL-terminated). Return 0 to go on, non-zero to stop. */
typedef int (*schwarm_token_callback)(int32_t token, const char *text, size_t len, void *user_data);

typedef struct schwarm_generate_params {
  int64_t max_tokens; /* default 256 */
  float temperature;  /* 0: greedy (default) */
  int32_t top_k;      /* 0: off */
  float top_p;        /* 1: off */
  float min_p;        /* 0: off */
  float repeat_penalty; /* 1: off */
  int32_t repeat_last_n; /* 0: whole sequence */
  uint64_t seed;
  const char *const *stop_strings; /* n_stop_strings NUL-terminated strings (may be NULL) */
  size_t n_stop_strings;
  int ignore_eos; /* non-zero: do not stop at end-of-generation ids */
  schwarm_token_callback on_token; /* may be NULL */
  void *user_data;
} schwarm_generate_params;

typedef struct schwarm_generate_result {
  char *text;      /* NUL-terminated generated text */
  size_t text_len;
  int32_t *tokens; /* generated ids */
  size_t n_tokens;
  schwarm_finish_reason finish_reason;
  int64_t prompt_tokens; /* evaluated before the first new token */
  int64_t cached_tokens; /* reused from the KV cache */
  double prefill_ms, decode_ms;
} schwarm_generate_result;

schwarm_generate_params schwarm_generate_default_params(void);
/* Generates after the session's history; params may be NULL (defaults). Free *result's arrays with
 * schwarm_generate_result_free. */
schwarm_status schwarm_session_generate(schwarm_session *session, const schwarm_generate_params *params,
                                        schwarm_generate_result *result, char **error);
void schwarm_generate_result_free(schwarm_generate_result *result);

#ifdef __cplusplus
}
#endif

#endif /* SCHWARM_SCHWARM_H */
