# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Says "ready PID" on stdout, waits for a line on stdin (the test's go,
once gilscope traces it), then os.execv's the command in its arguments:
a process that becomes another program while it is traced.  A few
threads of its own run until then, so the old image has threads to lose.

usage: exec_after.py [--from-thread] PROGRAM ARGS...
(--from-thread: a thread other than the main one calls execv; the
kernel gives it the process's id)
"""
import os
import sys
import threading

stop = threading.Event()
threads = [threading.Thread(target=stop.wait, name="old-%d" % i) for i in range(3)]
for t in threads:
    t.start()
# "ready PID TID...": the old image's threads, which must not outlive it
print("ready %d %s" % (os.getpid(), " ".join(str(t.native_id) for t in threads)), flush=True)
sys.stdin.readline()
# the old image's threads are still alive here: the exec ends them
argv = sys.argv[1:]
if argv[0] == "--from-thread":
    t = threading.Thread(target=os.execv, args=(argv[1], argv[1:]), name="execer")
    t.start()
    t.join()
os.execv(argv[0], argv)
