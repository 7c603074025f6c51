# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Each teaching demo in its quick mode: it exits 0, and the figure it is
about points the way the demo says (from the demo's own --summary JSON,
which holds the tracer's and the workloads' figures, never canned ones)."""
import json
import os
import subprocess

from common import Skip, require_root_bpf, timeout, tmpdir

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "demo")


def run_demo(name):
    require_root_bpf()
    summary = os.path.join(tmpdir(), "summary.json")
    r = subprocess.run(["python3", os.path.join(DEMO, name), "--quick", "--summary", summary],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if r.returncode == 75:
        raise Skip("the kernel killed the watched program with SIGTRAP three times in a "
                   "row (see the README's refcount section)")
    assert r.returncode == 0, (name, r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    with open(summary) as f:
        return json.load(f), r.stdout


@timeout(300)
def test_demo1_two_threads_are_not_faster_than_one():
    s, out = run_demo("1-split-loop.py")
    # the same total work in two threads takes (at least about) as long
    assert s["ratio"] > 0.85, s
    assert "Timeline" in out


@timeout(300)
def test_demo2_fib_threads_do_not_scale():
    s, out = run_demo("2-fib-threads.py")
    w = s["wall_ns"]
    # twice and four times the work take about twice and four times as long
    # (threads running in parallel would keep them near 1x; 1.3x leaves
    # room for a noisy one-thread run on a busy 2-CPU machine)
    assert w["2"] > 1.3 * w["1"] and w["4"] > 1.3 * w["2"], w


@timeout(300)
def test_demo3_shorter_switch_interval_shortens_the_convoy():
    s, out = run_demo("3-convoy.py")
    m = s["mean_trip_ns"]
    assert m["0.5ms"] * 2 < m["5ms"], m


@timeout(300)
def test_demo4_processes_run_their_gils_in_parallel():
    if os.cpu_count() < 2:
        raise Skip("needs 2 CPUs to show processes in parallel")
    s, out = run_demo("4-processes.py")
    # in parallel on 2 CPUs (about 0.5x quiet; the tracers share the CPUs)
    assert s["processes_wall_ns"] < 0.9 * s["threads_wall_ns"], s
    assert s["overlap_ns"] > 0, s
    assert all(h > 0 for h in s["held_pct"]), s


@timeout(300)
def test_demo5_racy_mode_loses_updates_safe_modes_none():
    s, out = run_demo("5-refcount-race.py")
    racy = s["no GIL, plain counts"]
    assert racy["lost_truth"] > 0 and racy["lost_detected"] == racy["lost_truth"], racy
    for safe in ("GIL, plain counts", "no GIL, atomic counts"):
        assert s[safe]["lost_truth"] == 0 and s[safe]["lost_detected"] == 0, s[safe]
    assert s["GIL, plain counts"]["writes_without_gil"] == 0


@timeout(600)
def test_demo6_none_is_written_until_311_and_immortal_after():
    s, out = run_demo("6-pythons.py")
    old = {v: x for v, x in s.items() if int(v.split(".")[1]) <= 11}
    new = {v: x for v, x in s.items() if int(v.split(".")[1]) >= 12}
    if not old or not new:
        raise Skip("needs a CPython <= 3.11 and a 3.12+ (found %s)" % sorted(s))
    for v, x in old.items():
        assert x["none_writes"] > 100 and x["without_gil"] == 0, (v, x)
    for v, x in new.items():
        assert x["none_writes"] <= 10, (v, x)
