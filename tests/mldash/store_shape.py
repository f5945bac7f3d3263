"""Checks that an ml-dash local store written by xport's mldash-local
adapter is one the ml-dash SDK v0.6.27 opens: what the SDK's own code
(LocalStorage, Experiment, the upload command; commit
173283847eb2b2eae944ac1175eab71e742bc46f) was seen to rely on, pinned here
so the tests fail if the store regresses. Standard library only; the SDK is
not needed (tests/mldash/check_sdk_store.py runs the SDK itself).

usage:
  store_shape.py REFERENCE_EXPERIMENT_DIR CANDIDATE_EXPERIMENT_DIR
      the same files (relative paths) and, in every JSON / JSONL file, the
      same keys as a store the SDK wrote (values may differ)
  store_shape.py --facts ROOT
      every experiment below ROOT as the SDK reads it (see facts())
  store_shape.py --awkward-layout DIR
      write an xport layout with awkward names and values to copy from
"""
import hashlib
import json
import os
import sys


def sha(b):
    return hashlib.sha256(b).hexdigest()


# ---- how mldash-local names folders (adapters/mldash/mldash_local.c) ----
#
# The SDK joins names into paths as they are (ROOT/<prefix>,
# metrics/<name>, tracks/<topic with / as _>), so a name ml-dash could write
# is written verbatim; any other is encoded whole by xp_name_encode
# (mirrored here), and so is a name that reads like such an encoding.

def xp_encode(name):
    b = name.encode("utf-8")
    if not b:
        return "%00"
    out = bytearray()
    n = len(b)
    for i, c in enumerate(b):
        if (c < 0x20 or c == 0x7F or c in b"%/\\:*?\"<>|" or (i == 0 and c == 0x2E)
                or (i == n - 1 and c in b" .")):
            out += b"%%%02X" % c
        else:
            out.append(c)
    if len(out) > 200:
        cut = 200 - 13
        if out[cut - 1] == 0x25:
            cut -= 1
        elif out[cut - 2] == 0x25:
            cut -= 2
        while cut > 0 and (out[cut] & 0xC0) == 0x80:
            cut -= 1
        out = out[:cut] + b"~" + hashlib.sha256(b).hexdigest()[:12].encode()
    return out.decode("utf-8")


def xp_decode(enc):
    if enc == "%00":
        return ""
    out = bytearray()
    i = 0
    b = enc.encode("utf-8")
    while i < len(b):
        if b[i] == 0x25:
            h = b[i + 1:i + 3]
            if len(h) != 2 or any(chr(x) not in "0123456789abcdefABCDEF" for x in h):
                return None
            out.append(int(h, 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def looks_encoded(s):
    d = xp_decode(s)
    return d is not None and d != s and "\0" not in d and xp_encode(d) == s


def verbatim(s):
    """A name ml-dash could use as a directory that xport writes as it is."""
    return (s not in ("", ".", "..") and "/" not in s and "\\" not in s
            and not s.startswith(".") and len(s.encode("utf-8")) <= 200
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in s)
            and not looks_encoded(s))


def seg(s):
    return s if verbatim(s) else xp_encode(s)


def metric_rel(name):
    """metrics/<...>: '/'-separated names nest, as the SDK writes them."""
    parts = name.split("/")
    if all(verbatim(p) for p in parts):
        return "/".join(parts)
    return xp_encode(name)


# ---- an xport layout with awkward names and values ----

def write_layout_experiment(root, ej, params=None, metrics=(), tracks=(), logs=(),
                            files=()):
    """One experiment of an xport layout (schemas/README.md)."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "xport.json"), "w") as f:
        f.write('{"format":"xport-layout","version":1}\n')
    d = os.path.join(root, xp_encode(ej["workspace"]), xp_encode(ej["project"]),
                     xp_encode(ej["name"]))
    os.makedirs(d)
    ej = dict(ej, xport={"format": "xport-layout", "version": 1})
    ej.setdefault("tags", [])
    ej.setdefault("source", {"vendor": "test", "id": ej["name"]})

    def dump(path, obj):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")

    def dumpl(path, rows):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if params is not None:
        dump(os.path.join(d, "parameters.json"), {"version": 1, "data": params})
    for name, pts, extra in metrics:
        md = dict({"name": name, "totalDataPoints": len(pts), "kind": "metric"}, **extra)
        dump(os.path.join(d, "metrics", xp_encode(name), "metadata.json"), md)
        dumpl(os.path.join(d, "metrics", xp_encode(name), "data.jsonl"), pts)
    for topic, rows in tracks:
        dump(os.path.join(d, "tracks", xp_encode(topic), "metadata.json"),
             {"topic": topic, "totalEntries": len(rows)})
        dumpl(os.path.join(d, "tracks", xp_encode(topic), "data.jsonl"), rows)
    if logs:
        dumpl(os.path.join(d, "logs", "logs.jsonl"), logs)
    entries = []
    for path, body, extra in files:
        p = os.path.join(d, "files", path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(body)
        entries.append(dict({"path": path, "size": len(body), "sha256": sha(body)},
                            **extra))
    if entries:
        dumpl(os.path.join(d, "files.jsonl"), entries)
    dump(os.path.join(d, "experiment.json"), ej)


EDGE_VALUES = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1e-300, 5e-324,
               1.7976931348623157e308, 1.0, 2.0 ** 53 + 2, 9223372036854775807,
               -9223372036854775808, 18446744073709551615, 2 ** 53 + 1, 0, -1,
               "NaN", "", "ünï \"q\" \\ \n\t", True, False, None,
               {"_type": "histogram", "bins": [0.1, 2.5e-8], "values": [1, 2]},
               [1, 2.5, "x", None, [float("inf")]]]


def awkward_layout(root):
    pts = [{"index": i, "data": {"value": v, "step": i * 10,
                                 "timestamp": 1.7e9 + i / 8},
            "createdAt": "2026-01-02T03:04:%02d.000001Z" % (i % 60)}
           for i, v in enumerate(EDGE_VALUES)]
    small = [{"index": i, "data": {"value": i / 3}} for i in range(25)]
    gaps = [{"index": i, "data": {"value": i}} for i in (5, 7, 8, 1000)]
    params = {"lr": 0.001, "nan": float("nan"), "neg0": -0.0, "inf": float("-inf"),
              "big": 18446744073709551615, "int64": -9223372036854775808,
              "model": {"layers": [64, 32], "act": "ünï", "opt": {"beta": [0.9, 0.999]}},
              "dotted.key": True, "empty": {}, "none": None, "s/l\\a": "x"}
    logs = [{"sequenceNumber": i, "timestamp": "2026-01-02T03:04:%02dZ" % i,
             "level": lv, "message": msg, **({"metadata": md} if md is not None else {})}
            for i, (lv, msg, md) in enumerate([
                ("info", "plain", None), ("warn", "tab\tnewline\nquote\" ünï", {"a": 1}),
                ("error", "", {"nested": {"x": [1, float("nan")]}}),
                ("debug", "\u2028 line sep", {}), ("fatal", "x" * 5000, None)])]
    logs.append({"sequenceNumber": 5, "timestamp": "2026-01-02T03:05:00Z",
                 "level": "info", "stream": "stderr", "message": "from stderr"})
    files = [("models/ckpt.pt", bytes(range(256)) * 40, {"contentType": "application/x-pt"}),
             ("root.txt", b"at the root\n", {}),
             ("a/b/c/deep file ünï.bin", b"\0\1\2 deep", {"id": "7354077205050049"}),
             ("empty/zero.txt", b"", {}),
             ("odd:name?/x%y.txt", b"odd", {"metadata": {"note": "not ml-dash"}})]
    tracks = [("robot/pos", [{"timestamp": 3.5, "pos.x": 1, "pos.y": -0.0},
                             {"timestamp": 1.25, "pos.x": float("nan"), "pos.z": "s"},
                             {"timestamp": 2.0, "pos.x": 3}]),
              ("cam:rgb", [{"timestamp": 10.0, "frame": "f0.png"}])]
    write_layout_experiment(
        root, {"workspace": "tom", "project": "awk proj", "folder": "sweeps/lr:0.1",
               "name": "run:1 ünï", "description": "awkward", "tags": ["a", "ünï"],
               "status": "COMPLETED", "startedAt": "2026-01-02T03:04:05Z",
               "created_at": "2026-01-02T03:04:05.123456Z", "metadata": {"k": [1]}},
        params=params,
        metrics=[("loss", pts, {"description": "edge values", "metadata": {"unit": "u"}}),
                 ("train/loss", small, {}), ("train", small[:3], {}),
                 ("eval/acc/top1", small[:4], {}), ("ünï metric", small[:2], {}),
                 ("a:b?c 100%", small[:2], {}), ("gappy", gaps, {}), ("None", small[:1], {})],
        tracks=tracks, logs=logs, files=files)
    write_layout_experiment(
        root, {"workspace": "tom", "project": "awk proj", "name": "../../../escape"},
        metrics=[("x/../y", small[:3], {}), ("..", small[:2], {}),
                 (".hidden", small[:2], {}), ("%2Fenc", small[:2], {})],
        tracks=[("..", [{"timestamp": 1.0, "v": 1}])],
        files=[("f.txt", b"f", {})])
    write_layout_experiment(
        root, {"workspace": ".hidden ws", "project": "p/q", "folder": "a/../b/%41",
               "name": "%2E.", "description": None},
        params={"only": 1}, logs=[{"sequenceNumber": 7, "message": "no level, no time"}])
    write_layout_experiment(
        root, {"workspace": "alice", "project": "other", "name": "n" * 230,
               "folder": "lead/trail"},
        metrics=[("m", small[:2], {})])
    write_layout_experiment(root, {"workspace": "alice", "project": "other",
                                   "name": "empty"})


# ---- same files and keys as a store the SDK wrote ----

def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            if not f.endswith(".lock"):
                out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def keys(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith(".jsonl"):
        return [sorted(json.loads(l)) for l in text.splitlines() if l.strip()]
    if path.endswith(".json"):
        o = json.loads(text)
        ks = sorted(o)
        if isinstance(o.get("files"), list):  # .files_metadata.json
            ks.append([sorted(e) for e in o["files"]])
        return ks
    return None


def same_shape(ref, cand):
    a, b = files(ref), files(cand)
    bad = 0
    for f in sorted(a ^ b):
        print("only in %s: %s" % ("reference" if f in a else "candidate", f))
        bad += 1
    for f in sorted(a & b):
        ka, kb = keys(os.path.join(ref, f)), keys(os.path.join(cand, f))
        if ka != kb:
            print("keys differ in %s: %s vs %s" % (f, ka, kb))
            bad += 1
    return 1 if bad else 0


# ---- what the SDK relies on, experiment by experiment ----

METRIC_KEYS = ["createdAt", "description", "metadata", "metricId", "name", "nextIndex",
               "tags", "totalDataPoints", "updatedAt"]
TRACK_KEYS = ["columns", "createdAt", "firstTimestamp", "lastTimestamp", "topic",
              "totalEntries", "trackId"]
FILE_KEYS = ["bindrs", "checksum", "contentType", "deletedAt", "description",
             "experimentId", "filename", "id", "metadata", "path", "sizeBytes", "tags",
             "updatedAt", "uploadedAt"]


def jload(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def jlines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def check_experiment(d, rel, err):
    ej = jload(os.path.join(d, "experiment.json"))
    w = rel
    for k in ("name", "project"):  # upload's validator refuses it without
        if not isinstance(ej.get(k), str):
            err(w, "experiment.json has no %r" % k)
            return
    # Experiment(prefix=P) and upload read and write everything at ROOT/P
    if ej.get("prefix") != rel:
        err(w, "prefix %r is not the experiment's path %r" % (ej.get("prefix"), rel))
    parts = rel.split("/")
    # upload takes project and experiment from the prefix's segments
    if len(parts) < 3 or parts[1] != seg(ej["project"]) or parts[-1] != seg(ej["name"]):
        err(w, "prefix segments %r do not name project %r, experiment %r" % (
            parts, ej["project"], ej["name"]))
    for sub in ("logs", "metrics", "files"):
        if not os.path.isdir(os.path.join(d, sub)):
            err(w, "no %s/ (the SDK makes it for every experiment)" % sub)
    p = os.path.join(d, "parameters.json")
    if os.path.exists(p):
        pj = jload(p)
        if not isinstance(pj.get("version"), int) or not isinstance(pj.get("data"), dict):
            err(w, "parameters.json is not {version, data:{...}}")
    # metrics/<name>: the SDK reads and appends by name at exactly that path
    mroot = os.path.join(d, "metrics")
    for md, _, fs in os.walk(mroot):
        if "data.jsonl" not in fs:
            continue
        mrel = os.path.relpath(md, mroot)
        if "metadata.json" not in fs:
            err(w, "metrics/%s has no metadata.json" % mrel)
            continue
        m = jload(os.path.join(md, "metadata.json"))
        name = m.get("name")
        if sorted(m) != METRIC_KEYS:
            err(w, "metrics/%s/metadata.json keys %s" % (mrel, sorted(m)))
            continue
        if metric_rel(name) != mrel:
            err(w, "metric %r is at metrics/%s, not metrics/%s" % (name, mrel,
                                                                metric_rel(name)))
        if m["metricId"] != "local-metric-%s" % name:
            err(w, "metric %r has metricId %r" % (name, m["metricId"]))
        pts = jlines(os.path.join(md, "data.jsonl"))
        if not all(isinstance(x.get("index"), int) and isinstance(x.get("data"), dict)
                   for x in pts):
            err(w, "metric %r: a line without an int index or a data object" % name)
            continue
        if m["totalDataPoints"] != len(pts):
            err(w, "metric %r: totalDataPoints %s, %d lines" % (
                name, m["totalDataPoints"], len(pts)))
        # the SDK appends at nextIndex
        if pts and m["nextIndex"] <= max(x["index"] for x in pts):
            err(w, "metric %r: nextIndex %s is not above every index" % (
                name, m["nextIndex"]))
    troot = os.path.join(d, "tracks")
    for t in sorted(os.listdir(troot)) if os.path.isdir(troot) else []:
        m = jload(os.path.join(troot, t, "metadata.json"))
        if sorted(m) != TRACK_KEYS:
            err(w, "tracks/%s/metadata.json keys %s" % (t, sorted(m)))
            continue
        safe = m["topic"].replace("/", "_")
        if t != seg(safe) or m["trackId"] != "local-track-" + safe:
            err(w, "track %r at tracks/%s with trackId %r" % (m["topic"], t, m["trackId"]))
        rows = jlines(os.path.join(troot, t, "data.jsonl"))
        ts = [r["timestamp"] for r in rows
              if isinstance(r.get("timestamp"), (int, float)) and r["timestamp"] == r["timestamp"]]
        want = {"columns": sorted({k for r in rows for k in r} - {"timestamp"}),
                "totalEntries": len(rows),
                "firstTimestamp": min(ts) if ts else None,
                "lastTimestamp": max(ts) if ts else None}
        for k, v in want.items():
            if m[k] != v or type(m[k]) is not type(v):
                err(w, "track %r: %s is %r, the SDK keeps %r" % (m["topic"], k, m[k], v))
    fm = os.path.join(d, "files", ".files_metadata.json")
    entries = jload(fm)["files"] if os.path.exists(fm) else []
    ids = [e.get("id") for e in entries]
    if len(set(ids)) != len(ids):  # read_file finds a file by id alone
        err(w, "file ids repeat: %s" % ids)
    for e in entries:
        if sorted(e) != FILE_KEYS:
            err(w, "file entry keys %s" % sorted(e))
            continue
        # "/models", "/": the Experiment API's form, which files("models").list()
        # and a later save of the same path compare against
        if not e["path"].startswith("/"):
            err(w, "file %r: path %r has no leading '/'" % (e["filename"], e["path"]))
        body_path = os.path.join(d, "files", e["path"].strip("/"), e["id"], e["filename"])
        if not os.path.isfile(body_path):
            err(w, "file %r not at files/<path>/<id>/<filename>" % e["filename"])
            continue
        with open(body_path, "rb") as f:
            body = f.read()
        if e["checksum"] != sha(body) or e["sizeBytes"] != len(body):
            err(w, "file %r: checksum or size differ from the bytes" % e["filename"])
        if e["experimentId"] != "%s/%s" % (ej["project"], rel) or e["deletedAt"] is not None:
            err(w, "file %r: experimentId %r, deletedAt %r" % (
                e["filename"], e["experimentId"], e["deletedAt"]))
    logs = jlines(os.path.join(d, "logs", "logs.jsonl"))
    seqs = [l.get("sequenceNumber") for l in logs]
    if not all(isinstance(l.get("message"), str) for l in logs):
        err(w, "a log line without a message (upload skips it)")
    if not all(isinstance(s, int) for s in seqs) or len(set(seqs)) != len(seqs):
        err(w, "log sequence numbers missing or repeated")
    sq = os.path.join(d, "logs", ".log_sequence")
    if logs:
        # the SDK numbers its next line from this file
        nxt = int(open(sq).read()) if os.path.exists(sq) else None
        if nxt is None or not all(nxt > s for s in seqs if isinstance(s, int)):
            err(w, ".log_sequence %r is not above every sequence number" % nxt)


def facts(root):
    bad = []

    def err(where, msg):
        bad.append(where)
        print("%s: %s" % (where, msg))
    n = 0
    # as upload's rglob: every experiment.json, dot folders included
    for d, dirs, fs in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(d, root).replace(os.sep, "/")
        for f in fs:
            if f.startswith(".experiment.json.xport"):
                err(rel, "xport's hidden marker %s was left behind" % f)
        if "experiment.json" not in fs:
            continue
        if rel.split("/")[0] == ".xport":
            err(rel, "an experiment.json under .xport (upload would take it too)")
            continue
        n += 1
        check_experiment(d, rel, err)
        dirs[:] = []
    if n == 0:
        err(root, "no experiment")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "--facts":
        return facts(argv[2])
    if len(argv) == 3 and argv[1] == "--awkward-layout":
        awkward_layout(argv[2])
        return 0
    if len(argv) == 3:
        return same_shape(argv[1], argv[2])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
