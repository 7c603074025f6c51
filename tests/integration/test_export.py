# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Exports of a recording: Perfetto/Chrome JSON, CSV and SVG, checked by
parsing them, not by eye."""
import csv
import json
import os
import subprocess
import xml.dom.minidom

from common import BUILD, GILSCOPE, require_root_bpf, tmpdir, workload


def gs(args):
    return subprocess.run([GILSCOPE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)


def recording(d):
    f = os.path.join(d, "run.gst")
    truth = os.path.join(d, "truth.json")
    r = gs(["record", "-o", f, "--locks=all", "--", os.path.join(BUILD, "gildemo"),
            "--threads", "3", "--duration", "0.6", "--json", truth])
    assert r.returncode == 0, r.stderr
    with open(truth) as fh:
        return f, json.load(fh)


def test_perfetto_json_is_well_formed_and_paired():
    require_root_bpf()
    d = tmpdir()
    f, truth = recording(d)
    out = os.path.join(d, "run.json")
    r = gs(["export", f, "--format", "perfetto", "-o", out])
    assert r.returncode == 0, r.stderr
    with open(out) as fh:
        text = fh.read()
    assert text.startswith('{"displayTimeUnit"'), text[:40]
    ev = json.loads(text)["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
             if e["ph"] == "M" and e["name"] == "thread_name"}
    tids = {t["tid"] for t in truth["threads"]}
    for t in truth["threads"]:
        assert names[(truth["pid"], t["tid"])] == t["name"], names
    # every slice is complete ("X" with a duration) and non-negative
    slices = [e for e in ev if e["ph"] == "X"]
    assert all(e["dur"] >= 0 for e in slices)
    holds = [e for e in slices if e["name"] == "holding GIL"]
    assert len(holds) == truth["acquisitions"], (len(holds), truth["acquisitions"])
    # one holder at a time: the holding slices never overlap
    holds.sort(key=lambda e: e["ts"])
    for a, b in zip(holds, holds[1:]):
        assert a["ts"] + a["dur"] <= b["ts"] + 0.0015, (a, b)
    # flows: each bind_id once out (on the releaser), once in (on the taker)
    outs = {e["bind_id"]: e for e in slices if e.get("flow_out")}
    ins = {e["bind_id"]: e for e in slices if e.get("flow_in")}
    assert outs and set(outs) == set(ins), (len(outs), len(ins))
    for k in outs:
        assert outs[k]["ts"] <= ins[k]["ts"]
        assert outs[k]["tid"] in tids and ins[k]["tid"] in tids
    counters = [e for e in ev if e["ph"] == "C"]
    assert counters and all(0 <= e["args"]["waiting"] <= len(tids) for e in counters)
    assert counters[-1]["args"]["waiting"] == 0
    # the GIL's own mutex and condvars are the GIL's slices ("holding
    # GIL" above), never a lock's as well: nothing is counted twice
    assert not any(e["name"].startswith("hold gildemo:gildemo_gil") or
                   e["name"].startswith("wait gildemo:gildemo_gil") for e in slices)


def test_csv_has_every_event_in_time_order():
    require_root_bpf()
    d = tmpdir()
    f, truth = recording(d)
    out = os.path.join(d, "ev.csv")
    r = gs(["export", f, "--format", "csv", "-o", out])
    assert r.returncode == 0, r.stderr
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    acq = [r for r in rows if r["event"] == "gil_acquired"]
    assert len(acq) == truth["acquisitions"]
    rep = gs(["report", f, "--json", os.path.join(d, "r.json")])
    with open(os.path.join(d, "r.json")) as fh:
        assert len(rows) == json.load(fh)["events"]["recorded"]


def test_svg_is_a_picture_of_the_threads():
    require_root_bpf()
    d = tmpdir()
    f, truth = recording(d)
    out = os.path.join(d, "t.svg")
    r = gs(["export", f, "--format", "svg", "-o", out])
    assert r.returncode == 0, r.stderr
    doc = xml.dom.minidom.parse(out)
    texts = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild)
    for t in truth["threads"]:
        assert t["name"] in texts
    greens = [e for e in doc.getElementsByTagName("rect") if e.getAttribute("fill") == "#2ca02c"]
    assert len(greens) == truth["acquisitions"] + 1  # + the legend's swatch


def test_export_bad_input():
    d = tmpdir()
    r = gs(["export", os.path.join(d, "missing.gst"), "--format", "svg", "-o",
            os.path.join(d, "x.svg")])
    assert r.returncode == 1 and "No such file" in r.stderr
    assert not os.path.exists(os.path.join(d, "x.svg"))
    assert [f for f in os.listdir(d)] == []
    r = gs(["export", "x.gst", "--format", "png", "-o", "y"])
    assert r.returncode == 2 and "--format" in r.stderr
    r = gs(["export", "x.gst"])
    assert r.returncode == 2
