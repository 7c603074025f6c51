# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The Python names of a live CPython's threads, read from outside
(user/pyread_threads.c, through build/pyprobe threads), against what
threading itself says in the process: every Python here, each as its
launcher runs it (chroot, container)."""
import json
import os
import re
import subprocess

from common import BUILD, Skip, every_python, workload_py

PROBE = os.path.join(BUILD, "pyprobe")
NAME_MAX = 63   # bytes of a name kept (struct py_thread_name)


def kept(name):
    """name as the reader keeps it: at most NAME_MAX bytes of UTF-8, cut
    before a character that does not fit."""
    b = name.encode()
    if len(b) <= NAME_MAX:
        return name
    return b[:NAME_MAX].decode(errors="ignore")


def probe(pid):
    r = subprocess.run([PROBE, "threads", str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def parked(py, script, *args):
    """Starts script on py; returns (the process, its first JSON line)."""
    wl = subprocess.Popen(py.argv(script, *args), stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    line = wl.stdout.readline()
    if not line:
        wl.wait(timeout=30)
        raise AssertionError("%s: the workload exited %s before it printed"
                             % (py.label, wl.returncode))
    return wl, json.loads(line)


def release(wl):
    try:
        wl.stdin.write("go\n")
        wl.stdin.flush()
        wl.wait(timeout=30)
    finally:
        if wl.poll() is None:
            wl.kill()
            wl.wait()


def check_names(py, *args):
    if not os.access(PROBE, os.X_OK):
        raise AssertionError("%s is not built: run make" % PROBE)
    wl, truth = parked(py, workload_py("thread_names.py"), *args)
    try:
        assert truth["pid"] == wl.pid, (py.label, truth["pid"], wl.pid)
        rc, out, err = probe(wl.pid)
    finally:
        release(wl)
    assert rc == 0, "%s: pyprobe threads exited %d: %s" % (py.label, rc, err)
    got = json.loads(out)
    assert got["python"] == "%d.%d" % py.vinfo[:2], (py.label, got["python"])
    want = {tid: kept(name) for tid, name in truth["threads"].items()}
    assert got["threads"] == want, "%s: read %s, threading says %s" % (
        py.label, got["threads"], want)
    assert wl.returncode == 0, (py.label, wl.returncode)
    return got["threads"]


@every_python(gil=None)
def pythreads_names_match_threading(py):
    if not py.has_gil:
        nogil_is_refused(py)
    names = check_names(py)
    assert "MainThread" in names.values() and "Dummy-1" in names.values(), names
    assert "ThreadPoolExecutor-0_1" in names.values(), names
    long = [n for n in names.values() if n.startswith("long-")]
    assert long and len(long[0].encode()) == 62, long   # cut before the é
    # the main thread renamed: the reader sees the new name
    names = check_names(py, "the-boss ✓")
    assert "the-boss ✓" in names.values() and "MainThread" not in names.values(), names


def nogil_is_refused(py):
    """nogil (free-threaded 3.9) keeps another object header (ob_tid, two
    refcounts, ob_type at 16) and its own dicts: no layout of the reader
    fits it.  The probe must say so, not misread it."""
    wl, truth = parked(py, workload_py("thread_names.py"))
    try:
        rc, out, err = probe(wl.pid)
    finally:
        release(wl)
    assert rc == 1 and not out and "no GIL" in err, (py.label, rc, out, err)
    raise Skip("%s: free-threaded, another object layout: not read (the probe "
               "refuses it: %s)" % (py.label, err.strip()))


@every_python(containers="one")
def pythreads_before_threading_is_imported(py):
    """A Python that has not imported threading: an error, no names."""
    code = ("import sys, json; print(json.dumps('threading' in sys.modules), flush=True); "
            "sys.stdin.readline()")
    wl = subprocess.Popen(py.cmd("-S", "-c", code), stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    try:
        imported = json.loads(wl.stdout.readline())
        rc, out, err = probe(wl.pid)
    finally:
        release(wl)
    if imported:
        raise Skip("%s imports threading at startup even with -S" % py.label)
    assert rc == 1 and not out and "thread names" in err, (py.label, rc, out, err)


@every_python(containers="one")
def pythreads_while_threads_come_and_go(py):
    """Read while threads start and end under the reader: each read gives
    names threading gave, or an error; never a crash, never a wrong name."""
    if not os.access(PROBE, os.X_OK):
        raise AssertionError("%s is not built: run make" % PROBE)
    wl, truth = parked(py, workload_py("thread_churn.py"))
    ok, results = 0, []
    try:
        for _ in range(40):
            rc, out, err = probe(wl.pid)
            assert rc in (0, 1), "%s: pyprobe threads exited %d: %s" % (py.label, rc, err)
            if rc:
                results.append(err.strip())
                continue
            names = json.loads(out)["threads"]
            for tid, name in names.items():
                assert re.fullmatch(r"MainThread|steady|churner|churn-\d+", name), \
                    (py.label, tid, name)
            assert names.get(str(truth["steady"])) == "steady", (py.label, names)
            ok += 1
    finally:
        release(wl)
    # a torn read may fail now and then, not most of the time
    assert ok >= 30, (py.label, ok, results[:5])
