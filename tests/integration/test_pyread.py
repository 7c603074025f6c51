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


def probe_parked(py, mode):
    """Starts py_park.py MODE on py, reads the stack it prints, waits
    until that thread is parked on the line it printed (in its pipe read:
    the handshake), and returns (the stack, the probe's output lines)."""
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
        args = [PROBE, "frames", str(wl.pid)]
        if mode == "thread":
            args.append(str(d["ident"]))
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 0, (py.label, r.returncode, r.stderr)
        return d["stack"], r.stdout.splitlines()
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
