# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The sample traces in traces/ report what their golden reports say,
without root (gilscope report needs no privileges)."""
import glob
import json
import os
import shutil
import subprocess

from common import GILSCOPE, Skip, tmpdir

TRACES = os.path.join(os.path.dirname(__file__), "..", "..", "traces")


def test_golden_reports():
    gsts = sorted(glob.glob(os.path.join(TRACES, "*.gst")))
    if not gsts:
        raise Skip("no sample traces in traces/")
    for g in gsts:
        assert os.path.getsize(g) < 1 << 20, "%s is over 1 MB" % g
        golden = g[:-4] + ".report.txt"
        with open(golden) as f:
            want = f.read()
        r = subprocess.run([GILSCOPE, "report", g], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60,
                           env=dict(os.environ, COLUMNS="100"))
        assert r.returncode == 0, (g, r.stderr)
        assert r.stdout == want, "%s: report differs from %s" % (g, golden)


def test_golden_json_reports():
    gsts = sorted(glob.glob(os.path.join(TRACES, "*.gst")))
    if not gsts:
        raise Skip("no sample traces in traces/")
    d = tmpdir()
    try:
        for g in gsts:
            with open(g[:-4] + ".report.json") as f:
                want = json.load(f)
            out = os.path.join(d, os.path.basename(g) + ".json")
            r = subprocess.run([GILSCOPE, "report", g, "--json", out],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, timeout=60)
            assert r.returncode == 0, (g, r.stderr)
            with open(out) as f:
                got = json.load(f)
            assert got == want, "%s: JSON report differs from its golden file" % g
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_sample_traces_show_what_the_readme_says():
    gsts = {os.path.basename(p)[:-4] for p in glob.glob(os.path.join(TRACES, "*.gst"))}
    if not {"convoy-cpython", "fib4-cpython", "gildemo", "hotlock"} <= gsts:
        raise Skip("sample traces missing")
    with open(os.path.join(TRACES, "convoy-cpython.report.txt")) as f:
        assert "Convoy: thread" in f.read()
    with open(os.path.join(TRACES, "hotlock.report.txt")) as f:
        assert "hotlock:hot_lock" in f.read()
    for n in ("fib4-cpython", "gildemo", "convoy-cpython"):
        with open(os.path.join(TRACES, n + ".report.txt")) as f:
            assert ", 0 missed" in f.read(), n
