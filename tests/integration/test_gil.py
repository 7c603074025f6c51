# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The GIL, traced exactly, checked against what the workloads measure
themselves: gildemo's own clocks and counters, Python threads'
time.thread_time(), and the GIL's own switch_number."""
import json
import os
import statistics
import subprocess

from common import (GILSCOPE, Skip, every_python, find_pythons, near, parse_json_stdout,
                    require_root_bpf, run_parked, run_traced, tmpdir, workload_py, BUILD)


def gildemo_run(args, gilscope_args=()):
    d = tmpdir()
    truth_path = os.path.join(d, "truth.json")
    rc, out, err, rep = run_traced(list(gilscope_args),
                                   [os.path.join(BUILD, "gildemo"), "--json", truth_path] + args)
    assert rc == 0, "gilscope exited %d: %s" % (rc, err)
    with open(truth_path) as f:
        return json.load(f), rep, out


def check_gildemo(truth, rep, p50_err=0.0):
    """The GIL section against gildemo's own counters and clocks; p50_err:
    what a percentile estimate may add (--summary's histograms)."""
    gil = rep["gil"]
    assert gil is not None, "no GIL found in gildemo"
    assert gil["method"] == "profile" and gil["python"] == "gildemo", gil
    assert gil["switch_interval_us"] == truth["interval_us"]
    # every acquisition traced: none missed, and as many as gildemo counted
    assert gil["missed"] == 0, gil
    assert gil["acquisitions"] == truth["acquisitions"], (gil["acquisitions"], truth["acquisitions"])
    # switch_number at the last traced acquisition is the GIL's final one
    assert gil["switch_number_last"] == truth["switch_number"]["end"], gil
    by_tid = {t["tid"]: t for t in gil["threads"]}
    for tt in truth["threads"]:
        t = by_tid[tt["tid"]]
        assert t["comm"] == tt["name"], (t["comm"], tt["name"])
        assert t["acquisitions"] == tt["acquisitions"], (t, tt)
        near(t["held_ns"], tt["held_ns"], 0.05, 0, "held %s" % tt["name"])
        near(t["waited_ns"], tt["waited_ns"], 0.05, 0, "waited %s" % tt["name"])
        near(t["forced_drops"], tt["forced_drops"], 0.05, 1, "forced drops %s" % tt["name"])
        near(t["hold_ns"]["p50"], tt["hold_ns"]["p50"], 0.05 + p50_err, 0,
             "hold p50 %s" % tt["name"])
        # max is exact in both modes
        near(t["hold_ns"]["max"], tt["hold_ns"]["max"], 0.05, 0, "hold max %s" % tt["name"])
    # one holder at a time: the holds cannot add up to more than the trace
    held = sum(t["held_ns"] for t in gil["threads"])
    assert held <= rep["target"]["duration_ns"], (held, rep["target"]["duration_ns"])
    # handoffs between the first two CPU threads, both ways
    pairs = {(h["from"], h["to"]) for h in gil["handoffs"] if h["count"] > 10}
    tids = [t["tid"] for t in truth["threads"]]
    assert (tids[0], tids[1]) in pairs and (tids[1], tids[0]) in pairs, gil["handoffs"]


def test_gildemo_matches_its_own_ground_truth():
    require_root_bpf()
    truth, rep, out = gildemo_run(["--threads", "2", "--duration", "2"])
    check_gildemo(truth, rep)
    assert "Timeline" in out and "#" in out


def fib_args(nthreads, n, interval=None):
    return [str(nthreads), str(n)] + ([str(interval)] if interval else [])


def fib_run(py, nthreads, n, interval=None, gilscope_args=(), prefix=()):
    """fib_threads.py under gilscope -- [prefix...] py: py is a Python of
    common.find_pythons() (its launcher and in-root paths come with it) or
    an interpreter's path; prefix: a wrapper that execs the Python, e.g.
    taskset."""
    script, args = workload_py("fib_threads.py"), fib_args(nthreads, n, interval)
    cmd = [py, script] + args if isinstance(py, str) else py.argv(script, *args)
    rc, out, err, rep = run_traced(list(gilscope_args), list(prefix) + cmd)
    assert rc == 0, "%s: gilscope exited %d: %s" % (getattr(py, "label", py), rc, err)
    truth = parse_json_stdout(out)
    if not isinstance(py, str):
        assert truth["python"] == py.version, (py.label, truth["python"])
    return truth, rep


def check_fib(label, py, interval_s, expect_hold_ns, strict=True, gilscope_args=(), prefix=()):
    # about half a second of CPU per thread: dozens of holds each
    truth, rep = fib_run(py, 4, fib_n(interval_s), interval_s, gilscope_args, prefix)
    check_fib_report(label, truth, rep, expect_hold_ns, strict)
    return truth, rep


def fib_n(interval_s):
    """The fib(N) that gives each of 4 threads about half a second of CPU."""
    return 28 if interval_s else 30


def check_fib_report(label, truth, rep, expect_hold_ns, strict=True):
    """A report of fib_threads.py (4 threads) against its own JSON truth."""
    gil = rep["gil"]
    assert gil is not None, "%s: no GIL found: %s" % (label, rep.get("gil"))
    assert gil["missed"] == 0, "%s: %s" % (label, gil)
    by_tid = {t["tid"]: t for t in gil["threads"]}
    held_phase = 0
    holds = []
    for tt in truth["threads"]:
        t = by_tid.get(tt["tid"])
        assert t, "%s: thread %d not traced" % (label, tt["tid"])
        # a thread's CPU time is its time holding the GIL plus the CPU
        # it uses while waiting: take_gil's timed wait wakes every
        # interval to check, and the probes' traps on those wake-ups are
        # charged to the waiter.  Here that is under 5%; on a CI machine
        # whose traps cost more, held was 0.86 of thread_time, so the
        # lower bound is 80%.  The held sum is still checked against the
        # phase's wall time at 5% below.  A holder preempted by another process
        # holds the GIL without running: that time is in its schedstat
        # run delay, and the upper bound allows for it.
        if strict:
            cpu, delay = tt["thread_time_ns"], tt["run_delay_ns"] or 0
            lo, hi = 0.80 * cpu, 1.10 * (cpu + delay)
            assert lo <= t["held_ns"] <= hi, "%s held %d not in [%d, %d] (thread_time %d, " \
                "run delay %d)" % (label, t["held_ns"], lo, hi, cpu, delay)
        # The workers never block or do I/O during the phase (their
        # clocks are read with the GIL kept, schedstat by the main
        # thread): every drop but their start's and end's (go.wait,
        # may_exit.wait, the thread's bootstrap) is a forced switch.
        # go.wait may block twice: once for the event, once more when
        # its condition's lock is still held by the main thread's set()
        # as the worker wakes (a race on 2 CPUs: 5 drops seen once in
        # CI); the same at may_exit.  So up to 6, never dozens.
        assert t["voluntary_drops"] <= 6, "%s: thread %d: %d voluntary drops for a thread " \
            "that never blocks mid-phase" % (label, tt["tid"], t["voluntary_drops"])
        assert t["forced_drops"] >= t["acquisitions"] - 6, "%s: %s" % (label, t)
        held_phase += t["held_ns"]
        holds.append(t["hold_ns"]["p50"])
    # the four threads' holds add up to the CPU-bound phase's wall time
    if strict:
        near(held_phase, truth["phase"]["wall_ns"], 0.05, 0, "%s held sum vs phase" % label)
    # CPython asks the holder to drop once a waiter's timed wait of one
    # interval expires with no switch in between, so a hold lasts the
    # interval plus the time to notice and hand over - and up to two
    # intervals when the waiter that times out began waiting before the
    # holder took the GIL.  Quiet, the median of the threads' median holds
    # is the interval within 4% at 5 ms (5.11-5.18 ms on 3.8-3.13); with
    # 4 threads and the collector on 2 CPUs, a busier collector (the
    # sanitizer build) delays the waiters' wake-ups: 6.4 ms was seen, so
    # +40%.  At 1 ms a handover's own 0.1-0.3 ms is a bigger share
    # (1.10-1.27 ms quiet): +60%.  A misattributed stream is off by far
    # more (the workload bug fixed here gave 0.07 ms).
    #
    # Above that, a hold is longer by the time its waiter, woken, waits for
    # a CPU, and the time the holder itself is preempted: on a machine
    # another process keeps busy, 7.5 ms was seen.  Both are the threads'
    # schedstat run delay, which the workload measures itself: the upper
    # bound adds its mean per acquisition (about 0 on a quiet machine; the
    # sum over all threads, so at least what lengthened the holds).
    med = statistics.median(holds)
    hi = 1.4 if strict else 1.6
    acqs = sum(by_tid[tt["tid"]]["acquisitions"] for tt in truth["threads"])
    delay = sum(tt["run_delay_ns"] or 0 for tt in truth["threads"]) / max(acqs, 1)
    assert 0.8 * expect_hold_ns <= med <= hi * expect_hold_ns + delay, \
        "%s median hold %d not in [%d, %d] (run delay %d per acquisition)" \
        % (label, med, 0.8 * expect_hold_ns, hi * expect_hold_ns + delay, delay)


# Every Python here with a GIL: Debian's, pyenv's, the sid root's (chroot
# and container mode).  The fib runs are the heavy ones (a few seconds
# each): they run the container mode on the newest sid Python only, the
# chroot mode on every one (the same interpreter: what the container mode
# adds, its own mount namespace and root, is the launch, which the lighter
# tests check on every sid Python).
@every_python(containers="one")
def fib_4_threads(py):
    require_root_bpf()
    check_fib(py.label, py, None, 5e6)


@every_python(containers="one")
def fib_follows_setswitchinterval(py):
    require_root_bpf()
    # At a 1 ms interval each switch's cost outside the GIL (waking, futex
    # calls: 50-100 us of nobody holding it) is 5-10% of the time: neither
    # thread_time nor the phase's wall time is ground truth for the held
    # time any more, so only the holds' length is checked.  (That the hold
    # lengths gilscope measures are right at 1 ms is checked against
    # gildemo's own clock in test_gildemo_at_1ms_interval.)
    check_fib(py.label, py, 0.001, 1e6, strict=False)


@every_python()
def fib_attached_by_pid(py):
    """gilscope -p PID on an interpreter started by its launcher (chroot,
    the container's unshare and pivot_root): the pid is the Python's own
    by the time it prints, whatever ran before it under that pid."""
    require_root_bpf()
    wl_out, out, rep = run_parked(py, workload_py("fib_threads.py"), fib_args(4, fib_n(None)))
    truth = parse_json_stdout(wl_out)
    assert truth["python"] == py.version, (py.label, truth["python"])
    check_fib_report(py.label, truth, rep, 5e6)


def test_gildemo_at_1ms_interval():
    require_root_bpf()
    truth, rep, out = gildemo_run(["--threads", "4", "--duration", "1.5", "--interval-us", "1000"])
    gil = rep["gil"]
    assert gil["switch_interval_us"] == 1000 and gil["missed"] == 0, gil
    by_tid = {t["tid"]: t for t in gil["threads"]}
    for tt in truth["threads"]:
        t = by_tid[tt["tid"]]
        assert t["acquisitions"] == tt["acquisitions"], (t, tt)
        near(t["hold_ns"]["p50"], tt["hold_ns"]["p50"], 0.05, 0, "hold p50 %s" % tt["name"])
        near(t["held_ns"], tt["held_ns"], 0.05, 0, "held %s" % tt["name"])


@every_python()
def convoy_is_named(py):
    require_root_bpf()
    rc, out, err, rep = run_traced([], py.argv(workload_py("convoy.py"), "200"))
    assert rc == 0, err
    truth = parse_json_stdout(out)
    gil = rep["gil"]
    assert gil is not None, "%s: no GIL found" % py.label
    io = [t for t in gil["threads"] if t["tid"] == truth["io_tid"]][0]
    assert io["convoy"], (py.label, io)
    # against the workload's own clock around its round trips: the I/O
    # thread cannot have waited longer than that, and the convoy makes
    # GIL waits a large part of it (0.61-0.71 measured; 0.3 leaves room
    # for the sanitizer build's busier collector)
    assert 0.3 * truth["io_ns"] <= io["waited_ns"] <= truth["io_ns"], (py.label, io, truth)
    assert "Convoy: thread %d" % truth["io_tid"] in out


def stripped_pairs():
    """(stripped distro build, unstripped pyenv build of the same minor
    version) for each such pair here: Debian's 3.11 and pyenv's, sid's
    3.13 (chroot) and pyenv's."""
    pys = find_pythons()
    pyenv = [p for p in pys if p.origin == "pyenv" and not p.stripped]
    return [(p, q) for p in pys if p.stripped and p.mode != "container"
            for q in [q for q in pyenv if q.vinfo[:2] == p.vinfo[:2]][:1]]


def stripped_and_pyenv_agree(pair):
    stripped, pyenv = pair
    require_root_bpf()
    res = []
    # every thread busy to a common deadline: all four want the GIL the
    # whole phase (with fixed work, early finishers make the waited total
    # depend on who the GIL happened to favour)
    for py in (stripped, pyenv):
        truth, rep = fib_run(py, 4, "d1.0")
        g = rep["gil"]
        assert g is not None, "%s: no GIL found" % py.label
        assert g["missed"] == 0, g
        res.append((sum(t["held_ns"] for t in g["threads"]),
                    sum(t["waited_ns"] for t in g["threads"]), truth["phase"]["wall_ns"], g))
    # the same picture: held and waited totals within 10%, scaled by each run's phase
    near(res[0][0] / res[0][2], res[1][0] / res[1][2], 0.10, 0, "held share")
    near(res[0][1] / res[0][2], res[1][1] / res[1][2], 0.10, 0, "waited share")
    minor = "%d.%d" % stripped.vinfo[:2]
    assert res[0][3]["python"].startswith(minor) and res[1][3]["python"].startswith(minor)


if not stripped_pairs():
    def test_stripped_and_pyenv_agree():
        raise Skip("needs a stripped build and a pyenv build of the same minor version "
                   "(found %s)" % [p.label for p in find_pythons()])


for _pair in stripped_pairs():
    globals()["test_stripped_%s_and_%s_agree" % (_pair[0].label, _pair[1].label)] = \
        (lambda pair=_pair: stripped_and_pyenv_agree(pair))
    globals()["test_stripped_%s_and_%s_agree" % (_pair[0].label, _pair[1].label)].timeout = 300


@every_python(gil=False)
def no_gil_locks_traced(py):
    """A Python without a GIL (nogil): threads contending a threading.Lock.
    The report says in one line why it has no GIL section, and its lock
    table holds the lock, with the contention the workload counted."""
    require_root_bpf()
    rc, out, err, rep = run_traced([], py.argv(workload_py("lock_threads.py"), "3", "50", "1"))
    assert rc == 0, "%s: gilscope exited %d: %s" % (py.label, rc, err)
    truth = parse_json_stdout(out)
    assert truth["gil"] is False, truth
    # no GIL section: one line saying there is none, in the text and the JSON
    assert rep["gil"] is None, rep["gil"]
    gil_lines = [l for l in out.splitlines() if l.startswith("GIL")]
    assert len(gil_lines) == 1 and "no GIL" in gil_lines[0], gil_lines
    assert "HELD" not in out
    # the lock: every acquisition that found it taken slept in futex(2)
    # on it (the holder sleeps 1 ms), and each wait lies inside the time
    # the workload clocked around its blocking acquire
    contended = sum(t["contended"] for t in truth["threads"])
    waited = sum(t["wait_ns"] for t in truth["threads"])
    assert contended >= 50, truth   # 3 threads taking turns: most takes wait
    # the most contended lock; a take that found the lock held may still
    # get it before sleeping (released in between): 10% of them
    lk = max(rep["locks"], key=lambda l: l["contended"] or 0)
    assert 0.9 * contended <= lk["contended"] <= contended, \
        (contended, [(l["addr"], l["contended"]) for l in rep["locks"]])
    w = lk["wait_ns"]["total"]
    assert 0.8 * waited <= w <= waited, (w, waited)
    assert lk["addr"] in out, lk["addr"]
    # and the JSON says why there is no GIL section too
    assert "no GIL" in (rep.get("gil_note") or ""), "no gil_note in the JSON report: %s" \
        % sorted(rep)


def test_unsupported_python_says_so_and_falls_back():
    """A CPython outside 3.8-3.15 is named as such, in one line, and traced
    as a plain program: no GIL figures from a guessed layout."""
    import glob
    import subprocess
    from common import GILSCOPE
    require_root_bpf()
    old = sorted(glob.glob("/root/.pyenv/versions/3.[67].*/bin/python3.[67]") +
                 glob.glob(os.path.expanduser("~/.pyenv/versions/3.[67].*/bin/python3.[67]")))
    if not old:
        raise Skip("no CPython 3.6/3.7 here to play the unsupported build")
    # attach once the interpreter says it runs (its version is readable)
    prog = subprocess.Popen([old[0], "-c", "import time; print('up', flush=True); "
                             "time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert prog.stdout.readline() == "up\n"
        r = subprocess.run([GILSCOPE, "-p", str(prog.pid), "-d", "0.5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        prog.kill()
        prog.wait()
    assert r.returncode == 0, r.stderr
    notes = [l for l in r.stderr.splitlines() if "not supported" in l]
    assert len(notes) == 1 and "3.8 - 3.15" in notes[0], r.stderr
    gil_lines = [l for l in r.stdout.splitlines() if l.startswith("GIL: ")]
    assert len(gil_lines) == 1 and "not supported" in gil_lines[0], r.stdout
    assert "HELD" not in r.stdout, r.stdout
    assert "Locks (" in r.stdout


def test_attach_by_pid_for_a_duration_accounts_only_the_traced_time():
    """-p PID -d SEC on a running interpreter: held + waiting + no-GIL of a
    thread is the traced time, never more (detaching the probes takes a
    while; what they see meanwhile is not part of the report)."""
    import subprocess
    from common import GILSCOPE, wait_until
    require_root_bpf()
    d = tmpdir()
    # a duration far past the test's end (it is killed): attach, however
    # slow on a busy machine, and the 1.5 s traced fall inside it
    prog = subprocess.Popen([os.path.join(BUILD, "gildemo"), "--threads", "2", "--duration", "60",
                             "--json", os.path.join(d, "t.json")], stdout=subprocess.DEVNULL)
    try:
        # attach once both CPU threads run (the GIL exists before them)
        assert wait_until(lambda: len(os.listdir("/proc/%d/task" % prog.pid)) >= 3), \
            "gildemo's threads never started"
        out = os.path.join(d, "r.json")
        r = subprocess.run([GILSCOPE, "-p", str(prog.pid), "-d", "1.5", "--json", out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    finally:
        prog.kill()
        prog.wait()
    with open(out) as f:
        rep = json.load(f)
    dur = rep["target"]["duration_ns"]
    near(dur, 1.5e9, 0.05, 0, "traced duration")
    threads = [t for t in rep["gil"]["threads"] if t["acquisitions"] > 10]
    assert len(threads) == 2, rep["gil"]["threads"]
    for t in threads:
        total = t["held_ns"] + t["waited_ns"] + t["no_gil_ns"]
        assert total <= dur * 1.001, (t, dur)
        near(t["held_ns"] / dur, 0.5, 0.10, 0, "held share of %s" % t["comm"])
    assert sum(t["held_ns"] for t in threads) <= dur
    assert all(t["voluntary_drops"] <= 1 for t in threads), threads
