/*
 * runtools.h: the C API of runtools-cpp, for C programs, game engines built
 * without C++ exceptions, and foreign-function interfaces (C#, Rust, Python
 * ctypes, Go, Swift, Lua). Plain C99; every name starts with rt_ or RT_.
 *
 * RULES THAT HOLD FOR EVERY FUNCTION
 *
 * Status and errors. Every entry point that can fail returns an rt_status:
 * RT_OK (0) on success, another value on failure. Its last parameter is an
 * optional `rt_error** error`: pass NULL to ignore details, or the address
 * of an rt_error* that the call sets to NULL on success and to a new error
 * object on failure. No C++ exception ever crosses this API; running out of
 * memory is RT_ERR_OUT_OF_MEMORY.
 *
 * Ownership. Exactly one rule per kind of value:
 *   - Handles (rt_client, rt_client_options, rt_call_options, rt_cancel,
 *     rt_error, rt_exec_result) are created by the library and freed by the
 *     caller with their own rt_..._free function. Every free function
 *     accepts NULL and does nothing with it.
 *   - A `char**` out parameter receives a NUL-terminated UTF-8 string that
 *     the caller owns and frees with rt_string_free(); a revealed secret is
 *     freed with rt_secret_free(), which overwrites it first. On failure the
 *     out parameter is set to NULL.
 *   - A `const char*` returned by an accessor (rt_error_message(), ...)
 *     belongs to the object it was read from and lives as long as it.
 *   - Strings and buffers passed in are only read during the call (and
 *     during the callbacks it makes); the library keeps no pointer to them.
 * Nothing requires the caller to allocate memory with the library's
 * allocator.
 *
 * NULL means "defaults" wherever an options pointer is taken: a client from
 * the environment alone (RUNTOOLS_API_KEY, RUNTOOLS_API_URL, ...), the
 * client's own timeouts and retries for a call, the platform's defaults for
 * a sandbox. Options that are large and free-form are JSON text, with the
 * field names of the platform's API; an unknown field is refused with
 * RT_ERR_INVALID_ARGUMENT, so a typo never goes unnoticed. Results are JSON
 * text too: the platform's objects as received.
 *
 * Callbacks receive the `user_data` pointer given with them and run on the
 * thread that made the call, before it returns. A callback that returns 0
 * stops its stream.
 *
 * Threads. An rt_client may be used from several threads at once; an
 * rt_error, rt_exec_result or options object belongs to one thread at a
 * time. rt_cancel_cancel() may be called from any thread.
 *
 * No global initialisation is needed.
 */
#ifndef RUNTOOLS_RUNTOOLS_H
#define RUNTOOLS_RUNTOOLS_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint64_t */

#include "runtools/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */

typedef enum rt_status {
  RT_OK = 0,
  RT_ERR_INVALID_ARGUMENT = 1,   /* refused before any request was sent */
  RT_ERR_CONFIGURATION = 2,      /* no credential, a malformed URL, a bad option */
  RT_ERR_FILE = 3,               /* a local file could not be read or written */
  RT_ERR_TRANSPORT = 4,          /* no answer: refused, DNS, TLS, connection dropped */
  RT_ERR_TIMEOUT = 5,            /* a timeout or deadline passed */
  RT_ERR_CANCELLED = 6,          /* the call's rt_cancel was cancelled */
  RT_ERR_STREAM = 7,             /* a stream broke off before its final event */
  RT_ERR_INVALID_RESPONSE = 8,   /* a 2xx answer that could not be understood */
  RT_ERR_SANDBOX_FAILED = 9,     /* a wait saw the sandbox fail or disappear */
  RT_ERR_BAD_REQUEST = 10,       /* HTTP 400, 422 */
  RT_ERR_AUTHENTICATION = 11,    /* HTTP 401 */
  RT_ERR_PAYMENT_REQUIRED = 12,  /* HTTP 402 */
  RT_ERR_PERMISSION_DENIED = 13, /* HTTP 403 */
  RT_ERR_NOT_FOUND = 14,         /* HTTP 404 */
  RT_ERR_CONFLICT = 15,          /* HTTP 409 */
  RT_ERR_PAYLOAD_TOO_LARGE = 16, /* HTTP 413 */
  RT_ERR_RATE_LIMITED = 17,      /* HTTP 429 */
  RT_ERR_SERVER = 18,            /* HTTP 5xx */
  RT_ERR_API = 19,               /* another HTTP error status */
  RT_ERR_OUT_OF_MEMORY = 20,
  RT_ERR_INTERNAL = 21 /* a failure the library did not expect */
} rt_status;

/* A short constant name for a status ("ok", "not_found", ...); never NULL. */
RT_API const char* rt_status_name(rt_status status);

/* The linked library's version ("0.1.0"); a constant string. */
RT_API const char* rt_version(void);

/* Frees a string the library handed out. NULL is accepted. */
RT_API void rt_string_free(char* text);

/* Overwrites, then frees, a revealed secret. NULL is accepted. */
RT_API void rt_secret_free(char* secret);

/* ------------------------------------------------------------------ errors */

typedef struct rt_error rt_error;

RT_API void rt_error_free(rt_error* error);
RT_API rt_status rt_error_status(const rt_error* error);
/* The platform's error code ("not_found", "WORKSPACE_IN_USE", ...) for an
 * HTTP error; for other failures a code naming the kind ("cancelled",
 * "timeout", "connection_failed", "stream_broken", ...). Never NULL. */
RT_API const char* rt_error_code(const rt_error* error);
/* A readable message, never containing a credential. Never NULL. */
RT_API const char* rt_error_message(const rt_error* error);
/* The request id of the failed answer; "" when there is none. */
RT_API const char* rt_error_request_id(const rt_error* error);
/* The HTTP status of the failed answer; 0 when the failure was no answer. */
RT_API int rt_error_http_status(const rt_error* error);
/* The wait in milliseconds a rate-limited answer asked for; -1 when none. */
RT_API int64_t rt_error_retry_after_ms(const rt_error* error);
/* How many attempts were made before the call gave up (at least 1). */
RT_API int rt_error_attempts(const rt_error* error);

/* ------------------------------------------------------------ cancellation */

typedef struct rt_cancel rt_cancel;

/* A cancellation flag for one or more calls. NULL when out of memory. */
RT_API rt_cancel* rt_cancel_new(void);
/* Cancels every call watching it; they end promptly with RT_ERR_CANCELLED.
 * Safe from any thread (not from a signal handler). */
RT_API void rt_cancel_cancel(rt_cancel* cancel);
RT_API int rt_cancel_is_cancelled(const rt_cancel* cancel);
RT_API void rt_cancel_free(rt_cancel* cancel);

/* ---------------------------------------------------------- client options */

typedef struct rt_client_options rt_client_options;

typedef enum rt_service {
  RT_SERVICE_API = 0, /* the orchestrator: sandboxes, workspaces, agents */
  RT_SERVICE_TOOLS = 1,
  RT_SERVICE_AUTH = 2,
  RT_SERVICE_STORAGE = 3
} rt_service;

/* Empty options: whatever is left unset comes from the environment, then
 * from the platform's defaults. NULL when out of memory. */
RT_API rt_client_options* rt_client_options_new(void);
RT_API void rt_client_options_free(rt_client_options* options);
RT_API rt_status rt_client_options_set_api_key(rt_client_options* options, const char* api_key);
RT_API rt_status rt_client_options_set_access_token(rt_client_options* options,
                                                    const char* access_token);
RT_API rt_status rt_client_options_set_url(rt_client_options* options, rt_service service,
                                           const char* base_url);
/* The time limit of each request, in milliseconds (> 0). */
RT_API rt_status rt_client_options_set_timeout_ms(rt_client_options* options, int64_t timeout_ms);
RT_API rt_status rt_client_options_set_max_retries(rt_client_options* options, int max_retries);

/* ------------------------------------------------------------------ client */

typedef struct rt_client rt_client;

/* A client from `options`, or from the environment alone when NULL. */
RT_API rt_status rt_client_new(const rt_client_options* options, rt_client** client,
                               rt_error** error);
/* Frees the client. No call may be running on it. */
RT_API void rt_client_free(rt_client* client);

/* ------------------------------------------------------------ call options */

typedef struct rt_call_options rt_call_options;

/* Per-call settings, passed to any call; NULL there means none. */
RT_API rt_call_options* rt_call_options_new(void);
RT_API void rt_call_options_free(rt_call_options* options);
/* A bound on the whole call (every attempt and wait), in milliseconds. */
RT_API rt_status rt_call_options_set_deadline_ms(rt_call_options* options, int64_t deadline_ms);
/* Each request's time limit for this call, in milliseconds. */
RT_API rt_status rt_call_options_set_timeout_ms(rt_call_options* options, int64_t timeout_ms);
RT_API rt_status rt_call_options_set_max_retries(rt_call_options* options, int max_retries);
/* Calls made with these options watch `cancel`. The options keep their own
 * reference: `cancel` may be freed before them. NULL removes it. */
RT_API rt_status rt_call_options_set_cancel(rt_call_options* options, const rt_cancel* cancel);

/* --------------------------------------------------------------- sandboxes */

/* Creates a sandbox. `options_json` (NULL for defaults) may hold
 * "template", "name", "tags" [str], "sshKeys" [str], "rootPassword",
 * "resources" {cpu, memory, disk}, "env" {str: str}, "idleTimeout" (seconds),
 * "mounts" [{"workspaceId", "path", "readOnly"}], "metadata", "projectId".
 * `sandbox_json` receives the sandbox object. */
RT_API rt_status rt_sandbox_create(rt_client* client, const char* options_json,
                                   const rt_call_options* call, char** sandbox_json,
                                   rt_error** error);
RT_API rt_status rt_sandbox_get(rt_client* client, const char* sandbox_id,
                                const rt_call_options* call, char** sandbox_json, rt_error** error);
/* One page of sandboxes. `filters_json` (NULL: none) may hold "status",
 * "tags" [str], "template", "limit", "cursor", "all". `page_json` receives
 * {"data": [sandbox...], "hasMore": bool, "nextCursor": str|null}. */
RT_API rt_status rt_sandbox_list_page(rt_client* client, const char* filters_json,
                                      const rt_call_options* call, char** page_json,
                                      rt_error** error);
/* Waits until the sandbox runs and is reachable, polling; `timeout_ms` <= 0
 * means 60 s. */
RT_API rt_status rt_sandbox_wait_for_ready(rt_client* client, const char* sandbox_id,
                                           int64_t timeout_ms, const rt_call_options* call,
                                           char** sandbox_json, rt_error** error);
/* Waits until the sandbox reaches `status` ("paused", "running", ...),
 * polling; `timeout_ms` <= 0 means 60 s. `sandbox_json` may be NULL. */
RT_API rt_status rt_sandbox_wait_for_status(rt_client* client, const char* sandbox_id,
                                            const char* status, int64_t timeout_ms,
                                            const rt_call_options* call, char** sandbox_json,
                                            rt_error** error);
/* `status` (NULL to ignore) receives the sandbox status reported. The
 * platform answers with the transitional status ("pausing", "resuming");
 * rt_sandbox_wait_for_status() waits for the settled one. */
RT_API rt_status rt_sandbox_pause(rt_client* client, const char* sandbox_id,
                                  const rt_call_options* call, char** status, rt_error** error);
RT_API rt_status rt_sandbox_resume(rt_client* client, const char* sandbox_id,
                                   const rt_call_options* call, char** status, rt_error** error);
RT_API rt_status rt_sandbox_destroy(rt_client* client, const char* sandbox_id,
                                    const rt_call_options* call, rt_error** error);

/* The outcome of a command. A non-zero exit code is a result, not an error. */
typedef struct rt_exec_result rt_exec_result;

RT_API void rt_exec_result_free(rt_exec_result* result);
RT_API int rt_exec_result_exit_code(const rt_exec_result* result);
/* Non-zero when the command hit its timeout (exit code 124). */
RT_API int rt_exec_result_timed_out(const rt_exec_result* result);
/* Non-zero when a stream callback stopped the command. */
RT_API int rt_exec_result_stopped(const rt_exec_result* result);
/* The command's duration in milliseconds; -1 when not reported. */
RT_API int64_t rt_exec_result_duration_ms(const rt_exec_result* result);
/* The whole output. The bytes belong to the result; `length` (may be NULL)
 * receives their count, and a NUL follows them. */
RT_API const char* rt_exec_result_stdout(const rt_exec_result* result, size_t* length);
RT_API const char* rt_exec_result_stderr(const rt_exec_result* result, size_t* length);

/* Runs `command` through /bin/sh -c. `options_json` (NULL: none) may hold
 * "cwd", "env" {str: str}, "timeout" (milliseconds). */
RT_API rt_status rt_sandbox_exec(rt_client* client, const char* sandbox_id, const char* command,
                                 const char* options_json, const rt_call_options* call,
                                 rt_exec_result** result, rt_error** error);

/* Receives output as the command produces it; returns 0 to stop it. */
typedef int (*rt_output_callback)(const char* data, size_t length, void* user_data);

/* As rt_sandbox_exec, with output streamed to the callbacks (either may be
 * NULL); the result holds the whole output too. */
RT_API rt_status rt_sandbox_exec_stream(rt_client* client, const char* sandbox_id,
                                        const char* command, const char* options_json,
                                        rt_output_callback on_stdout, rt_output_callback on_stderr,
                                        void* user_data, const rt_call_options* call,
                                        rt_exec_result** result, rt_error** error);

/* -------------------------------------------------------------- workspaces */

/* Creates a workspace named `name`; `workspace_json` receives it. */
RT_API rt_status rt_workspace_create(rt_client* client, const char* name,
                                     const rt_call_options* call, char** workspace_json,
                                     rt_error** error);
/* Deletes a workspace; `force` non-zero deletes it even while mounted. */
RT_API rt_status rt_workspace_delete(rt_client* client, const char* workspace_id, int force,
                                     const rt_call_options* call, rt_error** error);

/* Reports a transfer's progress: bytes so far, and the total or -1. */
typedef void (*rt_progress_callback)(uint64_t bytes_done, int64_t bytes_total, void* user_data);

/* Uploads a local file to `remote_path`, streamed from disk (100 MB at
 * most). `on_progress` may be NULL. */
RT_API rt_status rt_files_upload(rt_client* client, const char* workspace_id,
                                 const char* local_file, const char* remote_path,
                                 rt_progress_callback on_progress, void* user_data,
                                 const rt_call_options* call, rt_error** error);
/* Downloads `remote_path` to a local file: written beside it and renamed
 * into place only when complete. `on_progress` may be NULL. */
RT_API rt_status rt_files_download(rt_client* client, const char* workspace_id,
                                   const char* remote_path, const char* local_file,
                                   rt_progress_callback on_progress, void* user_data,
                                   const rt_call_options* call, rt_error** error);
/* The entries of a folder ("/" for the root) as a JSON array. */
RT_API rt_status rt_files_list(rt_client* client, const char* workspace_id, const char* folder,
                               const rt_call_options* call, char** entries_json, rt_error** error);
/* Creates or replaces a text file with `length` bytes of `data`. */
RT_API rt_status rt_files_write(rt_client* client, const char* workspace_id, const char* path,
                                const char* data, size_t length, const rt_call_options* call,
                                rt_error** error);
/* Removes a file or a folder with everything in it. */
RT_API rt_status rt_files_remove(rt_client* client, const char* workspace_id, const char* path,
                                 const rt_call_options* call, rt_error** error);

/* ---------------------------------------------------------- agents, threads */

/* Creates an agent, or updates the one with the same slug. `definition_json`
 * holds "slug" (required), "name", "description", "model", "systemPrompt",
 * "executionMode" ("managed", "in_sandbox" with "sandbox"), "env",
 * "maxIterations", "maxTokens", "temperature", "projectId". `agent_json`
 * (NULL to ignore) receives {"id", "slug", "action", "version", "sandboxId"}. */
RT_API rt_status rt_agent_upsert(rt_client* client, const char* definition_json,
                                 const rt_call_options* call, char** agent_json, rt_error** error);

/* Receives each event of a run as it arrives: its type
 * ("assistant_message_delta", "tool_call", "run_completed", ...) and its
 * JSON payload. Returns 0 to stop the stream. */
typedef int (*rt_event_callback)(const char* type, const char* data_json, void* user_data);

/* Runs agent `agent_slug` on `prompt`, streamed. `options_json` (NULL:
 * none) may hold "threadId", "thread" (bool: start one), "maxTokens",
 * "maxTurns", "temperature", "metadata", "idleTimeout" (milliseconds).
 * `result_json` (NULL to ignore) receives {"runId", "threadId", "status",
 * "result", "usage", "error", "stoppedEarly", ...}. */
RT_API rt_status rt_agent_run_stream(rt_client* client, const char* agent_slug, const char* prompt,
                                     const char* options_json, rt_event_callback on_event,
                                     void* user_data, const rt_call_options* call,
                                     char** result_json, rt_error** error);
/* One page of threads. `filters_json` (NULL: none) may hold "limit",
 * "cursor", "archived" (bool: include archived threads). */
RT_API rt_status rt_threads_list_page(rt_client* client, const char* filters_json,
                                      const rt_call_options* call, char** page_json,
                                      rt_error** error);
/* One page of a thread's events. `filters_json` may hold "limit", "cursor",
 * "allRollouts", "rolloutId". */
RT_API rt_status rt_threads_events_page(rt_client* client, const char* thread_id,
                                        const char* filters_json, const rt_call_options* call,
                                        char** page_json, rt_error** error);

/* -------------------------------------------------------- tools and secrets */

/* Executes a Tool Hub tool. `request_json` holds "action" (required),
 * "params" {...}, "credentials" {str: str}, "credentialOverrides" {str: str}.
 * A failure inside the tool is a result ("success": false, "error": {...}),
 * not an error status. */
RT_API rt_status rt_tools_execute(rt_client* client, const char* tool_slug,
                                  const char* request_json, const rt_call_options* call,
                                  char** result_json, rt_error** error);
/* Stores a secret. `options_json` (NULL: none) may hold "scope", "category",
 * "description", "orgWide". */
RT_API rt_status rt_secrets_set(rt_client* client, const char* name, const char* value,
                                const char* options_json, const rt_call_options* call,
                                rt_error** error);
/* The secrets' metadata (never their values) as a JSON array. */
RT_API rt_status rt_secrets_list(rt_client* client, const rt_call_options* call,
                                 char** secrets_json, rt_error** error);
/* A secret's value; free it with rt_secret_free(). */
RT_API rt_status rt_secrets_reveal(rt_client* client, const char* name, const rt_call_options* call,
                                   char** value, rt_error** error);

/* ------------------------------------------------------ non-blocking calls */

/* An operation: a call started on the client's engine that returns at once.
 * The caller asks whether it is done, waits, cancels, and finally takes its
 * outcome: the status, error and result the blocking call would have
 * returned. Callbacks given to an operation (stream output, events,
 * progress) run where the client's completions run: on the SDK's I/O
 * thread, or, in RT_COMPLETIONS_POLL mode, inside rt_client_poll() on the
 * caller's thread, so an engine that calls rt_client_poll() once a frame
 * never sees a callback on another thread. Strings passed in are copied
 * when the operation starts; `user_data` must stay valid until the
 * operation has ended. An rt_op is freed with rt_op_free(); freeing it
 * before it ended cancels it. rt_client_free() cancels the client's
 * operations and returns once they have ended. */
typedef struct rt_op rt_op;

typedef enum rt_completion_mode {
  RT_COMPLETIONS_IO_THREAD = 0, /* on the SDK's own I/O thread (the default) */
  RT_COMPLETIONS_POLL = 1,      /* inside rt_client_poll(), on the caller's thread */
  /* Not a mode: keeps the type int-sized, so that any int a caller passes
   * is a value of it and is refused with RT_ERR_INVALID_ARGUMENT. */
  RT_COMPLETIONS_RESERVED_ = 0x7fffffff
} rt_completion_mode;

RT_API rt_status rt_client_options_set_completion_mode(rt_client_options* options,
                                                       rt_completion_mode mode);
/* RT_COMPLETIONS_POLL: advances every operation in flight without waiting
 * and runs their callbacks on this thread; call it once a frame, always
 * from the same thread. `ran` (may be NULL) receives how many steps ran. */
RT_API rt_status rt_client_poll(rt_client* client, size_t* ran, rt_error** error);

/* Non-zero once the operation has ended. Never blocks. */
RT_API int rt_op_done(const rt_op* op);
/* Waits until the operation has ended (RT_OK) or `timeout_ms` passed
 * (RT_ERR_TIMEOUT); a negative `timeout_ms` waits as long as it takes. On
 * the polling thread in RT_COMPLETIONS_POLL mode the wait drives the client. */
RT_API rt_status rt_op_wait(rt_op* op, int64_t timeout_ms);
/* Asks the operation to stop; it ends with RT_ERR_CANCELLED unless it
 * already ended. May be called from any thread. */
RT_API void rt_op_cancel(rt_op* op);
/* Waits for the end and returns the operation's status; `error` receives
 * its error, `result` (may be NULL) its JSON result (or NULL when it has
 * none), to be freed with rt_string_free(). May be called more than once. */
RT_API rt_status rt_op_result(rt_op* op, char** result, rt_error** error);
/* As rt_op_result, for the operations of rt_sandbox_exec_async(). */
RT_API rt_status rt_op_exec_result(rt_op* op, rt_exec_result** result, rt_error** error);
RT_API void rt_op_free(rt_op* op);

/* The body of rt_op_start(): any sequence of blocking rt_ calls through
 * `client` (the operation's own view of the client), which then do not
 * block: they suspend the operation. Its status and error are the
 * operation's; `*result` may be set to a string from the rt_ calls (the
 * library takes it over) or left NULL. */
typedef rt_status (*rt_op_function)(rt_client* client, void* user_data, char** result,
                                    rt_error** error);
RT_API rt_status rt_op_start(rt_client* client, rt_op_function body, void* user_data, rt_op** op,
                             rt_error** error);

/* The non-blocking forms of the blocking calls of the same name (their
 * outcome as rt_op_result() or rt_op_exec_result() returns it). */
RT_API rt_status rt_sandbox_create_async(rt_client* client, const char* options_json,
                                         const rt_call_options* call, rt_op** op, rt_error** error);
RT_API rt_status rt_sandbox_wait_for_ready_async(rt_client* client, const char* sandbox_id,
                                                 int64_t timeout_ms, const rt_call_options* call,
                                                 rt_op** op, rt_error** error);
RT_API rt_status rt_sandbox_exec_async(rt_client* client, const char* sandbox_id,
                                       const char* command, const char* options_json,
                                       rt_output_callback on_stdout, rt_output_callback on_stderr,
                                       void* user_data, const rt_call_options* call, rt_op** op,
                                       rt_error** error);
RT_API rt_status rt_sandbox_destroy_async(rt_client* client, const char* sandbox_id,
                                          const rt_call_options* call, rt_op** op,
                                          rt_error** error);
RT_API rt_status rt_files_upload_async(rt_client* client, const char* workspace_id,
                                       const char* local_file, const char* remote_path,
                                       rt_progress_callback on_progress, void* user_data,
                                       const rt_call_options* call, rt_op** op, rt_error** error);
RT_API rt_status rt_files_download_async(rt_client* client, const char* workspace_id,
                                         const char* remote_path, const char* local_file,
                                         rt_progress_callback on_progress, void* user_data,
                                         const rt_call_options* call, rt_op** op, rt_error** error);
RT_API rt_status rt_agent_run_stream_async(rt_client* client, const char* agent_slug,
                                           const char* prompt, const char* options_json,
                                           rt_event_callback on_event, void* user_data,
                                           const rt_call_options* call, rt_op** op,
                                           rt_error** error);

#ifdef __cplusplus
}
#endif

#endif /* RUNTOOLS_RUNTOOLS_H */
