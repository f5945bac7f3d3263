"""The control API pieces both vendor emulators share: the routes and generated seed files.

Each emulator's own control module calls common() first and handles what is left
(ml-dash's /__emu/token); README.md documents the routes per emulator.
"""

import hashlib
import json

import emuhttp


def gen_file_bytes(n, seed):
    """The bytes of a generated seed file: sha256(str(seed)) repeated, cut to n (README)."""
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (n // 32 + 1))[:n]


def common(emu, method, path, q, body, *, seed, dump, fault_keys, cfg_keys, bad,
           check_cfg=None, documents=False, stats_extra=None):
    """Answer a shared control route as (status, object), or None when `path` is not one.

    check_cfg(key, value) raises for a config value the emulator refuses; with
    `documents` the GraphQL documents kept in emu.documents are served;
    stats_extra(emu) adds emulator-specific counters to /__emu/stats."""
    def jbody():
        return json.loads(body) if body else {}

    if path == "/__emu/reset" and method == "POST":
        emuhttp.settle(emu)
        emu.reset()
        emuhttp.set_schedule(emu, getattr(emu.opts, "schedule", None))
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
            return 200, emuhttp.add_faults(emu, jbody(), fault_keys, bad)
    if path == "/__emu/config":
        if method == "POST":
            for k, v in jbody().items():
                if k == "schedule":  # the network fault schedule (emuhttp.Schedule)
                    emuhttp.set_schedule(emu, v)
                    continue
                if k not in cfg_keys:
                    raise bad("unknown config key %s" % k)
                if check_cfg is not None:
                    check_cfg(k, v)
                emu.cfg[k] = None if v is None else cfg_keys[k](v)
        sch = emuhttp.schedule_of(emu)
        return 200, {"config": dict(emu.cfg, schedule=sch.spec if sch else None)}
    if path == "/__emu/documents" and documents:
        emuhttp.settle(emu)
        with emu.lock:
            if method == "DELETE":
                emu.documents = []
                return 200, {"ok": True}
            return 200, {"documents": list(emu.documents)}
    if path == "/__emu/stats":
        emuhttp.settle(emu)
        if method == "DELETE":
            emu.reset_stats()
            return 200, {"ok": True}
        with emu.stats_lock:
            out = {"requests": emu.req_total, "byRoute": emu.by_route,
                   "byStatus": emu.by_status, "maxConcurrency": emu.max_inflight,
                   "inFlight": emu.inflight, "faultsFired": emu.faults_fired}
            if stats_extra is not None:
                out.update(stats_extra(emu))
            sch = emuhttp.schedule_of(emu)
            if sch is not None:
                out["schedule"] = sch.stats()
            out["recent"] = emu.recent[-int(q.get("recent", ["200"])[0]):]
            return 200, out
    return None
