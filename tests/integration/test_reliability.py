# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Regression tests of issue 13's faults: figures without a probe, a
collector under load, waits already in progress at attach."""
from common import parse_json_stdout, require_root_bpf, run_traced, workload
from test_locks import table_lock, thread

ROUNDS = 5


def test_static_program_with_locks_all_shows_unknowns_not_zeros():
    """A static program maps no glibc: --locks=all cannot probe its
    pthread calls, so acquisitions, holds and condvar waits are unknown
    (null), said on stderr, and contention still matches the workload."""
    require_root_bpf()
    rc, out, err, rep = run_traced(["--locks=all"],
                                   [workload("lockholder-static"), "-r", str(ROUNDS)])
    assert rc == 0, "gilscope exited %d: %s" % (rc, err)
    assert "--locks=all does not apply" in err, err
    assert "with mutex uprobes" not in err, err
    truth = parse_json_stdout(out)
    lk = table_lock(rep)
    assert lk["kind"] == "mutex", lk
    assert lk["contended"] == ROUNDS, lk
    assert lk["acquisitions"] is None and lk["hold_ns"] is None, lk
    for t in (truth["holder"], truth["waiter"]):
        row = thread(rep, t["tid"])
        assert row["lock_hold_ns"] is None and row["cond_wait_ns"] is None, row
