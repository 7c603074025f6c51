# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What the teaching demos share: finding gilscope and the Pythons, running
a workload under gilscope, reading both sides' JSON, printing tables.

Every figure a demo prints comes from gilscope's JSON report or from the
workload's own measurements (its stdout JSON), never from canned text."""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("GILSCOPE_BUILD", os.path.join(ROOT, "build"))
GILSCOPE = os.path.join(BUILD, "gilscope")
GILDEMO = os.path.join(BUILD, "gildemo")
WORKLOADS = os.path.join(ROOT, "tests", "workloads")


def parse_args(doc):
    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="shorter runs (the test suite uses this)")
    ap.add_argument("--summary", metavar="FILE",
                    help="write the demo's key figures as JSON to FILE")
    ap.add_argument("--svg", metavar="DIR",
                    help="also save each traced run's timeline as DIR/NAME.svg")
    return ap.parse_args()


def need_root():
    if os.geteuid() != 0:
        sys.exit("demo: tracing needs root: run it with sudo")
    if not os.access(GILSCOPE, os.X_OK):
        sys.exit("demo: %s is not built: run 'make' first" % GILSCOPE)


def pythons():
    """[(version, path)] of every CPython 3.8-3.13 here, found at run time:
    Debian's python3 first, then pyenv's.  (The tests find them here too.)"""
    found, seen = [], set()
    cands = ["/usr/bin/python3"]
    for root in (os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"),
                 "/root/.pyenv"):
        if root:
            cands += sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python3.*")))
    for p in cands:
        if not re.search(r"python3(\.\d+)?$", p) or not os.access(p, os.X_OK):
            continue
        real = os.path.realpath(p)
        if real in seen:
            continue
        r = subprocess.run([p, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if r.returncode or not (8 <= int(r.stdout.split(".")[1]) <= 13):
            continue
        seen.add(real)
        found.append((r.stdout.strip(), p))
    return found


def by_version(pys):
    return sorted(pys, key=lambda f: tuple(int(x) for x in f[0].split(".")))


def a_python():
    """Debian's python3 when there is one, else the first found."""
    pys = pythons()
    if not pys:
        sys.exit("demo: no CPython 3.8-3.13 on this machine")
    return pys[0]


def first_json(text):
    """The workload's own JSON line from a stdout that gilscope's report
    follows."""
    try:
        start = text.index("{")
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None     # the workload wrote its JSON elsewhere
    return obj


# exit status of a demo that could not run because the kernel kept killing
# the watched target (the test suite counts it as a skip, with the reason)
EXIT_WATCHPOINT_KILLED = 75


def traced(cmd, args=(), svg=None, name="run"):
    """Runs cmd under gilscope; returns (report dict, workload JSON, text
    report).  With svg=DIR, the run is also recorded and exported as
    DIR/name.svg.  A run with watchpoints whose target the kernel killed
    with SIGTRAP (see the README's refcount section) is run again."""
    for _ in range(3):
        got = traced_once(cmd, args, svg, name)
        if got[0]["target"]["ended_by"] != "command killed by signal 5":
            return got
        print("(the kernel killed the watched program with SIGTRAP - an unclaimed "
              "watchpoint trap, see the README; running it again)")
    print("demo: the kernel killed the watched program three times in a row",
          file=sys.stderr)
    sys.exit(EXIT_WATCHPOINT_KILLED)


def traced_once(cmd, args, svg, name):
    d = tempfile.mkdtemp(prefix="gilscope-demo-")
    try:
        rep_path = os.path.join(d, "report.json")
        full = [GILSCOPE] + list(args) + ["--json", rep_path]
        if svg:
            full += ["-o", os.path.join(d, "run.gst")]
        r = subprocess.run(full + ["--"] + list(cmd), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("demo: gilscope exited %d:\n%s" % (r.returncode, r.stderr))
        with open(rep_path) as f:
            rep = json.load(f)
        if svg:
            os.makedirs(svg, exist_ok=True)
            subprocess.run([GILSCOPE, "export", os.path.join(d, "run.gst"), "--format", "svg",
                            "-o", os.path.join(svg, name + ".svg"), "--force"], check=True)
        return rep, first_json(r.stdout), r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def gil_threads(rep, tids=None):
    """The report's GIL threads, in tid order (only those in @tids)."""
    ts = rep["gil"]["threads"] if rep.get("gil") else []
    return [t for t in ts if tids is None or t["tid"] in tids]


def pct(part, whole):
    return 100.0 * part / whole if whole else 0.0


def ms(ns):
    return "%.1f ms" % (ns / 1e6)


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  " + "  ".join(str(h).rjust(w) for h, w in zip(headers, widths)))
    for r in rows:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(r, widths)))


def timeline(text):
    """The timeline part of gilscope's text report."""
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("Timeline"):
            out = []
            for l2 in lines[i:]:
                if not l2.strip() and out:
                    break
                out.append(l2)
            return "\n".join(out)
    return ""


def write_summary(path, summary):
    if path:
        with open(path, "w") as f:
            json.dump(summary, f, indent=1)
