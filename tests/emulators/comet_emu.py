#!/usr/bin/env python3
"""Loopback emulator of a Comet server's REST API v2 and clientlib batch endpoints, for tests.

Standard library only. REST v2 under /api/rest/v2/ (reads and write/...), the SDK's batch
endpoints under /clientlib/batch/logger/experiment/{metric,parameter} (gzip bodies accepted),
`Authorization: <API key>` only (no "Bearer"); plus the control API under /__emu (seed, dump,
faults: status with Retry-After, config: latency, batch limit, page size). Routes, answers and
their public sources: comet_routes.py and comet_store.py; tests/emulators/README.md.

Start:  python3 -u comet_emu.py [--api-key K] [--latency-ms M] [--seed FILE]
Prints "PORT <n>" as the first stdout line, then nothing else on stdout.
"""
import argparse
import base64
import gzip
import hashlib
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import emucontrol
import emuhttp
import hostile
import comet_routes as R
from comet_store import Store, server_value

DEFAULT_KEY = "emu0comet0000000000000000000key"
FAULT_KEYS = ("method", "path", "query", "status", "count", "skip", "retry_after", "body",
              "drop_after")
CFG_KEYS = {"latency_ms": float, "batch_max": int, "page_size": int, "get_all": bool,
            "record_bodies": bool}


class Emulator:
    def __init__(self, opts):
        self.opts = opts
        self.keys = set(opts.api_key or [DEFAULT_KEY])
        self.store = Store()
        self.lock = self.store.lock
        self.stats_lock = threading.Lock()
        self.base = "http://127.0.0.1"
        self.cfg = {"latency_ms": opts.latency_ms, "batch_max": 1000, "page_size": 0,
                    "get_all": True, "record_bodies": False}
        self.faults = []
        self.reset_stats()

    def reset(self):
        with self.lock:
            self.store.reset()
        self.faults = []
        self.reset_stats()

    def reset_stats(self):
        self.faults_fired = 0
        self.inflight = 0
        self.max_inflight = 0
        self.req_total = 0
        self.by_route = {}
        self.by_status = {}
        self.recent = []
        self.points_in = 0

    @staticmethod
    def now_ms():
        return int(time.time() * 1000)


# ---- seed and dump --------------------------------------------------------------------------

def seed(emu, doc):
    """Load {"workspaces": {WS: {"projects": {P: {description, public, notes,
    experiments: [...]}}}}} (README.md: the seed format)."""
    st = emu.store
    for wname, w in doc.get("workspaces", {}).items():
        st.workspace(wname, True)
        for pname, p in (w.get("projects") or {}).items():
            proj = st.project(wname, pname, True)
            proj.desc = p.get("description", "")
            proj.public = bool(p.get("public", False))
            proj.notes = p.get("notes", "")
            proj.updated = p.get("lastUpdated", 0)
            for x in p.get("experiments", []):
                seed_exp(st, proj, x)
    return {"ok": True}


def seed_exp(st, proj, x):
    e = st.new_experiment(proj, x.get("name"), x.get("key"))
    e.start, e.end = x.get("start"), x.get("end")
    e.archived = bool(x.get("archived"))
    e.running = bool(x.get("running"))
    e.file_name, e.file_path = x.get("fileName"), x.get("filePath")
    e.tags = list(x.get("tags", []))
    for m in x.get("metrics", []):
        # text is kept as the server would hold it; numbers take the server's form
        v = m.get("value")
        e.offset += 1
        e.points.append((m["name"], v if isinstance(v, str) or v is None else server_value(v),
                         m.get("ts"), m.get("step"), m.get("epoch"), m.get("context"),
                         e.offset))
    g = x.get("gen_metrics")
    if g:
        t0 = g.get("ts", 1700000000000)
        for name in g["names"]:
            for i in range(g["points"]):
                e.offset += 1
                e.points.append((name, server_value(i * 0.5 + 0.25), t0 + i, i, None, None,
                                 e.offset))
    for k, v in x.get("params", {}).items():
        e.params[k] = [R.text_value(v), x.get("start"), None, None]
    for k, v in x.get("others", {}).items():
        e.others[k] = [R.text_value(v), x.get("start")]
    e.system = x.get("system")
    e.html = x.get("html", "")
    e.code = x.get("code", "")
    e.graph = x.get("graph", "")
    for o in x.get("output", []):
        e.output.append([o["text"], bool(o.get("stderr")), o.get("ts"), None])
    n = x.get("output_lines")
    if n:
        for i in range(n):
            last = i == n - 1
            e.output.append(["line %d%s" % (i + 1, "" if last else "\n"), False, None, None])
    e.git = x.get("git")
    if "patch_b64" in x:
        e.patch = base64.b64decode(x["patch_b64"])
    for a in x.get("assets", []):
        data = base64.b64decode(a["b64"]) if "b64" in a else a.get("text", "").encode()
        q = {"experimentKey": [e.key], "fileName": [a["fileName"]],
             "type": [a.get("type", "asset")]}
        if a.get("step") is not None:
            q["step"] = [str(a["step"])]
        if a.get("metadata") is not None:
            q["metadata"] = [json.dumps(a["metadata"])]
        if a.get("context") is not None:
            q["context"] = [a["context"]]
        if a.get("remote"):
            q["isRemote"] = ["true"]
            parts = {"link": (None, a["link"].encode())}
        else:
            parts = {"file": (a["fileName"], data)}
        R.w_asset(_SeedEmu(st), q, parts)


class _SeedEmu:
    """What w_asset needs of the emulator when seeding."""
    base = "http://127.0.0.1"

    def __init__(self, st):
        self.store = st

    @staticmethod
    def now_ms():
        return 1700000000000


def dump(emu, q):
    out = []
    for w in emu.store.workspaces.values():
        for p in w.projects:
            for e in p.exps:
                counts = {}
                for pt in e.points:
                    counts[pt[0]] = counts.get(pt[0], 0) + 1
                out.append({"workspace": w.name, "project": p.name, "key": e.key,
                            "name": e.name, "metadata": e.metadata(), "points": counts,
                            "params": {k: v[0] for k, v in e.params.items()},
                            "others": {k: v[0] for k, v in e.others.items()},
                            "tags": e.tags, "outputLines": len(e.output),
                            "assets": [{"fileName": a["fileName"], "type": a["type"],
                                        "size": a["fileSize"], "step": a["step"],
                                        "sha256": hashlib.sha256(a["_bytes"]).hexdigest()
                                        if a["_bytes"] is not None else None}
                                       for a in e.assets],
                            "html": len(e.html), "code": len(e.code),
                            "git": e.git, "patch": e.patch is not None,
                            "system": e.system is not None})
    return {"experiments": out}


# ---- HTTP -----------------------------------------------------------------------------------

class Handler(emuhttp.Handler):
    NAME = "comet-emu"

    def handle_request(self):
        emu = self.server.emu
        u = urlsplit(self.path)
        path, query = u.path, u.query
        q = parse_qs(query, keep_blank_values=True)
        body = self.read_raw_body()
        method = self.command

        if path.startswith("/__emu/"):
            return self.control(emu, method, path, q, body)

        def serve():
            lat = emu.cfg.get("latency_ms") or 0
            if lat:
                time.sleep(lat / 1000.0)
            rule = emuhttp.match_fault(emu, method, path, query)
            if rule is not None:
                st = int(rule.get("status", 500))
                h = {}
                if rule.get("retry_after") is not None:
                    h["Retry-After"] = rule["retry_after"]
                if rule.get("drop_after") is not None:
                    return (self.send_parts(st, [b'{"msg":"fault"}' * 100],
                                            "application/json", h, rule["drop_after"]),
                            "fault", None)
                self.send_json(st, rule.get("body") or {"msg": "fault", "code": st}, h)
                return st, "fault", None
            return self.api(emu, method, path, q, body)
        self.serve_counted(emu, method, path, query, body, serve)

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return self.send_parts(status, [data], "application/json", headers)

    def control(self, emu, method, path, q, body):
        try:
            r = emucontrol.common(emu, method, path, q, body, seed=seed, dump=dump,
                                  fault_keys=FAULT_KEYS, cfg_keys=CFG_KEYS,
                                  bad=R.bad,
                                  stats_extra=lambda e: {"pointsIn": sum(
                                      len(x.points) for w in e.store.workspaces.values()
                                      for p in w.projects for x in p.exps)})
        except R.ApiError as x:
            return self.send_json(x.status, {"msg": x.msg})
        except (ValueError, KeyError, TypeError) as x:
            return self.send_json(400, {"msg": "bad control request: %s" % x})
        if r is None:
            return self.send_json(404, {"msg": "no such control route"})
        return self.send_json(r[0], r[1])

    def api(self, emu, method, path, q, body):
        if path.startswith("/api/rest/v2/"):
            rname = path[len("/api/rest/v2/"):]
        elif path.startswith("/clientlib/"):
            rname = "clientlib:" + path[len("/clientlib/"):]
        else:
            self.send_json(404, {"msg": "Not Found"})
            return 404, None, None
        r = R.ROUTES.get((method, rname))
        if r is None:
            st = 405 if any(k[1] == rname for k in R.ROUTES) else 404
            self.send_json(st, {"msg": "Not Found" if st == 404 else "Method Not Allowed"})
            return st, rname, None
        key = self.headers.get("Authorization")
        if key not in emu.keys:
            self.send_json(401, {"msg": "Invalid API key", "code": 401})
            return 401, rname, None
        fn, params, required, fields, freq = r
        try:
            extra = set(q) - params
            if extra:
                raise R.bad("unknown query parameters: %s" % sorted(extra))
            miss = required - set(q)
            if miss:
                raise R.bad("missing query parameters: %s" % sorted(miss))
            for k, v in q.items():
                if len(v) != 1:
                    raise R.bad("query parameter %s given %d times" % (k, len(v)))
            ctype = self.headers.get("Content-Type") or ""
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError):
                    raise R.bad("body is not gzip")
            if method == "POST" and fields is not None:
                if not ctype.startswith("application/json"):
                    raise R.bad("Content-Type must be application/json")
                try:
                    b = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    raise R.bad("body is not JSON")
                if not isinstance(b, dict):
                    raise R.bad("body must be a JSON object")
                extra = set(b) - fields
                if extra:
                    raise R.bad("unknown fields: %s" % sorted(extra))
                miss = freq - set(b)
                if miss:
                    raise R.bad("missing fields: %s" % sorted(miss))
            elif method == "POST":
                if not ctype.startswith("multipart/form-data"):
                    raise R.bad("Content-Type must be multipart/form-data")
                b = R.parse_multipart(body, ctype)
            else:
                if body:
                    raise R.bad("GET takes no body")
                b = None
            with emu.lock:
                out = fn(emu, q, b)
        except R.ApiError as x:
            self.send_json(x.status, {"msg": x.msg, "code": x.status})
            return x.status, rname, None
        if isinstance(out, R.RawBody):
            self.send_parts(200, [out.data], out.ctype)
        else:
            self.send_json(200, out)
        return 200, rname, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", action="append", help="an accepted API key (repeatable)")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--seed", default=None, help="JSON file to load as /__emu/seed does")
    ap.add_argument("--verbose", action="store_true")
    emuhttp.add_args(ap)
    opts = ap.parse_args(argv)
    emu = Emulator(opts)
    if opts.seed:
        with open(opts.seed) as f:
            seed(emu, json.load(f))
    emuhttp.serve(emu, hostile.install(Handler), opts.port)


if __name__ == "__main__":
    main()
