# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Bad input gets one clear line and a non-zero exit; nothing is left behind."""
import os
import pwd
import subprocess
import time

from common import GILSCOPE, Skip, require_root_bpf, tmpdir, workload


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

    def drop():
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    r = subprocess.run([GILSCOPE, "-d", "1", "--", "/bin/true"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, preexec_fn=drop, timeout=30)
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


def our_probes():
    """uprobe perf events and BPF programs of ours that the kernel still has."""
    progs = subprocess.run(["bpftool", "prog", "show"], stdout=subprocess.PIPE,
                           text=True).stdout
    names = ("futex_enter", "futex_exit", "mutex_lock", "cond_wait", "stop_at_entry")
    left = [l for l in progs.splitlines() if any(n in l for n in names)]
    ev = "/sys/kernel/tracing/uprobe_events"
    if os.path.exists(ev):
        with open(ev) as f:
            left += [l for l in f.read().splitlines() if l.strip()]
    return left


def test_sigkill_leaves_no_probe_and_target_runs_on():
    require_root_bpf()
    assert our_probes() == [], "probes left before the test: %s" % our_probes()
    prog = subprocess.Popen([workload("lockholder"), "-r", "100000", "-h", "2", "-w", "0"],
                            stdout=subprocess.DEVNULL)
    try:
        g = subprocess.Popen([GILSCOPE, "-p", str(prog.pid), "--locks=all"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.5)
        assert our_probes() != [], "gilscope attached nothing"
        g.kill()
        g.wait()
        time.sleep(0.5)
        assert our_probes() == [], "left behind: %s" % our_probes()
        assert prog.poll() is None, "the target died with the tracer"
    finally:
        prog.kill()
        prog.wait()
