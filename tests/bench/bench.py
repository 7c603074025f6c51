#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""gilscope's overhead, measured as traced/untraced ratios in one run.

Each workload runs untraced and traced, interleaved, several times; the
workload times itself (its own clock around its work, so attach and
detach are not counted) and the table shows min and median of each and
the ratio of the medians.  BPF's own cost of a Python stack, by depth,
comes from the kernel's per-program accounting (kernel.bpf_stats_enabled,
on for that part only; bpftool reads it), skipped with the reason where
that cannot be read.  --only picks parts.  Nothing here is asserted:
speed is measured, not tested.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# The classic bpftrace scripts, for the comparison in the same run:
# pmlock/pmheld (uprobe + uretprobe on pthread_mutex_lock, uprobe on unlock)
# and the naive GIL tracer (take_gil entry + return, drop_gil entry).
PMLOCK = """
uprobe:%(libc)s:pthread_mutex_lock /pid == cpid/ { @ls[tid] = nsecs; @la[tid] = arg0; }
uretprobe:%(libc)s:pthread_mutex_lock /pid == cpid && @ls[tid]/ {
    @wait = hist(nsecs - @ls[tid]); @hs[@la[tid]] = nsecs; delete(@ls[tid]); delete(@la[tid]); }
uprobe:%(libc)s:pthread_mutex_unlock /pid == cpid && @hs[arg0]/ {
    @held = hist(nsecs - @hs[arg0]); delete(@hs[arg0]); }
END { clear(@ls); clear(@la); clear(@hs); clear(@wait); clear(@held); }
"""
GILBT = """
uprobe:%(lib)s:take_gil /pid == cpid/ { @ts[tid] = nsecs; }
uretprobe:%(lib)s:take_gil /pid == cpid && @ts[tid]/ {
    @wait = hist(nsecs - @ts[tid]); delete(@ts[tid]); @hs[tid] = nsecs; }
uprobe:%(lib)s:drop_gil /pid == cpid && @hs[tid]/ { @held = hist(nsecs - @hs[tid]); delete(@hs[tid]); }
END { clear(@ts); clear(@hs); clear(@wait); clear(@held); }
"""


def libc_path():
    for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"):
        if os.path.exists(p):
            return p
    return None


def bpftrace_mode(script):
    """A mode that runs the workload under `bpftrace -e script -c CMD`."""
    return ("bpftrace", script)


def run(cmd, traced_args, gilscope, timeout=300):
    if traced_args is None:
        full = cmd
    elif isinstance(traced_args, tuple):
        full = ["bpftrace", "-e", traced_args[1], "-c", " ".join(cmd)]
    else:
        full = [gilscope] + traced_args + ["--"] + cmd
    r = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(full), r.stderr[-500:]))
    out = r.stdout
    start = out.index("{")
    depth = 0
    for i in range(start, len(out)):
        depth += {"{": 1, "}": -1}.get(out[i], 0)
        if depth == 0:
            return json.loads(out[start:i + 1])
    raise RuntimeError("no JSON from " + cmd[0])


def elapsed(truth):
    if "phase" in truth and "wall_ns" in truth["phase"]:
        return truth["phase"]["wall_ns"]
    if "client" in truth:       # http_routes.py: its client's wall time
        return truth["client"]["wall_ns"]
    return truth.get("elapsed_ns") or truth.get("wall_ns")


def bench(name, cmd, modes, gilscope, reps, key=None):
    rows = []
    samples = {m: [] for m in ["untraced"] + [m for m, _ in modes]}
    for _ in range(reps):
        samples["untraced"].append(elapsed(run(cmd, None, gilscope)))
        for m, args in modes:
            samples[m].append(elapsed(run(cmd, args, gilscope)))
    base = statistics.median(samples["untraced"])
    base_min = min(samples["untraced"])
    for m in samples:
        med = statistics.median(samples[m])
        rows.append((name, m, min(samples[m]) / 1e6, med / 1e6, med / base,
                     min(samples[m]) / base_min))
    return rows


def pyenv_python(minor):
    """A pyenv CPython 3.<minor> with its libpython (for take_gil), or None."""
    for root in (os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"),
                 "/root/.pyenv"):
        for py in sorted(glob.glob(os.path.join(root or "/nonexistent", "versions",
                                                "3.%d.*" % minor, "bin", "python3.%d" % minor))):
            libs = glob.glob(os.path.join(os.path.dirname(py), "..", "lib",
                                          "libpython3.%d.so.1.0" % minor))
            return py, (os.path.realpath(libs[0]) if libs else os.path.realpath(py))
    return None, None


def attach_detach(name, cmd, args, gilscope, reps):
    """Time from starting `gilscope -p PID` to its "tracing" line (attach),
    and from SIGINT to its exit with the report printed (detach)."""
    att, det = [], []
    for _ in range(reps):
        wl = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        t0 = time.monotonic()
        g = subprocess.Popen([gilscope, "-p", str(wl.pid)] + args, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        line = g.stderr.readline()
        t1 = time.monotonic()
        if "tracing pid" not in line:
            wl.kill()
            raise RuntimeError("attach failed: " + line + g.stderr.read())
        time.sleep(0.5)
        t2 = time.monotonic()
        g.send_signal(signal.SIGINT)
        g.communicate(timeout=60)
        t3 = time.monotonic()
        wl.kill()
        wl.wait()
        att.append((t1 - t0) * 1e3)
        det.append((t3 - t2) * 1e3)
    return (name, statistics.median(att), min(att), statistics.median(det), min(det))


def capacity(hot, gilscope):
    """The collector's capacity: hotlock's wake storm (-w: futex wakes
    nobody waits for, one record each, the cheapest event source there
    is) from 1 and 2 threads, at ring buffer sizes 1 to 16 MB: the rate
    of records it took in, by the workload's own clock, and what was lost
    (counted, never silent) when the buffer was too small for it."""
    rows = []
    for threads in (1, 2):
        for mb in (1, 4, 16):
            d = tempfile.mkdtemp(prefix="gilscope-bench-")
            out = os.path.join(d, "r.json")
            r = subprocess.run([gilscope, "--gil=off", "--ringbuf-mb", str(mb), "--json", out,
                                "--", hot, "-w", "-t", str(threads), "-n", "3000000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               check=True)
            truth = json.loads([l for l in r.stdout.splitlines() if "elapsed_ns" in l][0])
            with open(out) as f:
                rep = json.load(f)
            shutil.rmtree(d, ignore_errors=True)
            ev = rep["events"]
            rows.append((threads, mb, ev["recorded"], ev["recorded"] / (truth["elapsed_ns"] / 1e9),
                         ev["lost"]))
    return rows


def recording(name, cmd, args, gilscope):
    """Records a run, then reads it back with `gilscope report`: bytes on
    disk per event, and the report's throughput and peak memory."""
    d = tempfile.mkdtemp(prefix="gilscope-bench-")
    gst, rep_json = os.path.join(d, "r.gst"), os.path.join(d, "r.json")
    subprocess.run([gilscope, "record", "-o", gst] + args + ["--"] + cmd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    size = os.path.getsize(gst)
    t0 = time.monotonic()
    p = subprocess.Popen([gilscope, "report", gst, "--json", rep_json],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)   # this child's own peak RSS
    secs = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise RuntimeError("gilscope report %s failed" % gst)
    with open(rep_json) as f:
        events = json.load(f)["events"]["recorded"]
    shutil.rmtree(d, ignore_errors=True)
    return (name, events, size / 1e6, size / max(events, 1), events / secs / 1e6, secs,
            usage.ru_maxrss / 1024)


BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


class BpfStats:
    """The kernel's per-program run time accounting (run_time_ns, run_cnt)
    switched on for a block, and the old setting put back on the way out,
    on an error or a SIGTERM too (it costs every BPF program on the
    machine two clock reads a run while on)."""

    def __enter__(self):
        with open(BPF_STATS) as f:
            self.old = f.read().strip()
        self.term = signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
        self._write("1")
        return self

    def __exit__(self, *exc):
        self._write(self.old)
        signal.signal(signal.SIGTERM, self.term)
        return False

    @staticmethod
    def _write(v):
        with open(BPF_STATS, "w") as f:
            f.write(v + "\n")


def bpf_stats_missing(bpftool):
    """Why the BPF programs' run times cannot be read here, or None."""
    if not bpftool:
        return "bpftool is not installed (apt-get install bpftool)"
    if not os.path.exists(BPF_STATS):
        return "this kernel has no %s" % BPF_STATS
    if not os.access(BPF_STATS, os.W_OK):
        return "%s is not writable" % BPF_STATS
    return None


def prog_ids_of(pid):
    """The ids of the BPF programs process @pid holds open, from its fdinfo
    (bpftool's own pid column needs a bpftool built with BPF skeletons)."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def prog_stats(bpftool, pid):
    """{program name: (run_time_ns, run_cnt)} of process @pid's programs."""
    ids = prog_ids_of(pid)
    out = subprocess.run([bpftool, "prog", "show", "--json"], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    got = {}
    for p in json.loads(out):
        if p["id"] in ids and "name" in p:
            t, c = got.get(p["name"], (0, 0))
            got[p["name"]] = (t + p.get("run_time_ns", 0), c + p.get("run_cnt", 0))
    return got


def py_stack_run(gilscope, bpftool, py, depth, secs, sleep=False):
    """One traced run of deep_spin.py (2 threads 40 frames deep) at
    --python-depth @depth: gilscope's programs' run times, read while
    they are loaded (the workload waits for a signal once it is done),
    and the holder samples the report counts."""
    d = tempfile.mkdtemp(prefix="gilscope-bench-")
    rep = os.path.join(d, "r.json")
    cmd = [gilscope, "--python-depth=%d" % depth, "--json", rep, "--",
           py, os.path.join(HERE, "deep_spin.py"), "--wait"] + (["--sleep"] if sleep else []) + \
          ["2", "40", str(secs)]
    err = open(os.path.join(d, "stderr"), "w+")
    g = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        truth = None
        for line in g.stdout:
            if line.startswith('{"wall_ns"'):
                truth = json.loads(line)
                break
        if not truth:
            g.wait(timeout=60)
            err.seek(0)
            raise RuntimeError("%s: no truth from the workload: %s"
                               % (" ".join(cmd), err.read()[-500:]))
        stats = prog_stats(bpftool, g.pid)
        os.kill(truth["pid"], signal.SIGUSR1)
        g.communicate(timeout=60)
        if g.returncode:
            err.seek(0)
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), g.returncode,
                                                           err.read()[-500:]))
        with open(rep) as f:
            samples = json.load(f)["gil"]["python_stacks"]["samples"]
    finally:
        if g.poll() is None:    # on an error: the workload, then gilscope
            try:
                with open("/proc/%d/task/%d/children" % (g.pid, g.pid)) as f:
                    for pid in f.read().split():
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
            g.kill()
            g.wait()
        err.close()
        shutil.rmtree(d, ignore_errors=True)
    return stats, samples


def py_stack_run_retried(*args, **kw):
    """py_stack_run, once more if it fails (one run in about a hundred
    did under a load of 27, before its stderr was kept: said, not hidden)."""
    try:
        return py_stack_run(*args, **kw)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print("bench: one more run after: %s" % e, file=sys.stderr)
        return py_stack_run(*args, **kw)


def py_stack_cost(gilscope, bpftool, py, reps, depths=(1, 8, 16, 32), secs=2.0):
    """The BPF cost of one Python stack by depth, from the kernel's own
    accounting of py_sample, the holder sampler: it does little besides
    the walk (a map lookup, one read for the holder's thread state, a
    ring buffer record).  Its runs that find no holder (the other CPU, or
    idle) cost the same at every depth; their cost is measured on its
    own, with the workload's threads asleep (no holder: no stack read),
    and taken out: us a stack = (run time - runs without a stack x that
    cost) / stacks, over all @reps runs of a depth (a cost per run is a
    mean already: run_time_ns / run_cnt), and the fastest run's.  Also the
    GIL wait uprobe's (cond_wait) cost a run, which reads the waiter's
    stack and, once a millisecond, the holder's.  Runs interleave by
    depth; stacks and runs are medians of a run's."""
    per = {d: [] for d in depths}
    idle, cond = [], {d: [0, 0] for d in depths}
    for _ in range(reps):
        st, s = py_stack_run_retried(gilscope, bpftool, py, depths[-1], secs, sleep=True)
        t, c = st.get("py_sample", (0, 0))
        idle.append((t, c, s))
        for dep in depths:
            st, s = py_stack_run_retried(gilscope, bpftool, py, dep, secs)
            t, c = st.get("py_sample", (0, 0))
            per[dep].append((t, c, s))
            ct, cc = st.get("cond_wait", (0, 0))
            cond[dep][0] += ct
            cond[dep][1] += cc
    # a run that reads no stack: the sleeping runs' mean
    no_stack = sum(t for t, _, _ in idle) / max(1, sum(c for _, c, _ in idle))
    rows = []
    for dep in depths:
        T, C, S = (sum(x[i] for x in per[dep]) for i in range(3))
        us = [(t - (c - s) * no_stack) / s / 1e3 for t, c, s in per[dep] if s]
        rows.append((dep, statistics.median([s for _, _, s in per[dep]]),
                     statistics.median([c for _, c, _ in per[dep]]),
                     T / max(C, 1) / 1e3, (T - (C - S) * no_stack) / max(S, 1) / 1e3, min(us),
                     cond[dep][0] / cond[dep][1] / 1e3 if cond[dep][1] else float("nan")))
    # least squares over the depths: us a frame, and a stack's
    # fixed part (the record, the thread state's reads)
    xs, ys = [r[0] for r in rows], [r[4] for r in rows]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return {"no_stack_us": no_stack / 1e3,
            "idle_runs": statistics.median([c for _, c, _ in idle]),
            "idle_stacks": statistics.median([s for _, _, s in idle]),
            "rows": rows, "per_frame_us": slope, "fixed_us": my - slope * mx}


def stack_rate(gilscope, cmd):
    """Python stacks gilscope reads a second of a traced run of @cmd (at
    the default depth), by its report: waits', holders' and samples'."""
    d = tempfile.mkdtemp(prefix="gilscope-bench-")
    rep = os.path.join(d, "r.json")
    try:
        subprocess.run([gilscope, "--json", rep, "--"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True, timeout=300)
        with open(rep) as f:
            j = json.load(f)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return j["gil"]["python_stacks"]["stacks"] / (j["target"]["duration_ns"] / 1e9)


def print_py_stack_cost(label, r, hz=499):
    print("%-44s %5s %8s %8s %10s %10s %9s %13s" % (
        "BPF cost of a Python stack (%s)" % label, "depth", "stacks", "runs",
        "us/run", "us/stack", "fastest", "cond_wait/run"))
    print("%-44s %5s %8d %8d %10.3f %10s %9s %13s" % (
        "  py_sample, no holder (threads asleep)", "-", r["idle_stacks"], r["idle_runs"],
        r["no_stack_us"], "-", "-", "-"))
    for dep, s, c, run_us, us, mn, cw in r["rows"]:
        print("%-44s %5d %8d %8d %10.3f %10.3f %9.3f %10.3f us" % (
            "  py_sample, holder 40+ frames deep", dep, s, c, run_us, us, mn, cw))
    deep = r["rows"][-1]
    print("  per frame %.3f us (slope over depths %s); a stack's fixed part %.2f us;"
          % (r["per_frame_us"], ",".join(str(x[0]) for x in r["rows"]), r["fixed_us"]))
    print("  a %d-frame stack: %.2f us more than a run that reads none; at %d Hz, %.2f%% of "
          "the holder's CPU" % (deep[0], deep[4] - r["no_stack_us"], hz, deep[4] * hz / 1e4))


def demo_ratios(b, reps):
    """The demos' wall-time comparisons (quick mode, their --summary), which
    the test suite leaves alone: which of two timed runs finishes first is
    the scheduler's on a shared machine.  [(what, [ratio per run])]"""
    demo = os.path.join(os.path.dirname(os.path.dirname(HERE)), "demo")
    got = {}
    env = dict(os.environ, GILSCOPE_BUILD=b)
    for _ in range(reps):
        for name, figures in (
                ("1-split-loop.py", lambda s: [("demo 1: 2 threads / 1 thread, same work",
                                                s["ratio"])]),
                ("2-fib-threads.py", lambda s: [
                    ("demo 2: 2 threads / 1 (2x the work)", s["wall_ns"]["2"] / s["wall_ns"]["1"]),
                    ("demo 2: 4 threads / 1 (4x the work)", s["wall_ns"]["4"] / s["wall_ns"]["1"])]),
                ("3-convoy.py", lambda s: [("demo 3: trip at 5 ms / at 0.5 ms interval",
                                            s["mean_trip_ns"]["5ms"] / s["mean_trip_ns"]["0.5ms"])]),
                ("4-processes.py", lambda s: [("demo 4: 2 processes / 2 threads",
                                               s["processes_wall_ns"] / s["threads_wall_ns"])]),
                # not a ratio: the racy mode's lost updates by the workload's
                # own count (whether its threads raced is the scheduler's)
                ("5-refcount-race.py", lambda s: [("demo 5: updates lost without the GIL",
                                                   s["no GIL, plain counts"]["lost_truth"])])):
            with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
                subprocess.run([sys.executable, os.path.join(demo, name), "--quick", "--summary",
                                f.name], stdout=subprocess.DEVNULL, check=True, env=env)
                for what, ratio in figures(json.load(f)):
                    got.setdefault(what, []).append(ratio)
    return list(got.items())


SECTIONS = ("locks", "python", "pystack", "attach", "capacity", "recordings", "demos")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", metavar="SECTION[,SECTION]",
                    help="run only these parts: " + ", ".join(SECTIONS))
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else set(SECTIONS)
    if only - set(SECTIONS):
        ap.error("--only: unknown section %s (known: %s)"
                 % (", ".join(sorted(only - set(SECTIONS))), ", ".join(SECTIONS)))
    if os.geteuid() != 0:
        sys.exit("bench: tracing needs root: sudo make bench")
    load0 = os.getloadavg()[0]   # other work on the machine: part of every figure
    b = os.path.abspath(a.build)
    g = os.path.join(b, "gilscope")
    hot = os.path.join(b, "tests", "hotlock")
    have_bt = shutil.which("bpftrace") is not None
    libc = libc_path()
    pm = [bpftrace_mode(PMLOCK % {"libc": libc})] if have_bt and libc else []
    pm_modes = [("bpftrace pmlock/pmheld", pm[0])] if pm else []
    rows = []
    per_hit = []
    if "locks" in only:
        # bpftrace's pmlock on 2M ops would take minutes: 200k for that row
        lock_modes = [("--locks=contended", []), ("--summary", ["--summary"]),
                      ("--locks=all", ["--locks=all"]),
                      ("--locks=all --summary", ["--locks=all", "--summary"])]
        rows += bench("hotlock contended (2 threads, 1 mutex, 2M ops each)",
                      [hot, "-t", "2", "-n", "2000000"], lock_modes, g, a.reps)
        rows += bench("hotlock contended (2 threads, 1 mutex, 200k ops each)",
                      [hot, "-t", "2", "-n", "200000"],
                      [("--locks=all", ["--locks=all"]),
                       ("--locks=all --summary", ["--locks=all", "--summary"])] + pm_modes,
                      g, a.reps)
        unc = bench("hotlock uncontended (2 threads, own mutexes, 2M ops each)",
                    [hot, "-t", "2", "-n", "2000000", "-u"], lock_modes, g, a.reps)
        rows += unc
        # each thread runs on its own CPU: its 2M lock/unlock pairs are 4M probe hits
        base = [r for r in unc if r[1] == "untraced"][0][3]
        per_hit = [(r[1], (r[3] - base) * 1e3 / 4e6) for r in unc if "locks=all" in r[1]]
    wl = os.path.join(HERE, "..", "workloads")
    pythons = []
    if os.path.exists("/usr/bin/python3"):
        pythons.append(("/usr/bin/python3", None))
    py11, lib11 = pyenv_python(11)
    if py11:
        pythons.append((py11, lib11))
    for py, lib in pythons if "python" in only else []:
        # the default reads Python stacks (32 frames deep); depth 0 reads
        # none, 8 fewer: their ratios against each other are the stacks'
        # cost, and by depth the cost of a frame
        gil_modes = [("GIL traced", []), ("GIL, stacks 8 deep", ["--python-depth=8"]),
                     ("GIL, no Python stacks", ["--python-depth=0"]),
                     ("GIL --summary", ["--summary"])]
        if have_bt and lib:     # Debian's python3 is stripped: no take_gil
            gil_modes.append(("bpftrace take/drop_gil", bpftrace_mode(GILBT % {"lib": lib})))
        label = py if py.startswith("/usr") else "pyenv " + os.path.basename(py)
        rows += bench("CPython fib, 4 threads (%s)" % label,
                      [py, os.path.join(wl, "fib_threads.py"), "4", "27"],
                      gil_modes, g, a.reps, key="phase")
        rows += bench("CPython 200k small reads, GIL dropped per call (%s)" % label,
                      [py, os.path.join(wl, "small_reads.py"), "200000"],
                      gil_modes, g, a.reps)
        rows += bench("CPython ThreadingHTTPServer, /cpu + /io routes (%s)" % label,
                      [py, os.path.join(wl, "http_routes.py"), "20", "2"],
                      gil_modes, g, a.reps)
    demo = os.path.join(b, "gildemo")
    if os.path.exists(demo) and "python" in only:
        rows += bench("gildemo (2 CPU threads under its GIL)",
                      [demo, "--threads", "2", "--work", "100000000", "--json", "-"],
                      [("GIL traced", []), ("GIL --summary", ["--summary"])], g, a.reps)
    if rows:
        print("%-56s %-22s %9s %10s %8s %8s" % ("workload", "mode", "min ms", "median ms",
                                                 "ratio", "min/min"))
    for r in rows:
        print("%-56.56s %-22s %9.1f %10.1f %7.2fx %7.2fx" % r)
    if not have_bt and rows:
        print("(bpftrace is not installed: its rows are missing; apt-get install bpftrace)")
    if per_hit:
        print("per uprobe hit, hotlock uncontended: " + ", ".join(
            "%s %.2f us" % m for m in per_hit) +
            " (floor: ~0.6 us emulated, ~12 us single-stepped)")

    if "pystack" in only:
        bpftool = os.environ.get("BPFTOOL") or "bpftool"
        bpftool = shutil.which(bpftool)
        why = bpf_stats_missing(bpftool)
        if rows:
            print()
        if why:
            print("BPF cost of a Python stack: skipped: " + why)
        else:
            with BpfStats():
                for py, _ in pythons:
                    label = py if py.startswith("/usr") else "pyenv " + os.path.basename(py)
                    r = py_stack_cost(g, bpftool, py, a.reps)
                    print_py_stack_cost(label, r)
                    # what that comes to on the ratio rows' workloads
                    us = r["rows"][-1][4]
                    print("  at %.2f us a stack, the stacks read a second of (default depth):"
                          % us)
                    for what, cmd in (
                            ("fib, 4 threads", [py, os.path.join(wl, "fib_threads.py"), "4",
                                                "27"]),
                            ("ThreadingHTTPServer routes",
                             [py, os.path.join(wl, "http_routes.py"), "20", "2"])):
                        n = stack_rate(g, cmd)
                        print("    %-30s %7.0f stacks/s, %.2f%% of a CPU" % (what, n,
                                                                          n * us / 1e4))

    if "attach" in only:
        print()
        print("attach / detach (gilscope -p PID; detach = SIGINT to exit, report included):")
        print("%-44s %12s %9s %12s %9s" % ("target", "attach med", "min", "detach med", "min"))
        targets = [("hotlock (default mode)", [hot, "-t", "2", "-n", "2000000000"], [])]
        targets.append(("hotlock --locks=all", [hot, "-t", "2", "-n", "2000000000"],
                        ["--locks=all"]))
        for py, _ in pythons:
            targets.append(("CPython fib (%s)" % os.path.basename(py),
                            [py, os.path.join(wl, "fib_threads.py"), "2", "d30"], []))
        for name, cmd, args in targets:
            print("%-44s %9.1f ms %6.1f ms %9.1f ms %6.1f ms"
                  % attach_detach(name, cmd, args, g, max(3, a.reps)))

    if "capacity" in only:
        print()
        print("collector capacity: hotlock -w (futex wake storm, one record a call), "
              "3M calls a thread:")
        print("%8s %12s %12s %14s %10s" % ("threads", "ring buffer", "recorded", "events/s",
                                           "lost"))
        for threads, mb, rec, rate, lost in capacity(hot, g):
            print("%8d %9d MB %12d %14.0f %10d" % (threads, mb, rec, rate, lost))

    if "recordings" in only:
        print()
        print("recordings (gilscope record, then gilscope report on the file):")
        print("%-40s %10s %9s %10s %12s %8s %9s" % ("run", "events", "MB", "bytes/ev",
                                                  "report Mev/s", "report", "peak RSS"))
        recs = [recording("hotlock --locks=all, 2 threads x 1.5M ops",
                          [hot, "-t", "2", "-n", "1500000"], ["--locks=all", "--gil=off"], g)]
        if os.path.exists(demo):
            recs.append(recording("gildemo, 4 threads, 2 s (GIL)",
                                  [demo, "--threads", "4", "--duration", "2", "--json",
                                   "/dev/null"], [], g))
        for r in recs:
            print("%-40s %10d %9.1f %10.1f %12.2f %6.2f s %6.0f MB" % r)

    if "demos" in only:
        print()
        print("the demos' wall-time ratios (quick mode, %d runs; a GIL keeps threads near"
              % a.reps)
        print("1x the work's one-thread time, processes near 0.5x on 2 idle CPUs), and the")
        print("updates demo 5's racy mode lost (more than 0 when its threads ran at once):")
        print("%-46s %8s %8s %8s" % ("", "min", "median", "max"))
        for what, rs in demo_ratios(b, a.reps):
            print("%-46s %8.2f %8.2f %8.2f" % (what, min(rs), statistics.median(rs), max(rs)))

    print()
    print("machine: %s, %d CPUs, kernel %s; load average %.1f at the start, %.1f at the end"
          % (os.uname().nodename, os.cpu_count(), os.uname().release, load0,
             os.getloadavg()[0]))


if __name__ == "__main__":
    main()
