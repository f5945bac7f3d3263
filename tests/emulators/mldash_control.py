"""The ml-dash emulator's control API under /__emu: reset, seed, dump, faults, stats, config."""

import hashlib
import json
import time

import emuhttp
from mldash_common import bad, notfound
from mldash_auth import jwt_encode
from mldash_schema import SCHEMAS
from mldash_seed import dump, seed


CFG_KEYS = {"chunk_size": int, "latency_ms": float, "logs_default_limit": int,
            "logs_max_limit": int, "data_default_limit": int, "data_max_limit": int,
            "buffer_only_limit": int, "max_body_bytes": int, "strict_claims": bool,
            "ids_as_numbers": bool, "generation": str, "record_bodies": bool,
            "schema": str, "introspection": bool, "gql_max_limit": int,
            "seal_on_buffer_read": bool}

FAULT_KEYS = ("path", "method", "query", "status", "body", "count", "skip",
              "retry_after", "drop_after_bytes", "delay_ms", "reset", "headers")


def control(emu, method, path, q, body):
    def jbody():
        if not body:
            return {}
        return json.loads(body)

    if path == "/__emu/reset" and method == "POST":
        emuhttp.settle(emu)
        emu.reset()
        return 200, {"ok": True}
    if path == "/__emu/seed" and method == "POST":
        with emu.lock:
            return 200, seed(emu, jbody())
    if path == "/__emu/dump" and method == "GET":
        with emu.lock:
            return 200, dump(emu, q)
    if path == "/__emu/faults":
        if method == "GET":
            return 200, {"faults": emu.faults}
        if method == "DELETE":
            emu.faults = []
            return 200, {"ok": True}
        if method == "POST":
            return 200, emuhttp.add_faults(emu, jbody(), FAULT_KEYS, bad)
    if path == "/__emu/config":
        if method == "POST":
            b = jbody()
            for k, v in b.items():
                if k not in CFG_KEYS:
                    raise bad("unknown config key %s" % k)
                if k == "schema" and v not in SCHEMAS:
                    raise bad("schema must be one of %s" % ", ".join(SCHEMAS))
                emu.cfg[k] = None if v is None else CFG_KEYS[k](v)
        return 200, {"config": emu.cfg}
    if path == "/__emu/stats":
        emuhttp.settle(emu)
        if method == "DELETE":
            emu.reset_stats()
            return 200, {"ok": True}
        with emu.stats_lock:
            return 200, {"requests": emu.req_total, "byRoute": emu.by_route,
                         "byStatus": emu.by_status, "maxConcurrency": emu.max_inflight,
                         "inFlight": emu.inflight, "faultsFired": emu.faults_fired,
                         "recent": emu.recent[-int(q.get("recent", ["200"])[0]):]}
    if path == "/__emu/token" and method == "POST":
        b = jbody()
        user = b.get("username", "tom")
        t = int(b.get("iat", time.time()))
        if b.get("style", "v05") == "v05":
            uid = str(int(hashlib.sha256(user.encode()).hexdigest()[:16], 16))[:10]
            payload = {"userId": uid, "userName": user, "iat": t, "exp": t + 30 * 86400}
        else:
            payload = {"sub": b.get("sub", "1"), "username": user, "iat": t,
                       "exp": t + 30 * 86400}
        payload.update(b.get("extra") or {})
        return 200, {"token": jwt_encode(payload), "payload": payload}
    raise notfound("unknown control endpoint %s %s" % (method, path))
