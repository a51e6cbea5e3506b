/* c-generate MODEL PROMPT [MAX_TOKENS]: what examples/generate does, through the C API.
 *   cc main.c -o c-generate $(pkg-config --cflags --libs schwarm)
 * (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig and, to run it, LD_LIBRARY_PATH=PREFIX/lib) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schwarm/schwarm.h"

static int print_piece(int32_t token, const char *text, size_t len, void *user_data) {
  (void)token;
  (void)user_data;
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 0;
}

static int fail(char *err) {
  fprintf(stderr, "error: %s\n", err ? err : "?");
  schwarm_string_free(err);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL PROMPT [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  char *err = NULL;
  schwarm_model *model = NULL;
  if (schwarm_model_load(argv[1], NULL, &model, &err) != SCHWARM_OK) return fail(err);

  /* The prompt: the user message in the chat template (which writes BOS itself), else plain text. */
  char *prompt = NULL;
  int add_special = 1;
  if (schwarm_model_has_chat_template(model)) {
    schwarm_chat_message msg = {"user", argv[2]};
    if (schwarm_apply_chat_template(model, &msg, 1, 1, &prompt, &err) != SCHWARM_OK) return fail(err);
    add_special = 0;
  }
  const char *text = prompt ? prompt : argv[2];
  int32_t *ids = NULL;
  size_t n_ids = 0;
  if (schwarm_tokenize(model, text, strlen(text), add_special, 1, &ids, &n_ids, &err) != SCHWARM_OK) return fail(err);
  schwarm_string_free(prompt);

  schwarm_session *session = NULL;
  if (schwarm_session_new(model, &session, &err) != SCHWARM_OK) return fail(err);
  if (schwarm_session_append(session, ids, n_ids, &err) != SCHWARM_OK) return fail(err);
  schwarm_tokens_free(ids);

  schwarm_generate_params params = schwarm_generate_default_params();
  params.max_tokens = argc > 3 ? atoll(argv[3]) : 64;
  params.on_token = print_piece;
  schwarm_generate_result result;
  if (schwarm_session_generate(session, &params, &result, &err) != SCHWARM_OK) return fail(err);
  printf("\n");
  fprintf(stderr, "%zu tokens\n", result.n_tokens);
  schwarm_generate_result_free(&result);
  schwarm_session_free(session);
  schwarm_model_free(model);
  return 0;
}
