/*
 * The quickstart in C99, through the C API (runtools/runtools.h): create a
 * sandbox, wait until it is ready, run a command, print its output, destroy
 * the sandbox, free everything. Reads RUNTOOLS_API_KEY (and RUNTOOLS_API_URL
 * to point at a local runtools-emulator).
 */
#include <stdio.h>
#include <string.h>

#include <runtools/runtools.h>

/* Prints the failed step and the error, then frees the error. */
static int fail(const char* what, rt_status status, rt_error* error) {
  fprintf(stderr, "error: %s: %s: %s\n", what, rt_status_name(status),
          error != NULL ? rt_error_message(error) : "");
  rt_error_free(error);
  return 1;
}

/* Copies the "id" of a sandbox object's JSON text into `id`. */
static int sandbox_id(const char* json, char* id, size_t size) {
  const char* start = strstr(json, "\"id\":\"");
  size_t n = 0;
  if (start == NULL) return 0;
  start += strlen("\"id\":\"");
  while (start[n] != '\0' && start[n] != '"' && n + 1 < size) {
    id[n] = start[n];
    ++n;
  }
  id[n] = '\0';
  return start[n] == '"';
}

int main(void) {
  rt_client* client = NULL;
  rt_error* error = NULL;
  rt_exec_result* result = NULL;
  char* sandbox = NULL;
  char id[128];
  const char* output;
  size_t length = 0;
  int exit_code;
  rt_status status;

  status = rt_client_new(NULL, &client, &error); /* from RUNTOOLS_* */
  if (status != RT_OK) return fail("client", status, error);

  status = rt_sandbox_create(client, NULL, NULL, &sandbox, &error); /* template "base-ubuntu" */
  if (status != RT_OK) {
    rt_client_free(client);
    return fail("create", status, error);
  }
  if (!sandbox_id(sandbox, id, sizeof id)) {
    fprintf(stderr, "error: no id in %s\n", sandbox);
    rt_string_free(sandbox);
    rt_client_free(client);
    return 1;
  }
  rt_string_free(sandbox);
  sandbox = NULL;

  status = rt_sandbox_wait_for_ready(client, id, 0, NULL, &sandbox, &error); /* 60 s at most */
  rt_string_free(sandbox);
  if (status == RT_OK) {
    status = rt_sandbox_exec(client, id, "echo 'Hello from RunTools' && uname -s", NULL, NULL,
                             &result, &error);
  }
  if (status != RT_OK) {
    fail("wait or exec", status, error);
    error = NULL;
    rt_sandbox_destroy(client, id, NULL, NULL);
    rt_client_free(client);
    return 1;
  }

  output = rt_exec_result_stdout(result, &length);
  exit_code = rt_exec_result_exit_code(result);
  fwrite(output, 1, length, stdout);
  printf("exit code %d\n", exit_code);
  rt_exec_result_free(result);

  status = rt_sandbox_destroy(client, id, NULL, &error);
  rt_client_free(client);
  if (status != RT_OK) return fail("destroy", status, error);
  return exit_code;
}
