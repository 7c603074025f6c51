# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A thread parks in a known frame for tests/integration/test_pyread.py.

   py_park.py [thread|main]

Prints one JSON line - the parking thread's threading.get_ident(), its
native id and its own stack as the interpreter sees it, innermost first:
[path, line, name] with name the code's co_qualname (3.11+) or co_name,
and each frame's first local (a method's self) as id() gives it, or null
where the frame has none of its own (no local variables; or the first is
a cell, which a closure shares) - and then parks on that very line, in a read of a pipe nobody writes (the
test sees the thread there: its wchan is the pipe's read), until stdin
closes (thread) or it is killed (main).
"""
import json
import os
import sys
import threading
import traceback


def own_stack(frame):
    """The stack from frame out, innermost first, as traceback sees it,
    with each frame's qualified name where the version has one."""
    summary = traceback.extract_stack(frame)[::-1]
    out, f = [], frame
    for s in summary:
        code = f.f_code
        assert (s.filename, s.lineno, s.name) == (code.co_filename, f.f_lineno, code.co_name)
        out.append([s.filename, s.lineno, getattr(code, "co_qualname", code.co_name)])
        f = f.f_back
    return out


def first_locals(frame):
    """Each frame's first local, innermost first: hex(id()), or None."""
    out, f = [], frame
    while f is not None:
        code = f.f_code
        name = code.co_varnames[0] if code.co_varnames else None
        if name is None or name in code.co_cellvars or name not in f.f_locals:
            out.append(None)
        else:
            out.append(hex(id(f.f_locals[name])))
        f = f.f_back
    return out


def report(frame):
    print(json.dumps({"pid": os.getpid(), "ident": threading.get_ident(),
                      "tid": threading.get_native_id(), "stack": own_stack(frame),
                      "first_locals": first_locals(frame)}),
          flush=True)


NEVER_READY, _ = os.pipe()


class Parker:
    def park(self):
        report(sys._getframe()); os.read(NEVER_READY, 1)  # noqa: E702 (one line: the frame's line)

    def nested(self):
        def inner():
            return self.park()
        return inner()


def in_thread():
    t = threading.Thread(target=Parker().nested, name="parker", daemon=True)
    t.start()
    sys.stdin.read()


if __name__ == "__main__":
    if sys.argv[1:] == ["main"]:
        Parker().nested()
    else:
        in_thread()
