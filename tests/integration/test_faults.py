# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Faults gilscope must survive: signals, a second tracer, a full ring
buffer, a full disk."""
import json
import os
import signal
import subprocess
import time

from common import GILSCOPE, Skip, require_root_bpf, run_traced, tmpdir, workload


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
            time.sleep(1.2)
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
    """The collector is stopped (SIGSTOP) for a second while a hot lock
    keeps the BPF side writing: the ring buffer fills, and the records
    dropped are counted and reported."""
    require_root_bpf()
    d = tmpdir()
    out_json = os.path.join(d, "r.json")
    g = subprocess.Popen([GILSCOPE, "--locks=all", "--ringbuf-mb", "1", "--gil=off",
                          "--json", out_json, "--", workload("hotlock"), "-t", "2",
                          "-n", "2500000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(1.0)
    g.send_signal(signal.SIGSTOP)
    time.sleep(1.0)
    g.send_signal(signal.SIGCONT)
    out, err = g.communicate(timeout=120)
    assert g.returncode == 0, err
    with open(out_json) as f:
        rep = json.load(f)
    lost = rep["events"]["lost"]
    assert lost > 0, rep["events"]
    assert "%d lost (ring buffer full" % lost in out, out[:1500]


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
