# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""user/pyread.c against the interpreter's own word: a thread parks in a
known frame after printing its own stack (tests/workloads/py_park.py),
and build/pyprobe frames, walking that thread's frames from outside with
the BPF side's walk (bpf/py_walk.h), must name every frame exactly as
the thread itself did: qualname (3.11+) or name, path as the process
sees it, and the line of the call each frame is in."""
import json
import os
import subprocess

from common import BUILD, Skip, every_python, wait_until

PROBE = os.path.join(BUILD, "pyprobe")
PARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads", "py_park.py")


def host_tid(pid, tid):
    """The thread of pid whose id in its own pid namespace is tid."""
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, t)) as f:
            for line in f:
                if line.startswith("NSpid:") and int(line.split()[-1]) == tid:
                    return int(t)
    raise AssertionError("no thread %d in %d" % (tid, pid))


def parked(pid, tid):
    """Is the thread in its read of the pipe (the kernel's wchan says so:
    pipe_read, anon_pipe_read)?"""
    try:
        with open("/proc/%d/task/%d/wchan" % (pid, tid)) as f:
            return "pipe_read" in f.read()
    except OSError:
        return False


def probe_parked(py, mode, probe_args=(), want="stack"):
    """Starts py_park.py MODE on py, reads the stack it prints, waits
    until that thread is parked on the line it printed (in its pipe read:
    the handshake), and returns (the workload's want: its "stack", or
    all it printed, the probe's output lines)."""
    if os.geteuid() != 0:
        raise Skip("needs root (reading another process's memory, chroots)")
    wl = subprocess.Popen(py.argv(PARK, mode), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)
    try:
        line = wl.stdout.readline()
        assert line, "%s: the workload ended before parking" % py.label
        d = json.loads(line)
        # wl.pid is the target's pid here, whatever its own namespace says:
        # the launchers exec all the way down (see common.run_parked)
        tid = host_tid(wl.pid, d["tid"])
        assert wait_until(lambda: parked(wl.pid, tid)), "%s: thread %d never parked" % (
            py.label, tid)
        args = [PROBE, "frames"] + list(probe_args) + [str(wl.pid)]
        if mode == "thread":
            args.append(str(d["ident"]))
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 0, (py.label, r.returncode, r.stderr)
        return (d["stack"] if want == "stack" else d), r.stdout.splitlines()
    finally:
        if mode == "thread":
            wl.stdin.close()	# the parked thread is a daemon: main returns
        else:
            wl.kill()
        wl.wait(timeout=60)


def check(py, stack, out):
    assert out[0] == "python %d.%d" % py.vinfo[:2], (py.label, out[0])
    want = ["%s (%s:%d)" % (name, path, line) for path, line, name in stack]
    assert out[1:] == want, "%s:\ngot:\n  %s\nwant:\n  %s" % (
        py.label, "\n  ".join(out[1:]), "\n  ".join(want))


@every_python()
def pyread_names_a_parked_thread(py):
    stack, out = probe_parked(py, "thread")
    # its own frames, then threading's
    assert len(stack) >= 5, stack
    check(py, stack, out)


@every_python()
def pyread_names_the_gil_holder(py):
    # the main thread, alone, parks: the GIL's last holder is it
    stack, out = probe_parked(py, "main")
    assert stack[-1][2] == "<module>", stack
    check(py, stack, out)


@every_python()
def pyread_first_locals(py):
    """The walk's first locals (localsplus[0], f_localsplus[0] before
    3.11), kept for the innermost frames: the parked method's self, and
    Thread.run's (the Thread) where it is among them, as id() says;
    0 or a cell where the frame has no local of its own to compare."""
    d, out = probe_parked(py, "thread", ["-s"], want="all")
    names = [l.rpartition(" self=")[0] if " self=" in l else l for l in out[1:]]
    want = ["%s (%s:%d)" % (name, path, line) for path, line, name in d["stack"]]
    assert names == want, (py.label, out, want)
    kept = [(i, l.rpartition(" self=")[2]) for i, l in enumerate(out[1:]) if " self=" in l]
    # the walk keeps GS_PY_SELF_FRAMES (4) of its frames, entry frames
    # (3.12+) among them: at least the innermost two named ones here
    assert len(kept) >= 2, (py.label, out)
    checked = 0
    for i, got in kept:
        if d["first_locals"][i] is not None:
            assert int(got, 16) == int(d["first_locals"][i], 16), \
                "%s: frame %s: first local %s, id() says %s" % (py.label, want[i], got,
                                                               d["first_locals"][i])
            checked += 1
    # park's self (the Parker) at least
    assert checked >= 1 and kept[0][0] == 0, (py.label, out, d["first_locals"])
