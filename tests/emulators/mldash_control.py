"""The ml-dash emulator's control API under /__emu: reset, seed, dump, faults, stats, config."""

import hashlib
import json
import time

import emucontrol
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


def _check_cfg(k, v):
    if k == "schema" and v not in SCHEMAS:
        raise bad("schema must be one of %s" % ", ".join(SCHEMAS))


def control(emu, method, path, q, body):
    res = emucontrol.common(emu, method, path, q, body, seed=seed, dump=dump,
                            fault_keys=FAULT_KEYS, cfg_keys=CFG_KEYS, bad=bad,
                            check_cfg=_check_cfg)
    if res is not None:
        return res
    if path == "/__emu/token" and method == "POST":
        b = json.loads(body) if body else {}
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
