#!/usr/bin/env python3
"""The C API from Python through ctypes, the standard library alone: loads
libruntools.so, creates a sandbox, waits for it, runs a command, destroys
it and sees it gone. The proof that an FFI user needs no C++.

    ctypes_test.py LIBRUNTOOLS_SO

The client comes from the environment (RUNTOOLS_API_KEY, RUNTOOLS_API_URL,
...), as scripts/with-emulator.sh sets it. Prints each step; exits non-zero
with the failing step, status, error code and message.
"""

import ctypes
import json
import sys

RT_OK = 0
RT_ERR_NOT_FOUND = 14


class RtError(Exception):
    pass


def load(path):
    """The library, with the signature of every function used."""
    lib = ctypes.CDLL(path)
    p = ctypes.c_void_p  # every handle is opaque: a pointer is all Python needs
    pp = ctypes.POINTER(ctypes.c_void_p)
    signatures = {
        "rt_version": (ctypes.c_char_p, []),
        "rt_status_name": (ctypes.c_char_p, [ctypes.c_int]),
        "rt_string_free": (None, [p]),
        "rt_error_free": (None, [p]),
        "rt_error_code": (ctypes.c_char_p, [p]),
        "rt_error_message": (ctypes.c_char_p, [p]),
        "rt_error_http_status": (ctypes.c_int, [p]),
        "rt_client_new": (ctypes.c_int, [p, pp, pp]),
        "rt_client_free": (None, [p]),
        "rt_sandbox_create": (ctypes.c_int, [p, ctypes.c_char_p, p, pp, pp]),
        "rt_sandbox_wait_for_ready": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_int64, p, pp, pp]),
        "rt_sandbox_get": (ctypes.c_int, [p, ctypes.c_char_p, p, pp, pp]),
        "rt_sandbox_exec": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, p, pp, pp]),
        "rt_sandbox_destroy": (ctypes.c_int, [p, ctypes.c_char_p, p, pp]),
        "rt_exec_result_free": (None, [p]),
        "rt_exec_result_exit_code": (ctypes.c_int, [p]),
        "rt_exec_result_stdout": (p, [p, ctypes.POINTER(ctypes.c_size_t)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def check(lib, what, status, error):
    """Raises RtError (after freeing the error) unless `status` is RT_OK."""
    if status == RT_OK:
        return
    message = "%s: %s" % (what, lib.rt_status_name(status).decode())
    if error.value:
        message += ": %s: %s" % (lib.rt_error_code(error).decode(),
                                 lib.rt_error_message(error).decode())
        lib.rt_error_free(error)
    raise RtError(message)


def take_string(lib, pointer):
    """The text of a string the library handed out, which is then freed."""
    text = ctypes.string_at(pointer.value).decode()
    lib.rt_string_free(pointer)
    return text


def main(path):
    lib = load(path)
    print("loaded %s: rt_version() = %s" % (path, lib.rt_version().decode()))

    client = ctypes.c_void_p()
    error = ctypes.c_void_p()
    check(lib, "rt_client_new", lib.rt_client_new(None, ctypes.byref(client), ctypes.byref(error)), error)
    try:
        created = ctypes.c_void_p()
        check(lib, "rt_sandbox_create",
              lib.rt_sandbox_create(client, b'{"name": "ctypes-test"}', None,
                                    ctypes.byref(created), ctypes.byref(error)), error)
        sandbox_id = json.loads(take_string(lib, created))["id"]
        print("created sandbox %s" % sandbox_id)

        ready = ctypes.c_void_p()
        check(lib, "rt_sandbox_wait_for_ready",
              lib.rt_sandbox_wait_for_ready(client, sandbox_id.encode(), 60000, None,
                                            ctypes.byref(ready), ctypes.byref(error)), error)
        status = json.loads(take_string(lib, ready))["status"]
        print("sandbox %s is %s" % (sandbox_id, status))
        if status != "running":
            raise RtError("rt_sandbox_wait_for_ready: status %r, expected 'running'" % status)

        result = ctypes.c_void_p()
        check(lib, "rt_sandbox_exec",
              lib.rt_sandbox_exec(client, sandbox_id.encode(), b"echo hello from ctypes", None,
                                  None, ctypes.byref(result), ctypes.byref(error)), error)
        length = ctypes.c_size_t()
        output = ctypes.string_at(lib.rt_exec_result_stdout(result, ctypes.byref(length)),
                                  length.value).decode()
        exit_code = lib.rt_exec_result_exit_code(result)
        lib.rt_exec_result_free(result)
        print("exec: exit code %d, stdout %r" % (exit_code, output))
        if exit_code != 0 or output != "hello from ctypes\n":
            raise RtError("rt_sandbox_exec: unexpected outcome")

        check(lib, "rt_sandbox_destroy",
              lib.rt_sandbox_destroy(client, sandbox_id.encode(), None, ctypes.byref(error)), error)
        print("destroyed sandbox %s" % sandbox_id)

        gone = ctypes.c_void_p()
        status = lib.rt_sandbox_get(client, sandbox_id.encode(), None, ctypes.byref(gone),
                                    ctypes.byref(error))
        if status != RT_ERR_NOT_FOUND or gone.value or lib.rt_error_http_status(error) != 404:
            raise RtError("rt_sandbox_get after destroy: %s, expected not_found"
                          % lib.rt_status_name(status).decode())
        print("rt_sandbox_get after destroy: %s (%s)" % (lib.rt_status_name(status).decode(),
                                                        lib.rt_error_message(error).decode()))
        lib.rt_error_free(error)
    finally:
        lib.rt_client_free(client)
    print("ctypes test passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: ctypes_test.py LIBRUNTOOLS_SO")
    try:
        main(sys.argv[1])
    except (RtError, OSError, KeyError, ValueError) as failure:
        print("ctypes test FAILED: %s" % failure, file=sys.stderr)
        sys.exit(1)
