# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Shared helpers for gilscope's integration tests."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "demo"))
import demolib  # noqa: E402

BUILD = os.environ.get("GILSCOPE_BUILD",
                       os.path.join(os.path.dirname(__file__), "..", "..", "build"))
GILSCOPE = os.path.join(BUILD, "gilscope")


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts a skip."""


def require_root_bpf():
    if os.geteuid() != 0:
        raise Skip("needs root (BPF and uprobes)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise Skip("kernel has no BTF (/sys/kernel/btf/vmlinux)")
    # the tool itself is the probe: load the BPF object against a trivial target
    r = subprocess.run([GILSCOPE, "-d", "0.1", "--", "/bin/true"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0 and "not permitted" in r.stderr:
        raise Skip("BPF not permitted here: " + r.stderr.strip())


def workload(name):
    p = os.path.join(BUILD, "tests", name)
    if not os.path.exists(p):
        raise AssertionError("workload %s not built" % p)
    return p


def tmpdir():
    return tempfile.mkdtemp(prefix="gilscope-test-")


def wait_tracing(g):
    """Reads a `gilscope` Popen's stderr (text, PIPE) up to its "tracing
    pid" line, printed once every probe is in place: the handshake a test
    waits for instead of sleeping.  Returns the lines read; fails with
    them if gilscope ends first."""
    lines = []
    while True:
        line = g.stderr.readline()
        if not line:
            raise AssertionError("gilscope ended before tracing: %s" % "".join(lines))
        lines.append(line)
        if "tracing pid" in line:
            return lines


def wait_until(cond, timeout=30):
    """Polls cond() until it is true; False after timeout seconds (a
    deadline for a condition, not a sleep that decides the outcome)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def proc_state(pid):
    """(state letter, parent pid) of pid from /proc, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return rest[0], int(rest[1])


def children_of(pid):
    """The pids whose parent is pid (this kernel has no /proc/PID/task/TID/children)."""
    kids = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            st = proc_state(int(e))
            if st and st[1] == pid:
                kids.append(int(e))
    return kids


def reachable_by_others(path):
    """Whether every directory above path can be entered by any user."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & 0o001:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def copy_for_user(user, *files):
    """A test run as an unprivileged user cannot reach the build when the
    clone lives in a directory others cannot enter (mode 0700, like
    /root): copies gilscope and files into a fresh directory any user can
    enter, owned by user (so it may write there too).  Returns (that
    directory, the copy of gilscope, [copies of files]); Skip when no
    temporary directory here is reachable."""
    for base in (None, "/tmp", "/var/tmp"):
        d = tempfile.mkdtemp(prefix="gilscope-test-", dir=base)
        if reachable_by_others(d):
            break
        shutil.rmtree(d)
    else:
        raise Skip("no temporary directory here that user %s can enter" % user.pw_name)
    os.chmod(d, 0o755)
    copies = []
    for f in (GILSCOPE,) + files:
        c = os.path.join(d, os.path.basename(f))
        shutil.copy(f, c)   # keeps the mode bits: gilscope stays executable
        os.chmod(c, os.stat(c).st_mode | 0o444)
        copies.append(c)
    os.chown(d, user.pw_uid, user.pw_gid)
    return d, copies[0], copies[1:]


def drop_to(user):
    """A preexec_fn running the child as user."""
    def drop():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return drop


def run_traced(args, cmd=None, timeout=120, cwd=None):
    """Runs gilscope with args (+ '--' cmd) and --json (in cwd); returns
    (returncode, stdout, stderr, report dict or None)."""
    d = tmpdir()
    out = os.path.join(d, "report.json")
    full = [GILSCOPE] + list(args) + ["--json", out]
    if cmd:
        full += ["--"] + list(cmd)
    r = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, cwd=cwd)
    rep = None
    if os.path.exists(out):
        with open(out) as f:
            rep = json.load(f)
    shutil.rmtree(d, ignore_errors=True)
    return r.returncode, r.stdout, r.stderr, rep


WATCHPOINT_KILL = "command killed by signal 5"


def run_watched(args, cmd, timeout=120, attempts=2):
    """run_traced for runs with hardware watchpoints (--object).  On this
    VM the kernel now and then fails to claim a watchpoint's debug trap
    and kills the target with SIGTRAP (about one run in 30; see the
    README's refcount section): gilscope says so, and the run is tried
    again.  Twice in a row is a skip with that reason, never a pass."""
    for _ in range(attempts):
        rc, out, err, rep = run_traced(args, cmd, timeout)
        if not (rep and rep["target"]["ended_by"] == WATCHPOINT_KILL):
            return rc, out, err, rep
        print("the target was killed by SIGTRAP (unclaimed watchpoint trap): again")
    raise Skip("the kernel killed the target with SIGTRAP under watchpoints %d times "
               "in a row (see the README's refcount section)" % attempts)


def parse_json_stdout(text):
    """The workload's JSON ground truth, from the command's stdout (which
    gilscope's own report follows on the same stream)."""
    start = text.index("{")
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return json.loads(text[start:i + 1])
    raise AssertionError("no JSON object in output")


def near(value, truth, rel, abs_=0, what="value"):
    """Asserts |value - truth| <= max(rel * truth, abs_)."""
    tol = max(rel * abs(truth), abs_)
    if abs(value - truth) > tol:
        raise AssertionError("%s: %s vs truth %s (tolerance %s)" % (what, value, truth, tol))


def inside(value, truth, rel, abs_=0, what="value", slack=20000):
    """For a figure traced strictly inside the interval the workload timed
    itself: truth - max(rel * truth, abs_) <= value <= truth + slack ns
    (slack: the clocks are read a few instructions apart)."""
    lo = truth - max(rel * truth, abs_)
    if not lo <= value <= truth + slack:
        raise AssertionError("%s: %s not in [%s, %s] (truth %s)"
                             % (what, value, lo, truth + slack, truth))


def timeout(seconds):
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


def find_pythons(gil=True, containers="all"):
    """The Pythons here (demolib.Python: label, version, has_gil, argv(),
    path_in(), ...), as GILSCOPE_PYTHONS selects them (see demolib).
    gil: True for those with a GIL, False for those without (nogil), None
    for both.  containers: "all", or "one" to keep the container mode of
    the newest sid Python only (the chroot mode of every one stays)."""
    pys = [p for p in demolib.pythons() if gil is None or p.has_gil == gil]
    if containers == "one":
        boxed = [p for p in pys if p.mode == "container"][-1:]
        pys = [p for p in pys if p.mode != "container" or p in boxed]
    return pys


def missing_pythons(gil=True):
    """[(what, reason)] for the kinds of Python not here (the sid root,
    nogil), that tests on every Python report as skips."""
    kinds = {True: ("sid",), False: ("nogil",), None: ("sid", "nogil")}[gil]
    return [m for m in demolib.find_all()[1] if m[0] in kinds]


def python(label_prefix, gil=True):
    """The first Python whose label starts with label_prefix, or Skip."""
    for p in find_pythons(gil):
        if p.label.startswith(label_prefix):
            return p
    raise Skip("no %s Python here%s" % (label_prefix, "".join(
        ": " + why for what, why in missing_pythons(gil) if label_prefix.startswith(what))))


def every_python(gil=True, containers="all", seconds=180):
    """Makes the decorated fn(py) one test case per Python found (named
    test_FN@LABEL, in fn's module: `-k FN@sid` runs the sid ones), and a
    skip case, with its reason, per kind of Python that is missing.
    The undecorated name does not start with test_, so it is no case."""
    def deco(fn):
        mod = fn.__globals__
        name = fn.__name__
        pys = find_pythons(gil, containers)
        for p in pys:
            def case(p=p):
                fn(p)
            case.timeout = seconds
            mod["test_%s@%s" % (name, p.label)] = case
        for what, why in missing_pythons(gil):
            def skip(why=why):
                raise Skip(why)
            mod["test_%s@%s" % (name, what)] = skip
        if not pys and not missing_pythons(gil):
            def none():
                raise Skip("no Python %s here (GILSCOPE_PYTHONS=%s)"
                           % ("with a GIL" if gil else "without a GIL",
                              os.environ.get("GILSCOPE_PYTHONS", "all")))
            mod["test_%s@none" % name] = none
        return fn
    return deco


def run_parked(py, script, args=(), gilscope_args=(), timeout=120):
    """Starts script (a host path) on py parked before its first line
    (demolib.PARKED: it prints its pid and waits for a line), attaches
    `gilscope GILSCOPE_ARGS -p PID --json`, lets it run to its end.  The
    pid is checked to be the launched one (chroot, unshare and the
    container's shell exec all the way).  Returns (the workload's
    stdout, gilscope's stdout, the report dict), or None when the kernel
    killed the workload with SIGTRAP (see run_watched)."""
    wl = subprocess.Popen(py.cmd("-c", demolib.PARKED, py.path_in(script), *args),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    d = tmpdir()
    out = os.path.join(d, "r.json")
    g = None
    try:
        pid = int(wl.stdout.readline())
        assert pid == wl.pid, (py.label, pid, wl.pid)
        g = subprocess.Popen([GILSCOPE] + list(gilscope_args) + ["-p", str(pid), "--json", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_tracing(g)
        wl.stdin.write("go\n")
        wl.stdin.flush()
        wl_out = wl.stdout.read()
        rc = wl.wait(timeout=timeout)
        g_out, g_err = g.communicate(timeout=60)
        if rc == -signal.SIGTRAP:
            return None
        assert rc == 0, (py.label, rc)
        assert g.returncode == 3, (py.label, g.returncode, g_err)   # the target exited
        with open(out) as f:
            return wl_out, g_out, json.load(f)
    finally:
        for p in (wl, g):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


def workload_py(name):
    return os.path.join(os.path.dirname(__file__), "..", "workloads", name)
