# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Regression tests of issue 13's faults: figures without a probe, a
collector under load, waits already in progress at attach."""
import json
import os
import pwd
import shutil
import signal
import subprocess
import time

from common import (GILSCOPE, Skip, copy_for_user, inside, parse_json_stdout, require_root_bpf, run_traced,
                    timeout, tmpdir, workload, workload_py)
from test_locks import table_lock, thread

ROUNDS = 5


def test_static_program_with_locks_all_shows_unknowns_not_zeros():
    """A static program maps no glibc: --locks=all cannot probe its
    pthread calls, so acquisitions, holds and condvar waits are unknown
    (null), said on stderr, and contention still matches the workload."""
    require_root_bpf()
    rc, out, err, rep = run_traced(["--locks=all"],
                                   [workload("lockholder-static"), "-r", str(ROUNDS)])
    assert rc == 0, "gilscope exited %d: %s" % (rc, err)
    assert "--locks=all does not apply" in err, err
    assert "with mutex uprobes" not in err, err
    truth = parse_json_stdout(out)
    lk = table_lock(rep)
    assert lk["kind"] == "mutex", lk
    assert lk["contended"] == ROUNDS, lk
    assert lk["acquisitions"] is None and lk["hold_ns"] is None, lk
    for t in (truth["holder"], truth["waiter"]):
        row = thread(rep, t["tid"])
        assert row["lock_hold_ns"] is None and row["cond_wait_ns"] is None, row


def _in_futex(pid, tid):
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as f:
            return f.read().split()[0] == "202"
    except OSError:
        return False


def _start_deadlock():
    """The deadlock workload, once its three threads sleep in futex(2)
    (its JSON line is the handshake; the threads' syscall is the proof)."""
    p = subprocess.Popen([workload("deadlock")], stdout=subprocess.PIPE, text=True)
    truth = json.loads(p.stdout.readline())
    deadline = time.monotonic() + 20
    while not all(_in_futex(p.pid, truth[k]) for k in ("left", "right", "sleeper")):
        assert time.monotonic() < deadline, "deadlock workload never blocked"
        time.sleep(0.01)   # polling a condition, not waiting for readiness by time
    return p, truth


def _trace_pid(pid, *args):
    """gilscope -p PID ARGS --json: (the run, its JSON report)."""
    d = tmpdir()
    try:
        out = os.path.join(d, "r.json")
        r = subprocess.run([GILSCOPE, "-p", str(pid), "--json", out] + list(args),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        with open(out) as f:
            return r, json.load(f)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _waits(rep):
    return {w["tid"]: w for w in rep["open_waits"]}


def _check_cycle(rep, truth):
    assert len(rep["deadlocks"]) == 1, rep["deadlocks"]
    cyc = {c["tid"]: c for c in rep["deadlocks"][0]["cycle"]}
    assert set(cyc) == {truth["left"], truth["right"]}, cyc
    assert cyc[truth["left"]]["waits_for"] == truth["lock_b"], cyc
    assert cyc[truth["left"]]["held_by"] == truth["right"], cyc
    assert cyc[truth["right"]]["waits_for"] == truth["lock_a"], cyc
    assert cyc[truth["right"]]["held_by"] == truth["left"], cyc


def test_hung_process_by_pid_shows_its_waits_and_the_deadlock():
    """-p on a deadlocked program: its waits began before the trace, so
    each is shown as at least the traced time (start unknown), with the
    mutex owners the workload says, and the cycle named a deadlock."""
    require_root_bpf()
    p, truth = _start_deadlock()
    try:
        r, rep = _trace_pid(p.pid, "-d", "1")
    finally:
        p.kill()
        p.wait()
    w = _waits(rep)
    dur = rep["target"]["duration_ns"]
    for who, lock, owner in (("left", "lock_b", "right"), ("right", "lock_a", "left")):
        x = w[truth[who]]
        assert x["addr"] == truth[lock] and x["kind"] == "mutex", x
        assert x["owner_tid"] == truth[owner], x
        # began before the trace (the workload's own clock says so): a
        # lower bound, the whole traced time
        assert truth[who + "_since_ns"] < rep["target"]["start_ns"]
        assert not x["start_known"] and x["waited_ns"] == dur, (x, dur)
        assert any(s.startswith("deadlock:take_two") for s in x["stack"]), x["stack"]
    s = w[truth["sleeper"]]
    assert s["owner_tid"] is None and not s["start_known"], s
    _check_cycle(rep, truth)
    assert "Deadlock: " in r.stdout and ">= " in r.stdout, r.stdout


def test_hang_that_starts_under_the_trace_has_exact_waits():
    """-- CMD: the waits begin while traced, so their length is known:
    from the workload's own clock just before pthread_mutex_lock to the
    trace's end, less the microseconds before futex(2) is entered."""
    require_root_bpf()
    for args in ([], ["--summary"]):
        rc, out, err, rep = run_traced(args + ["-d", "1"], [workload("deadlock")])
        assert rc == 0, (args, err)
        truth = parse_json_stdout(out)
        w = _waits(rep)
        for who in ("left", "right"):
            x = w[truth[who]]
            assert x["start_known"], (args, x)
            inside(x["waited_ns"], rep["target"]["end_ns"] - truth[who + "_since_ns"],
                   0, 2000000, "%s %s wait" % (args, who), slack=0)
        assert w[truth["sleeper"]]["kind"] == "condvar", (args, w)
        _check_cycle(rep, truth)


def _start_ready(cmd):
    """A load workload, once it prints "ready" (its handshake)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.strip() == "ready", line
    return p


def _trace_and_stop(pid, args, sigint_after=None):
    """gilscope -p PID ARGS --json; returns (report, seconds from its
    "tracing pid" line to its exit, seconds from SIGINT to exit)."""
    d = tmpdir()
    out = os.path.join(d, "r.json")
    g = subprocess.Popen([GILSCOPE, "-p", str(pid), "--json", out] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in g.stderr:        # the handshake: every probe is attached
            if "tracing pid" in line:
                break
        t_attached = time.monotonic()
        t_sig = None
        if sigint_after is not None:
            time.sleep(sigint_after)  # how long to trace: the test's input, not a wait
            t_sig = time.monotonic()
            g.send_signal(signal.SIGINT)
        err = g.stderr.read()
        rc = g.wait(timeout=60)
        t_exit = time.monotonic()
    finally:
        if g.poll() is None:
            g.kill()
            g.wait()
    assert rc == 0, (rc, err)
    with open(out) as f:
        rep = json.load(f)
    shutil.rmtree(d, ignore_errors=True)
    return rep, t_exit - t_attached, (t_exit - t_sig) if t_sig else None


def _check_stop(rep, traced_for):
    """Collection stopped within 1 s of -d or the signal; every record not
    read is counted."""
    assert rep["target"]["duration_ns"] <= (traced_for + 1.0) * 1e9, rep["target"]
    ev = rep["events"]
    assert ev["lost"] >= ev["lost_at_stop"] and ev["lost"] >= sum(ev["lost_per_cpu"]), ev
    assert ev["recorded"] > 1000, ev


@timeout(240)
def test_stops_on_time_under_a_flood_of_records():
    """200 Python threads sleeping 1 ms each, and 2,000 threads fighting
    over 4 mutexes: -d 2 exits within 3 s of its expiry, SIGINT within 3 s
    of the signal, collection ends within 1 s of either (before: 40-65 s,
    deaf to -d and signals).  Bounds are generous: the 2-CPU machine may
    be busy with anything else."""
    require_root_bpf()
    loads = [[workload("crowd"), "-t", "2000", "-l", "4"]]
    if os.path.exists("/usr/bin/python3"):
        loads.append(["/usr/bin/python3", workload_py("sleepers.py"), "200"])
    for cmd in loads:
        p = _start_ready(cmd)
        try:
            rep, total, _ = _trace_and_stop(p.pid, ["-d", "2"])
            _check_stop(rep, 2.0)
            assert total <= 2.0 + 3.0, (cmd, total)
            rep, _, after_sig = _trace_and_stop(p.pid, [], sigint_after=1.0)
            _check_stop(rep, 1.0 + after_sig)
            assert after_sig <= 3.0, (cmd, after_sig)
        finally:
            p.kill()
            p.wait()


def test_per_record_work_opens_no_files():
    """The collector under a flood of futex-wait records (each with stack
    words to check against the target's code) opens files only to set up:
    far fewer than one per 50 records (before: one reopen of libc per
    7-byte read, ~19,000 a second)."""
    require_root_bpf()
    if not shutil.which("strace"):
        raise Skip("strace is not installed")
    p = _start_ready([workload("crowd"), "-t", "200", "-l", "2"])
    d = tmpdir()
    try:
        out = os.path.join(d, "r.json")
        st = os.path.join(d, "strace.txt")
        # (a sanitizer build's leak checker cannot run under ptrace)
        r = subprocess.run(["strace", "-f", "-c", "-e", "trace=openat,open", "-o", st,
                            GILSCOPE, "-p", str(p.pid), "-d", "2", "--json", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           timeout=120, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        assert r.returncode == 0, r.stderr
        with open(out) as f:
            rep = json.load(f)
        with open(st) as f:
            opens = sum(int(l.split()[3]) for l in f if l.split()[-1:] in (["openat"], ["open"]))
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
    waits = sum(l["contended"] for l in rep["locks"])
    assert waits > 5000, waits
    assert opens * 50 < rep["events"]["recorded"], (opens, rep["events"])


def test_outputs_that_are_not_files_are_never_damaged():
    """--force never replaces or chowns a device, never blocks on a FIFO;
    -o and --json naming one file is refused before tracing; --json -
    writes the JSON to standard output (the text report to stderr)."""
    require_root_bpf()
    d = tmpdir()
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
    try:
        before = os.stat("/dev/null")
        r = subprocess.run([GILSCOPE, "-d", "0.2", "--json", "/dev/null", "--force", "--",
                            "/bin/true"], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        for args in (["record", "-o", "/dev/null", "--force"], ["-o", "/dev/null", "--force"]):
            r = subprocess.run([GILSCOPE] + args + ["-d", "0.2", "--", "/bin/true"],
                               capture_output=True, text=True, timeout=60, env=env)
            assert r.returncode == 1 and "not a regular file" in r.stderr, (args, r.stderr)
        after = os.stat("/dev/null")
        assert (after.st_rdev, after.st_mode, after.st_uid) == \
            (before.st_rdev, before.st_mode, before.st_uid), (before, after)
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        for args in (["-o", fifo, "--force"], ["--json", fifo, "--force"]):
            r = subprocess.run([GILSCOPE] + args + ["-d", "0.2", "--", "/bin/true"],
                               capture_output=True, text=True, timeout=20)
            assert r.returncode == 1 and "a FIFO" in r.stderr, (args, r.stderr)
            assert "tracing pid" not in r.stderr, r.stderr   # refused before tracing
        same = os.path.join(d, "x")
        r = subprocess.run([GILSCOPE, "-o", same, "--json", same, "-d", "0.2", "--",
                            "/bin/true"], capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and "same file" in r.stderr, r.stderr
        assert not os.path.exists(same)
        r = subprocess.run([GILSCOPE, "-d", "0.5", "--json", "-", "--",
                            workload("lockholder"), "-r", "2"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout[r.stdout.index('{"schema"'):])
        assert rep["target"]["comm"] == "lockholder", rep["target"]
        assert "Locks (wait" in r.stderr and "Locks (wait" not in r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_sigkill_while_the_command_is_held_lets_it_run_on():
    """SIGKILL of gilscope while its command is stopped at its entry
    point (the probes being attached) leaves the command running, not
    stopped forever (before: state T, 10 runs in 20)."""
    require_root_bpf()
    caught = 0
    for _ in range(5):
        g = subprocess.Popen([GILSCOPE, "--", workload("lockholder"), "-r", "200"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        child, deadline = None, time.monotonic() + 30
        try:
            # poll for the held child (a condition, not a timed wait)
            while time.monotonic() < deadline and g.poll() is None:
                try:
                    with open("/proc/%d/task/%d/children" % (g.pid, g.pid)) as f:
                        kids = f.read().split()
                except OSError:
                    kids = []
                if kids and _state(int(kids[0])) == "T":
                    child = int(kids[0])
                    break
                time.sleep(0.0005)
            g.kill()
            g.wait()
            if child is None:
                continue   # the stop window was missed this time: try again
            caught += 1
            end = time.monotonic() + 10
            while _state(child) == "T" and time.monotonic() < end:
                time.sleep(0.01)
            assert _state(child) not in ("T", "t"), "command left stopped: %s" % _state(child)
        finally:
            if child:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert caught, "never caught the command held at its entry point in 5 runs"


def test_pid_of_a_thread_traces_its_process_and_says_so():
    """-p TID (a thread's id, as top -H shows it): its process is traced
    (before: an empty report, exit 0)."""
    require_root_bpf()
    p, truth = _start_deadlock()
    try:
        r, rep = _trace_pid(truth["left"], "-d", "0.5")
    finally:
        p.kill()
        p.wait()
    assert "%d is a thread of process %d" % (truth["left"], truth["pid"]) in r.stderr
    assert rep["target"]["pid"] == truth["pid"], rep["target"]
    assert {t["tid"] for t in rep["threads"]} >= {truth["left"], truth["right"]}, rep["threads"]
    _check_cycle(rep, truth)


def test_capabilities_missing_are_named_exactly():
    """As nobody with capabilities only (setpriv): CAP_BPF + CAP_PERFMON +
    CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH is not enough on this kernel
    (uprobes want CAP_SYS_ADMIN): said before anything loads, naming what
    is missing; CAP_SYS_ADMIN alone lacks tracefs (CAP_DAC_READ_SEARCH);
    the two together trace the user's own command."""
    require_root_bpf()
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv (util-linux) is not installed")
    nobody = pwd.getpwnam("nobody")
    d, gilscope, _ = copy_for_user(nobody)
    try:
        def as_nobody(caps):
            c = ",".join("+" + x for x in caps)
            return subprocess.run([setpriv, "--reuid", str(nobody.pw_uid), "--regid",
                                   str(nobody.pw_gid), "--clear-groups", "--inh-caps", c,
                                   "--ambient-caps", c, gilscope, "-d", "0.3", "--",
                                   "/bin/sleep", "0.1"], capture_output=True, text=True,
                                  timeout=60, cwd=d)
        r = as_nobody(["bpf", "perfmon", "sys_ptrace", "dac_read_search"])
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "CAP_SYS_ADMIN" in r.stderr and "CAP_DAC_READ_SEARCH" not in r.stderr, r.stderr
        assert "tracing pid" not in r.stderr
        r = as_nobody(["sys_admin"])
        assert r.returncode == 1 and "CAP_DAC_READ_SEARCH" in r.stderr, r.stderr
        assert "not mounted" not in r.stderr, r.stderr
        r = as_nobody(["sys_admin", "dac_read_search"])
        assert r.returncode == 0 and "tracing pid" in r.stderr, r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


TRACES = os.path.join(os.path.dirname(__file__), "..", "..", "traces")


def _gs(*args, **kw):
    return subprocess.run([GILSCOPE] + list(args), capture_output=True, text=True,
                          timeout=kw.pop("timeout", 60), **kw)


def test_report_and_export_say_what_they_do_not_take():
    """report --top is the reader's; options of a live run are refused
    by report and export in one line; report --help names the command; a
    failed write of the report (a full disk) is an error, not exit 0; a
    FIFO given as the recording does not block."""
    g = os.path.join(TRACES, "gildemo.gst")
    if not os.path.exists(g):
        raise Skip("no sample traces")
    # fib4-cpython's locks have several call sites each (gildemo's only
    # lock is its GIL, whose parts are in the GIL section)
    tops = os.path.join(TRACES, "fib4-cpython.gst")
    few = _gs("report", "--top", "1", tops).stdout.count(" x ")
    many = _gs("report", "--top", "5", tops).stdout.count(" x ")
    assert 0 < few < many, (few, many)
    for args in (["report", "--locks=all", g], ["report", "--no-stacks", g],
                 ["report", "--ringbuf-mb", "4", g], ["report", "--gil=off", g],
                 ["export", g, "--format", "csv", "-o", "/dev/null", "--json", "x.json"],
                 ["export", g, "--format", "csv", "-o", "/dev/null", "--top", "3"],
                 ["report", "--python-depth=8", g], ["report", "--metric", "gil-held", g],
                 ["export", g, "--format", "csv", "-o", "/dev/null", "--metric", "gil-held"],
                 # only lock waits have native stacks to mix
                 ["export", g, "--format", "csv", "-o", "/dev/null", "--native"],
                 ["export", g, "--format", "folded", "-o", "/dev/null", "--native"],
                 ["export", g, "--format", "folded", "--metric", "gil-wait", "-o", "/dev/null",
                  "--native"]):
        r = _gs(*args)
        assert r.returncode == 2 and "belongs to" in r.stderr.splitlines()[0], (args, r.stderr)
    assert _gs("report", "--help").stdout.startswith("Usage: gilscope report ")
    with open("/dev/full", "w") as full:
        r = subprocess.run([GILSCOPE, "report", g], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60)
    assert r.returncode == 1 and "failed" in r.stderr, r.stderr
    d = tmpdir()
    try:
        fifo = os.path.join(d, "f.gst")
        os.mkfifo(fifo)
        r = _gs("report", fifo, timeout=20)
        assert r.returncode != 0 and r.stderr.strip(), r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_thread_names_cannot_drive_the_terminal():
    """A thread that names itself with an escape sequence: the report
    prints '?' for each control character."""
    require_root_bpf()
    prog = ("import threading, time, ctypes\n"
            "def f():\n"
            "    ctypes.CDLL(None).prctl(15, b'x\\x1b[2Jy', 0, 0, 0)\n"
            "    l.acquire(); l.release()\n"
            "l = threading.Lock(); l.acquire()\n"
            "t = threading.Thread(target=f); t.start(); time.sleep(0.2); l.release(); t.join()\n")
    if not os.path.exists("/usr/bin/python3"):
        raise Skip("no /usr/bin/python3")
    r = subprocess.run([GILSCOPE, "--", "/usr/bin/python3", "-c", prog], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout, "an escape character reached the report"
    assert "x?[2Jy" in r.stdout, r.stdout


def test_duration_ends_a_command_and_says_how():
    """-d expiry with -- CMD: the command still running is ended, and the
    report (and stderr) say how and with what status; gilscope's own exit
    status stays 0."""
    require_root_bpf()
    rc, out, err, rep = run_traced(["-d", "0.5"], ["/bin/sleep", "30"])
    assert rc == 0, err
    assert "the command was still running" in err, err
    assert rep["target"]["ended_by"].startswith("duration; the command, still running, was "
                                                "sent SIGTERM and was killed by signal 15"), \
        rep["target"]


def test_a_script_is_traced_as_its_interpreter():
    """-- ./script.py (#!/usr/bin/env python3): the Python that runs it is
    started and traced, its GIL found (before: "not an ELF program")."""
    require_root_bpf()
    d = tmpdir()
    try:
        s = os.path.join(d, "fib.py")
        with open(s, "w") as f:
            f.write("#!/usr/bin/env python3\nimport sys, threading\n"
                    "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
                    "ts = [threading.Thread(target=fib, args=(22,)) for _ in range(2)]\n"
                    "[t.start() for t in ts]; [t.join() for t in ts]\n"
                    "print('argv0', sys.argv[0])\n")
        os.chmod(s, 0o755)
        rc, out, err, rep = run_traced([], ["./fib.py"], cwd=d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, err
    assert "argv0 ./fib.py" in out, out
    assert rep["gil"] and rep["gil"]["acquisitions"] > 0, rep["gil"]


def test_unmapped_object_address_is_refused():
    """--object at an address the process has no writable memory at (it
    would count 0 writes): one line, exit 1."""
    require_root_bpf()
    p, truth = _start_deadlock()
    try:
        r = _gs("refcount", "--object", "0x10000000", "-p", str(p.pid), "-d", "0.2")
    finally:
        p.kill()
        p.wait()
    assert r.returncode == 1 and "no writable memory" in r.stderr, r.stderr
    assert "tracing pid" not in r.stderr


def test_switch_interval_changed_mid_trace_is_said():
    """sys.setswitchinterval() while traced: the report gives the interval
    at the start and at the end, as the workload set them."""
    require_root_bpf()
    if not os.path.exists("/usr/bin/python3"):
        raise Skip("no /usr/bin/python3")
    code = ("import sys, time\nprint(sys.getswitchinterval(), flush=True)\n"
            "sys.stdin.readline(); sys.setswitchinterval(0.001)\n"
            "print(sys.getswitchinterval(), flush=True); time.sleep(60)\n")
    w = subprocess.Popen(["/usr/bin/python3", "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    d = tmpdir()
    try:
        before = float(w.stdout.readline())
        out = os.path.join(d, "r.json")
        g = subprocess.Popen([GILSCOPE, "-p", str(w.pid), "--json", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in g.stderr:
            if "tracing pid" in line:
                break
        w.stdin.write("go\n")
        w.stdin.flush()
        after = float(w.stdout.readline())
        g.send_signal(signal.SIGINT)
        text, _ = g.communicate(timeout=60)
        with open(out) as f:
            gil = json.load(f)["gil"]
    finally:
        w.kill()
        w.wait()
        shutil.rmtree(d, ignore_errors=True)
    assert gil["switch_interval_us"] == round(before * 1e6), gil
    assert gil["switch_interval_end_us"] == round(after * 1e6), gil
    assert "at the end (changed during the trace" in text, text[:400]
