#!/usr/bin/env python3
"""Open ml-dash stores written by xport's mldash-local adapter with the real
ml-dash SDK v0.6.27 and compare what the SDK sees with the source.

A developer tool, not run by ctest (CI has no copy of the SDK). What it
learns is pinned in the repository's own tests: `store_shape.py --facts`
(which this script also runs on every store) and test_mldash_local /
test_mldash_local_sdk_facts in tests/mldash/test_mldash.c.

Getting the SDK (nothing of it is kept in this repository; it is only run):

    git clone --mirror https://github.com/fortyfive-labs/ml-dash MIRROR
    mkdir -p /tmp/mldash-sdk
    git --git-dir=MIRROR archive 173283847eb2b2eae944ac1175eab71e742bc46f \\
        | tar -x -C /tmp/mldash-sdk            # v0.6.27
    apt-get install python3-httpx python3-rich  # Debian 12

Running it (from the repository root, after building xport):

    MLDASH_SDK_SRC=/tmp/mldash-sdk XPORT_BIN=build/cmd/xport \\
        XPORT_TEST_GEN=build/tests/xport-test-gen \\
        /usr/bin/python3 tests/mldash/check_sdk_store.py [--keep DIR]

Without MLDASH_SDK_SRC it prints SKIP and exits 77. Exit 0 when every check
passed, 1 otherwise (each difference is printed).

How the SDK is loaded: `import ml_dash` would pull in params_proto (not in
Debian) and ask PyPI for the latest version, so the package's __init__ is
not run: the modules are imported from the checkout's src/ml_dash with a
stand-in `ml_dash` package object and a minimal params_proto (EnvVar and
proto.prefix, enough for ml_dash.run.RUN). No network is used.

Sources, each copied to a fresh store with
`xport copy SRC mldash-local:STORE --ignore system --ignore others --ignore artifacts`:
  fixture06   tests/fixtures/mldash/v0.6.27-local-store (written by the SDK)
  fixture05   tests/fixtures/mldash/v0.5.9-local-store
  sdkstore    a store this script writes with the SDK's own Experiment API
              (nested, unnamed and NaN metrics, files at the root and in
              folders, tracks, every log level), copied store -> layout ->
              mldash-local, so the SDK's view of both stores must be equal
  awkward     store_shape.py's awkward xport layout (NaN, +-Inf, -0.0, int64
              and uint64 extremes, unicode, '/', '..', a leading '.', '%' and
              ':' in every kind of name, nested file paths, empty and binary
              files, logs, parameters, tracks, several owners and projects)
              plus a folder with leading, doubled and trailing '/'
  edge        the C test generator's edge layout (if XPORT_TEST_GEN is set)

What the SDK reads, for every experiment (the expected view comes from the
source: the SDK's own view of the store it wrote, or the layout's files):
  - upload's discovery (discover_experiments: rglob of */experiment.json,
    project and experiment from "prefix", the directory it found) and its
    strict validator (no warnings)
  - LocalStorage at root/prefix, as Experiment(prefix=...) uses it:
    read_parameters, get_metric_stats + read_metric_data (all at once and in
    pages) for every metric by its real name (a name xport had to encode,
    such as "..", under that encoding), list_files (also filtered by
    folder, as files("dir").list() does) + read_file (checksum verified by
    the SDK), list_tracks + read_track_data, list_metrics
  - the upload command end to end (cmd_upload) against a recording stand-in
    for RemoteClient: experiment, parameters, logs, metric batches, files
  - appending through the SDK's Experiment API to every experiment xport
    wrote (params merge, a log line, a point in every metric and a new one,
    a file saved over an existing path, a new file, a track entry), then
    checking indexes, sequence numbers, file entries and counts, and that
    xport still reads the store (copy back to a layout)
"""

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import types

SRC = os.environ.get("MLDASH_SDK_SRC")
XPORT = os.environ.get("XPORT_BIN", "build/cmd/xport")
GEN = os.environ.get("XPORT_TEST_GEN")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

sys.path.insert(0, HERE)
import store_shape  # noqa: E402  (the name rule, the awkward layout, facts())
from store_shape import (awkward_layout, metric_rel, seg, verbatim,  # noqa: E402
                         write_layout_experiment)

failures = []
notes = []


def fail(where, msg):
    failures.append("%s: %s" % (where, msg))
    print("FAIL %s: %s" % (where, msg))


def note(msg):
    if msg not in notes:
        notes.append(msg)


# ---- loading the SDK without its __init__ ----

class _Env:
    """params_proto's EnvVar @ "NAME" @ "OTHER" | default."""

    def __init__(self, names=(), default=None):
        self.names, self.default = names, default

    def __matmul__(self, name):
        return _Env(self.names + (name,), self.default)

    def __or__(self, default):
        return _Env(self.names, default)

    def value(self):
        for n in self.names:
            if n in os.environ:
                return os.environ[n]
        return self.default


class _Proto:
    @staticmethod
    def prefix(cls):
        for k, v in list(vars(cls).items()):
            if isinstance(v, _Env):
                setattr(cls, k, v.value())
        post = cls.__dict__.get("__post_init__")

        def __init__(self, **kw):
            for k, v in kw.items():
                setattr(self, k, v)
            if post:
                post(self)
        cls.__init__ = __init__
        return cls


def load_sdk(src):
    pkgdir = os.path.join(src, "src", "ml_dash")
    if not os.path.isfile(os.path.join(pkgdir, "storage.py")):
        sys.exit("no ml_dash sources in %s" % pkgdir)
    pp = types.ModuleType("params_proto")
    pp.EnvVar = _Env()
    pp.proto = _Proto()
    sys.modules["params_proto"] = pp
    pkg = types.ModuleType("ml_dash")
    pkg.__path__ = [pkgdir]
    sys.modules["ml_dash"] = pkg
    import ml_dash.storage  # noqa: F401
    import ml_dash.experiment  # noqa: F401
    import ml_dash.cli_commands.upload  # noqa: F401
    return sys.modules["ml_dash"]


# ---- values ----

ANY = object()


def same(a, b):
    """Strict equality: NaN equals NaN, -0.0 is not 0.0, 1 is not 1.0."""
    if a is ANY or b is ANY:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def diff(where, exp, got):
    """Report every difference between two views, path by path."""
    if exp is ANY or got is ANY:
        return
    if isinstance(exp, dict) and isinstance(got, dict):
        for k in exp.keys() | got.keys():
            w = "%s/%s" % (where, k)
            if k not in got:
                fail(w, "missing (expected %s)" % short(exp[k]))
            elif k not in exp:
                fail(w, "unexpected %s" % short(got[k]))
            else:
                diff(w, exp[k], got[k])
        return
    if (isinstance(exp, list) and isinstance(got, list) and len(exp) == len(got)
            and len(exp) > 0):
        for i, (x, y) in enumerate(zip(exp, got)):
            diff("%s[%d]" % (where, i), x, y)
        return
    if not same(exp, got):
        fail(where, "expected %s, got %s" % (short(exp), short(got)))


def short(v):
    s = repr(v)
    return s if len(s) < 300 else s[:300] + "..."


jload = store_shape.jload
jlines = store_shape.jlines


def sha(b):
    return hashlib.sha256(b).hexdigest()


def run(*args, ok=(0,)):
    r = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode not in ok:
        fail(" ".join(args[:3]), "exit %d\n%s" % (r.returncode, out))
    return r.returncode, out


def xport_copy(src, dst, *extra):
    return run(XPORT, "copy", src, dst, "-q", *extra)


def to_store(src, store):
    return xport_copy(src, "mldash-local:" + store, "--ignore", "system", "--ignore",
                      "others", "--ignore", "artifacts")


# ---- what the SDK sees ----

class Recorder:
    """Stands in for ml_dash.client.RemoteClient in the upload command."""
    calls = {}

    def __init__(self, base_url=None, namespace=None, api_key=None, **kw):
        self.graphql_base_url = base_url
        self.base_url = base_url
        self.namespace = namespace
        self.api_key = api_key

    def _exp(self, eid):
        return Recorder.calls.setdefault(eid, {"metrics": {}, "logs": [], "files": {}})

    def create_or_update_experiment(self, **kw):
        e = self._exp(kw["prefix"])
        if "create" in e:
            fail("upload " + kw["prefix"], "experiment created twice")
        e["create"] = kw
        return {"experiment": {"id": kw["prefix"]}}

    def set_parameters(self, experiment_id, data):
        self._exp(experiment_id)["params"] = json.loads(json.dumps(data))

    def create_log_entries(self, experiment_id, logs):
        self._exp(experiment_id)["logs"].extend(json.loads(json.dumps(logs)))

    def append_batch_to_metric(self, experiment_id, metric_name, data_points, **kw):
        self._exp(experiment_id)["metrics"].setdefault(metric_name, []).extend(
            json.loads(json.dumps(data_points)))

    def upload_file(self, experiment_id, file_path, prefix, filename, description, tags,
                    metadata, checksum, content_type, size_bytes, **kw):
        with open(file_path, "rb") as f:
            body = f.read()
        key = "%s|%s" % ((prefix or "").strip("/"), filename)
        self._exp(experiment_id)["files"][key] = {
            "sha256": sha(body), "checksum": checksum, "size": size_bytes,
            "contentType": content_type, "description": description, "tags": tags,
            "metadata": metadata}


def sdk_upload(sdk, root, tmp):
    """The upload command, end to end, into the recorder; {prefix: calls}."""
    up = sys.modules["ml_dash.cli_commands.upload"]
    up.RemoteClient = Recorder
    Recorder.calls = {}
    ap = argparse.ArgumentParser()
    up.add_parser(ap.add_subparsers())
    state = os.path.join(tmp, "upload-state.json")
    args = ap.parse_args(["upload", root, "--dash-url", "http://recorder.invalid",
                          "--strict", "--state-file", state])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = up.cmd_upload(args)
    if rc != 0 or os.path.exists(state):
        fail("upload " + root, "exit %s, state file %s\n%s" % (
            rc, "kept" if os.path.exists(state) else "removed", out.getvalue()))
    return Recorder.calls


def sdk_view(sdk, root, spec, tmp):
    """Everything the SDK reads from root for the experiments in spec
    ({prefix: {"metrics": [names], "tracks": [topics]}})."""
    up = sys.modules["ml_dash.cli_commands.upload"]
    LS = sys.modules["ml_dash.storage"].LocalStorage
    st = LS(root)
    found = {}
    for info in up.discover_experiments(root):
        if info.prefix in found:
            fail("discover " + root, "prefix %r found twice (%s, %s)" % (
                info.prefix, found[info.prefix].path, info.path))
        found[info.prefix] = info
    extra = set(found) - set(spec)
    for p in sorted(extra, key=str):
        fail("discover " + root, "unexpected experiment %r at %s" % (p, found[p].path))
    uploads = sdk_upload(sdk, root, tmp)
    view = {}
    for prefix, sp in spec.items():
        v = view[prefix] = {}
        info = found.get(prefix)
        if not info:
            fail("discover " + root, "experiment %r not found" % prefix)
            continue
        parts = prefix.strip("/").split("/")
        v["discover"] = {
            "project": info.project, "experiment": info.experiment,
            # everything else the SDK reads at root/prefix: it must be this folder
            "dir_is_root_slash_prefix": os.path.realpath(str(info.path)) ==
            os.path.realpath(os.path.join(root, prefix.lstrip("/"))),
            "has_params": info.has_params, "has_logs": info.has_logs,
            "metric_names": sorted(info.metric_names)}
        val = up.ExperimentValidator(strict=True).validate_experiment(info)
        v["validation"] = {"valid": val.is_valid, "warnings": val.warnings,
                           "errors": val.errors}
        ej = jload(os.path.join(str(info.path), "experiment.json"))
        v["experiment"] = {k: x for k, x in ej.items()
                           if k not in ("created_at", "updated_at")}
        if not isinstance(ej.get("created_at"), str):
            fail(prefix, "experiment.json has no created_at string")
        owner, project = parts[0], parts[1]
        v["params"] = st.read_parameters(owner, project, prefix)
        v["metrics"] = {}
        for name in sp["metrics"]:
            m = {}
            # a name xport had to encode is found under that encoding
            q = metric_rel(name)
            try:
                s = st.get_metric_stats(owner, project, prefix, q)
            except Exception as e:  # noqa: BLE001
                fail("%s metric %r" % (prefix, name), "get_metric_stats: %s" % e)
                continue
            m["stats"] = {k: s[k] for k in ("metricId", "name", "description", "tags",
                                            "metadata", "totalDataPoints")}
            n = int(s["totalDataPoints"])
            r = st.read_metric_data(owner, project, prefix, q, 0, n + 5)
            m["points"] = r["data"]
            m["read"] = {"total": r["total"], "hasMore": r["hasMore"],
                         "endIndex": r["endIndex"]}
            paged, start = [], 0
            while True:
                r = st.read_metric_data(owner, project, prefix, q, start, 7)
                paged += r["data"]
                start += len(r["data"])
                if not r["hasMore"]:
                    break
            m["paged_equals_whole"] = same(paged, m["points"])
            md = os.path.join(root, prefix.lstrip("/"), "metrics", q, "metadata.json")
            nextidx = jload(md).get("nextIndex") if os.path.exists(md) else None
            idx = [p["index"] for p in m["points"]]
            m["nextIndex_above_every_index"] = nextidx is not None and all(
                nextidx > i for i in idx)
            v["metrics"][name] = m
        listed = {m["name"] for m in st.list_metrics(owner, project, prefix)}
        v["list_metrics"] = sorted(n for n in sp["metrics"] if n in listed)
        v["tracks"] = {}
        for t in st.list_tracks(owner, project, prefix):
            v["tracks"].setdefault(t["topic"], {})["meta"] = {
                k: t[k] for k in ("id", "topic", "totalEntries", "firstTimestamp",
                                  "lastTimestamp", "columns")}
        for topic in sp["tracks"]:
            t = topic.replace("/", "_")
            r = st.read_track_data(owner, project, prefix, t if verbatim(t) else seg(t))
            v["tracks"].setdefault(topic, {})["entries"] = r["entries"]
        files = st.list_files(owner, project, prefix)
        ids = [f["id"] for f in files]
        if len(set(ids)) != len(ids):
            fail(prefix, "file ids not unique: %s" % ids)
        v["files"] = {}
        for f in files:
            d = (f.get("path") or "").strip("/")
            key = "%s|%s" % (d, f["filename"])
            dest = os.path.join(tmp, "read_file.bin")
            try:
                st.read_file(owner, project, prefix, f["id"], dest)  # checks sha256
                with open(dest, "rb") as fh:
                    body = fh.read()
                os.remove(dest)
            except Exception as e:  # noqa: BLE001
                fail("%s file %s" % (prefix, key), "read_file: %s" % e)
                body = None
            # files("dir").list() filters on path.startswith("/dir")
            under = [x["id"] for x in st.list_files(owner, project, prefix,
                                                     path_prefix="/" + d)] if d else ids
            v["files"][key] = {
                "entry": {k: f.get(k) for k in ("description", "tags", "bindrs",
                                                "contentType", "sizeBytes", "checksum",
                                                "metadata", "deletedAt")},
                "sha256": sha(body) if body is not None else None,
                "listed_by_files_dir_list": f["id"] in under,
                "experimentId": f.get("experimentId")}
        logdir = os.path.join(root, prefix, "logs")
        seqs = [l.get("sequenceNumber") for l in jlines(os.path.join(logdir, "logs.jsonl"))]
        if len(set(seqs)) != len(seqs):
            fail(prefix, "log sequence numbers not unique")
        sq = os.path.join(logdir, ".log_sequence")
        nxt = int(open(sq).read().strip()) if os.path.exists(sq) else 0
        v["log_sequence_above_every_line"] = all(nxt > s for s in seqs)
        u = uploads.get(prefix)
        if u is None:
            fail("upload " + root, "experiment %r not uploaded" % prefix)
        else:
            v["upload"] = u
    return view


def sdk_spec(root):
    """Names the SDK's own store holds, as an SDK user knows them."""
    spec = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        if "experiment.json" not in files:
            continue
        prefix = jload(os.path.join(d, "experiment.json"))["prefix"]
        sp = spec[prefix] = {"metrics": [], "tracks": []}
        for md, _, mf in os.walk(os.path.join(d, "metrics")):
            if "metadata.json" in mf:
                name = jload(os.path.join(md, "metadata.json"))["name"]
                if name is None:
                    # LocalStorage joins the name into a path: None cannot be read
                    note("the SDK cannot read its own unnamed metric (metrics/None) "
                         "through LocalStorage: read_metric_data(None) raises")
                else:
                    sp["metrics"].append(name)
        for md, _, mf in os.walk(os.path.join(d, "tracks")):
            if "metadata.json" in mf:
                sp["tracks"].append(jload(os.path.join(md, "metadata.json"))["topic"])
        dirs[:] = []
    return spec


# ---- the expected view, from an xport layout ----

def layout_truth(root):
    """Every experiment of an xport layout, as plain Python values."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        if "experiment.json" not in files:
            continue
        dirs[:] = []
        ej = jload(os.path.join(d, "experiment.json"))
        e = {"ej": ej, "dir": d, "params": None, "metrics": {}, "tracks": {},
             "logs": jlines(os.path.join(d, "logs", "logs.jsonl")), "files": []}
        if os.path.exists(os.path.join(d, "parameters.json")):
            e["params"] = jload(os.path.join(d, "parameters.json"))["data"]
        for kind in ("metrics", "tracks"):
            top = os.path.join(d, kind)
            for m in sorted(os.listdir(top)) if os.path.isdir(top) else []:
                md = jload(os.path.join(top, m, "metadata.json"))
                name = md["name"] if kind == "metrics" else md["topic"]
                e[kind][name] = {"md": md,
                                 "points": jlines(os.path.join(top, m, "data.jsonl"))}
        for fe in jlines(os.path.join(d, "files.jsonl")):
            if fe.get("artifact"):
                continue
            with open(os.path.join(d, "files", fe["path"]), "rb") as f:
                fe["body"] = f.read()
            e["files"].append(fe)
        out.append(e)
    return out


def expected_prefix(ej):
    parts = [ej["workspace"], ej["project"]]
    parts += [x for x in (ej.get("folder") or "").split("/") if x]
    parts.append(ej["name"])
    return "/".join(seg(p) for p in parts)


def is_mldash_entry(md):
    return isinstance(md, dict) and "filename" in md and "checksum" in md


def expected_view(truth):
    spec, view = {}, {}
    for e in truth:
        ej = e["ej"]
        prefix = expected_prefix(ej)
        parts = prefix.split("/")
        fields = (ej.get("source") or {}).get("fields") or {}
        spec[prefix] = {"metrics": sorted(e["metrics"]), "tracks": sorted(e["tracks"])}
        top = sorted(metric_rel(n) for n in e["metrics"] if "/" not in metric_rel(n))
        for n in e["metrics"]:
            if "/" in metric_rel(n):
                note("the SDK's upload command lists metrics one level below metrics/ "
                     "only, so it does not upload metrics whose names hold '/' "
                     "(its own writer cannot create them unless the first segment is "
                     "itself a metric)")
            elif metric_rel(n) != n:
                note("a metric or track name ml-dash cannot use as a directory ('..', a "
                     "leading '.', control characters, ...) is encoded whole: the SDK "
                     "reads it only through list_metrics/upload, under that encoding")
        ex = {"name": ej["name"], "project": ej["project"],
              "description": ej.get("description"), "tags": ej.get("tags") or [],
              "bindrs": fields.get("bindrs", []), "prefix": prefix,
              "metadata": ej.get("metadata"),
              "write_protected": fields.get("write_protected", False)}
        for k, lk in (("status", "status"), ("started_at", "startedAt"),
                      ("ended_at", "endedAt")):
            if ej.get(lk) is not None:
                ex[k] = ej[lk]
        v = view[prefix] = {
            "discover": {"project": parts[1], "experiment": parts[-1],
                         "dir_is_root_slash_prefix": True,
                         "has_params": e["params"] is not None,
                         "has_logs": bool(e["logs"]), "metric_names": top},
            "validation": {"valid": True, "warnings": [], "errors": []},
            "experiment": ex, "params": e["params"], "metrics": {},
            "list_metrics": sorted(n for n in e["metrics"] if "/" not in metric_rel(n)),
            "tracks": {}, "files": {}, "log_sequence_above_every_line": True}
        up = {"create": {"project": parts[1], "name": parts[-1],
                         "description": ex["description"], "tags": ex["tags"],
                         "bindrs": ex["bindrs"], "prefix": prefix,
                         "write_protected": ex["write_protected"],
                         "metadata": ex["metadata"]},
              "metrics": {}, "logs": [], "files": {}}
        if e["params"] is not None:
            up["params"] = e["params"]
        for n, m in e["metrics"].items():
            pts = [{"index": p["index"], "data": p["data"],
                    "createdAt": p.get("createdAt", ANY)} for p in m["points"]]
            v["metrics"][n] = {
                "stats": {"metricId": "local-metric-%s" % n, "name": n,
                          "description": m["md"].get("description"), "tags": [],
                          "metadata": m["md"].get("metadata"),
                          "totalDataPoints": str(len(pts))},
                "points": pts,
                "read": {"total": len(pts), "hasMore": False, "endIndex": len(pts) - 1},
                "paged_equals_whole": True, "nextIndex_above_every_index": True}
            if "/" not in metric_rel(n):
                up["metrics"][metric_rel(n)] = [p["data"] for p in m["points"]]
        for t, m in e["tracks"].items():
            rows = m["points"]
            ts = [r["timestamp"] for r in rows if "timestamp" in r]
            v["tracks"][t] = {
                "meta": {"id": "local-track-%s" % t.replace("/", "_"), "topic": t,
                         "totalEntries": len(rows),
                         "firstTimestamp": min(ts) if ts else None,
                         "lastTimestamp": max(ts) if ts else None,
                         "columns": sorted({k for r in rows for k in r} - {"timestamp"})},
                "entries": rows}
        for l in e["logs"]:
            x = {"timestamp": l.get("timestamp"), "level": l.get("level", "info"),
                 "message": l["message"]}
            if l.get("metadata") is not None:
                x["metadata"] = l["metadata"]
            up["logs"].append(x)
        for fe in e["files"]:
            d, _, fn = fe["path"].rpartition("/")
            md = fe.get("metadata")
            src = md if is_mldash_entry(md) else None
            entry = {"description": src.get("description") if src else None,
                     "tags": (src.get("tags") if src else None) or [],
                     "bindrs": (src.get("bindrs") if src else None) or [],
                     "contentType": fe.get("contentType") or "application/octet-stream",
                     "sizeBytes": len(fe["body"]), "checksum": sha(fe["body"]),
                     "metadata": src.get("metadata") if src else md,
                     "deletedAt": None}
            v["files"]["%s|%s" % (d, fn)] = {
                "entry": entry, "sha256": sha(fe["body"]),
                "listed_by_files_dir_list": True,
                "experimentId": "%s/%s" % (ej["project"], prefix)}
            up["files"]["%s|%s" % (d, fn)] = {
                "sha256": sha(fe["body"]), "checksum": sha(fe["body"]),
                "size": len(fe["body"]), "contentType": entry["contentType"],
                "description": entry["description"], "tags": entry["tags"],
                "metadata": entry["metadata"]}
        v["upload"] = up
    return spec, view


# ---- sources ----

def sdk_store(root):
    """A store written by the SDK's own Experiment API (local mode)."""
    E = sys.modules["ml_dash.experiment"].Experiment
    with contextlib.redirect_stdout(io.StringIO()):
        with E(prefix="tom/sdk-proj/folder a/run-1", dash_root=root, readme="by the sdk",
               tags=["t1"], metadata={"k": {"n": 1}}).run as exp:
            exp.params.set(model={"lr": 0.001, "layers": [1, 2]}, seed=7,
                           odd=float("nan"))
            for lv in ("info", "warn", "error", "debug", "fatal"):
                getattr(exp.logs, lv)("%s line ünï" % lv, step=1)
            exp.logs.info("no metadata")
            for i in range(30):
                exp.metrics("loss").log(value=[1.5, float("nan"), float("-inf"), -0.0,
                                               2 ** 63 - 1][i % 5], step=i, _ts=1.7e9 + i)
            # the SDK can only write "train/loss" once "train" exists
            exp.metrics("train").log(value=1, _ts=1.0)
            exp.metrics("train/loss").log(value=0.5, _ts=2.0)
            exp.metrics("ünï").log(value="text", _ts=3.0)
            exp.metrics.log(epoch=1, _ts=4.0)  # the unnamed metric, metrics/None
            exp.files("models").save(b"weights", to="ckpt.bin")
            exp.files().save(b"root file", to="root.txt")
            exp.files("deep/er").save(b"", to="empty.txt")
            exp.tracks("robot/pos").append(pos={"x": 1, "y": 2.5}, _ts=2.0)
            exp.tracks("robot/pos").append(pos={"x": float("nan")}, _ts=1.0)
            exp.tracks("cam").append(frame="f.png", _ts=5.0)
        with E(prefix="alice/other/run-2", dash_root=root).run as exp:
            exp.metrics("m").log(value=1.0, _ts=1.0)


# ---- appending through the SDK to a store xport wrote ----

def meta_of(root, prefix, rel):
    p = os.path.join(root, prefix, rel, "metadata.json")
    return jload(p) if os.path.exists(p) else None


def sdk_append(sdk, root, prefix, spec, tmp):
    """Resume every experiment with the SDK's Experiment API, add to each
    part, and check that nothing broke or doubled."""
    E = sys.modules["ml_dash.experiment"].Experiment
    LS = sys.modules["ml_dash.storage"].LocalStorage
    st = LS(root)
    w = "append " + prefix
    d = os.path.join(root, prefix)
    ej0 = jload(os.path.join(d, "experiment.json"))
    p0 = jload(os.path.join(d, "parameters.json")) \
        if os.path.exists(os.path.join(d, "parameters.json")) else None
    logs0 = jlines(os.path.join(d, "logs", "logs.jsonl"))
    sq = os.path.join(d, "logs", ".log_sequence")
    seq0 = int(open(sq).read()) if os.path.exists(sq) else 0
    # names an SDK user can append to: those whose folder the SDK finds
    mnames = [n for n in spec["metrics"] if metric_rel(n) == n]
    m0 = {n: meta_of(root, prefix, "metrics/" + n) for n in mnames}
    pts0 = {n: st.read_metric_data("", "", prefix, n, 0, 10 ** 6)["data"] for n in mnames}
    t0 = {t: meta_of(root, prefix, "tracks/" + t.replace("/", "_")) for t in spec["tracks"]
          if verbatim(t.replace("/", "_"))}
    f0 = st.list_files("", "", prefix)
    again = None
    if f0:
        again = f0[0]
    with contextlib.redirect_stdout(io.StringIO()):
        with E(prefix=prefix, dash_root=root).run as exp:
            exp.params.set(sdk_appended={"ok": True})
            exp.logs.info("appended by the SDK", n=1)
            for n in mnames:
                exp.metrics(n).log(value=0.25, step=10 ** 6, _ts=5.0)
            exp.metrics("sdk_new_metric").log(value=1, _ts=6.0)
            if again:
                dd = (again["path"] or "").strip("/")
                exp.files(dd or None).save(b"saved again by the SDK", to=again["filename"])
            exp.files("sdk").save(b"new file from the SDK", to="new.txt")
            for t in t0:
                exp.tracks(t).append(sdk_col=1.5, _ts=1e12)
    ej1 = jload(os.path.join(d, "experiment.json"))
    for k in ("name", "project", "prefix", "description", "tags", "metadata", "bindrs"):
        if not same(ej0.get(k), ej1.get(k)):
            fail(w, "experiment.json %s changed: %r -> %r" % (k, ej0.get(k), ej1.get(k)))
    p1 = jload(os.path.join(d, "parameters.json"))
    want = dict((p0 or {}).get("data", {}), **{"sdk_appended.ok": True})
    if not same(p1["data"], want):
        fail(w, "parameters after merge: %s" % short(p1["data"]))
    if p1["version"] != (p0["version"] + 1 if p0 else 1):
        fail(w, "parameters version %s after %s" % (p1["version"], p0 and p0["version"]))
    logs1 = jlines(os.path.join(d, "logs", "logs.jsonl"))
    if len(logs1) != len(logs0) + 1 or logs1[-1]["message"] != "appended by the SDK":
        fail(w, "logs: %d lines after %d" % (len(logs1), len(logs0)))
    elif logs1[-1]["sequenceNumber"] != seq0:
        fail(w, "appended log line has sequenceNumber %s, .log_sequence was %d" % (
            logs1[-1]["sequenceNumber"], seq0))
    seqs = [l["sequenceNumber"] for l in logs1]
    if len(set(seqs)) != len(seqs):
        fail(w, "log sequence numbers repeat: %s" % seqs)
    if int(open(sq).read()) != seq0 + 1:
        fail(w, ".log_sequence not advanced")
    for n in mnames:
        m1 = meta_of(root, prefix, "metrics/" + n)
        pts1 = st.read_metric_data("", "", prefix, n, 0, 10 ** 6)["data"]
        if m0[n] is None or m1 is None:
            fail(w, "metric %r has no metadata.json where the SDK looks" % n)
            continue
        if (m1["nextIndex"] != m0[n]["nextIndex"] + 1 or
                m1["totalDataPoints"] != m0[n]["totalDataPoints"] + 1):
            fail(w, "metric %r: nextIndex %s->%s totalDataPoints %s->%s" % (
                n, m0[n]["nextIndex"], m1["nextIndex"], m0[n]["totalDataPoints"],
                m1["totalDataPoints"]))
        if not same(pts1[:-1], pts0[n]) or pts1[-1]["index"] != m0[n]["nextIndex"]:
            fail(w, "metric %r: appended point %s" % (n, short(pts1[-1:])))
        idx = [p["index"] for p in pts1]
        if len(set(idx)) != len(idx):
            fail(w, "metric %r: indexes repeat" % n)
    nm = meta_of(root, prefix, "metrics/sdk_new_metric")
    if not nm or nm["totalDataPoints"] != 1:
        fail(w, "new metric not written")
    for t, m in t0.items():
        m1 = meta_of(root, prefix, "tracks/" + t.replace("/", "_"))
        if m is None or m1["totalEntries"] != m["totalEntries"] + 1:
            fail(w, "track %r: totalEntries %s -> %s" % (
                t, m and m["totalEntries"], m1["totalEntries"]))
    f1 = st.list_files("", "", prefix)
    if len(f1) != len(f0) + 1:
        fail(w, "files: %d live entries after %d (+1 new, +0 saved again expected)" % (
            len(f1), len(f0)))
    for f in f1:
        dest = os.path.join(tmp, "f.bin")
        try:
            st.read_file("", "", prefix, f["id"], dest)
            os.remove(dest)
        except Exception as e:  # noqa: BLE001
            fail(w, "read_file %s: %s" % (f["filename"], e))


def check_appended_store_reads(root, tmp, before, spec):
    """xport still reads the store after the SDK appended to it."""
    lay = os.path.join(tmp, "after-append-layout")
    rc, out = xport_copy(root, lay)
    if rc:
        return
    after = {(e["ej"]["project"], e["ej"]["name"]): e for e in layout_truth(lay)}
    for e in before:
        k = (e["ej"]["project"], e["ej"]["name"])
        a = after.get(k)
        if not a:
            fail("xport reads appended " + root, "experiment %s missing" % (k,))
            continue
        appended = {n for sp in spec.values() for n in sp["metrics"] if metric_rel(n) == n}
        for n in e["metrics"]:
            if n in appended:
                got = len(a["metrics"].get(n, {}).get("points", []))
                if got != len(e["metrics"][n]["points"]) + 1:
                    fail("xport reads appended %s" % (k,), "metric %r has %d points" % (
                        n, got))
        if "sdk_new_metric" not in a["metrics"]:
            fail("xport reads appended %s" % (k,), "new metric not read")
        if len(a["logs"]) != len(e["logs"]) + 1:
            fail("xport reads appended %s" % (k,), "%d log lines" % len(a["logs"]))
        if len(a["files"]) != len(e["files"]) + 1:
            fail("xport reads appended %s" % (k,), "%d files" % len(a["files"]))


# ---- main ----

def check_source(sdk, name, tmp, layout=None, sdk_written=None):
    print("== %s" % name)
    n0 = len(failures)
    base = os.path.join(tmp, name)
    os.makedirs(base)
    if sdk_written:
        lay = os.path.join(base, "layout")
        xport_copy(sdk_written, lay)
        spec = sdk_spec(sdk_written)
        want = sdk_view(sdk, sdk_written, spec, base)
        for p, v in want.items():
            for key, f in v.get("files", {}).items():
                if not f["listed_by_files_dir_list"]:
                    # the fixture's entry was written by LocalStorage.write_file
                    # with path "models"; the Experiment API writes "/models",
                    # which files("models").list() and a later save rely on
                    print("   (%s %s: path without a leading '/' at the source)" % (p, key))
                    f["listed_by_files_dir_list"] = True
        layout = lay
    else:
        spec, want = expected_view(layout_truth(layout))
    store = os.path.join(base, "store", ".dash")
    rc, _ = to_store(layout, store)
    if rc:
        return
    # the repository's own check (store_shape.py --facts) must pass on every
    # store the SDK is content with
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = store_shape.facts(store)
    if rc:
        fail(name, "store_shape.py --facts:\n" + out.getvalue())
    got = sdk_view(sdk, store, spec, base)
    diff(name, want, got)
    # nothing of xport's own bookkeeping that upload's rglob would take for
    # an experiment
    for d, _, fs in os.walk(os.path.join(store, ".xport")):
        if "experiment.json" in fs:
            fail(name, "experiment.json under .xport: %s" % d)
    truth = layout_truth(layout)
    for prefix in spec:
        sdk_append(sdk, store, prefix, spec[prefix], base)
    check_appended_store_reads(store, base, truth, spec)
    # a second upload of the appended store still sees each experiment once
    sdk_upload(sdk, store, base)
    print("   %s" % ("ok" if len(failures) == n0 else "%d failure(s)" % (len(failures) - n0)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", help="keep the stores in this folder")
    a = ap.parse_args()
    if not SRC:
        print("SKIP: MLDASH_SDK_SRC is not set (see the header of this script)")
        return 77
    tmp = a.keep or tempfile.mkdtemp(prefix="check-sdk-store-")
    os.makedirs(tmp, exist_ok=True)
    os.environ["HOME"] = os.path.join(tmp, "home")  # the SDK's ~/.dash config
    os.makedirs(os.environ["HOME"], exist_ok=True)
    sdk = load_sdk(SRC)
    try:
        fx06 = os.path.join(tmp, "fixture06-src")
        shutil.copytree(os.path.join(REPO, "tests/fixtures/mldash/v0.6.27-local-store"),
                        fx06)
        check_source(sdk, "fixture06", tmp, sdk_written=fx06)
        lay05 = os.path.join(tmp, "fixture05-layout")
        xport_copy(os.path.join(REPO, "tests/fixtures/mldash/v0.5.9-local-store"), lay05)
        check_source(sdk, "fixture05", tmp, layout=lay05)
        own = os.path.join(tmp, "sdkstore-src", ".dash")
        sdk_store(own)
        check_source(sdk, "sdkstore", tmp, sdk_written=own)
        awk = os.path.join(tmp, "awkward-layout")
        awkward_layout(awk)
        # folders from v0.5 stores start with '/': no empty segment
        write_layout_experiment(awk, {"workspace": "alice", "project": "other",
                                      "name": "slashes", "folder": "/lead//trail/"},
                                metrics=[("m", [{"index": 0, "data": {"value": 1}}], {})])
        check_source(sdk, "awkward", tmp, layout=awk)
        if GEN:
            edge = os.path.join(tmp, "edge-layout")
            run(GEN, edge)
            check_source(sdk, "edge", tmp, layout=edge)
        else:
            print("(XPORT_TEST_GEN not set: the C edge layout is not checked)")
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for n in notes:
        print("NOTE: %s" % n)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
