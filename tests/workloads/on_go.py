# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Says "ready PID" on stdout, waits for a line on stdin (the test's go,
once gilscope traces it), then runs the Python script in its arguments
in this process (as `python SCRIPT ARGS` would): a target given by -p
that starts its work only once it is traced, with no exec in between.

usage: on_go.py SCRIPT ARGS...
"""
import os
import runpy
import sys

print("ready %d" % os.getpid(), flush=True)
sys.stdin.readline()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
