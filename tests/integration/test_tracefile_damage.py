# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Recordings whose chunks are reordered, dropped, repeated or retyped
(every chunk still CRC-valid): `report` reads them in any order or says,
one line a problem, what is missing, marks the report incomplete and exits
4 -- never a crash, never a partial result passed off as whole.  No root
needed; version 1.1 files are made from a version 1.0 recording kept for
it (fixtures/gildemo-1.0.gst, the sample gildemo trace as it was before
format 1.1) by adding the sequence records docs/trace-format.md
describes."""
import glob
import json
import os
import shutil
import struct
import subprocess
import zlib

from common import GILSCOPE, Skip, tmpdir

TRACES = os.path.join(os.path.dirname(__file__), "..", "..", "traces")
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MAGIC = 0x4b435347
META, NAMES, EVENTS, SEQ = 1, 2, 3, 0x8001
TAG_RECORDED, TAG_CHUNK_INDEX = 8, 27


def sample(name="gildemo-1.0", where=FIXTURES):
    p = os.path.join(where, name + ".gst")
    if not os.path.exists(p):
        raise Skip("no sample trace %s" % p)
    with open(p, "rb") as f:
        return f.read()


def split(data):
    """(header, [(type, count, raw payload)]) of a well-formed file."""
    hsize = struct.unpack_from("<I", data, 12)[0]
    off, chunks = hsize, []
    while off < len(data):
        magic, typ, rlen, clen, crc, count = struct.unpack_from("<6I", data, off)
        assert magic == MAGIC
        comp = data[off + 24:off + 24 + clen]
        chunks.append((typ, count, zlib.decompress(comp)))
        off += 24 + clen
    return data[:hsize], chunks


def chunk(typ, count, raw):
    comp = zlib.compress(raw, 1)
    return struct.pack("<6I", MAGIC, typ, len(raw), len(comp),
                       zlib.crc32(comp) & 0xffffffff, count) + comp


def header(hdr, minor, nr_chunks, incomplete=False):
    h = bytearray(hdr)
    struct.pack_into("<H", h, 10, minor)
    struct.pack_into("<I", h, 16, 1 if incomplete else 0)
    struct.pack_into("<Q", h, 24, nr_chunks)
    return bytes(h)


def join10(hdr, chunks, nr=None):
    """A version 1.0 file of these chunks (nr: the header's chunk count)."""
    return header(hdr, 0, len(chunks) if nr is None else nr) + \
        b"".join(chunk(*c) for c in chunks)


def seal11(chunks):
    """Chunks of a 1.1 file: a SEQ record before each, an index in the
    final META.  Returns [(seq record bytes, chunk bytes)] by sequence."""
    chunks = list(chunks)
    idx = b"".join(struct.pack("<II", t, n) for t, n, _ in chunks[:-1])
    t, n, raw = chunks[-1]
    assert t == META
    chunks[-1] = (t, n, raw + struct.pack("<II", TAG_CHUNK_INDEX, len(idx)) + idx)
    out = []
    for s, (t, n, raw) in enumerate(chunks):
        c = chunk(t, n, raw)
        rec = struct.pack("<4I", s, t, n, zlib.crc32(c[:24]) & 0xffffffff)
        out.append((chunk(SEQ, 0, rec), c))
    return out


def join11(hdr, sealed, order=None, nr=None):
    order = range(len(sealed)) if order is None else order
    return header(hdr, 1, len(sealed) if nr is None else nr) + \
        b"".join(sealed[i][0] + sealed[i][1] for i in order)


def report(data, *args):
    d = tmpdir()
    p = os.path.join(d, "t.gst")
    with open(p, "wb") as f:
        f.write(data)
    r = subprocess.run([GILSCOPE, "report", p] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60,
                       env=dict(os.environ, COLUMNS="100"), cwd=d)
    files = sorted(os.listdir(d))
    outs = {}
    for fn in files:
        if fn != "t.gst":
            with open(os.path.join(d, fn)) as f:
                outs[fn] = f.read()
    shutil.rmtree(d, ignore_errors=True)
    return r, outs


def golden(name="gildemo-1.0", where=FIXTURES):
    with open(os.path.join(where, name + ".report.txt")) as f:
        return f.read()


def assert_clean_fail(r):
    """Exit 4 (partial) or 1 (refused), never a signal."""
    assert r.returncode in (1, 4), (r.returncode, r.stderr[-2000:])
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr


def test_any_chunk_order_of_a_1_0_file_never_crashes():
    hdr, chunks = split(sample())
    n = len(chunks)
    orders = [list(reversed(range(n))),              # final META first
              [1, 0] + list(range(2, n)),            # NAMES before META
              [n - 1] + list(range(n - 1)),
              list(range(1, n)) + [0]]               # first META last
    for order in orders:
        r, _ = report(join10(hdr, [chunks[i] for i in order]))
        # read (META first, whatever its place), or refused: never a crash
        assert r.returncode in (0, 1, 4), (order, r.returncode, r.stderr[-2000:])
        assert r.returncode >= 0, (order, r.stderr)
        if r.returncode == 0:
            assert "GIL:" in r.stdout, (order, r.stdout[:400])


def test_1_1_file_reads_the_same_in_any_chunk_order():
    hdr, chunks = split(sample())
    sealed = seal11(chunks)
    n = len(sealed)
    want = golden()
    r, _ = report(join11(hdr, sealed))
    assert r.returncode == 0, r.stderr
    assert r.stdout == want
    for order in (list(reversed(range(n))), [3, 1, 0, 2] + list(range(4, n)),
                  list(range(1, n)) + [0]):
        r, _ = report(join11(hdr, sealed, order))
        assert r.returncode == 0, (order, r.stderr)
        assert r.stdout == want, order


def test_1_1_dropped_events_chunk_names_what_is_missing():
    hdr, chunks = split(sample())
    sealed = seal11(chunks)
    n = len(sealed)
    lost = [i for i, c in enumerate(chunks) if c[0] == EVENTS][1]
    nev = chunks[lost][1]
    order = [i for i in range(n) if i != lost]
    r, outs = report(join11(hdr, sealed, order), "--json", "r.json")
    assert r.returncode == 4, (r.returncode, r.stderr)
    line = "chunk %d of %d (events) is missing: %s events not read" % (
        lost + 1, n, "{:,}".format(nev))
    assert line in r.stderr, r.stderr
    assert line in r.stdout and "INCOMPLETE" in r.stdout, r.stdout[:800]
    rep = json.loads(outs["r.json"])
    assert rep["recording"]["complete"] is False
    assert any(line in p for p in rep["recording"]["problems"]), rep["recording"]
    # the whole file's JSON says it is whole
    r, outs = report(join11(hdr, sealed), "--json", "r.json")
    assert r.returncode == 0 and json.loads(outs["r.json"])["recording"] is None
    # the data chunk dropped with its sequence record: still found by number
    r, _ = report(header(hdr, 1, n) + b"".join(
        sealed[i][0] + sealed[i][1] for i in order))
    assert r.returncode == 4 and line in r.stderr, r.stderr


def test_1_1_flipped_chunk_type_is_damage_not_silence():
    hdr, chunks = split(sample())
    sealed = seal11(chunks)
    lost = [i for i, c in enumerate(chunks) if c[0] == EVENTS][0]
    seq, c = sealed[lost]
    bad = bytearray(c)
    struct.pack_into("<I", bad, 4, 7)
    sealed[lost] = (seq, bytes(bad))
    r, _ = report(join11(hdr, sealed))
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "header does not match its sequence record" in r.stderr, r.stderr
    assert "chunk %d of %d (events) is damaged: %s events not read" % (
        lost + 1, len(sealed), "{:,}".format(chunks[lost][1])) in r.stderr, r.stderr


def test_1_0_dropped_or_retyped_events_chunk_is_reported():
    hdr, chunks = split(sample())
    lost = [i for i, c in enumerate(chunks) if c[0] == EVENTS][1]
    nev = chunks[lost][1]
    r, _ = report(join10(hdr, chunks[:lost] + chunks[lost + 1:], nr=len(chunks)))
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "1 of %d chunks not read" % len(chunks) in r.stderr, r.stderr
    assert "%s of" % "{:,}".format(nev) in r.stderr and "events not read" in r.stderr, r.stderr
    assert "INCOMPLETE" in r.stdout
    retyped = list(chunks)
    retyped[lost] = (7,) + chunks[lost][1:]
    r, _ = report(join10(hdr, retyped))
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "unknown type 0x7: its %s entries not read" % "{:,}".format(nev) in r.stderr, \
        r.stderr


def test_clean_file_cut_at_a_chunk_boundary_is_incomplete():
    hdr, chunks = split(sample())
    # 1.0: the sample file less its final META, header still "closed"
    r, _ = report(join10(hdr, chunks[:-1], nr=len(chunks)))
    assert r.returncode == 4, (r.returncode, r.stdout[:300], r.stderr)
    assert "ended by ?" not in r.stdout and "INCOMPLETE" in r.stdout, r.stdout[:500]
    assert "traced 0ns" not in r.stdout, r.stdout[:300]
    # 1.1: which chunks, and what they held
    sealed = seal11(chunks)
    n = len(sealed)
    r, _ = report(join11(hdr, sealed, range(n - 3)))
    assert r.returncode == 4, r.stderr
    assert "chunks %d-%d of %d" % (n - 2, n, n) in r.stderr, r.stderr
    assert "ended by ?" not in r.stdout and "INCOMPLETE" in r.stdout


def test_repeated_chunks_are_ignored_and_said():
    hdr, chunks = split(sample())
    ev = [i for i, c in enumerate(chunks) if c[0] == EVENTS][0]
    r, _ = report(join10(hdr, chunks[:ev + 1] + [chunks[ev]] + chunks[ev + 1:],
                         nr=len(chunks)))
    assert r.returncode == 4, r.stderr
    assert "repeats an earlier chunk" in r.stderr, r.stderr
    sealed = seal11(chunks)
    order = list(range(ev + 1)) + [ev] + list(range(ev + 1, len(sealed)))
    r, _ = report(join11(hdr, sealed, order))
    assert r.returncode == 4 and "repeats an earlier chunk" in r.stderr, r.stderr
    # the figures are those of the whole file: the repeat was not counted twice
    body = r.stdout.split("\n\n", 1)[1]
    assert body == golden().split("\n\n", 1)[1]


def test_unknown_chunk_types_optional_skipped_required_refused():
    hdr, chunks = split(sample())
    extra = list(chunks)
    extra.insert(2, (0x8002, 1, b"python frames of a later version"))
    sealed = seal11(extra)
    r, _ = report(join11(hdr, sealed))
    assert r.returncode == 0, r.stderr
    assert r.stdout == golden()
    extra[2] = (4, 1, b"a required chunk of a later version")
    r, outs = report(join11(hdr, seal11(extra)), "--json", "r.json")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "required type this gilscope does not know" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not outs, outs          # no JSON file, whole or half


def test_export_of_a_damaged_recording_exits_4_and_leaves_no_temp_file():
    hdr, chunks = split(sample())
    sealed = seal11(chunks)
    lost = [i for i, c in enumerate(chunks) if c[0] == EVENTS][0]
    d = tmpdir()
    p = os.path.join(d, "t.gst")
    with open(p, "wb") as f:
        f.write(join11(hdr, sealed, [i for i in range(len(sealed)) if i != lost]))
    for fmt in ("perfetto", "csv", "svg"):
        out = os.path.join(d, "out." + fmt)
        r = subprocess.run([GILSCOPE, "export", "--format", fmt, "-o", out, p],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 4, (fmt, r.returncode, r.stderr)
        assert "(events) is missing" in r.stderr, r.stderr
        left = sorted(os.listdir(d))
        assert left == sorted(["t.gst"] + [f for f in left if f.startswith("out.")]), left
        assert not [f for f in left if "tmp" in f or f.startswith(".")], left
    shutil.rmtree(d, ignore_errors=True)


def test_every_sample_trace_still_reads_as_before():
    """The sample traces (1.1) and the kept 1.0 recording read whole."""
    for where in (TRACES, FIXTURES):
        for g in sorted(glob.glob(os.path.join(where, "*.gst"))):
            name = os.path.basename(g)[:-4]
            r, _ = report(sample(name, where))
            assert r.returncode == 0 and r.stdout == golden(name, where), name
