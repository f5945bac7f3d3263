"""The ml-dash emulator's REST routes for v0.6 tracks and the token exchange."""

import fnmatch
import time

from mldash_common import bad, node_dumps, notfound, now_iso
from mldash_views import split_tags
from mldash_auth import jwt_encode
from mldash_rest import Raw, ok, route


# ---- v0.6 tracks (minimal; shapes are a guess, see README)

def _flatten(d, prefix="", out=None):
    out = {} if out is None else out
    for k, v in d.items():
        key = prefix + k
        if isinstance(v, dict):
            _flatten(v, key + ".", out)
        else:
            out[key] = v
    return out


def _track(c, eid, topic, create=False, body=None):
    e = c.emu.experiment(eid)
    t = e.tracks.get(topic)
    if t is None:
        if not create:
            raise notfound("Track not found: %s" % topic)
        body = body or {}
        t = e.tracks[topic] = {"id": c.emu.ids.next(), "topic": topic,
                               "description": body.get("description"),
                               "tags": body.get("tags") or [],
                               "metadata": body.get("metadata"),
                               "entries": [], "createdAt": now_iso()}
    return e, t


def _track_meta(t):
    cols = []
    for en in t["entries"]:
        for k in en:
            if k != "timestamp" and k not in cols:
                cols.append(k)
    ts = [en["timestamp"] for en in t["entries"]]
    return {"id": t["id"], "trackId": t["id"], "topic": t["topic"],
            "description": t["description"], "tags": t["tags"],
            "metadata": t["metadata"], "totalEntries": len(ts), "columns": cols,
            "firstTimestamp": min(ts) if ts else None,
            "lastTimestamp": max(ts) if ts else None, "createdAt": t["createdAt"]}


@route("POST", "/experiments/{eid}/tracks", gens=(6,))
def r_track_create(c, eid):
    b = c.json()
    if not b.get("topic"):
        raise bad("topic is required")
    e, t = _track(c, eid, b["topic"], True, b)
    return ok(_track_meta(t), 201)


def _track_entry(en):
    if not isinstance(en, dict) or not isinstance(en.get("timestamp"), (int, float)):
        raise bad("entry.timestamp must be a number")
    d = dict(en)
    data = d.pop("data", None)
    flat = {"timestamp": d.pop("timestamp")}
    if isinstance(data, dict):
        flat.update(_flatten(data))
    flat.update(_flatten(d))
    return flat


@route("POST", "/experiments/{eid}/tracks/{topic}/append", gens=(6,))
def r_track_append(c, eid, topic):
    e, t = _track(c, eid, topic, True)
    c.emu.check_writable(e)
    en = _track_entry(c.json())
    t["entries"].append(en)
    return ok(en)


@route("POST", "/experiments/{eid}/tracks/{topic}/append_batch", gens=(6,))
def r_track_append_batch(c, eid, topic):
    e, t = _track(c, eid, topic, True)
    c.emu.check_writable(e)
    ents = c.json().get("entries")
    if not isinstance(ents, list):
        raise bad("entries must be an array")
    flat = [_track_entry(en) for en in ents]
    t["entries"].extend(flat)
    return ok({"count": len(flat), "topic": t["topic"]})


@route("GET", "/experiments/{eid}/tracks/{topic}/data", gens=(6,))
def r_track_data(c, eid, topic):
    e, t = _track(c, eid, topic)
    fmt = c.q("format", "json")
    ents = t["entries"]
    st, et = c.q("start_timestamp"), c.q("end_timestamp")
    try:
        if st is not None:
            ents = [x for x in ents if x["timestamp"] >= float(st)]
        if et is not None:
            ents = [x for x in ents if x["timestamp"] <= float(et)]
    except ValueError:
        raise bad("timestamps must be numbers")
    cols = split_tags(c.q("columns"))
    if cols:
        ents = [{k: v for k, v in x.items() if k == "timestamp" or k in cols} for x in ents]
    if fmt == "json":
        return ok({"topic": t["topic"], "entries": ents, "count": len(ents)})
    if fmt == "jsonl":
        return Raw(200, [("".join(node_dumps(x) + "\n" for x in ents)).encode()],
                   "application/x-ndjson")
    raise bad("format %s not supported by the emulator" % fmt)


@route("GET", "/experiments/{eid}/tracks", gens=(6,))
def r_track_list(c, eid):
    e = c.emu.experiment(eid)
    tf = c.q("topic")
    out = [_track_meta(t) for t in e.tracks.values()
           if not tf or fnmatch.fnmatchcase(t["topic"], tf) or t["topic"].startswith(tf)]
    return ok({"tracks": out})


@route("POST", "/auth/exchange", gens=(6,))
def r_auth_exchange(c):
    u = c.user
    tok = jwt_encode({"sub": u.id or "0", "username": u.username,
                      "name": u.claims.get("name"), "email": u.claims.get("email"),
                      "iat": int(time.time()), "exp": int(time.time()) + 30 * 86400})
    return ok({"ml_dash_token": tok})
