# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""valgrind memcheck on the post-hoc paths (no root needed): `gilscope
report` and every export over the sample recordings, and over a damaged
one: no invalid access, no use of uninitialised memory, no leak."""
import os
import shutil
import subprocess

from common import GILSCOPE, Skip, timeout, tmpdir

TRACES = os.path.join(os.path.dirname(__file__), "..", "..", "traces")


def memcheck(args):
    if not shutil.which("valgrind"):
        raise Skip("valgrind is not installed (tests/install-deps.sh installs it)")
    with open(GILSCOPE, "rb") as f:
        if b"__asan_init" in f.read():
            raise Skip("a sanitizer build: valgrind and ASan do not mix (ASan checks it)")
    r = subprocess.run(["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect", "--track-origins=yes",
                        GILSCOPE] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=600)
    assert r.returncode != 99, "valgrind: %s\n%s" % (args, r.stderr[-4000:])
    return r


@timeout(900)
def test_report_and_exports_are_memcheck_clean():
    d = tmpdir()
    for name in sorted(os.listdir(TRACES)):
        if not name.endswith(".gst"):
            continue
        path = os.path.join(TRACES, name)
        r = memcheck(["report", path, "--json", os.path.join(d, name + ".json")])
        assert r.returncode == 0, r.stderr
        for fmt in ("perfetto", "csv", "svg"):
            r = memcheck(["export", path, "--format", fmt, "-o",
                          os.path.join(d, "%s.%s" % (name, fmt))])
            assert r.returncode == 0, r.stderr


@timeout(300)
def test_damaged_recording_is_memcheck_clean():
    d = tmpdir()
    # the kept 1.0 recording: its second chunk (the first events) starts
    # before byte 600, after the metadata
    src = os.path.join(os.path.dirname(__file__), "fixtures", "gildemo-1.0.gst")
    with open(src, "rb") as f:
        data = bytearray(f.read())
    # flip bytes inside the second chunk and cut the file short
    for off in range(600, min(len(data), 700)):
        data[off] ^= 0x5a
    bad = os.path.join(d, "bad.gst")
    with open(bad, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    r = memcheck(["report", bad])
    assert r.returncode == 4, (r.returncode, r.stderr)
