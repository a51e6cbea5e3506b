/* The C API (schwarm/schwarm.h) from a C compiler: version, load, accessors, tokenize round trip,
 * chat template, a session's generation against a second session, errors, the free functions.
 * Plain C99 with its own CHECK macro; registered with add_test (tests/CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schwarm/schwarm.h"
#include "schwarm/version.h"

static int failures = 0;
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

static int count_pieces(int32_t token, const char *text, size_t len, void *user_data) {
  (void)token;
  (void)text;
  *(size_t *)user_data += len;
  return 0;
}

static int stop_after_two(int32_t token, const char *text, size_t len, void *user_data) {
  (void)token;
  (void)text;
  (void)len;
  return ++*(int *)user_data >= 2;
}

int main(void) {
  const char *dir = SCHWARM_TEST_DATA_DIR "/checkpoints/tiny-deepseek-v3";
  char *err = NULL;
  CHECK(strcmp(schwarm_version(), SCHWARM_VERSION) == 0);

  /* A bad path: a file error naming the path, no handle. */
  schwarm_model *bad = (schwarm_model *)1;
  CHECK(schwarm_model_load(SCHWARM_TEST_DATA_DIR "/no-such-model", NULL, &bad, &err) == SCHWARM_ERROR_FILE);
  CHECK(bad == NULL);
  CHECK(err != NULL && strstr(err, "no-such-model") != NULL);
  schwarm_string_free(err);
  CHECK(schwarm_model_load(NULL, NULL, &bad, &err) == SCHWARM_ERROR_INVALID_ARGUMENT);
  schwarm_string_free(err);

  schwarm_model_params mp = schwarm_model_default_params();
  mp.backend = "ref";
  schwarm_model *model = NULL;
  if (schwarm_model_load(dir, &mp, &model, &err) != SCHWARM_OK) {
    fprintf(stderr, "load failed: %s\n", err);
    return 1;
  }
  CHECK(err == NULL);
  CHECK(strcmp(schwarm_model_architecture(model), "DeepseekV3ForCausalLM") == 0);
  CHECK(schwarm_model_vocab_size(model) == 320);
  CHECK(schwarm_model_n_params(model) > 0);
  CHECK(schwarm_model_file_size(model) > 0);
  CHECK(schwarm_model_context_length(model) > 0);
  CHECK(schwarm_model_has_tokenizer(model));
  CHECK(schwarm_model_has_chat_template(model));
  CHECK(schwarm_model_bos_id(model) >= 0);

  /* Tokenize round trip. */
  const char *text = "Hello world, the swarm";
  int32_t *ids = NULL;
  size_t n_ids = 0;
  CHECK(schwarm_tokenize(model, text, strlen(text), 1, 1, &ids, &n_ids, &err) == SCHWARM_OK);
  CHECK(n_ids > 1 && ids[0] == schwarm_model_bos_id(model));
  char *back = NULL;
  size_t back_len = 0;
  CHECK(schwarm_detokenize(model, ids, n_ids, 1, &back, &back_len, &err) == SCHWARM_OK);
  CHECK(back != NULL && strcmp(back, text) == 0 && back_len == strlen(text));
  schwarm_string_free(back);

  /* Chat template. */
  schwarm_chat_message msgs[1] = {{"user", "Hi there"}};
  char *rendered = NULL;
  CHECK(schwarm_apply_chat_template(model, msgs, 1, 1, &rendered, &err) == SCHWARM_OK);
  CHECK(rendered != NULL && strstr(rendered, "Hi there") != NULL);
  schwarm_string_free(rendered);

  /* Generation: 6 greedy tokens in two calls equal 6 in one call of another session. */
  schwarm_session *a = NULL, *b = NULL;
  CHECK(schwarm_session_new(model, &a, &err) == SCHWARM_OK);
  CHECK(schwarm_session_new(model, &b, &err) == SCHWARM_OK);
  CHECK(schwarm_session_append(a, ids, n_ids, &err) == SCHWARM_OK);
  CHECK(schwarm_session_append(b, ids, n_ids, &err) == SCHWARM_OK);
  schwarm_generate_params gp = schwarm_generate_default_params();
  gp.ignore_eos = 1;
  gp.max_tokens = 6;
  size_t streamed = 0;
  gp.on_token = count_pieces;
  gp.user_data = &streamed;
  schwarm_generate_result whole, part1, part2;
  CHECK(schwarm_session_generate(a, &gp, &whole, &err) == SCHWARM_OK);
  CHECK(whole.n_tokens == 6 && whole.finish_reason == SCHWARM_FINISH_MAX_TOKENS);
  CHECK(streamed == whole.text_len && strlen(whole.text) == whole.text_len);
  CHECK(whole.prompt_tokens == (int64_t)n_ids);
  gp.on_token = NULL;
  gp.max_tokens = 3;
  CHECK(schwarm_session_generate(b, &gp, &part1, &err) == SCHWARM_OK);
  CHECK(schwarm_session_generate(b, &gp, &part2, &err) == SCHWARM_OK);
  CHECK(part2.prompt_tokens == 1 && part2.cached_tokens == (int64_t)n_ids + 2);
  CHECK(part1.n_tokens == 3 && part2.n_tokens == 3);
  CHECK(memcmp(whole.tokens, part1.tokens, 3 * sizeof(int32_t)) == 0);
  CHECK(memcmp(whole.tokens + 3, part2.tokens, 3 * sizeof(int32_t)) == 0);
  const int32_t *hist = NULL;
  size_t n_hist = 0;
  CHECK(schwarm_session_tokens(b, &hist, &n_hist) == SCHWARM_OK && n_hist == n_ids + 6);
  schwarm_generate_result_free(&whole);
  schwarm_generate_result_free(&part1);
  schwarm_generate_result_free(&part2);
  CHECK(whole.text == NULL && whole.tokens == NULL);

  /* The callback stops the generation. */
  int calls = 0;
  gp.max_tokens = 10;
  gp.on_token = stop_after_two;
  gp.user_data = &calls;
  schwarm_generate_result stopped;
  CHECK(schwarm_session_generate(a, &gp, &stopped, &err) == SCHWARM_OK);
  CHECK(stopped.n_tokens == 2 && stopped.finish_reason == SCHWARM_FINISH_CANCELLED);
  schwarm_generate_result_free(&stopped);

  /* Errors from a session: an id outside the vocabulary, sampling out of range. */
  int32_t bad_id = 100000;
  CHECK(schwarm_session_append(a, &bad_id, 1, &err) == SCHWARM_ERROR_RUNTIME);
  CHECK(err != NULL && strstr(err, "100000") != NULL);
  schwarm_string_free(err);
  gp.on_token = NULL;
  gp.top_p = 0.0f;
  CHECK(schwarm_session_generate(a, &gp, &stopped, &err) == SCHWARM_ERROR_RUNTIME);
  CHECK(err != NULL && strstr(err, "top_p") != NULL);
  schwarm_string_free(err);
  CHECK(schwarm_session_generate(NULL, &gp, &stopped, NULL) == SCHWARM_ERROR_INVALID_ARGUMENT);

  CHECK(schwarm_session_reset(a, &err) == SCHWARM_OK);
  CHECK(schwarm_session_tokens(a, &hist, &n_hist) == SCHWARM_OK && n_hist == 0);

  schwarm_tokens_free(ids);
  schwarm_session_free(a);
  schwarm_session_free(b);
  schwarm_model_free(model);
  schwarm_model_free(NULL);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("c_api_test: all checks passed\n");
  return failures ? 1 : 0;
}
