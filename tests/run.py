#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""gilscope's test runner.

Runs the C unit tests (build/unit_tests, each case in its own process) and
the integration tests (tests/integration/test_*.py, each test function in
a forked child with a time limit), prints one line per case and ends with
`N passed, N failed, N skipped`.  A test that needs root or BPF and cannot
have it is a skip with its reason, never a pass.
"""
import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_EXIT = 77


def run_unit(build, only):
    results = []
    exe = os.path.join(build, "unit_tests")
    if not os.path.exists(exe):
        return [("FAIL", "unit", "%s not built" % exe)]
    args = [exe] + ([only] if only else [])
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace").stdout
    for line in out.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASS", "FAIL", "SKIP"):
            name, _, why = rest.partition(": ")
            results.append((word, "unit/" + name, why))
            print(line if word == "PASS" else "%s unit/%s" % (word, rest), flush=True)
        else:
            print("  " + line)
    return results


def load_integration():
    sys.path.insert(0, os.path.join(HERE, "integration"))
    tests = []
    d = os.path.join(HERE, "integration")
    for fn in sorted(os.listdir(d)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(d, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(dir(mod)):
            fn_obj = getattr(mod, name)
            if name.startswith("test_") and callable(fn_obj):
                tests.append(("%s.%s" % (fn[:-3], name), fn_obj,
                              getattr(fn_obj, "timeout", 180)))
    return tests


def run_forked(name, fn, timeout):
    """Runs fn in a child; returns (status, why)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.setpgid(0, 0)   # its own group: a timeout kills its children too
        code, msg = 0, ""
        try:
            fn()
        except Exception as e:   # noqa: BLE001 -- report every failure
            import common
            if isinstance(e, common.Skip):
                code, msg = SKIP_EXIT, str(e)
            else:
                code = 1
                msg = "".join(traceback.format_exception_only(type(e), e)).strip()
                tb = traceback.extract_tb(e.__traceback__)
                if tb:
                    msg += " (%s:%d)" % (os.path.basename(tb[-1].filename), tb[-1].lineno)
        os.write(w, msg.encode(errors="replace")[:8000])
        os._exit(code)
    os.close(w)
    deadline = time.time() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.time() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return "FAIL", "timed out after %ds" % timeout
        time.sleep(0.05)
    msg = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        msg += chunk
    os.close(r)
    msg = msg.decode(errors="replace").replace("\n", " | ")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return "PASS", ""
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == SKIP_EXIT:
        return "SKIP", msg
    if os.WIFSIGNALED(status):
        return "FAIL", "killed by signal %d %s" % (os.WTERMSIG(status), msg)
    return "FAIL", msg or "failed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["unit", "integration"])
    ap.add_argument("-k", dest="filter", help="run tests whose name contains this")
    a = ap.parse_args()
    os.environ["GILSCOPE_BUILD"] = os.path.abspath(a.build)
    results = []
    if a.only in (None, "unit"):
        results += run_unit(a.build, a.filter if a.filter else None)
    if a.only in (None, "integration"):
        for name, fn, timeout in load_integration():
            if a.filter and a.filter not in name:
                continue
            status, why = run_forked(name, fn, timeout)
            results.append((status, name, why))
            print("%s integration/%s%s" % (status, name, ": " + why if why else ""),
                  flush=True)
    n = {s: sum(1 for r in results if r[0] == s) for s in ("PASS", "FAIL", "SKIP")}
    print("%d passed, %d failed, %d skipped" % (n["PASS"], n["FAIL"], n["SKIP"]))
    return 1 if n["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
