#!/usr/bin/env python3
"""Loopback emulator of a Neptune 2.x server (the API neptune-client 1.x speaks), for tests.

Standard library only. Routes and shapes: neptune_routes.py; data and seed format:
neptune_store.py; control API under /__emu (seed, stats, faults, config; emucontrol.py).
The API token is base64 JSON {"api_address", "api_url", "api_key"}; the token's address is
http://127.0.0.1:<port>, while clients/config names http://<api-host>:<port> as apiUrl, and every
request but clients/config must carry that Host (so a client that sends API calls, or the token,
elsewhere is refused).

Start:  python3 -u neptune_emu.py [--api-host localhost] [--token-ttl S] [--latency-ms M]
Prints "PORT <n>" as the first stdout line, then nothing else on stdout.
"""

import argparse
import base64
import json
import math
import os
import sys
import threading
import time
import traceback
from urllib.parse import parse_qs, urlsplit

import emucontrol
import emuhttp
import hostile
import neptune_store
from neptune_routes import HTTPErr, ROUTES, Raw

FAULT_KEYS = ("method", "path", "query", "status", "count", "skip", "retry_after", "body")
CFG_KEYS = {"latency_ms": float, "token_ttl": float, "prepare_polls": int, "api_key": str,
            "record_bodies": bool, "nan_as_strings": bool}


def quote_nonfinite(o):
    """NaN and ±Inf as the strings "NaN", "Infinity", "-Infinity" (what a Jackson server writes
    with its default QUOTE_NON_NUMERIC_NUMBERS); otherwise Python's bare tokens are sent."""
    if isinstance(o, float) and not math.isfinite(o):
        return "NaN" if o != o else ("Infinity" if o > 0 else "-Infinity")
    if isinstance(o, dict):
        return {k: quote_nonfinite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [quote_nonfinite(v) for v in o]
    return o


class Emulator:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.stats_lock = threading.Lock()
        self.secret = os.urandom(16)
        self.port = 0
        self.reset()

    def reset(self):
        self.projects = {}
        self.by_uuid = None
        self.prepared = {}
        self.page_cache = {}  # rendered pages of generated series
        self.refresh_tokens = set()
        self.faults = []
        self.faults_fired = 0
        self.cfg = {"latency_ms": self.opts.latency_ms, "token_ttl": self.opts.token_ttl,
                    "prepare_polls": 3, "api_key": "emu-key", "record_bodies": False,
                    "nan_as_strings": False}
        self.reset_stats()

    def reset_stats(self):
        self.inflight = self.max_inflight = self.req_total = 0
        self.by_route, self.by_status, self.recent = {}, {}, []
        self.tokens_minted = self.refreshes = self.expired_seen = 0
        self.offset_refusals = self.wrong_host = 0

    def api_url(self):
        return "http://%s:%d" % (self.opts.api_host, self.port)

    def token(self):
        d = {"api_address": "http://127.0.0.1:%d" % self.port,
             "api_url": "http://127.0.0.1:%d" % self.port, "api_key": self.cfg["api_key"]}
        return base64.b64encode(json.dumps(d).encode()).decode()

    def project(self, ident):
        p = self.projects.get(ident)
        if p is None:
            p = next((x for x in self.projects.values() if x.uuid == ident), None)
        if p is None:
            raise HTTPErr(404, "project %s not found" % ident)
        return p

    def run(self, ident):
        for p in self.projects.values():
            for r in p.runs:
                if r.uuid == ident or p.qname + "/" + r.short_id == ident:
                    return r
            if p.gen:
                pre = p.qname + "/" + p.key + "-"
                if ident.startswith(pre) and ident[len(pre):].isdigit():
                    i = int(ident[len(pre):]) - 1
                    if 0 <= i < p.gen["runs"]:
                        return p.gen_run(i)
                idx = self._gen_index(p, ident)
                if idx is not None:
                    return p.gen_run(idx)
        raise HTTPErr(404, "experiment %s not found" % ident)

    def _gen_index(self, p, ident):
        idx = getattr(p, "_uuid_index", None)
        if idx is None or len(idx) != p.gen["runs"]:
            idx = {neptune_store.uuid_of(p.qname, "%s-%d" % (p.key, i + 1)): i
                   for i in range(p.gen["runs"])}
            p._uuid_index = idx
        return idx.get(ident)


def seed(emu, body):
    try:
        return neptune_store.seed(emu, body)
    except neptune_store.Bad as e:
        raise HTTPErr(400, str(e))


def dump(emu, q):
    return {"projects": {k: p.count() for k, p in emu.projects.items()},
            "token": emu.token()}


def stats_extra(emu):
    return {"tokensMinted": emu.tokens_minted, "refreshes": emu.refreshes,
            "expiredSeen": emu.expired_seen, "offsetRefusals": emu.offset_refusals,
            "wrongHost": emu.wrong_host}


class Ctx:
    def __init__(self, q, h, body):
        self.q, self.h, self.body = q, h, body


class Handler(emuhttp.Handler):
    server_version = "neptune-emu/1"
    NAME = "neptune_emu"

    def _json(self, status, obj, headers=None):
        if self.server.emu.cfg["nan_as_strings"]:
            obj = quote_nonfinite(obj)
        data = json.dumps(obj).encode()  # else NaN and Infinity as Python writes them
        return self.send_parts(status, [data], "application/json", headers)

    def handle_request(self):
        emu = self.server.emu
        emu.port = self.server.server_address[1]
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        try:
            body = self.read_raw_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if u.path.startswith("/__emu/"):
            try:
                if u.path == "/__emu/token":
                    self._json(200, {"token": emu.token()})
                    return
                r = emucontrol.common(emu, self.command, u.path, q, body, seed=seed, dump=dump,
                                      fault_keys=FAULT_KEYS, cfg_keys=CFG_KEYS,
                                      bad=lambda m: HTTPErr(400, m), stats_extra=stats_extra)
                if r is None:
                    raise HTTPErr(404, "no control route %s" % u.path)
                self._json(*r)
            except HTTPErr as e:
                self._json(e.status, {"message": e.message})
            except (ValueError, KeyError, TypeError) as e:
                self._json(400, {"message": repr(e)})
            return

        def serve():
            return self._serve(emu, u, q, body)
        self.serve_counted(emu, self.command, u.path, u.query, body, serve)

    def _serve(self, emu, u, q, body):
        key = (self.command, u.path)
        rt = ROUTES.get(key)
        route = u.path if rt else None
        if emu.cfg["latency_ms"]:
            time.sleep(emu.cfg["latency_ms"] / 1000.0)
        try:
            host = self.headers.get("Host", "")
            api_host = "%s:%d" % (emu.opts.api_host, emu.port)
            if rt is None:
                raise HTTPErr(404, "no route %s %s" % key)
            if key[1] != "/api/backend/v1/clients/config" and host != api_host:
                emu.wrong_host += 1
                raise HTTPErr(421, "request for %s sent to host %s, not the API URL" % (key[1], host))
            f = emuhttp.match_fault(emu, self.command, u.path, u.query)
            if f is not None:
                hdr = {}
                if f.get("retry_after") is not None:
                    hdr["Retry-After"] = f["retry_after"]
                raise HTTPErr(int(f.get("status", 500)), f.get("body", "injected fault"), hdr)
            fn, auth = rt
            if auth == "bearer":
                from neptune_routes import bearer_ok
                bearer_ok(emu, self.headers)
            with emu.lock:
                out = fn(emu, Ctx(q, self.headers, body))
            if isinstance(out, Raw):
                return self.send_parts(200, [out.data], out.ctype, out.headers), route, None
            return self._json(200, out), route, None
        except HTTPErr as e:
            return self._json(e.status, {"errorType": "emulator", "code": e.status,
                                         "message": e.message}, e.headers), route, None
        except Exception:  # a bug in the emulator: say so loudly
            traceback.print_exc()
            return self._json(500, {"message": "emulator error"}), route, None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-host", default="127.0.0.1",
                    help="host name of the apiUrl clients/config answers (e.g. localhost)")
    ap.add_argument("--token-ttl", type=float, default=300.0, help="access token lifetime, s")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--seed", default=None, help="JSON file to load as /__emu/seed")
    ap.add_argument("--verbose", action="store_true")
    emuhttp.add_args(ap)
    opts = ap.parse_args(argv)
    emu = Emulator(opts)
    if opts.seed:
        with open(opts.seed) as f:
            seed(emu, json.load(f))
    emuhttp.serve(emu, hostile.install(Handler), opts.port)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
