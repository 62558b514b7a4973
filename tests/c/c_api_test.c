/*
 * The C API seen from C: compiled as C99 with warnings as errors and run
 * against an emulator that scripts/with-emulator.sh started (the client
 * comes from the RUNTOOLS_* environment). Prints "N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtools/runtools.h"

static int passed = 0;
static int failed = 0;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (condition) {                                                                \
      ++passed;                                                                     \
    } else {                                                                        \
      ++failed;                                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
    }                                                                               \
  } while (0)

/* The status, printing (then freeing) the error's code and message when it is not RT_OK. */
static rt_status expect_ok(rt_status status, rt_error** error, const char* what) {
  if (status != RT_OK) {
    fprintf(stderr, "%s: %s: %s: %s\n", what, rt_status_name(status), rt_error_code(*error),
            rt_error_message(*error));
  }
  rt_error_free(*error);
  *error = NULL;
  return status;
}

static int contains(const char* text, const char* part) {
  return text != NULL && strstr(text, part) != NULL;
}

/* The value of "id" in a JSON object's text, copied into `out`. */
static void json_id(const char* json, char* out, size_t size) {
  const char* start = strstr(json, "\"id\":\"");
  size_t n = 0;
  out[0] = '\0';
  if (start == NULL) return;
  start += 6;
  while (start[n] != '\0' && start[n] != '"' && n + 1 < size) {
    out[n] = start[n];
    ++n;
  }
  out[n] = '\0';
}

struct stream_state {
  int chunks;
  int events;
  int text_deltas;
  int progress_calls;
  uint64_t last_done;
  int64_t last_total;
};

static int stop_at_first_chunk(const char* data, size_t length, void* user_data) {
  struct stream_state* state = (struct stream_state*)user_data;
  (void)data;
  if (length > 0) ++state->chunks;
  return 0;
}

static int count_event(const char* type, const char* data_json, void* user_data) {
  struct stream_state* state = (struct stream_state*)user_data;
  ++state->events;
  if (strcmp(type, "assistant_message_delta") == 0 && data_json[0] == '{') ++state->text_deltas;
  return 1;
}

static void on_progress(uint64_t done, int64_t total, void* user_data) {
  struct stream_state* state = (struct stream_state*)user_data;
  ++state->progress_calls;
  state->last_done = done;
  state->last_total = total;
}

static void test_sandbox_lifecycle(rt_client* client) {
  rt_error* error = NULL;
  char* json = NULL;
  char id[128];
  rt_exec_result* result = NULL;
  struct stream_state state = {0, 0, 0, 0, 0, 0};
  size_t length = 0;

  CHECK(expect_ok(rt_sandbox_create(client, "{\"name\":\"c-life\",\"tags\":[\"c-api\"]}", NULL,
                                    &json, &error),
                  &error, "create") == RT_OK);
  json_id(json, id, sizeof id);
  CHECK(strncmp(id, "sandbox-", 8) == 0);
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_sandbox_wait_for_ready(client, id, 30000, NULL, &json, &error), &error,
                  "wait") == RT_OK);
  CHECK(contains(json, "\"running\""));
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_sandbox_exec(client, id, "echo hello; echo oops >&2; exit 3", NULL, NULL,
                                  &result, &error),
                  &error, "exec") == RT_OK);
  CHECK(rt_exec_result_exit_code(result) == 3);
  CHECK(strcmp(rt_exec_result_stdout(result, &length), "hello\n") == 0);
  CHECK(length == 6);
  CHECK(strcmp(rt_exec_result_stderr(result, NULL), "oops\n") == 0);
  CHECK(rt_exec_result_timed_out(result) == 0);
  rt_exec_result_free(result);

  error = NULL;
  CHECK(expect_ok(rt_sandbox_exec_stream(
                      client, id, "for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.3; done", NULL,
                      stop_at_first_chunk, NULL, &state, NULL, &result, &error),
                  &error, "exec stream") == RT_OK);
  CHECK(state.chunks == 1);
  CHECK(rt_exec_result_stopped(result) == 1);
  rt_exec_result_free(result);

  error = NULL;
  CHECK(expect_ok(rt_sandbox_list_page(client, "{\"tags\":[\"c-api\"],\"limit\":10}", NULL, &json,
                                       &error),
                  &error, "list") == RT_OK);
  CHECK(contains(json, id));
  CHECK(contains(json, "\"hasMore\""));
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_sandbox_pause(client, id, NULL, &json, &error), &error, "pause") == RT_OK);
  CHECK(contains(json, "paus"));
  rt_string_free(json);
  CHECK(expect_ok(rt_sandbox_wait_for_status(client, id, "paused", 30000, NULL, NULL, &error),
                  &error, "wait for paused") == RT_OK);
  CHECK(expect_ok(rt_sandbox_resume(client, id, NULL, NULL, &error), &error, "resume") == RT_OK);

  error = NULL;
  CHECK(expect_ok(rt_sandbox_destroy(client, id, NULL, &error), &error, "destroy") == RT_OK);

  /* A destroyed sandbox is not found: the error says so in every field. */
  error = NULL;
  json = (char*)"stale";
  CHECK(rt_sandbox_get(client, id, NULL, &json, &error) == RT_ERR_NOT_FOUND);
  CHECK(json == NULL);
  CHECK(rt_error_status(error) == RT_ERR_NOT_FOUND);
  CHECK(rt_error_http_status(error) == 404);
  CHECK(strcmp(rt_error_code(error), "not_found") == 0);
  CHECK(strlen(rt_error_request_id(error)) > 0);
  CHECK(rt_error_attempts(error) == 1);
  CHECK(rt_error_retry_after_ms(error) == -1);
  rt_error_free(error);
}

static int write_local_file(const char* path, size_t size) {
  FILE* file = fopen(path, "wb");
  size_t i;
  if (file == NULL) return 0;
  for (i = 0; i < size; ++i)
    fputc((int)(i * 7 % 251), file);
  return fclose(file) == 0;
}

static int same_files(const char* a, const char* b) {
  FILE* x = fopen(a, "rb");
  FILE* y = fopen(b, "rb");
  int same = x != NULL && y != NULL;
  while (same) {
    const int cx = fgetc(x);
    const int cy = fgetc(y);
    same = cx == cy;
    if (cx == EOF) break;
  }
  if (x != NULL) fclose(x);
  if (y != NULL) fclose(y);
  return same;
}

static void test_file_round_trip(rt_client* client) {
  rt_error* error = NULL;
  char* json = NULL;
  char id[128];
  char local_in[256];
  char local_out[256];
  struct stream_state state = {0, 0, 0, 0, 0, 0};
  const size_t size = 3 * 1024 * 1024 + 17;

  snprintf(local_in, sizeof local_in, "c_api_test_in_%ld.bin", (long)rand());
  snprintf(local_out, sizeof local_out, "c_api_test_out_%ld.bin", (long)rand());
  CHECK(write_local_file(local_in, size));

  CHECK(expect_ok(rt_workspace_create(client, "c files", NULL, &json, &error), &error,
                  "workspace") == RT_OK);
  json_id(json, id, sizeof id);
  CHECK(strlen(id) == 36);
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_files_upload(client, id, local_in, "/data/in.bin", on_progress, &state, NULL,
                                  &error),
                  &error, "upload") == RT_OK);
  CHECK(state.progress_calls > 0);
  CHECK(state.last_done >= size);
  CHECK(state.last_total >= (int64_t)size);

  state.progress_calls = 0;
  error = NULL;
  CHECK(expect_ok(rt_files_download(client, id, "/data/in.bin", local_out, on_progress, &state,
                                    NULL, &error),
                  &error, "download") == RT_OK);
  CHECK(state.progress_calls > 0);
  CHECK(state.last_done == size);
  CHECK(same_files(local_in, local_out));

  error = NULL;
  CHECK(expect_ok(rt_files_write(client, id, "/notes.txt", "abc", 3, NULL, &error), &error,
                  "write") == RT_OK);
  error = NULL;
  CHECK(expect_ok(rt_files_list(client, id, "/", NULL, &json, &error), &error, "list") == RT_OK);
  CHECK(contains(json, "notes.txt"));
  CHECK(contains(json, "data"));
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_files_remove(client, id, "/notes.txt", NULL, &error), &error, "remove") ==
        RT_OK);
  error = NULL;
  CHECK(expect_ok(rt_files_list(client, id, "/", NULL, &json, &error), &error, "list") == RT_OK);
  CHECK(!contains(json, "notes.txt"));
  rt_string_free(json);

  /* A missing file: not found, and no file is left locally. */
  error = NULL;
  CHECK(rt_files_download(client, id, "/missing.bin", "c_api_missing.bin", NULL, NULL, NULL,
                          &error) == RT_ERR_NOT_FOUND);
  rt_error_free(error);
  CHECK(fopen("c_api_missing.bin", "rb") == NULL);

  error = NULL;
  CHECK(expect_ok(rt_workspace_delete(client, id, 1, NULL, &error), &error, "delete") == RT_OK);
  remove(local_in);
  remove(local_out);
}

static void test_agent_stream_and_threads(rt_client* client) {
  rt_error* error = NULL;
  char* json = NULL;
  char thread[128];
  const char* at;
  struct stream_state state = {0, 0, 0, 0, 0, 0};

  CHECK(expect_ok(rt_agent_upsert(client,
                                  "{\"slug\":\"c-helper\",\"executionMode\":\"managed\","
                                  "\"systemPrompt\":\"Answer briefly.\"}",
                                  NULL, &json, &error),
                  &error, "upsert") == RT_OK);
  CHECK(contains(json, "\"c-helper\""));
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_agent_run_stream(client, "c-helper", "hello from C", "{\"thread\":true}",
                                      count_event, &state, NULL, &json, &error),
                  &error, "run") == RT_OK);
  CHECK(state.events >= 2);
  CHECK(state.text_deltas >= 1);
  CHECK(contains(json, "\"completed\""));
  at = strstr(json, "\"threadId\":\"");
  CHECK(at != NULL);
  thread[0] = '\0';
  if (at != NULL) {
    size_t n = 0;
    at += 12;
    while (at[n] != '"' && n + 1 < sizeof thread) {
      thread[n] = at[n];
      ++n;
    }
    thread[n] = '\0';
  }
  rt_string_free(json);

  error = NULL;
  CHECK(expect_ok(rt_threads_list_page(client, "{\"limit\":5}", NULL, &json, &error), &error,
                  "threads") == RT_OK);
  CHECK(contains(json, thread));
  rt_string_free(json);
  error = NULL;
  CHECK(expect_ok(rt_threads_events_page(client, thread, NULL, NULL, &json, &error), &error,
                  "events") == RT_OK);
  CHECK(contains(json, "\"data\":["));
  rt_string_free(json);
}

static void test_secrets_and_tools(rt_client* client) {
  rt_error* error = NULL;
  char* json = NULL;
  char* value = NULL;

  CHECK(expect_ok(rt_secrets_set(client, "c_api_token", "s3cr3t-value", NULL, NULL, &error), &error,
                  "set") == RT_OK);
  error = NULL;
  CHECK(expect_ok(rt_secrets_list(client, NULL, &json, &error), &error, "list") == RT_OK);
  CHECK(contains(json, "C_API_TOKEN"));
  CHECK(!contains(json, "s3cr3t-value"));
  rt_string_free(json);
  error = NULL;
  CHECK(expect_ok(rt_secrets_reveal(client, "C_API_TOKEN", NULL, &value, &error), &error,
                  "reveal") == RT_OK);
  CHECK(value != NULL && strcmp(value, "s3cr3t-value") == 0);
  rt_secret_free(value);

  error = NULL;
  CHECK(rt_tools_execute(client, "no-such-tool", "{\"action\":\"x\"}", NULL, &json, &error) ==
        RT_ERR_NOT_FOUND);
  CHECK(json == NULL);
  rt_error_free(error);
  error = NULL;
  CHECK(rt_tools_execute(client, "echo", "{}", NULL, &json, &error) == RT_ERR_INVALID_ARGUMENT);
  rt_error_free(error);
}

static void test_error_paths(rt_client* client) {
  rt_error* error = NULL;
  char* json = NULL;
  rt_client* other = NULL;
  rt_client_options* options = rt_client_options_new();
  rt_call_options* call = rt_call_options_new();
  rt_cancel* cancel = rt_cancel_new();
  const char* url = getenv("RUNTOOLS_API_URL");

  /* A wrong key: authentication, and the key is in no message. */
  CHECK(rt_client_options_set_api_key(options, "rt_test_WrongWrongWrongWrongWrong0") == RT_OK);
  CHECK(rt_client_options_set_url(options, RT_SERVICE_API, url) == RT_OK);
  CHECK(rt_client_new(options, &other, NULL) == RT_OK);
  CHECK(rt_sandbox_list_page(other, NULL, NULL, &json, &error) == RT_ERR_AUTHENTICATION);
  CHECK(rt_error_http_status(error) == 401);
  CHECK(!contains(rt_error_message(error), "WrongWrong"));
  rt_error_free(error);
  rt_client_free(other);

  /* Nothing listens on the port: a transport error before anything was sent. */
  other = NULL;
  error = NULL;
  CHECK(rt_client_options_set_url(options, RT_SERVICE_API, "http://127.0.0.1:1") == RT_OK);
  CHECK(rt_client_options_set_max_retries(options, 0) == RT_OK);
  CHECK(rt_client_new(options, &other, NULL) == RT_OK);
  CHECK(rt_sandbox_get(other, "sandbox-000000000000", NULL, &json, &error) == RT_ERR_TRANSPORT);
  CHECK(strcmp(rt_error_code(error), "connection_failed") == 0);
  CHECK(rt_error_http_status(error) == 0);
  rt_error_free(error);
  rt_client_free(other);

  /* A malformed URL is refused when the client is made. */
  other = NULL;
  error = NULL;
  CHECK(rt_client_options_set_url(options, RT_SERVICE_API, "http://[::1") == RT_OK);
  CHECK(rt_client_new(options, &other, &error) == RT_ERR_CONFIGURATION);
  CHECK(other == NULL);
  rt_error_free(error);

  /* A cancelled call. */
  error = NULL;
  rt_cancel_cancel(cancel);
  CHECK(rt_cancel_is_cancelled(cancel) == 1);
  CHECK(rt_call_options_set_cancel(call, cancel) == RT_OK);
  rt_cancel_free(cancel); /* the options keep their own reference */
  CHECK(rt_sandbox_create(client, NULL, call, &json, &error) == RT_ERR_CANCELLED);
  CHECK(strcmp(rt_error_code(error), "cancelled") == 0);
  rt_error_free(error);

  /* Input the C layer refuses before anything is sent. */
  error = NULL;
  CHECK(rt_sandbox_create(client, "{\"nmae\":\"typo\"}", NULL, &json, &error) ==
        RT_ERR_INVALID_ARGUMENT);
  CHECK(contains(rt_error_message(error), "nmae"));
  rt_error_free(error);
  CHECK(rt_sandbox_create(client, "not json", NULL, &json, NULL) == RT_ERR_INVALID_ARGUMENT);
  CHECK(rt_sandbox_get(client, NULL, NULL, &json, NULL) == RT_ERR_INVALID_ARGUMENT);
  CHECK(rt_sandbox_get(NULL, "x", NULL, &json, NULL) == RT_ERR_INVALID_ARGUMENT);
  CHECK(rt_call_options_set_deadline_ms(call, 0) == RT_ERR_INVALID_ARGUMENT);
  CHECK(rt_call_options_set_deadline_ms(NULL, 10) == RT_ERR_INVALID_ARGUMENT);

  /* Every free function takes NULL. */
  rt_error_free(NULL);
  rt_string_free(NULL);
  rt_secret_free(NULL);
  rt_exec_result_free(NULL);
  rt_cancel_free(NULL);
  rt_client_free(NULL);
  rt_client_options_free(options);
  rt_call_options_free(call);
}

/* Polls `client` until `op` is done, as a game loop would; the frame count. */
static int poll_until_done(rt_client* client, rt_op* op) {
  int frames = 0;
  while (!rt_op_done(op) && frames < 20000) {
    size_t ran = 0;
    rt_error* error = NULL;
    if (rt_client_poll(client, &ran, &error) != RT_OK) {
      rt_error_free(error);
      break;
    }
    ++frames;
  }
  return frames;
}

struct frame_state {
  int in_poll; /* set around rt_client_poll(): callbacks must see it set */
  int outside_poll_calls;
  int chunks;
};

static int count_chunk_in_poll(const char* data, size_t length, void* user_data) {
  struct frame_state* state = (struct frame_state*)user_data;
  (void)data;
  (void)length;
  if (!state->in_poll) ++state->outside_poll_calls;
  ++state->chunks;
  return 1;
}

/* The body of an rt_op_start() operation: blocking calls, run without blocking. */
static rt_status create_and_destroy(rt_client* client, void* user_data, char** result,
                                    rt_error** error) {
  char id[128];
  rt_status status = rt_sandbox_create(client, NULL, NULL, result, error);
  (void)user_data;
  if (status != RT_OK) return status;
  json_id(*result, id, sizeof id);
  return rt_sandbox_destroy(client, id, NULL, error);
}

static void test_operations(void) {
  rt_client_options* options = rt_client_options_new();
  rt_client* client = NULL;
  rt_error* error = NULL;
  rt_op* op = NULL;
  char* json = NULL;
  char id[128];
  rt_exec_result* result = NULL;
  struct frame_state state = {0, 0, 0};
  int frames = 0;

  CHECK(rt_client_options_set_completion_mode(options, RT_COMPLETIONS_POLL) == RT_OK);
  CHECK(rt_client_options_set_completion_mode(options, (rt_completion_mode)7) ==
        RT_ERR_INVALID_ARGUMENT);
  if (expect_ok(rt_client_new(options, &client, &error), &error, "poll-mode client") != RT_OK) {
    rt_client_options_free(options);
    return;
  }
  rt_client_options_free(options);

  /* Nothing moves until the client is polled. */
  CHECK(expect_ok(rt_sandbox_create_async(client, NULL, NULL, &op, &error), &error,
                  "create async") == RT_OK);
  CHECK(!rt_op_done(op));
  CHECK(rt_op_wait(op, 0) == RT_ERR_TIMEOUT);
  frames = poll_until_done(client, op);
  CHECK(frames > 0);
  CHECK(expect_ok(rt_op_result(op, &json, &error), &error, "create result") == RT_OK);
  CHECK(contains(json, "\"id\""));
  json_id(json, id, sizeof id);
  rt_string_free(json);
  rt_op_free(op);

  /* rt_op_wait on the polling thread drives the client itself. */
  CHECK(rt_sandbox_wait_for_ready_async(client, id, 30000, NULL, &op, &error) == RT_OK);
  CHECK(rt_op_wait(op, -1) == RT_OK);
  CHECK(expect_ok(rt_op_result(op, NULL, &error), &error, "wait result") == RT_OK);
  rt_op_free(op);

  /* Stream callbacks run only inside rt_client_poll(). */
  CHECK(rt_sandbox_exec_async(client, id, "echo one; sleep 0.05; echo two", NULL,
                              count_chunk_in_poll, NULL, &state, NULL, &op, &error) == RT_OK);
  while (!rt_op_done(op)) {
    state.in_poll = 1;
    rt_client_poll(client, NULL, NULL);
    state.in_poll = 0;
  }
  CHECK(expect_ok(rt_op_exec_result(op, &result, &error), &error, "exec result") == RT_OK);
  CHECK(result != NULL && rt_exec_result_exit_code(result) == 0);
  CHECK(result != NULL && strcmp(rt_exec_result_stdout(result, NULL), "one\ntwo\n") == 0);
  CHECK(state.chunks >= 2);
  CHECK(state.outside_poll_calls == 0);
  rt_exec_result_free(result);
  rt_op_free(op);

  /* Cancelling stops a running command with RT_ERR_CANCELLED. */
  CHECK(rt_sandbox_exec_async(client, id, "sleep 30", NULL, NULL, NULL, NULL, NULL, &op, &error) ==
        RT_OK);
  rt_op_wait(op, 100);
  rt_op_cancel(op);
  CHECK(rt_op_wait(op, 5000) == RT_OK);
  CHECK(rt_op_exec_result(op, &result, &error) == RT_ERR_CANCELLED);
  CHECK(error != NULL && rt_error_status(error) == RT_ERR_CANCELLED);
  CHECK(result == NULL);
  rt_error_free(error);
  error = NULL;
  rt_op_free(op);

  /* Any sequence of blocking calls as one operation. */
  CHECK(rt_op_start(client, create_and_destroy, NULL, &op, &error) == RT_OK);
  CHECK(expect_ok(rt_op_result(op, &json, &error), &error, "op_start result") == RT_OK);
  CHECK(contains(json, "\"id\""));
  rt_string_free(json);
  rt_op_free(op);
  CHECK(rt_op_start(client, NULL, NULL, &op, &error) == RT_ERR_INVALID_ARGUMENT);
  CHECK(op == NULL);
  rt_error_free(error);
  error = NULL;

  /* Freeing the client cancels what is in flight; the op reports it. */
  CHECK(rt_sandbox_destroy_async(client, id, NULL, &op, &error) == RT_OK);
  rt_client_free(client);
  CHECK(rt_op_done(op));
  rt_op_free(op);
}

int main(void) {
  rt_client* client = NULL;
  rt_error* error = NULL;

  CHECK(strlen(rt_version()) >= 5);
  CHECK(strcmp(rt_status_name(RT_ERR_NOT_FOUND), "not_found") == 0);
  if (expect_ok(rt_client_new(NULL, &client, &error), &error, "client from the environment") !=
      RT_OK) {
    printf("0 passed, 1 failed\n");
    return 1;
  }
  test_sandbox_lifecycle(client);
  test_file_round_trip(client);
  test_agent_stream_and_threads(client);
  test_secrets_and_tools(client);
  test_error_paths(client);
  rt_client_free(client);
  test_operations();

  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
