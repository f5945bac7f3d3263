#!/usr/bin/env python3
"""Writes neptune-scale (Neptune's 3.x client) offline runs the way the
client writes them, with a JSON record of every value written, and checks
an xport layout against that record. Python 3 standard library only.

    gen_neptune_scale.py gen OUTDIR      # OUTDIR/record.json and the runs below
    gen_neptune_scale.py check OUTDIR LAYOUT   # exit 0 when every value matches

Sources (public): neptune-ai/neptune-client-scale
src/neptune_scale/sync/operations_repository.py (schema, DB_VERSION "v5",
operation_type 0 = UpdateRunSnapshot, 1 = CreateRun, WAL and synchronous=FULL,
a timestamp in ms per insert, delete_operations removing acknowledged rows),
src/neptune_scale/api/run.py (folder `<project>_<run_id>_<time_ns>` with
_sanitize_path_component, CreateRun with family = run id, temporary files
saved as `<uuid4><ext>` in the run folder), src/neptune_scale/sync/
metadata_splitter.py (values: float()/int/bool/str/datetime/string set,
datetime_to_proto, make_step, tags through modify_sets, preview) and
neptune-ai/neptune-api codegen/proto/neptune_pb/ingest/v1/common.proto
(field numbers). The protobuf encoding is written out by hand below
(https://protobuf.dev/programming-guides/encoding/): fields in number
order, proto3 defaults left out, repeated scalars packed.

Layout under OUTDIR:
  good/.neptune/<run folders>   edge values, a fork, a run killed mid-write
  acked/<run folder>            rows already acknowledged and deleted
  gone/<run folder>             a file whose source is no longer on disk
  badver/<run folder>           metadata version 'v9'
  corrupt/<run folder>          a damaged b-tree page of run_operations
  badpb/<run folder>            a row whose protobuf has a length past its end
"""
import json
import math
import os
import re
import sqlite3
import struct
import sys
import uuid

# ---- protobuf, by hand -------------------------------------------------------


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(num, wire):
    return varint(num << 3 | wire)


def f_varint(num, v):
    return key(num, 0) + varint(v)


def f_bytes(num, b):
    return key(num, 2) + varint(len(b)) + b


def f_str(num, s):
    return f_bytes(num, s.encode("utf-8"))


def f_double(num, d):
    return key(num, 1) + struct.pack("<d", d)


def f_float(num, d):
    return key(num, 5) + struct.pack("<f", d)


def timestamp_msg(sec, nanos):
    return (f_varint(1, sec) if sec else b"") + (f_varint(2, nanos) if nanos else b"")


def datetime_to_proto(ts):
    """datetime_to_proto of metadata_splitter.py, from a float timestamp."""
    return int(ts), int((ts % 1) * 1e9)


def make_step(number):
    """decompose_step of metadata_splitter.py."""
    m = 1e6
    micro_total = int(round(number * m, 6))
    return int(micro_total // m), int(micro_total % m)


def step_msg(whole, micro):
    return (f_varint(1, whole) if whole else b"") + (f_varint(2, micro) if micro else b"")


def step_text(whole, micro):
    if not micro:
        return str(whole)
    return ("%d.%06d" % (whole, micro)).rstrip("0")


# Value (oneof): 1 float64, 3 int64, 5 bool, 6 string, 8 timestamp,
# 12 string_set, 13 file_ref, 14 histogram
def v_float(d):
    return f_double(1, d)


def v_int(i):
    return f_varint(3, i)


def v_bool(b):
    return f_varint(5, 1 if b else 0)


def v_str(s):
    return f_str(6, s)


def v_time(sec, nanos):
    return f_bytes(8, timestamp_msg(sec, nanos))


def v_set(values):
    return f_bytes(12, b"".join(f_str(1, s) for s in values))


def v_file(path, size, mime):
    return f_bytes(13, f_str(1, path) + (f_varint(2, size) if size else b"") + f_str(3, mime))


def v_hist(edges, counts=None, densities=None):
    m = f_bytes(1, b"".join(struct.pack("<d", e) for e in edges)) if edges else b""
    if counts is not None:
        m += f_bytes(4, f_bytes(1, b"".join(varint(c) for c in counts)) if counts else b"")
    else:
        m += f_bytes(5, f_bytes(1, b"".join(struct.pack("<d", d) for d in densities))
                     if densities else b"")
    return f_bytes(14, m)


def map_entry(num, k, v):
    return f_bytes(num, f_str(1, k) + f_bytes(2, v))


def snapshot(step=None, ts=None, assign=(), modify=(), append=(), preview=None):
    m = b""
    if step is not None:
        m += f_bytes(1, step_msg(*step))
    if ts is not None:
        m += f_bytes(2, timestamp_msg(*ts))
    for k, v in assign:
        m += map_entry(4, k, v)
    for k, ops in modify:  # ModifySet{1 string: ModifyStringSet{1 map<string, op>}}
        inner = b"".join(f_bytes(1, f_str(1, t) + f_varint(2, op)) for t, op in ops)
        m += map_entry(5, k, f_bytes(1, inner))
    for k, v in append:
        m += map_entry(8, k, v)
    if preview is not None:
        is_prev, ratio = preview
        m += f_bytes(10, f_varint(1, 1 if is_prev else 0) +
                     (f_float(2, ratio) if ratio else b""))
    return m


def create_run(run_id, experiment_id=None, fork=None, creation=None):
    """Run of common.proto as Run._create_run builds it (family = run id)."""
    m = b""
    if fork is not None:
        parent_project, parent_run, step = fork
        m += f_bytes(2, f_str(1, parent_project) + f_str(2, parent_run) +
                     f_bytes(4, step_msg(*step)))
    if creation is not None:
        m += f_bytes(3, timestamp_msg(*creation))
    m += f_str(4, run_id)
    if experiment_id is not None:
        m += f_str(5, experiment_id)
    return m


# ---- the database, as OperationsRepository writes it -------------------------

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS run_operations (
        sequence_id INTEGER PRIMARY KEY AUTOINCREMENT,
        timestamp INTEGER NOT NULL,
        operation_type INTEGER NOT NULL,
        operation BLOB NOT NULL,
        operation_size_bytes INTEGER NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS idx_run_operations_sequence_size
        ON run_operations (sequence_id, operation_size_bytes)""",
    """CREATE TABLE IF NOT EXISTS metadata (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        version TEXT NOT NULL, project TEXT NOT NULL, run_id TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS run_operation_submission (
        sequence_id INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL,
        request_id TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS file_upload_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT, source_path TEXT NOT NULL,
        destination TEXT NOT NULL, mime_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL, is_temporary INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS operation_errors (
        error_id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp INTEGER NOT NULL,
        error_type TEXT NOT NULL, error_details TEXT NOT NULL,
        error_body TEXT NOT NULL, sequence_id INTEGER)""",
]

T0 = 1767323045  # 2026-01-02T03:04:05Z


def sanitize(component):
    """_sanitize_path_component of api/run.py."""
    r = re.sub(r'[<>:" /\\|?*\x00-\x1F]', "_", component)
    r = re.sub(r"_{2,}", "_", r)
    return r[:64]


class Repo:
    def __init__(self, base, project, run_id, time_ns, version="v5"):
        self.dir = os.path.join(base, "%s_%s_%d" % (sanitize(project), sanitize(run_id), time_ns))
        os.makedirs(self.dir, exist_ok=True)
        self.db = os.path.join(self.dir, "run_operations.sqlite3")
        self.c = sqlite3.connect(self.db, isolation_level=None)
        self.c.execute("PRAGMA journal_mode = WAL")
        # the client sets synchronous = FULL; OFF here only spares the test
        # its fsyncs (the files written are the same)
        self.c.execute("PRAGMA synchronous = OFF")
        self.c.execute("BEGIN")
        for s in SCHEMA:
            self.c.execute(s)
        self.c.execute("COMMIT")
        self.tx("INSERT INTO metadata (version, project, run_id) VALUES (?, ?, ?)",
                (version, project, run_id))
        self.ms = T0 * 1000

    def tx(self, sql, args=()):
        self.c.execute("BEGIN")
        self.c.execute(sql, args)
        self.c.execute("COMMIT")

    def op(self, typ, blob):
        self.ms += 7
        self.tx("INSERT INTO run_operations (timestamp, operation_type, operation, "
                "operation_size_bytes) VALUES (?, ?, ?, ?)", (self.ms, typ, blob, len(blob)))

    def snap(self, **kw):
        self.op(0, snapshot(**kw))

    def upload(self, source, dest, mime, size, temporary):
        self.tx("INSERT INTO file_upload_requests (source_path, destination, mime_type, "
                "size_bytes, is_temporary) VALUES (?, ?, ?, ?, ?)",
                (source, dest, mime, size, int(temporary)))

    def close(self):
        self.c.close()


# ---- the runs -----------------------------------------------------------------

def bits(d):
    return struct.pack("<d", d).hex()


class Rec:
    """What a run holds after replay, in the terms the checker compares."""

    def __init__(self, project, run_id, folder):
        ws, pr = project.split("/", 1)
        self.r = {"workspace": ws, "project": pr, "run_id": run_id, "folder": folder,
                  "params": {}, "series": {}, "logs": [], "files": {}, "tags": None}

    def param(self, path, typ, value):
        if typ == "float":
            value = bits(value)
        self.r["params"][path] = [typ, value]

    def point(self, path, step, ts, typ, value, preview=None):
        if typ == "float":
            value = bits(value)
        self.r["series"].setdefault(path, []).append(
            {"step": None if step is None else list(step), "ts": list(ts), "type": typ,
             "value": value, "preview": preview})


def gen_edge(base, files_dir):
    project, run_id = "ws/proj", "edge-run"
    repo = Repo(base, project, run_id, 1767323045000000001)
    rec = Rec(project, run_id, os.path.basename(repo.dir))
    creation = datetime_to_proto(T0 + 0.25)
    repo.op(1, create_run(run_id, "edge experiment", None, creation))
    rec.r["create"] = {"experiment_id": "edge experiment", "creation": list(creation)}
    ts = datetime_to_proto(T0 + 1.123456)
    # log_configs: float, int, bool, str, datetime, list -> string set
    long_s = "x" * 99999 + "\u00e9"
    dt = datetime_to_proto(T0 + 0.123456)
    configs = [
        ("parameters/lr", "float", 0.1), ("parameters/neg_zero", "float", -0.0),
        ("parameters/nan", "float", float("nan")), ("parameters/inf", "float", float("inf")),
        ("parameters/ninf", "float", float("-inf")), ("parameters/tiny", "float", 5e-324),
        ("parameters/huge", "float", 1.7976931348623157e308),
        ("parameters/max_int", "int", 2**63 - 1), ("parameters/min_int", "int", -2**63),
        ("parameters/on", "bool", True), ("parameters/off", "bool", False),
        ("parameters/\u00fcn\u00ef/\u03ba\u03bb\u03b5\u03b9\u03b4\u03af", "string", "v\u00e4lue \u2713"),
        ("parameters/long", "string", long_s), ("parameters/empty", "string", ""),
        ("parameters/when", "datetime", dt), ("parameters/labels", "set", ["b", "a", "\u2713"]),
        ("sys/description", "string", "edge values"),
    ]
    enc = {"float": v_float, "int": v_int, "bool": v_bool, "string": v_str}
    assign = []
    for path, typ, v in configs:
        if typ == "datetime":
            assign.append((path, v_time(*v)))
            rec.param(path, typ, list(v))
        elif typ == "set":
            assign.append((path, v_set(v)))
            rec.param(path, typ, sorted(set(v)))
        else:
            assign.append((path, enc[typ](v)))
            rec.param(path, typ, v)
    # one operation per config here: a 100,000 character string is large
    for a in assign:
        repo.snap(ts=ts, assign=[a])
    # a value assigned again replaces the first
    repo.snap(ts=ts, assign=[("parameters/lr", v_float(0.25))])
    rec.param("parameters/lr", "float", 0.25)
    # tags: add_tags / remove_tags through modify_sets (ADD 1, REMOVE 2)
    repo.snap(ts=ts, modify=[("sys/tags", [("slurm", 1), ("drop-me", 1), ("\u00fcn\u00efcode", 1)])])
    repo.snap(ts=ts, modify=[("sys/tags", [("drop-me", 2)])])
    rec.r["tags"] = sorted(["slurm", "\u00fcn\u00efcode"])
    # metrics: float() values at decimal steps
    steps = [0.1, 1e-6, 3.5, 7]
    vals = [float("nan"), float("inf"), float("-inf"), -0.0]
    for i, (s, v) in enumerate(zip(steps, vals)):
        st = make_step(s)
        t = datetime_to_proto(T0 + 10 + i + 0.000001)
        repo.snap(step=st, ts=t, append=[("train/loss", v_float(v)), ("train/acc", v_float(i / 3))])
        rec.point("train/loss", st, t, "float", v)
        rec.point("train/acc", st, t, "float", i / 3)
    # a step a double cannot hold at six decimals
    big = (2**40 + 3, 123457)
    t = datetime_to_proto(T0 + 20)
    repo.snap(step=big, ts=t, append=[("train/loss", v_float(5e-324))])
    rec.point("train/loss", big, t, "float", 5e-324)
    # a preview point
    t = datetime_to_proto(T0 + 21)
    repo.snap(step=(8, 0), ts=t, append=[("train/loss", v_float(1.5))], preview=(True, 0.5))
    rec.point("train/loss", (8, 0), t, "float", 1.5, preview=0.5)
    # many points in one series (spooled)
    for i in range(300):
        st = (100 + i, 0)
        t = (T0 + 100 + i, 0)
        repo.snap(step=st, ts=t, append=[("many/points", v_float(i * 0.5))])
        rec.point("many/points", st, t, "float", i * 0.5)
    # string series, with unicode and '/' in the path; console output
    for i, s in enumerate(["first", "second \u2713"]):
        st, t = (i, 0), datetime_to_proto(T0 + 30 + i)
        repo.snap(step=st, ts=t, append=[("notes/\u00e9t\u00e9", v_str(s))])
        rec.point("notes/\u00e9t\u00e9", st, t, "string", s)
    for i, (stream, line) in enumerate([("stdout", "hello"), ("stderr", "warning: x"),
                                        ("stdout", "bye \u2713")]):
        st, t = (i, 0), datetime_to_proto(T0 + 40 + i)
        repo.snap(step=st, ts=t, append=[("runtime/" + stream, v_str(line))])
        rec.r["logs"].append({"stream": stream, "message": line, "ts": list(t),
                              "step": step_text(*st)})
    # histograms: counts (uint64) and densities with infinite edges
    t = datetime_to_proto(T0 + 50)
    repo.snap(step=(1, 0), ts=t, append=[("hist/counts", v_hist([0.0, 1.0, 2.0], counts=[3, 2**64 - 1]))])
    rec.point("hist/counts", (1, 0), t, "histogram",
              {"edges": [bits(0.0), bits(1.0), bits(2.0)], "counts": [3, 2**64 - 1]})
    repo.snap(step=(2, 0), ts=t, append=[("hist/dens", v_hist([float("-inf"), 0.0, float("inf")],
                                                              densities=[0.25, -0.0]))])
    rec.point("hist/dens", (2, 0), t, "histogram",
              {"edges": [bits(float("-inf")), bits(0.0), bits(float("inf"))],
               "densities": [bits(0.25), bits(-0.0)]})
    # files: bytes saved as a temporary file in the run folder; a local file
    data = b"\x00\x01model-bytes\xff"
    tmp = os.path.join(repo.dir, str(uuid.UUID(int=1)) + ".bin")
    with open(tmp, "wb") as fh:
        fh.write(data)
    dest = "edge-run-0011aabb/model-22ccdd/none/%s" % os.path.basename(tmp)
    repo.upload(tmp, dest, "application/octet-stream", len(data), True)
    repo.snap(ts=ts, assign=[("artifacts/model", v_file(dest, len(data), "application/octet-stream"))])
    rec.r["files"]["artifacts/model.bin"] = data.hex()
    for i in range(2):
        src = os.path.join(files_dir, "img%d.png" % i)
        body = b"\x89PNG\r\n\x1a\n" + bytes([i]) * 10
        with open(src, "wb") as fh:
            fh.write(body)
        st = (i, 500000)
        dest = "edge-run-0011aabb/images-33eeff/%019.6f/img%d.png" % (i + 0.5, i)
        repo.upload(src, dest, "image/png", len(body), False)
        repo.snap(step=st, ts=ts, append=[("images/s\u00e4mple", v_file(dest, len(body), "image/png"))])
        rec.r["files"]["images/s\u00e4mple/%d.png" % i] = body.hex()
    repo.close()
    return rec


def gen_fork(base):
    project, run_id = "ws/proj", "fork-run"
    repo = Repo(base, project, run_id, 1767323046000000002)
    rec = Rec(project, run_id, os.path.basename(repo.dir))
    creation = datetime_to_proto(T0 + 5.5)
    repo.op(1, create_run(run_id, None, ("ws/proj", "edge-run", make_step(3.5)), creation))
    rec.r["create"] = {"fork": ["ws/proj", "edge-run", "3.5"], "creation": list(creation)}
    for i in range(3):
        st, t = make_step(3.5 + 0.1 * (i + 1)), datetime_to_proto(T0 + 60 + i)
        repo.snap(step=st, ts=t, append=[("train/loss", v_float(1.0 / (i + 1)))])
        rec.point("train/loss", st, t, "float", 1.0 / (i + 1))
    repo.close()
    return rec


def gen_killed(base):
    """A run whose process died: rows committed to the WAL, never checkpointed
    and no close (os._exit in a forked child, as a kill would leave it)."""
    project, run_id = "ws/proj", "killed-run"
    pid = os.fork()
    if pid == 0:
        try:
            repo = Repo(base, project, run_id, 1767323047000000003)
            repo.c.execute("PRAGMA wal_autocheckpoint = 0")
            repo.op(1, create_run(run_id, None, None, (T0, 0)))
            for i in range(5):
                repo.snap(step=(i, 0), ts=(T0 + i, 0),
                          append=[("m", v_float(i + 0.25))],
                          assign=[("parameters/last", v_int(i))])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    rec = Rec(project, run_id, "%s_%s_%d" % (sanitize(project), sanitize(run_id),
                                             1767323047000000003))
    rec.r["create"] = {"creation": [T0, 0]}
    for i in range(5):
        rec.point("m", (i, 0), (T0 + i, 0), "float", i + 0.25)
    rec.param("parameters/last", "int", 4)
    rec.r["wal"] = True
    return rec


def gen_acked(base):
    """Rows 1-3 sent and acknowledged: delete_operations removed them."""
    repo = Repo(base, "ws/proj", "acked-run", 1767323048000000004)
    repo.op(1, create_run("acked-run", None, None, (T0, 0)))
    for i in range(6):
        repo.snap(step=(i, 0), ts=(T0 + i, 0), append=[("m", v_float(float(i)))])
    repo.tx("DELETE FROM run_operations WHERE sequence_id <= ?", (3,))
    repo.close()


def gen_gone(base):
    repo = Repo(base, "ws/proj", "gone-run", 1767323049000000005)
    repo.op(1, create_run("gone-run", None, None, (T0, 0)))
    dest = "gone-run-00/data-11/none/raw.npy"
    repo.upload("/nonexistent/job/raw.npy", dest, "application/octet-stream", 4, False)
    repo.snap(ts=(T0, 0), assign=[("data/raw", v_file(dest, 4, "application/octet-stream")),
                                  ("parameters/kept", v_int(1))])
    repo.close()


def gen_badver(base):
    repo = Repo(base, "ws/proj", "badver-run", 1767323050000000006, version="v9")
    repo.op(1, create_run("badver-run", None, None, (T0, 0)))
    repo.close()


def gen_corrupt(base):
    repo = Repo(base, "ws/proj", "corrupt-run", 1767323051000000007)
    repo.op(1, create_run("corrupt-run", None, None, (T0, 0)))
    for i in range(200):
        repo.snap(step=(i, 0), ts=(T0 + i, 0), append=[("m", v_float(float(i)))],
                  assign=[("parameters/pad%d" % i, v_str("p" * 40))])
    repo.c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = repo.c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'run_operations'"
                          ).fetchone()[0]
    psize = repo.c.execute("PRAGMA page_size").fetchone()[0]
    repo.close()
    # the table's root page: an interior b-tree page; its cell pointers now
    # point past the page
    with open(repo.db, "r+b") as fh:
        fh.seek((root - 1) * psize + 12)
        fh.write(b"\xff\xf0" * 8)


def gen_badpb(base):
    repo = Repo(base, "ws/proj", "badpb-run", 1767323052000000008)
    repo.op(1, create_run("badpb-run", None, None, (T0, 0)))
    repo.snap(step=(1, 0), ts=(T0, 0), append=[("m", v_float(1.0))])
    # append (8): an entry claiming 200 bytes where 5 follow
    repo.op(0, f_bytes(1, step_msg(2, 0)) + key(8, 2) + varint(200) + b"\x0a\x01m\x12\x00")
    repo.close()


def gen(out):
    good = os.path.join(out, "good", ".neptune")
    files_dir = os.path.join(out, "srcfiles")
    os.makedirs(good, exist_ok=True)
    os.makedirs(files_dir, exist_ok=True)
    recs = [gen_edge(good, files_dir), gen_fork(good), gen_killed(good)]
    for name, fn in [("acked", gen_acked), ("gone", gen_gone), ("badver", gen_badver),
                     ("corrupt", gen_corrupt), ("badpb", gen_badpb)]:
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        fn(d)
    with open(os.path.join(out, "record.json"), "w", encoding="utf-8") as fh:
        json.dump({"runs": [r.r for r in recs]}, fh, ensure_ascii=False, indent=1)


# ---- the check ------------------------------------------------------------------

def fail(msg):
    print("MISMATCH: " + msg)
    sys.exit(1)


def iso(sec, nanos):
    import datetime
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=sec)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        s += ("." + "%09d" % nanos).rstrip("0")
    return s + "Z"


def same_float(got, want_hex, what):
    want = struct.unpack("<d", bytes.fromhex(want_hex))[0]
    if not isinstance(got, float):
        fail("%s: %r is not a float" % (what, got))
    if math.isnan(want) and math.isnan(got):
        return
    if bits(got) != want_hex:
        fail("%s: %r (bits %s) is not %r (bits %s)" % (what, got, bits(got), want, want_hex))


def nested(doc, path):
    for p in path.split("/"):
        if not isinstance(doc, dict) or p not in doc:
            return KeyError
        doc = doc[p]
    return doc


def series_dirs(exp):
    out = {}
    mdir = os.path.join(exp, "metrics")
    for d in os.listdir(mdir) if os.path.isdir(mdir) else []:
        with open(os.path.join(mdir, d, "metadata.json"), encoding="utf-8") as fh:
            out[json.load(fh)["name"]] = os.path.join(mdir, d)
    return out


def check_run(r, layout):
    exp = os.path.join(layout, r["workspace"], r["project"], r["run_id"])
    params = {}
    if os.path.exists(os.path.join(exp, "parameters.json")):
        with open(os.path.join(exp, "parameters.json"), encoding="utf-8") as fh:
            params = json.load(fh)["data"]
    with open(os.path.join(exp, "experiment.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    for path, (typ, want) in r["params"].items():
        if path.startswith("sys/"):
            got = meta["source"]["fields"]["sys"].get(path[4:], KeyError)
            if got != want or meta.get("description") != want:
                fail("%s: %r" % (path, got))
            continue
        got = nested(params, path)
        if got is KeyError:
            fail("parameter %s missing" % path)
        if typ == "float":
            same_float(got, want, path)
        elif typ == "datetime":
            if got != iso(*want):
                fail("%s: %r is not %r" % (path, got, iso(*want)))
        elif typ == "int":
            if type(got) is not int or got != want:
                fail("%s: %r is not %r" % (path, got, want))
        elif typ == "bool":
            if got is not want:
                fail("%s: %r is not %r" % (path, got, want))
        elif got != want:
            fail("%s: %r is not %r" % (path, got[:80] if isinstance(got, str) else got,
                                      want[:80] if isinstance(want, str) else want))
    if r["tags"] is not None and meta.get("tags") != r["tags"]:
        fail("tags %r" % meta.get("tags"))
    create = r.get("create", {})
    if "creation" in create and meta.get("created_at") != iso(*create["creation"]):
        fail("created_at %r is not %r" % (meta.get("created_at"), iso(*create["creation"])))
    blob = json.dumps(meta, ensure_ascii=False)
    if "experiment_id" in create and '"experiment_id": "%s"' % create["experiment_id"] not in blob:
        fail("experiment_id not kept")
    if "fork" in create:
        pp, pr, st = create["fork"]
        for s in ['"parent_project": "%s"' % pp, '"parent_run_id": "%s"' % pr, '"step": "%s"' % st]:
            if s not in blob:
                fail("fork point: %s not in experiment.json" % s)
    dirs = series_dirs(exp)
    for path, pts in r["series"].items():
        if path not in dirs:
            fail("series %s missing (have %s)" % (path, sorted(dirs)))
        with open(os.path.join(dirs[path], "data.jsonl"), encoding="utf-8") as fh:
            lines = [json.loads(x) for x in fh if x.strip()]
        if len(lines) != len(pts):
            fail("%s: %d points, not %d" % (path, len(lines), len(pts)))
        for i, (line, p) in enumerate(zip(lines, pts)):
            d, what = line["data"], "%s[%d]" % (path, i)
            if line["index"] != i:
                fail("%s: index %r" % (what, line["index"]))
            if p["type"] == "float":
                same_float(d["value"], p["value"], what)
            elif p["type"] == "histogram":
                v = d["value"]
                if v.get("type") != "histogram":
                    fail("%s: %r" % (what, v))
                for k, e in enumerate(p["value"]["edges"]):
                    same_float(v["edges"][k], e, what + " edge")
                if "counts" in p["value"]:
                    if v.get("counts") != p["value"]["counts"]:
                        fail("%s: counts %r" % (what, v.get("counts")))
                else:
                    for k, e in enumerate(p["value"]["densities"]):
                        same_float(v["densities"][k], e, what + " density")
            elif d["value"] != p["value"]:
                fail("%s: value %r is not %r" % (what, d["value"], p["value"]))
            whole, micro = p["step"]
            text = step_text(whole, micro)
            same_float(d["step"], bits(float(text)), what + " step")
            exact6 = "%d.%06d" % (whole, micro)
            if ("%.6f" % float(text)) != exact6:
                if d.get("step_decimal") != text:
                    fail("%s: step_decimal %r is not %r" % (what, d.get("step_decimal"), text))
            elif "step_decimal" in d:
                fail("%s: step_decimal where the double is exact" % what)
            sec, nanos = p["ts"]
            same_float(d["timestamp"], bits(float("%d.%09d" % (sec, nanos))), what + " timestamp")
            if line.get("createdAt") != iso(sec, nanos):
                fail("%s: createdAt %r is not %r" % (what, line.get("createdAt"), iso(sec, nanos)))
            if p["preview"] is not None:
                if d.get("preview") is not True:
                    fail("%s: not a preview" % what)
                same_float(d["completion_ratio"], bits(p["preview"]), what + " ratio")
            elif "preview" in d:
                fail("%s: a preview" % what)
    extra = set(dirs) - set(r["series"])
    if extra:
        fail("series not written by the script: %s" % sorted(extra))
    if r["logs"]:
        with open(os.path.join(exp, "logs", "logs.jsonl"), encoding="utf-8") as fh:
            logs = [json.loads(x) for x in fh if x.strip()]
        if len(logs) != len(r["logs"]):
            fail("%d log lines, not %d" % (len(logs), len(r["logs"])))
        for g, w in zip(logs, r["logs"]):
            if (g.get("stream"), g.get("message"), g.get("timestamp")) != \
                    (w["stream"], w["message"], iso(*w["ts"])):
                fail("log line %r is not %r" % (g, w))
    for rel, hexdata in r["files"].items():
        p = os.path.join(exp, "files", rel)
        if not os.path.isfile(p):
            fail("file %s missing" % rel)
        with open(p, "rb") as fh:
            if fh.read().hex() != hexdata:
                fail("file %s differs" % rel)


def check(out, layout):
    with open(os.path.join(out, "record.json"), encoding="utf-8") as fh:
        rec = json.load(fh)
    for r in rec["runs"]:
        check_run(r, layout)
    print("ok: %d runs" % len(rec["runs"]))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
