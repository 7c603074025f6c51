# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A tracing session's error paths (issue 12, part 2): each failure found in
the split says what is wrong in one line, exits non-zero and leaves no
file behind; and a recording's --json is written.

Failures that a healthy machine never produces are injected: with strace's
fault injection (a syscall made to fail), or a realloc that fails once."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

from common import GILSCOPE, Skip, require_root_bpf, tmpdir, workload

TRACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "traces")


def need_strace():
    if not shutil.which("strace"):
        raise Skip("strace is not installed (apt-get install strace)")


def traced_env():
    """LeakSanitizer cannot run under ptrace: a sanitizer build under strace
    keeps its other checks."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return dict(os.environ, ASAN_OPTIONS=(opts + ":" if opts else "") + "detect_leaks=0")


def errors(stderr):
    """gilscope's own lines on stderr."""
    return [l for l in stderr.splitlines() if l.startswith("gilscope:")]


def is_sanitized():
    with open(GILSCOPE, "rb") as f:
        return b"__asan_init" in f.read()


def test_unrunnable_command_closes_no_fd_twice():
    """`gilscope -- /nonexistent-prog` closed fd 0 twice: a spawn that
    failed left its pipe fds at 0."""
    need_strace()
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=close", "-o", "/dev/stdout",
                        GILSCOPE, "--", "/nonexistent-prog"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=traced_env())
    assert r.returncode == 1, r.stderr
    assert errors(r.stderr) == ["gilscope: cannot run '/nonexistent-prog': "
                                "No such file or directory"], r.stderr
    closes = re.findall(r"close\(0\)", r.stdout)
    assert closes == [], "fd 0 closed %d times:\n%s" % (len(closes), r.stdout)


def test_unreadable_memory_map_is_not_out_of_memory():
    """A failing symbolizer__new (the target's maps cannot be read, as when
    it exits) was reported as 'out of memory'.  Every open of the target's
    /proc/PID/maps is made to fail in turn: whatever fails, the line never
    says memory ran out, and a failed run says what it could not read."""
    require_root_bpf()
    need_strace()
    target = subprocess.Popen(["sleep", "120"])
    try:
        maps = "/proc/%d/maps" % target.pid
        base = [GILSCOPE, "-p", str(target.pid), "-d", "0.2"]
        r = subprocess.run(["strace", "-f", "-qq", "-P", maps, "-e", "trace=openat",
                            "-o", "/dev/stdout"] + base,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60, env=traced_env())
        assert r.returncode == 0, r.stderr
        opens = r.stdout.count("openat(")
        assert opens > 0, "gilscope never read %s:\n%s" % (maps, r.stdout)
        said_map = False
        for n in range(1, opens + 1):
            r = subprocess.run(["strace", "-f", "-qq", "-P", maps, "-e", "trace=openat",
                                "-e", "inject=openat:error=ESRCH:when=%d" % n,
                                "-o", "/dev/null"] + base,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=60, env=traced_env())
            lines = errors(r.stderr)
            assert not any("out of memory" in l for l in lines), \
                "open %d of %d of the maps failed: %s" % (n, opens, r.stderr)
            if r.returncode != 0:
                assert len(lines) == 1, "open %d: %s" % (n, r.stderr)
                said_map = said_map or "memory map of process %d" % target.pid in lines[0]
        assert said_map, "no failed open was reported as the memory map"
    finally:
        target.kill()
        target.wait()


def test_failing_target_registration_is_said_for_a_command():
    """tracer__add_target failing on the `-- CMD` path printed nothing (the
    -p path said it).  Its map update is made to fail with ENOSPC."""
    require_root_bpf()
    need_strace()
    cmd = [GILSCOPE, "-d", "0.2", "--", "/bin/true"]
    r = subprocess.run(["strace", "-qq", "-e", "trace=bpf", "-o", "/dev/stdout"] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=traced_env())
    assert r.returncode == 0, r.stderr
    calls = [l for l in r.stdout.splitlines() if l.startswith("bpf(")]
    fd = None
    for i, l in enumerate(calls):
        m = re.search(r'map_name="targets".*\) = (\d+)$', l)
        if m:
            fd = m.group(1)
        elif fd and l.startswith("bpf(BPF_MAP_UPDATE_ELEM, {map_fd=%s," % fd):
            nth = i + 1
            break
    else:
        raise AssertionError("no update of the targets map:\n%s" % r.stdout)
    start = time.monotonic()
    r = subprocess.run(["strace", "-qq", "-e", "trace=bpf",
                        "-e", "inject=bpf:error=ENOSPC:when=%d" % nth, "-o", "/dev/null"] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=traced_env())
    assert r.returncode == 1, r.stderr
    assert errors(r.stderr) == ["gilscope: cannot set the target: "
                                "No space left on device"], r.stderr
    assert r.stdout == "", "a report after a failed attach: %s" % r.stdout
    assert time.monotonic() - start < 30


REALLOC_ONCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
/* The first realloc(NULL, 16384): perfetto's first block of GIL steps. */
static int failed;
void *realloc(void *p, size_t n)
{
	static void *(*real)(void *, size_t);

	if (!real)
		real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	if (!p && n == 16384 && !failed) {
		failed = 1;
		errno = ENOMEM;
		return NULL;
	}
	return real(p, n);
}
"""


def test_export_out_of_memory_leaves_no_file():
    """perfetto() returned void: an allocation failure halfway through was
    committed as a whole document with exit 0."""
    if is_sanitized():
        raise Skip("a sanitizer build: its allocator cannot be interposed with LD_PRELOAD")
    if not shutil.which("cc"):
        raise Skip("no C compiler to build the failing realloc")
    d = tmpdir()
    try:
        src, lib = os.path.join(d, "fail.c"), os.path.join(d, "fail.so")
        with open(src, "w") as f:
            f.write(REALLOC_ONCE)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src, "-ldl"], check=True)
        out = os.path.join(d, "out.json")
        env = dict(os.environ, LD_PRELOAD=lib)
        r = subprocess.run([GILSCOPE, "export", os.path.join(TRACES, "gildemo.gst"),
                            "--format", "perfetto", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60, env=env)
        assert r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr)
        assert errors(r.stderr) == ["gilscope: cannot write %s: Cannot allocate memory"
                                    % out], r.stderr
        assert os.listdir(d) == ["fail.c", "fail.so"], os.listdir(d)
        # and without the failure, the same export is whole
        r = subprocess.run([GILSCOPE, "export", os.path.join(TRACES, "gildemo.gst"),
                            "--format", "perfetto", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        with open(out) as f:
            assert json.load(f)["traceEvents"]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_record_with_json_writes_the_recordings_report():
    """`gilscope record -o X --json Y` exited 0 and never wrote Y.  Y is
    now the report of X, as `gilscope report X --json` writes it."""
    require_root_bpf()
    d = tmpdir()
    try:
        gst, js, again = (os.path.join(d, n) for n in ("run.gst", "run.json", "again.json"))
        r = subprocess.run([GILSCOPE, "record", "-o", gst, "--json", js, "--",
                            workload("lockholder"), "-r", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert os.path.exists(js), "no %s: %s" % (js, r.stderr)
        r = subprocess.run([GILSCOPE, "report", gst, "--json", again],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        with open(js) as a, open(again) as b:
            assert a.read() == b.read()
        assert [f for f in os.listdir(d) if ".tmp." in f] == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


NAMED_THREAD = r"""
import ctypes, sys, threading, time
libc = ctypes.CDLL(None)
def work():
    # 15 bytes of UTF-8 and a sequence the kernel cuts short at 15
    libc.prctl(15, "caf\u00e9-\u00e9t\u00e9-xy\u00e9".encode())   # PR_SET_NAME
    time.sleep(1.5)
t = threading.Thread(target=work)
t.start()
t.join()
"""


def test_json_report_keeps_utf8_thread_names():
    """json.c escaped every byte >= 0x7f as \\u00XX: UTF-8 names came out
    garbled (a thread named 'café' read 'cafÃ©')."""
    require_root_bpf()
    d = tmpdir()
    try:
        js = os.path.join(d, "r.json")
        r = subprocess.run([GILSCOPE, "--gil=off", "--json", js, "--",
                            sys.executable, "-c", NAMED_THREAD],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=120)   # the text report has raw bytes
        assert r.returncode == 0, r.stderr
        with open(js, "rb") as f:
            raw = f.read()
        raw.decode("utf-8")     # strict: the document is valid UTF-8
        doc = json.loads(raw)
        names = set()

        def walk(x):
            if isinstance(x, dict):
                for k in ("comm", "name"):
                    if isinstance(x.get(k), str):
                        names.add(x[k])
                for v in x.values():
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
        walk(doc)
        # comm keeps 15 bytes: the last é of "café-été-xyé" (16) is cut in two
        assert "caf\u00e9-\u00e9t\u00e9-xy\ufffd" in names, sorted(names)
    finally:
        shutil.rmtree(d, ignore_errors=True)
