# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What the teaching demos share: finding gilscope and the Pythons, running
a workload under gilscope, reading both sides' JSON, printing tables.

Every figure a demo prints comes from gilscope's JSON report or from the
workload's own measurements (its stdout JSON), never from canned text."""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap

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


# Where tests/pythons/sid-root.sh and build-nogil.sh keep what they make
# (outside the clone, kept between runs; the finder never makes them).
CACHE = os.environ.get("GILSCOPE_CACHE", "/var/cache/gilscope")
SID_ROOT = os.path.join(CACHE, "sid-root")
NOGIL = os.path.join(CACHE, "nogil")
IN_CONTAINER = os.path.join(ROOT, "tests", "pythons", "in-container.sh")
# where a root's Pythons see this clone's workloads (one directory per clone)
STAGE = "/opt/gilscope/%s-%s" % (os.path.basename(ROOT),
                                 hashlib.sha1(os.path.realpath(ROOT).encode()).hexdigest()[:8])
_PROBE = ("import sys; print('%d.%d.%d' % sys.version_info[:3]); "
          "print(int(bool(getattr(sys.flags, 'nogil', False) or "
          "(hasattr(sys, '_is_gil_enabled') and not sys._is_gil_enabled()))))")


class Python:
    """One interpreter the tests and demos can run a workload on.

    label     "debian-3.11.2", "pyenv-3.13.0", "sid-3.14.10-chroot",
              "sid-3.14.10-container", "nogil-3.9.10"
    version   "3.14.10"; vinfo (3, 14, 10)
    origin    "debian", "pyenv", "sid", "nogil"
    mode      "host" (run as is), "chroot" (chroot ROOT exe: the same mount
              namespace, with a /proc mounted in ROOT once) or "container" (its own mount namespace, ROOT
              bind-mounted on itself and pivot_root'ed into, /proc mounted:
              tests/pythons/in-container.sh)
    exe       the interpreter's path as the launched process sees it
    root      the host directory it runs in (None for "host")
    host_exe  the interpreter's file on the host (root + exe)
    has_gil   False for a free-threaded build (nogil)
    stripped  the executable has no .symtab (distro builds)

    argv(script, *args) is the whole command: launcher, interpreter, the
    script's path inside the root.  path_in(host path) and host_path(path
    inside) map files between the two sides; tmpdir() makes a directory
    both can reach (for files the workload writes)."""

    def __init__(self, origin, version, exe, mode="host", root=None, has_gil=True):
        self.origin, self.version, self.exe, self.mode, self.root = \
            origin, version, exe, mode, root
        self.vinfo = tuple(int(x) for x in version.split("."))
        self.has_gil = has_gil
        self.host_exe = exe if root is None else os.path.join(root, exe.lstrip("/"))
        self.stripped = not elf_has_symtab(self.host_exe)
        self.label = "%s-%s%s" % (origin, version, "" if mode == "host" else "-" + mode)

    def __repr__(self):
        return "<Python %s>" % self.label

    def __getitem__(self, i):
        """The finder's older (label, path) view: python("debian-")[1].
        The path runs as is only for mode "host"."""
        return (self.label, self.exe)[i]

    def launcher(self):
        if self.mode == "chroot":
            return ["chroot", self.root]
        if self.mode == "container":
            return ["unshare", "--mount", "--propagation", "private", IN_CONTAINER, self.root]
        return []

    def cmd(self, *args):
        """The interpreter with arguments taken as they are (-c CODE, ...)."""
        if self.mode == "chroot":
            chroot_proc(self.root)
        return self.launcher() + [self.exe] + [str(a) for a in args]

    def argv(self, script, *args):
        """Runs the host file script with args (strings, passed as they
        are: map paths among them with path_in)."""
        return self.cmd(self.path_in(script), *args)

    def path_in(self, host_path):
        """Where the interpreter sees host_path: itself on the host; inside
        a root, a path under it, or a file of this clone (copied, with the
        .py files beside it, under /opt/gilscope/CLONE-HASH)."""
        p = os.path.realpath(host_path)
        if self.root is None:
            return p
        root = os.path.realpath(self.root)
        if p.startswith(root + "/"):
            return p[len(root):]
        if p.startswith(os.path.realpath(ROOT) + "/"):
            rel = os.path.relpath(p, os.path.realpath(ROOT))
            stage_dir(os.path.dirname(p), os.path.join(root, STAGE.lstrip("/"),
                                                        os.path.dirname(rel)))
            return os.path.join(STAGE, rel)
        raise ValueError("%s is not visible inside %s (put it under the root, e.g. "
                         "in py.tmpdir())" % (host_path, self.root))

    def host_path(self, path):
        """The host's path of a file the interpreter names path."""
        return path if self.root is None else os.path.join(self.root, path.lstrip("/"))

    def tmpdir(self):
        """A fresh directory the interpreter can write to; its host path."""
        base = None if self.root is None else self.host_path("/tmp")
        return tempfile.mkdtemp(prefix="gilscope-", dir=base)


def chroot_proc(root):
    """Mounts /proc in root for its chroot'ed programs, once (as schroot
    would; left mounted: tests/pythons/sid-root.sh unmounts it before it
    remakes a root).  The workloads read their threads' schedstat there."""
    p = os.path.join(root, "proc")
    if not os.path.ismount(p):
        subprocess.run(["mount", "-t", "proc", "proc", p], check=True)


def elf_has_symtab(path):
    """Whether the ELF file at path has a .symtab section (an unstripped build)."""
    try:
        with open(path, "rb") as f:
            h = f.read(64)
            if h[:4] != b"\x7fELF" or h[4] != 2:
                return False
            shoff, = struct.unpack_from("<Q", h, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", h, 0x3a)
            f.seek(shoff)
            sh = f.read(shentsize * shnum)
    except OSError:
        return False
    return any(struct.unpack_from("<I", sh, i * shentsize + 4)[0] == 2   # SHT_SYMTAB
               for i in range(shnum))


def stage_dir(src, dst):
    """Copies src's .py files to dst where they differ (a file at a time,
    through a temporary name: concurrent runs never see half a file)."""
    os.makedirs(dst, exist_ok=True)
    for fn in os.listdir(src):
        if not fn.endswith(".py"):
            continue
        s, t = os.path.join(src, fn), os.path.join(dst, fn)
        with open(s, "rb") as f:
            data = f.read()
        try:
            with open(t, "rb") as f:
                if f.read() == data:
                    continue
        except OSError:
            pass
        tmp = "%s.%d.tmp" % (t, os.getpid())
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, t)


def probe(cmd):
    """(version, has_gil) of the interpreter cmd runs, or None."""
    try:
        r = subprocess.run(cmd + ["-c", _PROBE], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, timeout=60)
    except OSError:
        return None
    lines = r.stdout.split()
    if r.returncode or len(lines) != 2:
        return None
    return lines[0], lines[1] == "0"


_found = None


def find_all():
    """(every Python here, [(what, why it is missing)]), found at run time
    and once a process: Debian's /usr/bin/python3, pyenv builds 3.8 and
    later, the sid root's python3.N (each in chroot and container mode)
    and nogil, the last two only where their cache directories are
    complete (tests/pythons/sid-root.sh and build-nogil.sh make them)."""
    global _found
    if _found is not None:
        return _found
    found, missing, seen = [], [], set()
    cands = [("debian", "/usr/bin/python3")]
    for root in (os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv"),
                 "/root/.pyenv"):
        if root:
            cands += [("pyenv", p) for p in
                      sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python3.*")))]
    for origin, p in cands:
        if not re.search(r"python3(\.\d+)?$", p) or not os.access(p, os.X_OK):
            continue
        real = os.path.realpath(p)
        if real in seen:
            continue
        got = probe([p])
        if not got or int(got[0].split(".")[1]) < 8:
            continue
        seen.add(real)
        found.append(Python(origin, got[0], p, has_gil=got[1]))
    found.sort(key=lambda p: (p.origin != "debian", p.vinfo))

    if not os.path.exists(os.path.join(SID_ROOT, ".gilscope-complete")):
        missing.append(("sid", "no sid root at %s (tests/pythons/sid-root.sh makes it)"
                        % SID_ROOT))
    elif os.geteuid() != 0:
        missing.append(("sid", "the sid root's Pythons run under chroot: needs root"))
    else:
        exes = sorted((p for p in glob.glob(os.path.join(SID_ROOT, "usr", "bin", "python3.*"))
                       if re.search(r"/python3\.\d+$", p)),
                      key=lambda p: int(p.rsplit(".", 1)[1]))
        for p in exes:
            exe = p[len(SID_ROOT):]
            got = probe(["chroot", SID_ROOT, exe])
            if not got:
                missing.append(("sid", "%s does not run under chroot" % p))
                continue
            for mode in ("chroot", "container"):
                found.append(Python("sid", got[0], exe, mode, SID_ROOT, got[1]))

    nogil = os.path.join(NOGIL, "bin", "python3.9")
    if not os.path.exists(os.path.join(NOGIL, ".gilscope-complete")):
        missing.append(("nogil", "no nogil build at %s (tests/pythons/build-nogil.sh makes it)"
                        % NOGIL))
    else:
        got = probe([nogil])
        if got:
            found.append(Python("nogil", got[0], nogil, has_gil=got[1]))
        else:
            missing.append(("nogil", "%s does not run" % nogil))
    _found = (found, missing)
    return _found


def selected(pys):
    """pys as GILSCOPE_PYTHONS selects them: all (the default), one (the
    first with a GIL: Debian's when there is one), or label prefixes
    separated by commas ("debian,sid-3.13")."""
    sel = os.environ.get("GILSCOPE_PYTHONS", "all").strip()
    if sel in ("", "all"):
        return list(pys)
    if sel == "one":
        return [p for p in pys if p.has_gil][:1]
    prefixes = [s.strip() for s in sel.split(",") if s.strip()]
    return [p for p in pys if any(p.label.startswith(x) for x in prefixes)]


def pythons():
    """Every Python here (see find_all), as GILSCOPE_PYTHONS selects."""
    return selected(find_all()[0])


def by_version(pys):
    return sorted(pys, key=lambda p: p.vinfo)


def a_python():
    """(version, path) of Debian's python3 when there is one, else of the
    first found on the host (the demos that run one Python run it there)."""
    pys = [p for p in find_all()[0] if p.mode == "host" and p.has_gil]
    if not pys:
        sys.exit("demo: no CPython 3.8 or later on this machine")
    return pys[0].version, pys[0].exe


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
    def once():
        got = traced_once(cmd, args, svg, name)
        return None if got[0]["target"]["ended_by"] == "command killed by signal 5" else got
    return again_if_sigtrapped(once)


def again_if_sigtrapped(run):
    """run()'s result, run up to three times while it returns None: the
    kernel killed the watched program with SIGTRAP."""
    for _ in range(3):
        got = run()
        if got is not None:
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


# Runs a script parked before its first line: prints the interpreter's pid
# and waits for a line on stdin (a tracer attaches meanwhile).
PARKED = ("import os, runpy, sys; print(os.getpid(), flush=True); sys.stdin.readline(); "
          "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def traced_by_pid(py, script, script_args=(), args=()):
    """Starts script on py (a Python from pythons()) parked, attaches
    `gilscope ARGS -p PID` and lets it run to its end; returns (report
    dict, workload JSON, text report).  Attaching by pid works the same
    whatever launched the interpreter (chroot, a container's pivot_root).
    A run whose program the kernel killed with SIGTRAP (see traced()) is
    run again."""
    return again_if_sigtrapped(lambda: traced_by_pid_once(py, script, script_args, args))


def traced_by_pid_once(py, script, script_args, args):
    d = tempfile.mkdtemp(prefix="gilscope-demo-")
    wl = subprocess.Popen(py.cmd("-c", PARKED, py.path_in(script), *script_args),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    g = None
    try:
        pid = int(wl.stdout.readline())
        rep_path = os.path.join(d, "report.json")
        g = subprocess.Popen([GILSCOPE] + list(args) + ["-p", str(pid), "--json", rep_path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err = []
        while not err or "tracing pid" not in err[-1]:
            err.append(g.stderr.readline())
            if not err[-1]:
                sys.exit("demo: gilscope ended before tracing:\n%s" % "".join(err))
        wl.stdin.write("go\n")
        wl.stdin.flush()
        wl_out = wl.stdout.read()
        if wl.wait() == -signal.SIGTRAP:
            g.communicate()
            return None
        out, rest = g.communicate()
        if g.returncode != 3:      # 3: the target exited, as it should
            sys.exit("demo: gilscope exited %d:\n%s" % (g.returncode, "".join(err) + rest))
        with open(rep_path) as f:
            rep = json.load(f)
        return rep, first_json(wl_out), out
    finally:
        for p in (wl, g):
            if p and p.poll() is None:
                p.kill()
                p.wait()
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


# --- Which Python code held the GIL and which waited ----------------------
#
# From gilscope's JSON: gil.threads[].held_in (the holder's stack sampled
# on CPU: a share of its held time), waited_in (the waiter's stack as each
# wait began) and waited_for (what the holder ran meanwhile), frames
# "qualname (path:line)" innermost first (3.8 - 3.10: the code's name).

FRAME = re.compile(r"^(?P<func>.+) \((?P<path>.+):(?P<line>\d+)\)$")
NO_FRAMES = "[no Python frames]"


def parse_frame(frame):
    """A frame "qualname (path:line)" as (qualname, path, line); one
    without a place ("[unknown]", "[garbage collection]") as (frame,
    None, None)."""
    m = FRAME.match(frame or "")
    return (m.group("func"), m.group("path"), int(m.group("line"))) if m else (frame, None, None)


def own_path(path):
    """path relative to this clone when it is one of the clone's files (or
    the copy staged in a root: Python.path_in), else None."""
    for base in (ROOT, os.path.realpath(ROOT), STAGE):
        if path and path.startswith(base + "/"):
            return os.path.relpath(path, base)
    return None


def short_path(path):
    """How the demos print a frame's file: the clone's own relative to it,
    another (the standard library's) by its name."""
    return own_path(path) or (path if path.startswith("<") else os.path.basename(path))


def code_at(stack):
    """What a Python stack names: (innermost frame, caller), each (func,
    path, line); caller is the innermost frame of the clone's own code
    when the innermost frame is not (Thread.join's caller), else None.
    None for a stack without frames."""
    if not stack:
        return None
    frames = [parse_frame(f) for f in stack]
    if own_path(frames[0][1]):
        return frames[0], None
    return frames[0], next((f for f in frames[1:] if own_path(f[1])), None)


def where(entries, stack="python_stack"):
    """gilscope's held_in, waited_in or waited_for entries grouped by the
    code they name (code_at; the lines of a function merged), heaviest
    first: [{"func", "path", "lines", "caller" (None or {"func", "path",
    "lines"}), "ns", "share" (of all the entries' ns, those without frames
    included: func NO_FRAMES), "count" (samples or waits), "holders"
    (waited_for: the holders' tids)}]."""
    total = sum(e["ns"] for e in entries)
    groups = {}
    for e in entries:
        c = code_at(e.get(stack))
        inner, caller = c if c else ((NO_FRAMES, None, None), None)
        key = (inner[0], inner[1], caller and caller[0], caller and caller[1])
        g = groups.setdefault(key, {
            "func": inner[0], "path": inner[1], "lines": set(), "ns": 0, "count": 0,
            "holders": set(),
            "caller": caller and {"func": caller[0], "path": caller[1], "lines": set()}})
        g["ns"] += e["ns"]
        g["count"] += e.get("count") or 0
        if inner[2] is not None:
            g["lines"].add(inner[2])
        if caller:
            g["caller"]["lines"].add(caller[2])
        if "holder_tid" in e:
            g["holders"].add(e["holder_tid"])
    out = sorted(groups.values(), key=lambda g: -g["ns"])
    for g in out:
        g["share"] = g["ns"] / total if total else 0.0
        g["lines"] = sorted(g["lines"])
        g["holders"] = sorted(g["holders"])
        if g["caller"]:
            g["caller"]["lines"] = sorted(g["caller"]["lines"])
    return out


def _place(func, path, lines):
    if path is None:
        return func
    ls = ",".join(map(str, lines)) if len(lines) <= 3 else "%d-%d" % (lines[0], lines[-1])
    return "%s (%s:%s)" % (func, short_path(path), ls)


def code_label(g):
    """A where() group as the demos print it: "countdown
    (demo/countdown.py:16,17)", "Thread._wait_for_tstate_lock
    (threading.py:1132) from main (demo/countdown.py:30)"."""
    s = _place(g["func"], g["path"], g["lines"])
    if g["caller"]:
        s += " from " + _place(g["caller"]["func"], g["caller"]["path"], g["caller"]["lines"])
    return s


def who(t):
    """A GIL thread by its Python name where gilscope read it, else by tid."""
    return t.get("name") or "tid %d" % t["tid"]


def no_stacks(rep):
    """Why this report names no Python code (no GIL, stacks not read, none
    caught), in gilscope's words; None when it has stacks."""
    g = rep.get("gil")
    if not g:
        return "no GIL section (%s)" % (rep.get("gil_note") or "no GIL found")
    ps = g.get("python_stacks")
    if ps is None:
        return "gilscope read no Python stacks (the GIL traced is %s's, not a CPython's)" \
            % (g.get("python") or "the program")
    if ps["how"].startswith("not read"):
        return "Python stacks %s" % ps["how"]
    if not ps["stacks"]:
        return "no Python stack was caught"
    return None


def python_code(rep, tids=None):
    """Per GIL thread (in tids), the code it held the GIL in and waited in:
    {"tid", "name", "held_ns", "waited_ns", "samples", "held":
    where(held_in), "waited_in": where(waited_in), "waited_for":
    where(waited_for) (what the holders ran)}; [] when no_stacks(rep)."""
    if no_stacks(rep):
        return []
    return [{"tid": t["tid"], "name": t.get("name"), "held_ns": t["held_ns"],
             "waited_ns": t["waited_ns"],
             "samples": sum(e.get("count") or 0 for e in t.get("held_in") or []),
             "held": where(t.get("held_in") or []),
             "waited_in": where(t.get("waited_in") or []),
             "waited_for": where(t.get("waited_for") or [], "holder_stack")}
            for t in gil_threads(rep, tids)]


def share(x):
    """A share as a whole percentage, never rounded up (99.6%: "99%")."""
    return "%d%%" % int(100 * x)


def shares(xs):
    """Shares as a range of whole percentages: "97-100%", "100%"."""
    lo, hi = share(min(xs)), share(max(xs))
    return lo if lo == hi else "%s-%s" % (lo.rstrip("%"), hi)


def and_list(ns):
    """"a", "a and b", "a, b and c"."""
    return ns[0] if len(ns) == 1 else ", ".join(ns[:-1]) + " and " + ns[-1]


def _merged(gs):
    """One where() group of several threads' (the same function, their
    lines together)."""
    m = dict(gs[0], lines=sorted({l for g in gs for l in g["lines"]}))
    if m["caller"]:
        m["caller"] = dict(m["caller"],
                           lines=sorted({l for g in gs for l in g["caller"]["lines"]}))
    return m


def ident(g):
    """A where() group's function (and caller's), without lines; the
    clone's files by their path in it (a root's Python runs a staged
    copy)."""
    def at(path):
        return own_path(path) or path
    return (g["func"], at(g["path"]),
            g["caller"] and (g["caller"]["func"], at(g["caller"]["path"])))


def _grouped(items):
    """[(key, [x, ...])] in first-seen order."""
    out = {}
    for key, x in items:
        out.setdefault(key, []).append(x)
    return list(out.items())


def plural(k, what):
    """"1 sample", "2 samples"."""
    return "%d %s%s" % (k, what, "" if k == 1 else "s")


class Words:
    """Names code in a sentence: in full ("countdown
    (demo/countdown.py:16,17)") the first time, by its function alone
    after that."""

    def __init__(self):
        self.said = set()

    def code(self, gs):
        g = _merged(gs)
        if ident(g) in self.said:
            return g["func"] if not g["caller"] else "%s from %s" % (g["func"],
                                                                     g["caller"]["func"])
        self.said.add(ident(g))
        return code_label(g)


def gil_words(rep, held, waited, w=None):
    """What the threads in held (python_code() entries) held the GIL in and
    where the threads in waited waited for it, with what the holder ran
    meanwhile, grouped by function: "count-0 and count-1 held the GIL in
    countdown (demo/countdown.py:16,17) (100% of held time, 79 samples)
    and waited in countdown (99-100% of waiting) while another of them ran
    countdown (99% of it)".  Shares are of each thread's held time (an
    estimate from samples of its stack on CPU) and of its waiting (each
    wait's length, by where it began; what the holder ran, by its stack at
    the wait's start and at each timeout); a thread that held the GIL but
    was never sampled on CPU is said so."""
    w = w or Words()
    names = {t["tid"]: who(t) for t in gil_threads(rep)}
    hgroups = _grouped([(ident(c["held"][0]) if c["samples"] else None, c)
                        for c in held if c["held_ns"]])
    wgroups = _grouped([((ident(c["waited_in"][0]),
                          c["waited_for"] and ident(c["waited_for"][0])), c)
                        for c in waited if c["waited_ns"] and c["waited_in"]])

    def waits(cs):
        s = "waited in %s (%s of waiting)" % (w.code([c["waited_in"][0] for c in cs]),
                                              shares([c["waited_in"][0]["share"] for c in cs]))
        fs = [c["waited_for"][0] for c in cs if c["waited_for"]]
        if len(fs) == len(cs):
            holders = sorted({h for f in fs for h in f["holders"]})
            if len(cs) > 1 and set(holders) <= {c["tid"] for c in cs}:
                hn = "another of them"
            else:
                hn = and_list([names.get(h, "tid %d" % h) for h in holders])
            s += " while %s ran %s (%s of it)" % (hn, w.code(fs),
                                                  shares([f["share"] for f in fs]))
        return s

    parts = []
    for key, cs in hgroups:
        tids = [c["tid"] for c in cs]
        subject = and_list([who(c) for c in cs])
        if key is None:
            s = "%s held the GIL %s, never caught on CPU by a sample" % (
                subject, ms(sum(c["held_ns"] for c in cs)))
        else:
            s = "%s held the GIL in %s (%s of held time, %s)" % (
                subject, w.code([c["held"][0] for c in cs]),
                shares([c["held"][0]["share"] for c in cs]),
                plural(sum(c["samples"] for c in cs), "sample"))
        same = [i for i, (_, ws) in enumerate(wgroups) if [c["tid"] for c in ws] == tids]
        if same:
            s += " and " + waits(wgroups.pop(same[0])[1])
        parts.append(s)
    for _, cs in wgroups:
        parts.append("%s %s" % (and_list([who(c) for c in cs]), waits(cs)))
    return "; ".join(parts)


def idle_waits(rep, path):
    """The waits on locks gilscope judged idle (a join, an Event: waiting
    for work, not contention) of callers whose Python stacks reach the file
    path (relative to the clone: "demo/countdown.py"): [(where() group of
    the callers, python_kind, wait ns)] by function and kind, longest
    first."""
    items = []
    for l in rep.get("locks") or []:
        if not l.get("idle"):
            continue
        for c in l["top_callers"]:
            if any(own_path(parse_frame(f)[1]) == path for f in c.get("python_stack") or []):
                g = where([{"python_stack": c["python_stack"], "ns": c["wait_ns"]}])[0]
                items.append(((ident(g), l["python_kind"]), (g, c["wait_ns"])))
    out = [(_merged([x[0] for x in xs]), key[1], sum(x[1] for x in xs))
           for key, xs in _grouped(items)]
    return sorted(out, key=lambda x: -x[2])


def idle_words(rep, path, w=None):
    """idle_waits(rep, path)'s longest: "main (demo/countdown.py:30) waited
    145.0 ms in threading.Thread.join, without the GIL (idle, not
    contention)"; "" when there is none."""
    waits = idle_waits(rep, path)
    if not waits:
        return ""
    g, kind, ns = waits[0]
    w = w or Words()
    what = w.code([dict(g["caller"], caller=None)]) if g["caller"] else w.code([g])
    return "%s waited %s in %s, without the GIL (idle, not contention)" % (
        what, ms(ns), kind or w.code([g]))


def say(words, indent=""):
    """Prints a sentence wrapped to 79 columns."""
    print(textwrap.fill(words, 79, initial_indent=indent, subsequent_indent=indent + "  "))


def say_code(rep, held_tids, waited_tids, idle_path=None, lead="Python code"):
    """Prints, from gilscope's stacks, which functions the threads
    held_tids held the GIL in and where waited_tids waited for it
    (gil_words), and the longest idle wait of idle_path's code
    (idle_words); or why no Python code can be named (no_stacks)."""
    why = no_stacks(rep)
    if why:
        say("%s: none named: %s." % (lead, why))
        return
    w = Words()
    parts = [gil_words(rep, python_code(rep, held_tids), python_code(rep, waited_tids), w)]
    if idle_path:
        parts.append(idle_words(rep, idle_path, w))
    parts = [p for p in parts if p]
    if not parts:
        say("%s: none named: no stack of these threads was caught." % lead)
        return
    say("%s, as gilscope read it: %s." % (lead, "; ".join(parts)))


def code_summary(rep, tids=None, idle_path=None):
    """What the demos name, for their --summary JSON (the tests check it):
    {"threads": per thread of python_code(rep, tids) its tid, name, times,
    samples and its where() lists' first three groups, "idle": with
    idle_path, idle_waits(rep, idle_path)'s first three}; None when
    no_stacks(rep)."""
    if no_stacks(rep):
        return None

    def few(gs):
        return [{k: g[k] for k in ("func", "path", "lines", "caller", "share", "holders")}
                for g in gs[:3]]
    return {"threads": [{"tid": c["tid"], "name": c["name"], "held_ns": c["held_ns"],
                         "waited_ns": c["waited_ns"], "samples": c["samples"],
                         "held": few(c["held"]), "waited_in": few(c["waited_in"]),
                         "waited_for": few(c["waited_for"])}
                        for c in python_code(rep, tids)],
            "idle": [{"func": g["func"], "path": g["path"], "caller": g["caller"],
                      "kind": k, "ns": ns}
                     for g, k, ns in (idle_waits(rep, idle_path) if idle_path else [])[:3]]}


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
