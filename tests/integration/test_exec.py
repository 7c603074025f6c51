# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""However the interpreter was started (issue 14): gilscope follows the
traced process through exec (wrappers, launchers, a -p process that
calls os.execv), finds a Python started through its loader, traces
nogil's locks, and traces targets whose libc was deleted, chroot'ed ones
and containers.  The GIL figures are checked against fib_threads.py's
own thread_time (test_gil's checker), the thread ids against the
workload's own."""
import json
import os
import shutil
import signal
import subprocess

from common import (GILSCOPE, Skip, parse_json_stdout, proc_state, python, require_root_bpf,
                    run_traced, timeout, tmpdir, wait_tracing, wait_until, workload,
                    workload_py)
from test_gil import check_fib, check_fib_report, fib_n
from test_locks import ROUNDS, table_lock

SID_ROOT = "/var/cache/gilscope/sid-root"
SID_PY = "/usr/bin/python3.13"
NOGIL = "/var/cache/gilscope/nogil/bin/python3.9"
LOADER = "/lib64/ld-linux-x86-64.so.2"


def debian_python():
    return python("debian-")[1]


def check_became(rep, py, nr_execs=1):
    """The report is of the Python the command became, and says how."""
    t = rep["target"]
    assert t["nr_execs"] == nr_execs, t
    assert t["execs"][-1]["to"].endswith(os.path.basename(py)), t["execs"]
    assert t["comm"].startswith("python"), t
    assert os.path.basename(t["exe"]).startswith("python"), t


def check_fib_threads(label, truth, rep):
    """After the exec, the GIL table has the new image's threads: its main
    thread and the workload's four, by the workload's own ids."""
    check_fib_report(label, truth, rep, 5e6)
    want = {truth["pid"]} | {t["tid"] for t in truth["threads"]}
    got = {t["tid"] for t in rep["gil"]["threads"]}
    assert got == want, "%s: GIL threads %s, the workload's %s" % (label, got, want)


# ---- `-- CMD` through wrappers that exec the Python -------------------------

def test_taskset_wrapper():
    require_root_bpf()
    py = debian_python()
    truth, rep = check_fib("taskset", py, None, 5e6, prefix=["taskset", "-c", "0"])
    check_became(rep, py)
    assert rep["target"]["execs"][0]["from"] == "taskset", rep["target"]
    check_fib_threads("taskset", truth, rep)


def test_env_wrapper():
    require_root_bpf()
    py = debian_python()
    truth, rep = check_fib("env", py, None, 5e6, prefix=["env", "GILSCOPE_TEST=1"])
    check_became(rep, py)
    check_fib_threads("env", truth, rep)


def test_sh_c_exec_then_env():
    """Two execs: sh -> env -> python."""
    require_root_bpf()
    py = debian_python()
    truth, rep = check_fib("sh -c exec", py, None, 5e6,
                           prefix=["sh", "-c", 'exec env "$0" "$@"'])
    check_became(rep, py, nr_execs=2)
    assert "env" in rep["target"]["execs"][0]["to"], rep["target"]["execs"]
    check_fib_threads("sh -c exec", truth, rep)


def test_launcher_script():
    require_root_bpf()
    py = debian_python()
    d = tmpdir()
    try:
        launcher = os.path.join(d, "launch")
        with open(launcher, "w") as f:
            f.write('#!/bin/sh\n# what a venv or distro launcher does\nexec "$@"\n')
        os.chmod(launcher, 0o755)
        truth, rep = check_fib("launcher", py, None, 5e6, prefix=[launcher])
        check_became(rep, py)
        check_fib_threads("launcher", truth, rep)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_recording_of_an_exec_reports_the_same():
    """EXEC and GIL_FOUND records: `gilscope report FILE` of a recording
    says what the live report says."""
    require_root_bpf()
    py = debian_python()
    d = tmpdir()
    try:
        gst = os.path.join(d, "t.gst")
        rc, out, err, live = run_traced(
            ["-o", gst], ["taskset", "-c", "0", py, workload_py("fib_threads.py"), "4", "25"])
        assert rc == 0, err
        jpath = os.path.join(d, "replay.json")
        r = subprocess.run([GILSCOPE, "report", gst, "--json", jpath], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "exec: taskset -> %s (pid %d)" % (py, live["target"]["pid"]) in r.stdout, r.stdout
        with open(jpath) as f:
            rep = json.load(f)
        for k in ("pid", "comm", "exe", "execs", "nr_execs"):
            assert rep["target"][k] == live["target"][k], (k, rep["target"], live["target"])
        assert rep["gil"] is not None and live["gil"] is not None
        assert rep["gil"]["python"] == live["gil"]["python"]
        assert rep["gil"]["missed"] == 0, rep["gil"]
        # a recording is analysed after the fact: the same events, the same table
        strip = lambda g: sorted((t["tid"], t["acquisitions"], t["held_ns"]) for t in g["threads"])
        assert strip(rep["gil"]) == strip(live["gil"]), (strip(rep["gil"]), strip(live["gil"]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_exec_into_a_program_without_python():
    """sh -> lockholder: no GIL, its locks traced and named from the new
    image (the maps are read again after the exec)."""
    require_root_bpf()
    rc, out, err, rep = run_traced(
        [], ["sh", "-c", 'exec "$0" -r %d' % ROUNDS, workload("lockholder")])
    assert rc == 0, err
    assert rep["target"]["nr_execs"] == 1 and rep["target"]["comm"] == "lockholder", rep["target"]
    assert rep["gil"] is None
    lk = table_lock(rep)
    assert lk["name"] == "lockholder:table_lock", lk["name"]
    assert lk["contended"] == ROUNDS, lk
    assert lk["addr"] == parse_json_stdout(out)["lock_addr"]


# ---- -p: a process that execs while traced ------------------------------------

def start_held(cmd, env=None):
    """Starts a workload that says "ready PID ..." and waits for a go line
    (exec_after.py, on_go.py).  Returns (Popen, the ready line's words)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env)
    words = p.stdout.readline().split()
    assert words and words[0] == "ready", "workload did not start: %s" % words
    return p, words


def trace_pid(pid, go, d, extra=()):
    """gilscope -p pid until the target exits: go() is called once it
    traces.  Returns (gilscope's returncode, stderr, report)."""
    out = os.path.join(d, "report.json")
    g = subprocess.Popen([GILSCOPE, "-p", str(pid), "--json", out] + list(extra),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = wait_tracing(g)
        go()
        _, err = g.communicate(timeout=120)
    finally:
        if g.poll() is None:
            g.kill()
            g.wait()
    with open(out) as f:
        return g.returncode, "".join(lines) + err, json.load(f)


def go_and_read(p, into):
    def go():
        p.stdin.write("go\n")
        p.stdin.flush()
        into.append(p.stdout.read())
        p.wait()
    return go


def test_pid_target_that_execs_into_another_python():
    check_pid_execv([])


def test_pid_target_that_execs_from_another_thread():
    """The thread that execs takes the process's id; the old main thread's
    task, and every uprobe bound to it, is gone: they are attached again."""
    check_pid_execv(["--from-thread"])


def check_pid_execv(how):
    require_root_bpf()
    py = debian_python()
    d = tmpdir()
    try:
        p, words = start_held([py, workload_py("exec_after.py")] + how +
                              [py, workload_py("fib_threads.py"), "4", str(fib_n(None))])
        pid, old_tids = int(words[1]), {int(w) for w in words[2:]}
        assert len(old_tids) == 3
        out = []
        rc, err, rep = trace_pid(pid, go_and_read(p, out), d)
        assert rc == 3, "gilscope -p exits 3 when its target exits: %d %s" % (rc, err)
        assert "exec'd %s" % py in err, err
        truth = parse_json_stdout(out[0])
        assert truth["pid"] == pid
        check_became(rep, py)
        # the old image's GIL address is not kept: the new one is traced,
        # none missed, and the old image's threads are gone from it
        check_fib_threads("-p execv", truth, rep)
        assert not old_tids & {t["tid"] for t in rep["gil"]["threads"]}
        # ... and they exited, in the lock analysis's table too
        gone = {t["tid"] for t in rep["threads"] if t["exited"]}
        assert old_tids <= gone, (old_tids, rep["threads"])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_pid_python_that_execs_a_c_program():
    """Python -> lockholder: the GIL section goes with the old image."""
    require_root_bpf()
    py = debian_python()
    d = tmpdir()
    try:
        p, words = start_held([py, workload_py("exec_after.py"), workload("lockholder"),
                               "-r", str(ROUNDS)])
        out = []
        rc, err, rep = trace_pid(int(words[1]), go_and_read(p, out), d)
        assert rc == 3, err
        assert rep["gil"] is None, rep["gil"]
        # the reason is the new program's, not a stale one of the Python
        assert "_PyRuntime" in rep["gil_note"], rep["gil_note"]
        assert rep["target"]["comm"] == "lockholder", rep["target"]
        lk = table_lock(rep)
        assert lk["name"] == "lockholder:table_lock" and lk["contended"] == ROUNDS, lk
    finally:
        shutil.rmtree(d, ignore_errors=True)


@timeout(60)
def test_target_held_at_an_exec_is_let_go_when_gilscope_dies():
    """gilscope stopped (it cannot answer), the -p target execs and BPF
    holds it, gilscope is SIGKILLed: its guard process sends SIGCONT, and
    the target runs on to its end."""
    require_root_bpf()
    py = debian_python()
    p, words = start_held([py, workload_py("exec_after.py"), py, "-c", "print('after')"])
    pid = int(words[1])
    g = subprocess.Popen([GILSCOPE, "-p", str(pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_tracing(g)
        g.send_signal(signal.SIGSTOP)
        p.stdin.write("go\n")
        p.stdin.flush()
        assert wait_until(lambda: proc_state(pid)[0] == "T", 10), \
            "the exec did not hold the target: %s" % (proc_state(pid),)
        g.kill()
        g.wait()
        assert wait_until(lambda: (proc_state(pid) or ("gone",))[0] != "T", 10), \
            "the target was left stopped"
        assert p.stdout.read() == "after\n"
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            os.kill(pid, signal.SIGCONT)
            p.kill()
            p.wait()
        if g.poll() is None:
            g.kill()
            g.wait()


# ---- a Python started through its loader; nogil -----------------------------

def test_python_through_its_loader():
    require_root_bpf()
    py = debian_python()
    if not os.path.exists(LOADER):
        raise Skip("no %s" % LOADER)
    truth, rep = check_fib("loader", py, None, 5e6,
                           prefix=[LOADER, "--library-path", "/usr/lib/x86_64-linux-gnu"])
    assert rep["target"]["nr_execs"] == 0
    check_fib_threads("loader", truth, rep)


def test_nogil_command_traces_its_locks():
    require_root_bpf()
    if not os.path.exists(NOGIL):
        raise Skip("no nogil build at %s (tests/pythons builds it)" % NOGIL)
    rc, out, err, rep = run_traced([], [NOGIL, workload_py("fib_threads.py"), "4", "22"])
    assert rc == 0, err
    assert "exited before" not in err, err
    truth = parse_json_stdout(out)
    # the run is traced: every worker is in the thread table
    traced = {t["tid"] for t in rep["threads"]}
    assert {t["tid"] for t in truth["threads"]} <= traced, (truth["threads"], traced)
    assert rep["events"]["recorded"] > 0, rep["events"]
    # no GIL section, and one line saying why, in the text and JSON reports
    assert rep["gil"] is None
    assert "free-threaded" in rep["gil_note"], rep["gil_note"]
    gil_lines = [l for l in out.splitlines() if l.startswith("GIL")]
    assert gil_lines == ["GIL: " + rep["gil_note"]], gil_lines


# ---- a deleted libc, a chroot, a container ------------------------------------

def test_pid_target_whose_libc_was_deleted():
    require_root_bpf()
    py = debian_python()
    d = tmpdir()
    try:
        libs = os.path.join(d, "lib")
        os.mkdir(libs)
        shutil.copy("/lib/x86_64-linux-gnu/libc.so.6", libs)
        p, words = start_held([py, workload_py("on_go.py"), workload_py("fib_threads.py"),
                               "4", str(fib_n(None))],
                              env=dict(os.environ, LD_LIBRARY_PATH=libs))
        pid = int(words[1])
        shutil.rmtree(libs)     # a libc upgraded under a running daemon
        with open("/proc/%d/maps" % pid) as f:
            assert "libc.so.6 (deleted)" in f.read()
        out = []
        rc, err, rep = trace_pid(pid, go_and_read(p, out), d)
        assert rc == 3, err
        probes = [pr["where"] for pr in rep["probes"]]
        assert any(w.startswith("libc.so.6 (deleted):pthread_cond_signal") for w in probes), probes
        truth = parse_json_stdout(out[0])
        check_fib_report("deleted libc", truth, rep, 5e6)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sid_root():
    if not os.path.exists(os.path.join(SID_ROOT, SID_PY.lstrip("/"))):
        raise Skip("no Debian sid root at %s (tests/pythons makes it)" % SID_ROOT)
    d = tmpdir()
    inside = os.path.join(SID_ROOT, "tmp", os.path.basename(d))
    os.mkdir(inside)
    for w in ("fib_threads.py", "on_go.py"):
        shutil.copy(workload_py(w), inside)
    return d, inside, "/tmp/" + os.path.basename(d)


def test_chroot_pid():
    require_root_bpf()
    d, inside, there = sid_root()
    try:
        p, words = start_held(["chroot", SID_ROOT, SID_PY, there + "/on_go.py",
                               there + "/fib_threads.py", "4", str(fib_n(None))])
        out = []
        rc, err, rep = trace_pid(int(words[1]), go_and_read(p, out), d)
        assert rc == 3, err
        assert rep["gil"]["python"].startswith("3.13"), rep["gil"]
        check_fib_report("chroot -p", parse_json_stdout(out[0]), rep, 5e6)
    finally:
        shutil.rmtree(inside, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def test_chroot_command():
    require_root_bpf()
    d, inside, there = sid_root()
    try:
        rc, out, err, rep = run_traced([], ["chroot", SID_ROOT, SID_PY, there + "/fib_threads.py",
                                            "4", str(fib_n(None))])
        assert rc == 0, err
        check_became(rep, SID_PY)
        assert rep["gil"]["python"].startswith("3.13"), rep["gil"]
        check_fib_threads("chroot --", parse_json_stdout(out), rep)
    finally:
        shutil.rmtree(inside, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def container_script(cmd):
    """What a container runtime does: a mount namespace, the root bound on
    itself and pivoted to, the host's tree unmounted: none of the target's
    files is reachable by a host path."""
    return ("set -e\n"
            "mount --make-rprivate /\n"
            "mount --bind {r} {r}\n"
            "cd {r}\n"
            "mkdir -p .oldroot\n"
            "pivot_root . .oldroot\n"
            "cd /\n"
            "mount -t proc proc /proc\n"
            "umount -l /.oldroot\n"
            "exec {cmd}\n").format(r=SID_ROOT, cmd=cmd)


def test_container_pid():
    require_root_bpf()
    d, inside, there = sid_root()
    try:
        script = container_script("%s %s/on_go.py %s/fib_threads.py 4 %d"
                                  % (SID_PY, there, there, fib_n(None)))
        # unshare and sh exec: the pid is the Python's
        p, words = start_held(["unshare", "-m", "--", "sh", "-c", script])
        assert int(words[1]) == p.pid, (words, p.pid)
        with open("/proc/%d/maps" % p.pid) as f:
            assert SID_PY in f.read()
        out = []
        rc, err, rep = trace_pid(p.pid, go_and_read(p, out), d)
        assert rc == 3, err
        assert rep["gil"]["python"].startswith("3.13"), rep["gil"]
        check_fib_report("container -p", parse_json_stdout(out[0]), rep, 5e6)
    finally:
        shutil.rmtree(inside, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def test_container_command():
    require_root_bpf()
    d, inside, there = sid_root()
    try:
        rc, out, err, rep = run_traced([], ["unshare", "-m", "--root=" + SID_ROOT, SID_PY,
                                            there + "/fib_threads.py", "4", str(fib_n(None))])
        assert rc == 0, err
        check_became(rep, SID_PY)
        check_fib_threads("unshare --root", parse_json_stdout(out), rep)
    finally:
        shutil.rmtree(inside, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def test_summary_follows_an_exec():
    """--summary: BPF's GIL figures start again at the new image's GIL."""
    require_root_bpf()
    py = debian_python()
    truth, rep = check_fib("summary taskset", py, None, 5e6, gilscope_args=["--summary"],
                           prefix=["taskset", "-c", "0"])
    check_became(rep, py)
    check_fib_threads("summary taskset", truth, rep)


def test_command_that_never_reaches_its_ready_point_is_traced_whole():
    """A program with Py_RunMain that never calls it and exits: the
    probes are live from its entry, so its run is traced, not lost."""
    require_root_bpf()
    rc, out, err, rep = run_traced([], [workload("never_ready")])
    assert rc == 0, err
    assert "traced from its entry" in err, err
    truth = parse_json_stdout(out)
    assert rep["gil"] is None and "exited before its interpreter" in rep["gil_note"], rep
    locks = [l for l in rep["locks"] if l["addr"] == truth["lock_addr"]]
    assert locks and locks[0]["name"] == "never_ready:table_lock", rep["locks"]
    assert locks[0]["contended"] > 0, locks
    traced = {t["tid"] for t in rep["threads"]}
    assert set(truth["tids"]) <= traced, (truth["tids"], traced)


def test_recording_prints_what_the_live_run_printed():
    """Byte for byte, for a command that exec'd into another libc's
    Python (chroot): the probes added at the exec are in the recording."""
    require_root_bpf()
    from test_record import gs, report_part
    d, inside, there = sid_root()
    try:
        f = os.path.join(d, "run.gst")
        live = gs(["-o", f, "--", "chroot", SID_ROOT, SID_PY, there + "/fib_threads.py",
                   "2", "22"])
        assert live.returncode == 0, live.stderr
        rep = gs(["report", f])
        assert rep.returncode == 0, rep.stderr
        assert report_part(live.stdout) == rep.stdout, \
            "live and report differ:\n%s\n----\n%s" % (report_part(live.stdout), rep.stdout)
        assert "exec: chroot -> %s" % SID_PY in rep.stdout
        # two libcs probed: the host's (chroot's) and the root's (the Python's)
        assert rep.stdout.count(":pthread_cond_wait ") >= 4, rep.stdout
    finally:
        shutil.rmtree(inside, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)
