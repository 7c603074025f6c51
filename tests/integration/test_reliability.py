# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Regression tests of issue 13's faults: figures without a probe, a
collector under load, waits already in progress at attach."""
import json
import os
import shutil
import subprocess
import time

from common import (GILSCOPE, inside, parse_json_stdout, require_root_bpf, run_traced,
                    tmpdir, workload)
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
        d = tmpdir()
        out = os.path.join(d, "r.json")
        r = subprocess.run([GILSCOPE, "-p", str(p.pid), "-d", "1", "--json", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        with open(out) as f:
            rep = json.load(f)
    finally:
        p.kill()
        p.wait()
    shutil.rmtree(d, ignore_errors=True)
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
