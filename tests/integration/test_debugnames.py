# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Names from the machine's debug files (issue 16), on real software:
Debian's stripped /usr/bin/python3 and glibc, whose .symtab and DWARF
python3.11-dbg and libc6-dbg put under /usr/lib/debug/.build-id/.

fib in 4 threads: every thread waits for the GIL in take_gil, a static
function only the debug file names (python3.11+0xcea77 without it); the
GIL's own waits are in no report table, so their native stacks are read
from `export --format csv` (a futex wait's text: the waiter's stack);
the threading locks' waits in the lock table name their libc frames."""
import csv
import json
import os
import re
import shutil
import subprocess

from common import (GILSCOPE, Skip, find_pythons, python, require_root_bpf, tmpdir,
                    workload_py)

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


def build_id(path):
    """The file's GNU build-id (readelf -n), or None."""
    r = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    m = re.search(r"Build ID: ([0-9a-f]+)", r.stdout)
    return m.group(1) if m else None


def require_debug_file(path, package):
    bid = build_id(path)
    if not bid:
        raise Skip("%s has no build-id" % path)
    dbg = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    if not os.path.exists(dbg):
        raise Skip("no debug file for %s (%s): apt-get install %s" % (path, dbg, package))


def test_debian_python_names_take_gil_and_libc_frames():
    require_root_bpf()
    py = python("debian-")
    exe = os.path.realpath(py.exe)
    require_debug_file(exe, "python3.11-dbg")
    require_debug_file(os.path.realpath(LIBC), "libc6-dbg")
    d = tmpdir()
    try:
        rec = os.path.join(d, "fib.gst")
        r = subprocess.run([GILSCOPE, "record", "-o", rec, "--"] +
                           py.argv(workload_py("fib_threads.py"), "4", "d2"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        out = os.path.join(d, "ev.csv")
        r = subprocess.run([GILSCOPE, "export", rec, "--format", "csv", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 0, r.stderr
        with open(out) as f:
            waits = [row["text"] for row in csv.DictReader(f)
                     if row["event"] == "futex_wait" and row["text"]]
        assert waits, "no futex wait with a stack in the recording"
        frames = [fr for w in waits for fr in w.split(" <- ")]
        gil = [w for w in waits if "python3.11:take_gil" in w]
        assert gil, "no GIL wait names take_gil: %s" % waits[:5]
        # the frame under it is glibc's condvar (or mutex) wait, by name
        assert any(re.search(r"libc\.so\.6:(__pthread_cond_wait_common|pthread_cond_timedwait|"
                             r"__futex_abstimed_wait_common|__lll_lock_wait)", w)
                   for w in gil), gil[:5]
        # a frame from DWARF says where: "take_gil+0x57 (ceval_gil.h:238)"
        assert any(re.match(r"python3\.11:take_gil\+0x[0-9a-f]+ \(ceval_gil\.h:\d+\)$", fr)
                   for fr in frames), [fr for fr in frames if "take_gil" in fr][:5]
        # libc frames are named, none is a bare file offset
        libc = [fr for fr in frames if fr.startswith("libc.so.6")]
        assert libc and not [fr for fr in libc if fr.startswith("libc.so.6+0x")], libc[:10]

        # the report's lock table: threading's semaphore waits, libc named
        rep = os.path.join(d, "r.json")
        r = subprocess.run([GILSCOPE, "report", rec, "--json", rep],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 0, r.stderr
        with open(rep) as f:
            locks = json.load(f)["locks"]
        stacks = [fr for lk in locks for c in lk["top_callers"] for fr in c["stack"]]
        assert any(fr.startswith("libc.so.6:") and " (" in fr for fr in stacks), stacks[:10]
        assert not [fr for fr in stacks if fr.startswith("libc.so.6+0x")], stacks[:10]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_debuginfod_urls_alone_never_reach_the_network():
    """DEBUGINFOD_URLS set (Debian's profile.d does it for logins) and a
    server that never answers: names come from the local files at once,
    and gilscope opens no socket."""
    require_root_bpf()
    if not shutil.which("strace"):
        raise Skip("needs strace")
    py = python("debian-")
    d = tmpdir()
    wl = subprocess.Popen(py.argv(workload_py("fib_threads.py"), "2", "d8"),
                          stdout=subprocess.DEVNULL)
    try:
        log = os.path.join(d, "strace.log")
        # a sanitizer build's leak checker cannot run under ptrace
        env = dict(os.environ, DEBUGINFOD_URLS="http://10.255.255.1:8002/",
                   DEBUGINFOD_TIMEOUT="90", ASAN_OPTIONS="detect_leaks=0")
        # -p: strace follows gilscope's threads, not the target
        r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=socket,connect", "-o", log,
                            GILSCOPE, "-d", "1", "-p", str(wl.pid)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "python3.11:" in r.stdout, r.stdout
        with open(log) as f:
            calls = [l for l in f if "socket(" in l or "connect(" in l]
        # AF_INET/AF_INET6 sockets would be debuginfod's (netlink and
        # unix sockets are the loader's and libbpf's business)
        assert not [c for c in calls if "AF_INET" in c], calls
    finally:
        wl.kill()
        wl.wait()
        shutil.rmtree(d, ignore_errors=True)


ROOT_LIB = r"""
#include <pthread.h>
#include <time.h>

static pthread_mutex_t table_locks[4] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
};

__attribute__((noinline)) static void contend(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	pthread_mutex_lock(&table_locks[2]);
	nanosleep(&ts, NULL);
	pthread_mutex_unlock(&table_locks[2]);
}

static void *worker(void *arg)
{
	for (int i = 0; i < 5; i++)
		contend();
	return arg;
}

int gs_run(void)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 0;
}
"""

ROOT_SCRIPT = """import ctypes, sys
ctypes.CDLL(sys.argv[1]).gs_run()
"""


def test_debug_file_in_the_targets_root():
    """A stripped library in a container whose debug file only the
    container has (under its own root, at a debug directory the host
    lacks): the static lock array and the static function are named."""
    require_root_bpf()
    for p in find_pythons():
        if p.mode == "container":
            py = p
            break
    else:
        raise Skip("no container Python here (GILSCOPE_PYTHONS=%s; tests/pythons/sid-root.sh "
                   "makes them)" % os.environ.get("GILSCOPE_PYTHONS", "all"))
    d = py.tmpdir()
    try:
        src = os.path.join(d, "gsroot.c")
        with open(src, "w") as f:
            f.write(ROOT_LIB)
        lib = os.path.join(d, "libgsroot.so")
        subprocess.run(["gcc", "-g", "-O1", "-fPIC", "-shared", "-fno-omit-frame-pointer",
                        "-pthread", "-Wl,--build-id=sha1", "-o", lib, src], check=True)
        subprocess.run(["objcopy", "--only-keep-debug", lib, lib + ".debug"], check=True)
        subprocess.run(["strip", "--strip-all", lib], check=True)
        bid = build_id(lib)
        dbg = os.path.join(d, "debug", ".build-id", bid[:2])
        os.makedirs(dbg)
        os.rename(lib + ".debug", os.path.join(dbg, bid[2:] + ".debug"))
        script = os.path.join(d, "run.py")
        with open(script, "w") as f:
            f.write(ROOT_SCRIPT)
        # the directory as the container sees it: the host has no such path
        inside = py.path_in(os.path.join(d, "debug"))
        assert not os.path.exists(inside), inside
        env = dict(os.environ, GILSCOPE_DEBUG_DIRS=inside)
        out = os.path.join(d, "r.json")
        r = subprocess.run([GILSCOPE, "--json", out, "--"] +
                           py.argv(script, py.path_in(lib)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        with open(out) as f:
            rep = json.load(f)
        lk = [l for l in rep["locks"] if l["name"] == "libgsroot.so:table_locks[2]"]
        assert lk, [(l["name"], l["addr"]) for l in rep["locks"]]
        frames = [fr for c in lk[0]["top_callers"] for fr in c["stack"]]
        assert any(re.match(r"libgsroot\.so:contend\+0x[0-9a-f]+ \(gsroot\.c:\d+\)$", fr)
                   for fr in frames), frames
    finally:
        shutil.rmtree(d, ignore_errors=True)
