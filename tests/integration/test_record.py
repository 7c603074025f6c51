# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Record, then report later: the same analysis path, the same output."""
import json
import os
import pwd
import shutil
import subprocess

from common import (BUILD, GILSCOPE, Skip, copy_for_user, drop_to, parse_json_stdout,
                    require_root_bpf, tmpdir, workload)

ENV = dict(os.environ, COLUMNS="120")


def gs(args, **kw):
    return subprocess.run([GILSCOPE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=ENV, **kw)


def report_part(out):
    """gilscope's report, without the workload's JSON printed before it."""
    if out.startswith("gilscope "):
        return out
    return out[out.index("\ngilscope ") + 1:]


def test_report_prints_what_the_live_run_printed():
    require_root_bpf()
    d = tmpdir()
    f = os.path.join(d, "run.gst")
    for extra in ([], ["--locks=all"]):
        if os.path.exists(f):
            os.unlink(f)
        live = gs(["-o", f] + extra + ["--", workload("lockholder"), "-r", "5"])
        assert live.returncode == 0, live.stderr
        rep = gs(["report", f])
        assert rep.returncode == 0, rep.stderr
        assert report_part(live.stdout) == rep.stdout, \
            "live and report differ:\n%s\n----\n%s" % (report_part(live.stdout), rep.stdout)
        assert "lockholder:table_lock" in rep.stdout


def test_record_gildemo_then_report_json_without_root():
    require_root_bpf()
    d = tmpdir()
    f = os.path.join(d, "demo.gst")
    truth_path = os.path.join(d, "truth.json")
    r = gs(["record", "-o", f, "--", os.path.join(BUILD, "gildemo"), "--threads", "2",
            "--duration", "1", "--json", truth_path])
    assert r.returncode == 0, r.stderr
    assert "recorded" in r.stderr and r.stdout == "", (r.stdout, r.stderr)
    assert os.stat(f).st_mode & 0o777 == 0o600
    with open(truth_path) as fh:
        truth = json.load(fh)
    # analysed elsewhere, without root: copies of gilscope and the
    # recording that nobody can reach wherever the clone lives (a 0700
    # home too), in a directory of nobody's, where the report goes
    nobody = pwd.getpwnam("nobody")
    nd, gilscope, (copy,) = copy_for_user(nobody, f)
    out = os.path.join(nd, "report.json")
    rep = subprocess.run([gilscope, "report", copy, "--json", out], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=drop_to(nobody),
                         timeout=60)
    assert rep.returncode == 0, rep.stderr
    assert os.stat(out).st_uid == nobody.pw_uid, "the report was not written by nobody"
    with open(out) as fh:
        j = json.load(fh)
    shutil.rmtree(nd)
    assert j["gil"]["acquisitions"] == truth["acquisitions"], (j["gil"], truth["acquisitions"])
    assert j["gil"]["missed"] == 0
    assert j["target"]["ended_by"] == "command exited"


def test_damaged_and_foreign_files():
    require_root_bpf()
    d = tmpdir()
    f = os.path.join(d, "run.gst")
    r = gs(["-o", f, "--", workload("lockholder"), "-r", "5"])
    assert r.returncode == 0, r.stderr
    size = os.path.getsize(f)
    cut = os.path.join(d, "cut.gst")
    with open(f, "rb") as a, open(cut, "wb") as b:
        b.write(a.read(size - 40))
    rep = gs(["report", cut])
    assert rep.returncode == 4, (rep.returncode, rep.stderr)
    assert "recording damaged" in rep.stdout or "incomplete" in rep.stdout, rep.stdout
    assert "byte" in rep.stderr and cut in rep.stderr
    for name, data in (("empty.gst", b""), ("text.gst", b"hello world " * 10),
                       ("future.gst", b"GILSCOPE\x09\x00\x00\x00\x40" + b"\0" * 55)):
        p = os.path.join(d, name)
        with open(p, "wb") as fh:
            fh.write(data)
        rep = gs(["report", p])
        assert rep.returncode == 1, (name, rep.returncode, rep.stderr)
        lines = rep.stderr.strip().splitlines()
        assert len(lines) == 1 and p in lines[0], (name, rep.stderr)
    rep = gs(["report", d])
    assert rep.returncode == 1 and "not a regular file" in rep.stderr
    rep = gs(["report", os.path.join(d, "missing.gst")])
    assert rep.returncode == 1 and "No such file" in rep.stderr
    rep = gs(["report"])
    assert rep.returncode == 2 and "needs a trace file" in rep.stderr


def test_refcount_report_prints_what_the_live_run_printed():
    """The refcount section too goes through the one analysis path: the
    recording's report is the live run's, and its JSON figures match."""
    require_root_bpf()
    d = tmpdir()
    f = os.path.join(d, "ref.gst")
    for attempt in (1, 2):
        live = gs(["refcount", "--object", "gildemo_objects,gildemo_objects+64", "-o", f,
                   "--force", "--", os.path.join(BUILD, "gildemo"), "--threads", "2",
                   "--duration", "0.5", "--objects", "2", "--gil", "off", "--refops", "split",
                   "--json", "/dev/null"])
        assert live.returncode == 0, live.stderr
        if "ended by command killed by signal 5" not in live.stdout:
            break
        print("the target was killed by SIGTRAP (unclaimed watchpoint trap): again")
    else:
        raise Skip("the kernel killed the target with SIGTRAP under watchpoints twice in "
                   "a row (see the README's refcount section)")
    rep = gs(["report", f])
    assert rep.returncode == 0, rep.stderr
    assert report_part(live.stdout) == rep.stdout, \
        "live and report differ:\n%s\n----\n%s" % (report_part(live.stdout), rep.stdout)
    assert "Refcount writes" in rep.stdout and "gildemo_objects+64 at 0x" in rep.stdout
