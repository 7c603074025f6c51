# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Bad input gets one clear line and a non-zero exit; nothing is left behind."""
import os
import pwd
import shutil
import subprocess

from common import (GILSCOPE, Skip, copy_for_user, drop_to, require_root_bpf, tmpdir,
                    wait_tracing, wait_until, workload)


def run(args, **kw):
    return subprocess.run([GILSCOPE] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30, **kw)


def one_line_error(r, code, *words):
    assert r.returncode == code, "exit %d, expected %d: %s" % (r.returncode, code, r.stderr)
    first = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
    for w in words:
        assert w in first, "%r not in %r" % (w, first)


def test_usage_errors_exit_2():
    one_line_error(run([]), 2, "nothing to trace")
    one_line_error(run(["--bogus"]), 2, "unrecognized option")
    one_line_error(run(["-p", "0"]), 2, "invalid PID")
    one_line_error(run(["-p", "-5"]), 2, "invalid PID")
    one_line_error(run(["-p", "99999999999"]), 2, "invalid PID")
    one_line_error(run(["-p", "1"]), 2, "PID 1")
    one_line_error(run(["-p", "12", "--", "true"]), 2, "exclusive")
    one_line_error(run(["-p", "12", "-d", "abc"]), 2, "invalid duration")
    one_line_error(run(["-p", "12", "--locks=some"]), 2, "--locks")
    one_line_error(run(["-p", "12", "--ringbuf-mb", "3"]), 2, "power of 2")


def test_help_and_version():
    r = run(["--help"])
    assert r.returncode == 0 and "EXAMPLES" in r.stdout and "CAP_BPF" in r.stdout
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("gilscope ")


def test_missing_pid_and_kernel_thread():
    require_root_bpf()
    one_line_error(run(["-p", "4194000"]), 1, "no process with PID 4194000")
    # kthreadd is PID 2 on Linux
    with open("/proc/2/comm") as f:
        if f.read().strip() != "kthreadd":
            raise Skip("PID 2 is not kthreadd here")
    one_line_error(run(["-p", "2"]), 1, "kernel thread")


def test_unrunnable_command():
    require_root_bpf()
    one_line_error(run(["--", "/nonexistent/prog"]), 1, "cannot run")
    one_line_error(run(["--", "/etc/hostname"]), 1, "cannot run")


def test_gil_required_of_a_program_without_one():
    require_root_bpf()
    one_line_error(run(["--gil=require", "--", workload("lockholder"), "-r", "1"]), 1,
                   "has no GIL gilscope knows")
    one_line_error(run(["--gil=maybe", "-p", "12"]), 2, "--gil")


def test_not_root_says_what_is_needed():
    if os.geteuid() != 0:
        raise Skip("needs root to drop to another user")
    nobody = pwd.getpwnam("nobody")
    # a copy nobody can reach wherever the clone lives (a 0700 home too)
    d, gilscope, _ = copy_for_user(nobody)
    r = subprocess.run([gilscope, "-d", "1", "--", "/bin/true"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, preexec_fn=drop_to(nobody),
                       timeout=30)
    shutil.rmtree(d)
    one_line_error(r, 1, "root")
    assert "CAP_BPF" in r.stderr


def test_json_output_is_safe():
    require_root_bpf()
    d = tmpdir()
    target = os.path.join(d, "exists.json")
    with open(target, "w") as f:
        f.write("keep me")
    r = run(["--json", target, "--", "/bin/true"])
    one_line_error(r, 1, "exists", "--force")
    with open(target) as f:
        assert f.read() == "keep me"
    link = os.path.join(d, "link.json")
    os.symlink("/etc/passwd-not-ours", link)
    r = run(["--json", link, "--force", "--", "/bin/true"])
    one_line_error(r, 1, "symbolic link")
    r = run(["--json", target, "--force", "--", "/bin/true"])
    assert r.returncode == 0, r.stderr
    st = os.stat(target)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    assert [f for f in os.listdir(d) if ".tmp." in f] == []


def bpf_objects_of(pid):
    """The BPF programs and links process pid holds, from its fds' fdinfo
    ({"prog": ids, "link": ids}).  Only this tracer's: other gilscopes
    may be running on this machine at the same time (other test runs),
    and their programs have the same names."""
    held = {"prog": set(), "link": set()}
    fd_dir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                for line in f:
                    key, _, val = line.partition(":")
                    if key in ("prog_id", "link_id"):
                        held[key[:4]].add(int(val))
        except OSError:
            pass    # an fd closed meanwhile
    return held


def still_loaded(held, pid):
    """Which of those programs and links the kernel still has, and any
    legacy tracefs uprobe libbpf named after pid."""
    left = []
    for kind, ids in held.items():
        for i in sorted(ids):
            r = subprocess.run(["bpftool", kind, "show", "id", str(i)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if r.returncode == 0:
                left.append(r.stdout.strip().splitlines()[0])
    ev = "/sys/kernel/tracing/uprobe_events"
    if os.path.exists(ev):
        with open(ev) as f:
            left += [l for l in f.read().splitlines() if "libbpf_%d_" % pid in l]
    return left


def test_sigkill_leaves_no_probe_and_target_runs_on():
    require_root_bpf()
    prog = subprocess.Popen([workload("lockholder"), "-r", "100000", "-h", "2", "-w", "0"],
                            stdout=subprocess.DEVNULL)
    try:
        g = subprocess.Popen([GILSCOPE, "-p", str(prog.pid), "--locks=all"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_tracing(g)     # every probe in place
        held = bpf_objects_of(g.pid)
        assert held["prog"] and held["link"], "gilscope attached nothing: %s" % held
        g.kill()
        g.wait()
        # the kernel frees a dead process's BPF objects after an RCU grace
        # period: wait for that, up to a deadline
        wait_until(lambda: not still_loaded(held, g.pid))
        assert still_loaded(held, g.pid) == [], "left behind: %s" % still_loaded(held, g.pid)
        assert prog.poll() is None, "the target died with the tracer"
    finally:
        prog.kill()
        prog.wait()
