#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Demo 6: the same workload on every Python here, and what changes.

Two threads doing `x = None` for a moment, on Debian's python3, each pyenv
build, the sid root's python3.13-3.15 (run under chroot, as stripped
distro builds of today) and nogil (Sam Gross's free-threaded 3.9, when
tests/pythons/ has built them): gilscope attaches to each by pid, traces
the GIL and watches None's reference count.  Up to 3.11 None is an
ordinary object whose count every thread writes, with the GIL held; 3.12
made it immortal (PEP 683): no writes at all.  nogil has no GIL at all.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demolib as d  # noqa: E402


def say_code(codes):
    """Which function the workload's threads held the GIL in, where they
    waited and what the holder ran meanwhile, each Python with the same
    ones in one clause (by version; 3.8 - 3.10 name a function by its
    code's name, without its class or enclosing function)."""
    groups, none = {}, []
    for py, rep, tids in codes:
        why = d.no_stacks(rep)
        if why:
            none.append("%s (%s)" % (py.label, "no GIL section" if not rep.get("gil") else why))
            continue
        for c in d.python_code(rep, tids):
            key = tuple(d.ident(c[k][0]) if c[k] else None
                        for k in ("held", "waited_in", "waited_for"))
            g = groups.setdefault(key, {"versions": [], "held": [], "waited_in": [],
                                        "waited_for": [], "samples": 0})
            if py.version not in g["versions"]:
                g["versions"].append(py.version)
            g["samples"] += c["samples"]
            for k in ("held", "waited_in", "waited_for"):
                if c[k]:
                    g[k].append(c[k][0])
    w, parts = d.Words(), []
    for key, g in groups.items():
        s = "on %s the threads" % d.and_list(g["versions"])
        if key[0]:
            s += " held the GIL in %s (%s of held time, %s)" % (
                w.code(g["held"]), d.shares([x["share"] for x in g["held"]]),
                d.plural(g["samples"], "sample"))
        else:
            s += " were never sampled holding the GIL"
        if key[1]:
            s += " and waited in %s (%s of waiting)" % (
                w.code(g["waited_in"]), d.shares([x["share"] for x in g["waited_in"]]))
        if key[2]:
            s += " while another thread ran %s (%s of it)" % (
                w.code(g["waited_for"]), d.shares([x["share"] for x in g["waited_for"]]))
        parts.append(s)
    if none:
        parts.append("none named on %s" % d.and_list(none))
    d.say("Python code, as gilscope read it: %s." % "; ".join(parts))


def main():
    a = d.parse_args(__doc__)
    d.need_root()
    secs = "0.3" if a.quick else "1"
    work = os.path.join(d.WORKLOADS, "refcount_none.py")
    rows, summary, notes, codes = [], {}, [], []
    # the container mode runs the same interpreters as the chroot: one row each
    pys = [p for p in d.by_version(d.pythons()) if p.mode != "container"]
    for py in pys:
        if not py.has_gil:
            # a free-threaded build's objects have another header (a local
            # and a shared count): no None to watch the same way
            rep, truth, text = d.traced_by_pid(py, work, ["2", secs])
            note = [l for l in text.splitlines() if l.startswith("GIL")]
            notes.append("%s: %s" % (py.label, note[0][5:] if note else "no GIL line"))
            loops = sum(t["loops"] for t in truth["threads"])
            rows.append((py.label, "none (no GIL)", "-", "-", "%.0f" % (loops / float(secs)), "-"))
            summary[py.label] = {"gil": False, "gil_line": note[0] if note else None,
                                 "loops": loops, "code": d.code_summary(rep)}
            codes.append((py, rep, None))
            continue
        rep, truth, _ = d.traced_by_pid(py, work, ["2", secs],
                                        args=["refcount", "--object", "None"])
        o = rep["refcount"]["objects"][0]
        g = rep.get("gil")
        tids = {t["tid"] for t in truth["threads"]}
        ts = d.gil_threads(rep, tids)
        loops = sum(t["loops"] for t in truth["threads"])
        rows.append((py.label, g["method"] if g else "-", "%.0f" % o["writes_per_s"],
                     o["writes_without_gil"] if o["writes_without_gil"] is not None else "-",
                     "%.0f" % (loops / float(secs)), sum(t["acquisitions"] for t in ts)))
        summary[py.label] = {"gil": True, "version": py.version, "gil_found": g is not None,
                             "none_writes": o["writes"], "none_writes_per_s": o["writes_per_s"],
                             "without_gil": o["writes_without_gil"], "loops": loops,
                             # which Python code held the GIL and waited (the
                             # test suite checks it is refcount_none.py's work)
                             "code": d.code_summary(rep, tids)}
        codes.append((py, rep, tids))
    print("2 threads doing `x = None`, traced, None's refcount watched:")
    d.table(("PYTHON", "GIL FOUND BY", "NONE WRITES/S", "WITHOUT GIL", "LOOPS/S", "GIL ACQ"),
            rows)
    for n in notes:
        print("  " + n)
    say_code(codes)
    print()
    print("Through 3.11, every `x = None` writes None's reference count twice (take the")
    print("new reference, drop the old one), always with the GIL held (WITHOUT GIL 0).")
    print("From 3.12, None is immortal: Py_INCREF and Py_DECREF see its special count")
    print("and skip the write, so threads sharing None no longer fight over its cache")
    print("line - a step towards the free-threaded build.  nogil is one: no GIL for")
    print("gilscope to find, and its threads run Python at once.  (LOOPS/S is slow under")
    print("the watchpoint where writes happen: each write costs a debug trap.)")
    for what, why in d.find_all()[1]:
        print("(not here: %s)" % why)
    d.write_summary(a.summary, summary)


if __name__ == "__main__":
    main()
