/*
 * Uses an installed libruntools from C99 alone: the linked version, a client
 * from an options object, refused options, and a call that fails at the
 * transport level (nothing listens on the port), all freed again.
 *
 *   c_consumer EXPECTED_VERSION
 */
#include <stdio.h>
#include <string.h>

#include <runtools/runtools.h>

int main(int argc, char** argv) {
  rt_client_options* options = NULL;
  rt_client* client = NULL;
  rt_error* error = NULL;
  char* sandbox = NULL;
  rt_status status;

  if (argc != 2) {
    fprintf(stderr, "usage: c_consumer EXPECTED_VERSION\n");
    return 2;
  }
  if (strcmp(rt_version(), argv[1]) != 0) {
    fprintf(stderr, "rt_version() is %s, expected %s\n", rt_version(), argv[1]);
    return 1;
  }

  options = rt_client_options_new();
  if (options == NULL) return 1;
  if (rt_client_options_set_timeout_ms(options, 0) != RT_ERR_INVALID_ARGUMENT) {
    fprintf(stderr, "a zero timeout was accepted\n");
    return 1;
  }
  if (rt_client_options_set_api_key(options, "rt_test_ConsumerConsumerConsumerCons") != RT_OK ||
      rt_client_options_set_url(options, RT_SERVICE_API, "http://127.0.0.1:9") != RT_OK ||
      rt_client_options_set_max_retries(options, 0) != RT_OK) {
    fprintf(stderr, "an option was refused\n");
    return 1;
  }
  status = rt_client_new(options, &client, &error);
  rt_client_options_free(options);
  if (status != RT_OK) {
    fprintf(stderr, "rt_client_new: %s: %s\n", rt_status_name(status), rt_error_message(error));
    rt_error_free(error);
    return 1;
  }

  /* The discard port refuses the connection: an error status, not a crash. */
  status = rt_sandbox_get(client, "sandbox-none", NULL, &sandbox, &error);
  if (status != RT_ERR_TRANSPORT || sandbox != NULL || error == NULL) {
    fprintf(stderr, "expected a transport error, got %s\n", rt_status_name(status));
    return 1;
  }
  printf("transport error as expected: %s: %s\n", rt_error_code(error), rt_error_message(error));
  rt_error_free(error);
  rt_client_free(client);

  printf("runtools %s from C OK\n", rt_version());
  return 0;
}
