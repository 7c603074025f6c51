# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A deliberate bug: changing an object's reference count without the GIL.

ctypes.CDLL functions are called with the GIL released (only PyDLL keeps
it), so calling CPython's own Py_IncRef / Py_DecRef through a CDLL handle
writes ob_refcnt with no GIL held - the refcount race the GIL exists to
prevent, written in two lines.  Another thread works on the same object
meanwhile, with the GIL, as a program's other threads would.

usage: refcount_nogil_bug.py CALLS
Prints {"pid", "addr": id(obj)} and waits for a line on stdin (a tracer
attaches meanwhile), then makes CALLS bad incref/decref pairs and prints
{"bad_calls": ...}.
"""
import ctypes
import json
import sys
import threading


class Victim:
    pass


def main():
    calls = int(sys.argv[1])
    obj = Victim()
    api = ctypes.CDLL(None)          # the interpreter's own symbols ...
    if not hasattr(api, "Py_IncRef"):  # ... or libpython's, when shared
        api = ctypes.CDLL(ctypes.pythonapi._name)
    incref, decref = api.Py_IncRef, api.Py_DecRef
    incref.argtypes = decref.argtypes = [ctypes.py_object]
    incref.restype = decref.restype = None

    print(json.dumps({"pid": __import__("os").getpid(), "addr": id(obj)}), flush=True)
    sys.stdin.readline()

    stop = False

    def with_gil():
        while not stop:
            ref = obj   # noqa: F841  takes and drops a reference, GIL held
            ref = None  # noqa: F841

    t = threading.Thread(target=with_gil)
    t.start()
    for _ in range(calls):
        incref(obj)      # the bug: GIL released around a CDLL call
        decref(obj)
    stop = True
    t.join()
    print(json.dumps({"bad_calls": calls, "tid": threading.get_native_id()}), flush=True)


if __name__ == "__main__":
    main()
