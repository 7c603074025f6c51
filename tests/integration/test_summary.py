# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--summary: the analysis runs in BPF and nothing is streamed.  Its
figures are checked against the same ground truth as the streamed ones:
gildemo's own clocks and counters, the GIL's switch_number, lockholder's
own clocks, Python threads' own CPU time.  Percentiles come from
log-linear histograms: within 3.1% of the exact value, so tolerances on
them are the streamed tests' plus 3.1%."""
import os
import subprocess

from common import (GILSCOPE, every_python, inside, near, parse_json_stdout,
                    require_root_bpf, run_traced, tmpdir, workload)
import test_gil
import test_locks

ROUNDS = test_locks.ROUNDS
HIST_ERR = 1 / 32


def check_nothing_streamed(rep, out):
    s = rep["summary"]
    assert s is not None, "no summary section in --summary's report"
    assert s["events_counted"] > 0, s
    # never silent: an update a full map dropped would be counted here
    assert s["map_updates_dropped"] == 0, s
    assert abs(s["percentile_max_error"] - HIST_ERR) < 1e-9, s
    assert rep["events"]["recorded"] == 0, rep["events"]
    assert "summary: analysed in BPF" in out
    # a GIL's timeline needs every hold: the report says why there is none
    assert ("no timeline" in out) == (rep["gil"] is not None), out


def test_summary_gildemo_matches_its_own_ground_truth():
    require_root_bpf()
    truth, rep, out = test_gil.gildemo_run(["--threads", "2", "--duration", "1.5"],
                                           ["--summary"])
    check_nothing_streamed(rep, out)
    test_gil.check_gildemo(truth, rep, p50_err=HIST_ERR)
    # every acquisition but the first follows a release: a handoff, by pair
    gil = rep["gil"]
    handoffs = sum(h["count"] for h in gil["handoffs"])
    assert gil["acquisitions"] - 2 <= handoffs <= gil["acquisitions"], (handoffs, gil)


def test_summary_convoy_matches_gildemo():
    """gildemo's I/O thread, behind two CPU-bound threads: its waits
    after each round trip, as gildemo's own clock measured them."""
    require_root_bpf()
    truth, rep, out = test_gil.gildemo_run(
        ["--threads", "2", "--io-threads", "1", "--io", "echo", "--duration", "1.5"],
        ["--summary"])
    gil = rep["gil"]
    io = [tt for tt in truth["threads"] if tt["kind"] == "io"][0]
    t = [t for t in gil["threads"] if t["tid"] == io["tid"]][0]
    assert t["acquisitions"] == io["acquisitions"], (t, io)
    assert t["voluntary_drops"] == io["voluntary_drops"], (t, io)
    near(t["waited_ns"], io["waited_ns"], 0.05, 0, "io waited")
    near(t["wait_ns"]["p50"], io["wait_ns"]["p50"], 0.10 + HIST_ERR, 0, "io wait p50")
    assert t["convoy"], t
    assert "Convoy: thread %d" % io["tid"] in out


def test_summary_locks_all_matches_lockholder():
    require_root_bpf()
    rc, out, err, rep = run_traced(["--summary", "--locks=all"],
                                   [workload("lockholder"), "-r", str(ROUNDS)])
    assert rc == 0, "gilscope exited %d: %s" % (rc, err)
    check_nothing_streamed(rep, out)
    test_locks.check_all_mode(rep, parse_json_stdout(out))


def test_summary_contended_mode_leaves_holds_unknown():
    require_root_bpf()
    rc, out, err, rep = run_traced(["--summary"], [workload("lockholder"), "-r", str(ROUNDS)])
    assert rc == 0, "gilscope exited %d: %s" % (rc, err)
    truth = parse_json_stdout(out)
    lk = test_locks.table_lock(rep)
    assert lk["contended"] == ROUNDS, lk
    assert lk["acquisitions"] is None and lk["hold_ns"] is None, lk
    inside(lk["wait_ns"]["total"], truth["waiter"]["wait_ns"], 0.03, 2000000, "wait total")


# every Python with a GIL; the container mode on the newest sid Python
# only (as test_gil's fib runs: a few seconds each)
@every_python(containers="one")
def summary_fib(py):
    require_root_bpf()
    test_gil.check_fib("summary " + py.label, py, None, 5e6, gilscope_args=["--summary"])


def test_summary_refuses_what_it_cannot_do():
    def run(args):
        return subprocess.run([GILSCOPE] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=30)
    d = tmpdir()
    for args, word in ((["--summary", "-o", os.path.join(d, "x.gst"), "-p", "12"], "record"),
                       (["record", "--summary", "-o", os.path.join(d, "x.gst"), "-p", "12"],
                        "record"),
                       (["--summary", "--object", "None", "-p", "12"], "--object"),
                       (["refcount", "--summary", "--object", "None", "-p", "12"], "--object")):
        r = run(args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        first = r.stderr.strip().splitlines()[0]
        assert "--summary" in first and word in first, (args, first)
    assert os.listdir(d) == [], os.listdir(d)


def test_summary_full_map_is_reported_not_silent():
    """More distinct futexes than the lock map holds (8192): the updates
    that did not fit are counted and said, the rest still reported."""
    require_root_bpf()
    words = 12000
    rc, out, err, rep = run_traced(["--summary", "--gil=off"],
                                   [workload("hotlock"), "-w", "-t", "1", "-s", str(words),
                                    "-n", str(words)])
    assert rc == 0, "gilscope exited %d: %s" % (rc, err)
    s = rep["summary"]
    # every wake past the map's 8192 entries (a few of which the program's
    # own start-up futexes take) finds it full, once
    assert words - 8192 <= s["map_updates_dropped"] <= words - 8192 + 64, s
    # one counted event per wake, beside a few of start-up and exit
    assert words <= s["events_counted"] <= words + 64, s
    assert "map updates dropped (a BPF map was full" in out, out[:2000]
