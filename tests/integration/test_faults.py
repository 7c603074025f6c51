# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Faults gilscope must survive: signals, a second tracer, a full ring
buffer, a full disk."""
import json
import os
import signal
import subprocess

from common import (GILSCOPE, Skip, children_of, parse_json_stdout, proc_state,
                    require_root_bpf, run_traced, timeout, tmpdir, wait_tracing, wait_until,
                    workload)


def longrunner():
    return subprocess.Popen([workload("lockholder"), "-r", "100000", "-h", "2", "-w", "0"],
                            stdout=subprocess.DEVNULL)


def test_sigterm_and_sighup_detach_and_report():
    require_root_bpf()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        prog = longrunner()
        try:
            g = subprocess.Popen([GILSCOPE, "-p", str(prog.pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            wait_tracing(g)     # its handlers are set before it attaches
            g.send_signal(sig)
            out, err = g.communicate(timeout=20)
            assert g.returncode == 0, (sig, g.returncode, err)
            assert "ended by signal" in out and out.count("Locks (") == 1
            assert prog.poll() is None, "the target died with the tracer"
        finally:
            prog.kill()
            prog.wait()


def test_two_tracers_on_one_target():
    require_root_bpf()
    prog = longrunner()
    try:
        d = tmpdir()
        outs = [os.path.join(d, "a.json"), os.path.join(d, "b.json")]
        gs = [subprocess.Popen([GILSCOPE, "-p", str(prog.pid), "-d", "1.5", "--json", o],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
              for o in outs]
        for g in gs:
            g.wait(timeout=30)
            assert g.returncode == 0, g.stderr.read()
        for o in outs:
            with open(o) as f:
                rep = json.load(f)
            lk = [l for l in rep["locks"] if (l["name"] or "").endswith("table_lock")]
            assert lk and lk[0]["contended"] > 50, rep["locks"]
    finally:
        prog.kill()
        prog.wait()


def test_ring_buffer_overflow_is_counted_not_silent():
    """The collector is stopped (SIGSTOP) while a hot lock keeps the BPF
    side writing, until the workload is done: the ring buffer fills, and
    the records dropped are counted and reported."""
    require_root_bpf()
    d = tmpdir()
    out_json = os.path.join(d, "r.json")
    # 4M lock and unlock calls, a record each: far more than the 1 MB
    # ring buffer holds (about 4 s traced, 0.1 s untraced)
    g = subprocess.Popen([GILSCOPE, "--locks=all", "--ringbuf-mb", "1", "--gil=off",
                          "--json", out_json, "--", workload("hotlock"), "-t", "2",
                          "-n", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    wait_tracing(g)
    g.send_signal(signal.SIGSTOP)
    try:
        kids = children_of(g.pid)
        assert len(kids) == 1, "hotlock not found among gilscope's children: %s" % kids
        # the stopped collector cannot reap it: hotlock's end is a zombie
        assert proc_state(kids[0])[0] != "Z", "hotlock was done before the collector stopped"
        assert wait_until(lambda: proc_state(kids[0])[0] == "Z", 100), "hotlock never ended"
    finally:
        g.send_signal(signal.SIGCONT)
    out, err = g.communicate(timeout=120)
    assert g.returncode == 0, err
    with open(out_json) as f:
        rep = json.load(f)
    lost = rep["events"]["lost"]
    assert lost > 0, rep["events"]
    assert "%d lost (ring buffer full" % lost in out, out[:1500]
    # counted per CPU, and shown so: where the burst was
    per_cpu = rep["events"]["lost_per_cpu"]
    assert len(per_cpu) == os.cpu_count() and sum(per_cpu) == lost, rep["events"]
    shown = " ".join("cpu%d %d" % (i, n) for i, n in enumerate(per_cpu) if n)
    assert "lost per CPU: " + shown in out, out[:1500]


def test_disk_full_while_recording_ends_on_a_whole_chunk():
    require_root_bpf()
    d = tmpdir()
    mnt = os.path.join(d, "small")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]).returncode:
        raise Skip("cannot mount a small tmpfs here")
    try:
        f = os.path.join(mnt, "run.gst")
        r = subprocess.run([GILSCOPE, "record", "-o", f, "--locks=all", "--",
                            workload("hotlock"), "-t", "2", "-n", "300000"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        assert r.returncode != 0, "a full disk must not pass for success"
        assert "No space left" in r.stderr and "last complete chunk" in r.stderr, r.stderr
        rep = subprocess.run([GILSCOPE, "report", f], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=60)
        # every chunk that made it is whole: nothing damaged, just cut short
        assert rep.returncode == 4, (rep.returncode, rep.stderr)
        assert "damaged chunk" not in rep.stderr, rep.stderr
        assert "incomplete (cut short)" in rep.stdout, rep.stdout[:500]
    finally:
        subprocess.run(["umount", mnt])


@timeout(180)
def test_thread_churn_every_thread_traced_and_named():
    """600 threads created and destroyed in waves of 4, thousands a second,
    each naming itself and taking one contended mutex: every one is in the
    report, with its own name, and every acquisition is counted."""
    require_root_bpf()
    rc, out, err, rep = run_traced(["--locks=all"], [workload("churn"), "600", "4"])
    assert rc == 0, err
    truth = parse_json_stdout(out)
    assert truth["threads_per_s"] > 200, truth["threads_per_s"]
    assert rep["events"]["lost"] == 0, rep["events"]
    by_tid = {t["tid"]: t for t in rep["threads"]}
    for w in truth["threads"]:
        t = by_tid.get(w["tid"])
        assert t is not None, "thread %d (%s) not traced" % (w["tid"], w["name"])
        assert t["comm"] == w["name"], (t, w)
        assert t["exited"], t
    lock = [l for l in rep["locks"] if (l["name"] or "").endswith(":churn_lock")]
    assert lock and lock[0]["acquisitions"] == 600, lock


@timeout(120)
def test_fork_and_exec_children_are_not_followed_and_run_unharmed():
    """gilscope traces the process it was given, not its children: a child
    that execs and one that runs the parent's (probed) code on its own copy
    of the lock both exit as they should, their locking is not in the
    report, and the parent's locking after the fork still is."""
    require_root_bpf()
    rc, out, err, rep = run_traced(["--locks=all"], [workload("forker"), "200"])
    assert rc == 0, err
    truth = parse_json_stdout(out)
    assert [c["status"] for c in truth["children"]] == [7, 0], truth
    tids = {t["tid"] for t in rep["threads"]}
    assert not tids & {c["pid"] for c in truth["children"]}, (tids, truth)
    lock = [l for l in rep["locks"] if (l["name"] or "").endswith(":fork_lock")]
    assert lock and lock[0]["acquisitions"] == truth["acquisitions"], (lock, truth)
