# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Each teaching demo in its quick mode: it exits 0, and the figure it is
about points the way the demo says (from the demo's own --summary JSON,
which holds the tracer's and the workloads' figures, never canned ones).

What is checked is what the GIL decides, against the workloads' own
clocks: a thread's CPU time is spent holding the GIL, the holds of one
GIL never overlap, so CPU-bound threads together use at most one CPU of
wall time.  Which of two timed runs finishes first is the scheduler's
business on a shared 2-CPU machine (a quick mode's 100 ms run came out
faster with two threads than with one, 3 runs in 4): those ratios are
measured by `make bench`, not asserted here.

Each demo also names the Python code that held the GIL and waited for
it, from gilscope's stacks: the functions are checked to be the demo's
own workload functions, known by name from their source (the qualname,
3.8 - 3.10 the code's name, in that file and inside that function's
lines), by the share of the time they took, not by which sample landed
where."""
import ast
import json
import os
import subprocess

from common import Skip, require_root_bpf, timeout, tmpdir
import demolib

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


def functions(rel):
    """{qualname: (first line, last line)} of the functions defined in the
    clone's file rel ("demo/countdown.py"), read from its source."""
    with open(os.path.join(demolib.ROOT, rel)) as f:
        tree = ast.parse(f.read())
    out = {}

    def walk(node, prefix):
        for n in ast.iter_child_nodes(node):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out[prefix + n.name] = (n.lineno, n.end_lineno)
                walk(n, prefix + n.name + ".<locals>.")
            elif isinstance(n, ast.ClassDef):
                walk(n, prefix + n.name + ".")
            else:
                walk(n, prefix)
    walk(tree, "")
    return out


def is_function(g, rel, qualname, version):
    """Whether g (a where() group of a demo's summary: func, path, lines)
    is qualname of the clone's file rel: named as the Python of that
    version names it (3.11+ co_qualname, before the code's co_name), in
    that file (or its copy staged in a root), every line inside the
    function's."""
    first, last = functions(rel)[qualname]
    name = qualname if tuple(int(x) for x in version.split(".")[:2]) >= (3, 11) \
        else qualname.rsplit(".", 1)[-1]
    return bool(g) and g["func"] == name and demolib.own_path(g["path"]) == rel and \
        bool(g["lines"]) and all(first <= l <= last for l in g["lines"])


def top(gs):
    return gs[0] if gs else None


def check_held_in(label, t, rel, qualname, version):
    """Thread t (a demo summary's code thread) held the GIL in qualname of
    rel most of its held time, by enough samples to say so (a
    CPU-bound thread holds the GIL for all its CPU time: tens of ms here,
    a dozen samples or more at 499 Hz; 5 leaves room for a busy machine)."""
    assert t["samples"] >= 5, "%s: %s held the GIL %d ns, %d samples" \
        % (label, t["name"], t["held_ns"], t["samples"])
    assert is_function(top(t["held"]), rel, qualname, version) and \
        t["held"][0]["share"] >= 0.5, "%s: %s held the GIL in %s, not mostly in %s of %s" \
        % (label, t["name"], t["held"], qualname, rel)


def check_waited_in(label, t, rel, qualname, version, holders, holder_qualname):
    """Thread t waited for the GIL mostly in qualname of rel, mostly while
    one of the threads holders (tids) ran holder_qualname."""
    assert is_function(top(t["waited_in"]), rel, qualname, version) and \
        t["waited_in"][0]["share"] >= 0.5, "%s: %s waited in %s, not mostly in %s of %s" \
        % (label, t["name"], t["waited_in"], qualname, rel)
    f = top(t["waited_for"])
    assert is_function(f, rel, holder_qualname, version) and f["share"] >= 0.5 and \
        set(f["holders"]) <= set(holders), "%s: %s waited while %s ran, not %s of %s in %s" \
        % (label, t["name"], t["waited_for"], holder_qualname, rel, holders)


def check_threads(label, code, names, rel, qualname, version, min_wait_ns=10e6):
    """A demo run's threads of CPU-bound Python (a summary's "code": its
    threads, by their Python names), each running qualname of rel: named
    as threading named them; each held the GIL in qualname, and each that
    waited for it (min_wait_ns or more) waited there while another of them
    ran it.  Returns how many waits were checked."""
    assert code, "%s: no Python code named" % label
    ts = code["threads"]
    assert sorted(t["name"] for t in ts) == sorted(names), (label, [t["name"] for t in ts])
    checked = 0
    for t in ts:
        check_held_in(label, t, rel, qualname, version)
        if t["waited_ns"] >= min_wait_ns:
            check_waited_in(label, t, rel, qualname, version,
                            [x["tid"] for x in ts if x is not t], qualname)
            checked += 1
    return checked


def shown(qualname, version):
    """How the demo prints qualname on Python version (3.8 - 3.10: its
    code's name)."""
    return qualname if tuple(int(x) for x in version.split(".")[:2]) >= (3, 11) \
        else qualname.rsplit(".", 1)[-1]


def said(out, words):
    """Whether the demo's output says words (its sentences are wrapped)."""
    return " ".join(words.split()) in " ".join(out.split())


def check_one_at_a_time(run, label, holds_within):
    """A run of CPU-bound Python threads ({"wall_ns", "cpu_ns": [..],
    "held_ns": [..], ...}: the workload's own clocks around the work and
    the threads' CPU time in it, gilscope's held time per thread): each
    thread's CPU time is time holding the GIL, the holds, one at a time,
    fit in run[holds_within] (the wall time when the workload's clock
    covers the threads' whole lives, else the traced time), and so the
    threads together used at most one CPU of wall time."""
    wall, cpu, held = run["wall_ns"], run["cpu_ns"], run["held_ns"]
    assert len(held) == len(cpu), (label, run)
    for c, h in zip(cpu, held):
        # the holder alone runs Python; a little C outside the GIL (thread
        # start and end, handovers) is CPU time not held
        assert h >= 0.9 * c, "%s: held %d < 90%% of the thread's CPU time %d" % (label, h, c)
    assert sum(held) <= 1.01 * run[holds_within], "%s: holds %s add up to more than the " \
        "%s %d" % (label, held, holds_within, run[holds_within])
    # with no GIL, two CPU-bound threads on 2 CPUs would use up to twice
    # the wall time (the scheduler can only give them less)
    assert sum(cpu) <= 1.05 * wall, "%s: the threads' CPU times %s add up to more than " \
        "one CPU for the wall time %d" % (label, cpu, wall)


@timeout(300)
def test_demo1_two_threads_are_not_faster_than_one():
    s, out = run_demo("1-split-loop.py")
    # the same total work in two threads takes as long as its CPU time in
    # one: the two never ran at once (the wall-time ratio is make bench's)
    for n in ("1", "2"):
        assert len(s["runs"][n]["cpu_ns"]) == int(n), s["runs"][n]
        # countdown.py's clock runs from before the threads start to after
        # they are joined: every hold of theirs is inside it
        check_one_at_a_time(s["runs"][n], "%s thread(s)" % n, "wall_ns")
    assert "Timeline" in out
    # the code named: countdown.py's countdown held the GIL in each thread
    # (named count-N by countdown.py), the two waited in it for each other,
    # and main waited for them in Thread.join (idle, without the GIL)
    ver, rel = s["python"], "demo/countdown.py"
    for n in ("1", "2"):
        label = "%s thread(s)" % n
        code = s["runs"][n]["code"]
        waits = check_threads(label, code, ["count-%d" % i for i in range(int(n))], rel,
                              "countdown", ver)
        if n == "2":
            # each started while the other held the GIL: it waited for it
            assert waits >= 1, (label, code["threads"])
        idle = code["idle"][0] if code["idle"] else None
        assert idle and idle["kind"] == "threading.Thread.join" and \
            is_function(idle["caller"], rel, "main", ver), (label, code["idle"])
    assert said(out, "count-1 held the GIL in countdown (%s:" % rel) and "count-0" in out, out
    assert said(out, "main (%s:" % rel) and said(out, "in threading.Thread.join"), out


@timeout(300)
def test_demo2_fib_threads_do_not_scale():
    s, out = run_demo("2-fib-threads.py")
    # T threads, T times the work: their CPU times add up to no more than
    # the wall time, one at a time (the wall-time ratios are make bench's)
    for n in ("1", "2", "4"):
        run = s["runs"][n]
        assert len(run["cpu_ns"]) == int(n), run
        # fib_threads.py's clock covers the compute phase only
        check_one_at_a_time(run, "%s thread(s)" % n, "traced_ns")
        # and held against CPU time the other way: a holder preempted by
        # another process holds without running (its schedstat run delay)
        cpu, delay = sum(run["cpu_ns"]), sum(x or 0 for x in run["run_delay_ns"])
        assert sum(run["held_ns"]) <= 1.10 * (cpu + delay), (n, run)
        # the code named: fib_threads.py's fib held the GIL in every worker
        # (fib-N), and each that waited did so in fib while another ran it
        waits = check_threads("%s thread(s)" % n, run["code"],
                              ["fib-%d" % i for i in range(int(n))],
                              "tests/workloads/fib_threads.py", "fib", s["python"])
        assert n == "1" or waits >= 1, (n, run["code"]["threads"])
    assert said(out, "held the GIL in fib (tests/workloads/fib_threads.py:"), out
    assert all("fib-%d" % i in out for i in range(4)), out


@timeout(300)
def test_demo3_shorter_switch_interval_shortens_the_convoy():
    s, out = run_demo("3-convoy.py")
    for name, r in s["runs"].items():
        # the CPU-bound thread never lets go of its own: each hold ends
        # when a waiter's timed wait of one whole interval expires, so the
        # interval set is what decides the holds (the scheduler can only
        # lengthen them).  How often the I/O threads find the GIL free
        # instead (racing a CPU thread not yet awake: quick trips, no
        # convoy) is the scheduler's, and so is how much faster the trips
        # are at 0.5 ms than at 5 ms: make bench measures that.
        assert r["cpu_voluntary_drops"] <= 4 and r["cpu_forced_drops"] >= 1, (name, r)
        assert r["cpu_hold_p50_ns"] >= 0.8 * r["interval_ns"], (name, r)
        # the I/O thread's GIL waits lie inside its own clock around the trips
        assert r["io_waited_ns"] <= r["io_ns"], (name, r)
        # the code named: convoy.py's cpu held the GIL in its thread (named
        # cpu), and the io thread waited for it in io while cpu ran cpu
        rel, ver = "tests/workloads/convoy.py", s["python"]
        assert r["code"], (name, "no Python code named")
        ts = {t["name"]: t for t in r["code"]["threads"]}
        assert sorted(ts) == ["cpu", "io"], (name, sorted(ts))
        check_held_in(name, ts["cpu"], rel, "main.<locals>.cpu", ver)
        check_waited_in(name, ts["io"], rel, "main.<locals>.io", ver, [ts["cpu"]["tid"]],
                        "main.<locals>.cpu")
    # at 5 ms: a convoy, GIL waits a large part of the trips (as in
    # test_gil.test_convoy_is_named)
    r = s["runs"]["5ms"]
    assert r["io_convoy"] and r["io_convoy_waits"] > 0, r
    assert r["io_waited_ns"] >= 0.3 * r["io_ns"], r
    cpu, io = shown("main.<locals>.cpu", s["python"]), shown("main.<locals>.io", s["python"])
    assert said(out, "cpu held the GIL in %s (tests/workloads/convoy.py:" % cpu), out
    assert said(out, "io waited in %s (tests/workloads/convoy.py:" % io), out


@timeout(300)
def test_demo4_processes_run_their_gils_in_parallel():
    s, out = run_demo("4-processes.py")
    # two threads share one GIL: one at a time
    check_one_at_a_time(s["threads"], "threads", "traced_ns")
    # the code named: fib_threads.py's fib in both threads, and each
    # process's fib_procs.py's fib in its MainThread (fork: the parent's)
    assert check_threads("threads", s["threads"]["code"], ["fib-0", "fib-1"],
                         "tests/workloads/fib_threads.py", "fib", s["python"]) >= 1, \
        s["threads"]["code"]
    for p in s["processes"]:
        check_threads("process %d" % p["pid"], p["code"], ["MainThread"], "demo/fib_procs.py",
                      "fib", s["python"])
    assert said(out, "held the GIL in fib (tests/workloads/fib_threads.py:"), out
    assert said(out, "MainThread held the GIL in fib (demo/fib_procs.py:"), out
    # two processes, one GIL each: each held through its whole fib (by
    # its own clock), and the fibs ran at the same time (their own clocks
    # again), so the two GILs were held at once - which one GIL never is.
    # (The wall-time ratio against the threads is make bench's: how much
    # CPU the processes got is the scheduler's.)
    for p in s["processes"]:
        assert p["held_ns"] >= 0.95 * p["fib_wall_ns"], p
        assert p["held_ns"] >= 0.9 * p["cpu_ns"], p
    assert s["overlap_ns"] >= 0.5 * min(p["fib_wall_ns"] for p in s["processes"]), s
    assert all(h > 0 for h in s["held_pct"]), s


@timeout(300)
def test_demo5_racy_mode_loses_updates_safe_modes_none():
    s, out = run_demo("5-refcount-race.py")
    racy = s["no GIL, plain counts"]
    # what gilscope counts is what the workload counts, exactly; whether
    # the two threads raced at all in this run is the scheduler's call (on
    # a busy 2-CPU machine they may never run at once: 3 runs in 6 beside
    # a CPU hog lost nothing), so the race itself is make bench's to show
    assert racy["lost_detected"] == racy["lost_truth"], racy
    assert racy["writes_without_gil"] > 0, racy
    for safe in ("GIL, plain counts", "no GIL, atomic counts"):
        assert s[safe]["lost_truth"] == 0 and s[safe]["lost_detected"] == 0, s[safe]
    assert s["GIL, plain counts"]["writes_without_gil"] == 0
    # gildemo is C: no Python code to name, and the demo says so rather
    # than naming any
    for mode, x in s.items():
        assert x["no_python_code"], (mode, x)
    assert said(out, "Python code (GIL, plain counts): none named: "), out


@timeout(600)
def test_demo6_none_is_written_until_311_and_immortal_after():
    s, out = run_demo("6-pythons.py")
    # keyed by the Python's label: "debian-3.11.2", "sid-3.14.10-chroot", "nogil-3.9.10"
    gil = {l: x for l, x in s.items() if x["gil"]}
    old = {l: x for l, x in gil.items() if int(x["version"].split(".")[1]) <= 11}
    new = {l: x for l, x in gil.items() if int(x["version"].split(".")[1]) >= 12}
    if not old or not new:
        raise Skip("needs a CPython <= 3.11 and a 3.12+ (found %s)" % sorted(s))
    for l, x in gil.items():
        assert x["gil_found"], (l, x)
    for l, x in old.items():
        assert x["none_writes"] > 100 and x["without_gil"] == 0, (l, x)
    for l, x in new.items():
        assert x["none_writes"] <= 10, (l, x)
    # the code named: refcount_none.py's work in both workers (threading's
    # own names, "Thread-N" and from 3.10 "Thread-N (work)"), as each
    # version names it, and each that waited did so in work while the
    # other ran it
    rel = "tests/workloads/refcount_none.py"
    for l, x in gil.items():
        names = [t["name"] for t in x["code"]["threads"]] if x["code"] else []
        assert len(names) == 2 and all(n and n.startswith("Thread-") for n in names), (l, names)
        check_threads(l, x["code"], names, rel, "main.<locals>.work", x["version"])
    for form in {shown("main.<locals>.work", x["version"]) for x in gil.values()}:
        assert said(out, "held the GIL in %s (%s:" % (form, rel)), (form, out)
    # a free-threaded build (nogil) has no GIL, and the report says so
    for l, x in s.items():
        if not x["gil"]:
            assert x["gil_line"] and "no GIL" in x["gil_line"], (l, x)
            assert x["loops"] > 0, (l, x)
            # and no Python code is named for it
            assert x["code"] is None and said(out, l + " (no GIL section)"), (l, x["code"])
