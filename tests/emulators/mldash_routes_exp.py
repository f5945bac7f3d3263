"""The ml-dash emulator's REST routes for experiments, logs, parameters and metrics."""

from datetime import timezone

from mldash_common import bad, node_dumps, notfound, now_iso, parse_iso
from mldash_store import Chunk
from mldash_views import v_experiment, v_project
from mldash_rest import Raw, ok, route


# ---- experiments / projects (v0.5 REST; also under /api for 0.6.0-0.6.1)

@route("POST", "/projects/{project}/experiments")
def r_create_experiment(c, project):
    b = c.json()
    name = b.get("name")
    if not isinstance(name, str) or not name:
        raise bad("name is required")
    for k in ("tags", "bindrs"):
        if k in b and b[k] is not None and not isinstance(b[k], list):
            raise bad("%s must be an array" % k)
    ns = c.emu.namespace(c.user.username)
    p = c.emu.get_or_create_project(ns, project)
    folder = b.get("folder")
    exp, created = c.emu.upsert_experiment(p, name, b, folder=folder)
    fold = None
    if exp.node.parent is not None:
        fold = {"id": exp.node.parent.id, "name": exp.node.parent.name,
                "path": "/" + exp.folder_path()}
    return ok({"experiment": v_experiment(exp), "project": v_project(p),
               "folder": fold, "namespace": {"id": ns.id, "slug": ns.slug}},
              201 if created else 200)


@route("PATCH", "/experiments/{eid}/status")
def r_status(c, eid):
    e = c.emu.experiment(eid)
    c.emu.set_status(e, c.json().get("status"))
    return ok({"experiment": v_experiment(e)})


@route("GET", "/experiments/{eid}")
def r_get_experiment(c, eid):
    e = c.emu.experiment(eid)
    return ok({"experiment": v_experiment(e), "project": v_project(e.project)})


# ---- logs

@route("POST", "/experiments/{eid}/logs")
def r_logs_post(c, eid):
    e = c.emu.experiment(eid)
    c.emu.check_writable(e)
    b = c.json()
    logs = b.get("logs")
    if logs is None and "message" in b:
        logs = [b]
    s, t = c.emu.add_logs(e, logs)
    return ok({"created": t - s + 1, "startSequence": s, "endSequence": t,
               "experimentId": e.id}, 201)


@route("GET", "/experiments/{eid}/logs")
def r_logs_get(c, eid):
    e = c.emu.experiment(eid)
    cfg = c.emu.cfg
    limit = c.qint("limit", cfg["logs_default_limit"])
    offset = c.qint("offset", 0)
    if limit < 0 or offset < 0:
        raise bad("limit/offset must be >= 0")
    limit = min(limit, cfg["logs_max_limit"])
    order_by = c.q("orderBy", "sequenceNumber")
    order = c.q("order", "asc")
    if order_by not in ("sequenceNumber", "timestamp"):
        raise bad("orderBy must be timestamp or sequenceNumber")
    if order not in ("asc", "desc"):
        raise bad("order must be asc or desc")
    logs = e.logs
    lv = c.q("level")
    if lv:
        want = set(x.strip() for x in lv.split(",") if x.strip())
        logs = [lg for lg in logs if lg["level"] in want]
    st, et = parse_iso(c.q("startTime")), parse_iso(c.q("endTime"))
    if st or et:
        def inrange(lg):
            t = parse_iso(lg["timestamp"])
            if t is None:
                return False
            if t.tzinfo is None:
                t = t.replace(tzinfo=timezone.utc)
            if st and t < (st if st.tzinfo else st.replace(tzinfo=timezone.utc)):
                return False
            if et and t > (et if et.tzinfo else et.replace(tzinfo=timezone.utc)):
                return False
            return True
        logs = [lg for lg in logs if inrange(lg)]
    s = c.q("search")
    if s:
        s = s.lower()
        logs = [lg for lg in logs if s in lg["message"].lower()]
    if order_by == "timestamp":
        logs = sorted(logs, key=lambda lg: (parse_iso(lg["timestamp"]).timestamp()
                                            if parse_iso(lg["timestamp"]) else 0,
                                            lg["sequenceNumber"]))
    if order == "desc":
        logs = list(reversed(logs))
    page = logs[offset:offset + limit]
    return ok({"logs": page, "total": len(logs), "limit": limit, "offset": offset,
               "hasMore": offset + len(page) < len(logs)})


# ---- parameters

@route("POST", "/experiments/{eid}/parameters")
def r_params_post(c, eid):
    e = c.emu.experiment(eid)
    c.emu.check_writable(e)
    b = c.json()
    if "data" not in b:
        raise bad("data is required")
    p = c.emu.merge_params(e, b["data"])
    return ok(dict(p), 200)


@route("GET", "/experiments/{eid}/parameters")
def r_params_get(c, eid):
    e = c.emu.experiment(eid)
    if e.params is None:
        raise notfound("Parameters not found")
    return ok(dict(e.params))


# ---- metrics

def _metric_name(name):
    return name  # route parameters arrive decoded, as Express gives them


@route("GET", "/experiments/{eid}/metrics")
def r_metrics_list(c, eid):
    e = c.emu.experiment(eid)
    out = []
    for m in e.metrics.values():
        d = m.stats()
        d["id"] = m.id
        d["experimentId"] = e.id
        out.append(d)
    return ok({"metrics": out})


def _check_point(d):
    if not isinstance(d, dict):
        raise bad("data must be an object")


@route("POST", "/experiments/{eid}/metrics/{name}/append")
def r_metric_append(c, eid, name):
    e = c.emu.experiment(eid)
    c.emu.check_writable(e)
    b = c.json()
    if "data" not in b:
        raise bad("data is required")
    _check_point(b["data"])
    m = c.emu.metric(e, _metric_name(name), b, create=True)
    idx, _ = m.append_encoded([node_dumps(b["data"])], now_iso())
    return ok({"metricId": m.id, "index": m.bigint(idx),
               "bufferedDataPoints": m.bigint(len(m.buffer)),
               "chunkSize": m.chunk_size})


@route("POST", "/experiments/{eid}/metrics/{name}/append-batch")
def r_metric_append_batch(c, eid, name):
    e = c.emu.experiment(eid)
    c.emu.check_writable(e)
    b = c.json()
    pts = b.get("dataPoints")
    if not isinstance(pts, list) or not pts:
        raise bad("dataPoints must be a non-empty array")
    for d in pts:
        _check_point(d)
    m = c.emu.metric(e, _metric_name(name), b, create=True)
    s, t = m.append_encoded([node_dumps(d) for d in pts], now_iso())
    return ok({"metricId": m.id, "startIndex": m.bigint(s), "endIndex": m.bigint(t),
               "count": len(pts), "bufferedDataPoints": m.bigint(len(m.buffer)),
               "chunkSize": m.chunk_size})


@route("GET", "/experiments/{eid}/metrics/{name}/stats")
def r_metric_stats(c, eid, name):
    e = c.emu.experiment(eid)
    return ok(c.emu.metric(e, _metric_name(name)).stats())


@route("GET", "/experiments/{eid}/metrics/{name}/chunks/{n}")
def r_metric_chunk(c, eid, name, n):
    e = c.emu.experiment(eid)
    m = c.emu.metric(e, _metric_name(name))
    if not n.isdigit() or int(n) >= len(m.chunks):
        raise notfound("Chunk %s not found" % n)
    head, items, tail = m.chunk_response(int(n))
    mid = node_dumps(int(m.id) if c.emu.cfg["ids_as_numbers"] else str(m.id))
    return Raw(200, [(head % mid).encode("utf-8"), items, tail])


@route("GET", "/experiments/{eid}/metrics/{name}/data")
def r_metric_data(c, eid, name):
    e = c.emu.experiment(eid)
    m = c.emu.metric(e, _metric_name(name))
    cfg = c.emu.cfg
    if c.q("bufferOnly") == "true":
        if cfg["seal_on_buffer_read"] and not getattr(m, "late_sealed", False):
            m.late_sealed = True
            half = len(m.buffer) // 2
            if half:
                m.chunks.append(Chunk(len(m.chunks), m.buffer_start, m.buffer[:half]))
                del m.buffer[:half]
        bs = m.buffer_start
        start = c.qint("startIndex", bs)
        lim = c.qint("limit", cfg["buffer_only_limit"] if cfg["buffer_only_limit"]
                     is not None else len(m.buffer))
        if start < bs:
            start = bs
        items, n = m.range_items(start, max(0, lim))
        total_until = m.next_index
    else:
        start = c.qint("startIndex", 0)
        lim = c.qint("limit", cfg["data_default_limit"])
        if start < 0 or lim < 0:
            raise bad("startIndex/limit must be >= 0")
        lim = min(lim, cfg["data_max_limit"])
        items, n = m.range_items(start, lim)
        total_until = m.next_index
    end = start + n - 1
    head = '{"data":['
    tail = '],"startIndex":%d,"endIndex":%d,"total":%d,"hasMore":%s,"bufferOnly":%s}' % (
        start, end, n,
        "true" if start + n < total_until else "false",
        "true" if c.q("bufferOnly") == "true" else "false")
    return Raw(200, [head.encode(), items, tail.encode()])
