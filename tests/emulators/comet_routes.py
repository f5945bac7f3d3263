"""The Comet emulator's REST v2 and clientlib routes: what each takes (strictly) and answers.

Every route names the query parameters and body fields a public source shows it taking; anything
else is refused with 400 (the emulator is strict where the sources are silent). Sources:
- reads: comet_ml's connection_api.py (vendored in rmegasari/rsquareNextJS
  venv/lib/python3.10/site-packages/comet_ml/connection/connection_api.py), cometr R/experiment-methods.R,
  comet-ml/comet-java-sdk .../impl/constants/ApiEndpoints.java and QueryParamName.java;
- writes: the same files plus the Comet docs' write-endpoints page
  (comet.com/docs/v2/api-and-sdk/rest-api/write-endpoints);
- batches: comet_ml's connection.py (metrics_batch_url, _send_batch) and messages.py
  (MetricMessage/ParameterMessage repr_json_batch): POST <root>/clientlib/batch/logger/experiment/metric
  and .../parameter, body {"experimentKey", "values": [...]}, gzip when compression is on.
"""
import base64
import json

from comet_store import new_id, server_value


class ApiError(Exception):
    def __init__(self, status, msg):
        Exception.__init__(self, msg)
        self.status = status
        self.msg = msg


def bad(msg):
    return ApiError(400, msg)


ROUTES = {}


def route(method, path, params=(), required=(), fields=None, freq=()):
    """Register a handler for METHOD path with its allowed query params (and required ones),
    and for JSON bodies the allowed fields and required fields."""
    def deco(fn):
        ROUTES[(method, path)] = (fn, set(params), set(required),
                                  None if fields is None else set(fields), set(freq))
        return fn
    return deco


def get_exp(emu, key):
    e = emu.store.by_key.get(key)
    if e is None:
        raise ApiError(400, "Experiment key %s is invalid" % key)
    return e


def one(q, k):
    v = q.get(k)
    return v[0] if v else None


def page(emu, items, q):
    """Newer servers page lists with page (1-based) and size."""
    if "page" not in q and "size" not in q:
        return items
    try:
        p = int(one(q, "page") or 1)
        s = int(one(q, "size") or emu.cfg["page_size"])
    except ValueError:
        raise bad("page and size must be integers")
    if p < 1 or s < 1:
        raise bad("page and size must be positive")
    return items[(p - 1) * s:p * s]


# ---- reads ------------------------------------------------------------------------------

@route("GET", "workspaces")
def r_workspaces(emu, q, b):
    return {"workspaceNames": list(emu.store.workspaces)}


@route("GET", "projects", ("workspaceName",), ("workspaceName",))
def r_projects(emu, q, b):
    w = emu.store.workspace(one(q, "workspaceName"))
    if w is None:
        raise ApiError(400, "No such workspace")
    return {"projects": [p.record() for p in w.projects]}


def find_project(emu, q):
    if "projectId" in q:
        p = emu.store.projects_by_id.get(one(q, "projectId"))
    else:
        if "workspaceName" not in q or "projectName" not in q:
            raise bad("give projectId, or workspaceName and projectName")
        p = emu.store.project(one(q, "workspaceName"), one(q, "projectName"))
    if p is None:
        raise ApiError(400, "No such project")
    return p


@route("GET", "project", ("workspaceName", "projectName", "projectId"))
def r_project(emu, q, b):
    return find_project(emu, q).record()


@route("GET", "project/notes", ("projectId",), ("projectId",))
def r_notes(emu, q, b):
    return {"notes": find_project(emu, q).notes}


@route("GET", "experiments", ("workspaceName", "projectName", "projectId", "archived",
                              "page", "size", "sortBy", "sortOrder"))
def r_experiments(emu, q, b):
    p = find_project(emu, q)
    arch = (one(q, "archived") or "false").lower()
    if arch not in ("true", "false"):
        raise bad("archived must be true or false")
    exps = [e for e in p.exps if e.archived == (arch == "true")]
    sb = one(q, "sortBy")
    if sb:
        if sb not in ("startTime", "endTime"):
            raise bad("sortBy must be startTime or endTime")
        attr = "start" if sb == "startTime" else "end"
        exps.sort(key=lambda e: getattr(e, attr) or 0,
                  reverse=(one(q, "sortOrder") or "asc").lower() == "desc")
    return {"experiments": [e.listed() for e in page(emu, exps, q)]}


def exp_route(path, fn_name=None):
    return route("GET", path, ("experimentKey",), ("experimentKey",))


@exp_route("experiment/metadata")
def r_metadata(emu, q, b):
    return get_exp(emu, one(q, "experimentKey")).metadata()


@exp_route("experiment/tags")
def r_tags(emu, q, b):
    return {"tags": list(get_exp(emu, one(q, "experimentKey")).tags)}


def summarize(rows):
    """{name, valueMax, valueMin, valueCurrent, timestampMax, timestampMin, timestampCurrent,
    stepMax, stepMin, stepCurrent} over rows (value text, ts, step), in logging order."""
    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None
    cur = rows[-1]
    nums = [r for r in rows if num(r[0]) is not None and num(r[0]) == num(r[0])]
    mx = max(nums, key=lambda r: num(r[0])) if nums else cur
    mn = min(nums, key=lambda r: num(r[0])) if nums else cur
    return {"valueMax": mx[0], "valueMin": mn[0], "valueCurrent": cur[0],
            "timestampMax": mx[1], "timestampMin": mn[1], "timestampCurrent": cur[1],
            "stepMax": mx[2], "stepMin": mn[2], "stepCurrent": cur[2]}


@exp_route("experiment/metrics/summary")
def r_msummary(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    by = {}
    for p in e.points:
        by.setdefault(p[0], []).append((p[1], p[2], p[3]))
    out = []
    for name, rows in by.items():
        s = {"name": name}
        s.update(summarize(rows))
        out.append(s)
    return {"values": out}


@route("GET", "experiment/metrics/get-metric", ("experimentKey", "metricName"),
       ("experimentKey", "metricName"))
def r_metric(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    name = one(q, "metricName")
    return {"metrics": [e.point_json(p) for p in e.points if p[0] == name]}


@exp_route("experiment/metrics/get-all")
def r_metrics_all(emu, q, b):
    if not emu.cfg["get_all"]:
        raise ApiError(404, "Not Found")
    e = get_exp(emu, one(q, "experimentKey"))
    return {"metrics": [e.point_json(p) for p in e.points]}


def value_summary(d):
    out = []
    for name, (v, ts, step, ctx) in d.items():
        out.append({"name": name, "valueMax": v, "valueMin": v, "valueCurrent": v,
                    "timestampMax": ts, "timestampMin": ts, "timestampCurrent": ts,
                    "runContextMax": ctx, "runContextMin": ctx, "runContextCurrent": ctx,
                    "stepMax": step, "stepMin": step, "stepCurrent": step,
                    "editable": False})
    return {"values": out}


@exp_route("experiment/parameters")
def r_params(emu, q, b):
    return value_summary(get_exp(emu, one(q, "experimentKey")).params)


@exp_route("experiment/log-other")
def r_others(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    return value_summary({k: (v[0], v[1], None, None) for k, v in e.others.items()})


@exp_route("experiment/system-details")
def r_system(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    s = dict(e.system or {})
    out = {"experimentKey": e.key}
    for k in SYSTEM_FIELDS:
        out[k] = s.get(k)
    return out


@route("GET", "experiment/asset/list", ("experimentKey", "type"), ("experimentKey",))
def r_assets(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    t = one(q, "type")
    return {"assets": [{k: v for k, v in a.items() if not k.startswith("_")}
                       for a in e.assets if t is None or t == "all" or a["type"] == t]}


@route("GET", "experiment/asset/get-asset", ("experimentKey", "assetId"),
       ("experimentKey", "assetId"))
def r_asset(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    for a in e.assets:
        if a["assetId"] == one(q, "assetId") and not a["remote"]:
            return RawBody(a["_bytes"], "application/octet-stream")
    raise ApiError(400, "No such asset")


@exp_route("experiment/html")
def r_html(emu, q, b):
    return {"html": get_exp(emu, one(q, "experimentKey")).html}


@exp_route("experiment/code")
def r_code(emu, q, b):
    return {"code": get_exp(emu, one(q, "experimentKey")).code}


@exp_route("experiment/graph")
def r_graph(emu, q, b):
    return {"graph": get_exp(emu, one(q, "experimentKey")).graph}


@exp_route("experiment/output")
def r_output(emu, q, b):
    return {"output": "".join(o[0] for o in get_exp(emu, one(q, "experimentKey")).output)}


GIT_FIELDS = ("user", "root", "branch", "parent", "origin")


@exp_route("experiment/git/metadata")
def r_git(emu, q, b):
    g = get_exp(emu, one(q, "experimentKey")).git or {}
    return {k: g.get(k) for k in GIT_FIELDS}


@exp_route("experiment/git/patch")
def r_patch(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    if e.patch is None:
        return {"msg": "No patch"}
    return RawBody(e.patch, "application/octet-stream")


class RawBody:
    def __init__(self, data, ctype):
        self.data = data
        self.ctype = ctype


# ---- writes -----------------------------------------------------------------------------

SYSTEM_FIELDS = ("user", "pythonVersion", "pythonVersionVerbose", "pid", "osType", "os",
                 "osRelease", "ip", "hostname", "machine", "processor", "gpuStaticInfoList",
                 "logAdditionalSystemInfoList", "systemMetricNames", "maxTotalMemory",
                 "networkInterfaceIps", "command", "executable", "env", "totalRam",
                 "osPackages", "installedPackages")


def jroute(path, fields, required=("experimentKey",)):
    return route("POST", path, (), (), fields, required)


@jroute("write/project/create", ("workspaceName", "projectName", "projectDescription",
                                 "isPublic"), ("workspaceName", "projectName"))
def w_project(emu, q, b):
    if emu.store.project(b["workspaceName"], b["projectName"]):
        raise ApiError(400, "Project already exists")
    if emu.store.workspace(b["workspaceName"]) is None:
        raise ApiError(400, "No such workspace")
    p = emu.store.project(b["workspaceName"], b["projectName"], True)
    p.desc = b.get("projectDescription") or ""
    p.public = bool(b.get("isPublic"))
    return {"projectId": p.id}


@jroute("write/experiment/create", ("workspaceName", "projectName", "experimentName"),
        ("workspaceName", "projectName"))
def w_create(emu, q, b):
    if emu.store.workspace(b["workspaceName"]) is None:
        raise ApiError(400, "No such workspace")
    p = emu.store.project(b["workspaceName"], b["projectName"], True)
    e = emu.store.new_experiment(p, b.get("experimentName"))
    e.start = emu.now_ms()
    return {"experimentKey": e.key, "link": "%s/%s/%s/%s" % (emu.base, p.ws.name, p.name, e.key),
            "projectName": p.name, "workspaceName": p.ws.name, "name": e.name}


def check_opt_int(v, what):
    if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
        raise bad("%s must be an integer or null" % what)


BATCH_METRIC = ("metricName", "metricValue", "step", "epoch", "context", "timestamp")
BATCH_PARAM = ("parameterName", "parameterValue", "step", "source", "context", "timestamp")


def batch_values(emu, b, allowed):
    vals = b.get("values")
    if not isinstance(vals, list):
        raise bad("values must be a list")
    if len(vals) > emu.cfg["batch_max"]:
        raise ApiError(400, "batch of %d values is over the limit of %d"
                       % (len(vals), emu.cfg["batch_max"]))
    for v in vals:
        if not isinstance(v, dict):
            raise bad("each value must be an object")
        extra = set(v) - set(allowed)
        if extra:
            raise bad("unknown value fields: %s" % sorted(extra))
    return vals


@route("POST", "clientlib:batch/logger/experiment/metric", (), (),
       ("experimentKey", "values"), ("experimentKey", "values"))
def w_metric_batch(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    vals = batch_values(emu, b, BATCH_METRIC)
    rows = []
    for v in vals:
        if not isinstance(v.get("metricName"), str) or not v["metricName"]:
            raise bad("metricName must be a non-empty string")
        for k in ("step", "epoch", "timestamp"):
            check_opt_int(v.get(k), k)
        if v.get("context") is not None and not isinstance(v["context"], str):
            raise bad("context must be a string or null")
        try:
            server_value(v.get("metricValue"))
        except ValueError as x:
            raise bad(str(x))
        rows.append(v)
    for v in rows:
        e.add_point(v["metricName"], v.get("metricValue"), v.get("timestamp"), v.get("step"),
                    v.get("epoch"), v.get("context"))
    return {}


@route("POST", "clientlib:batch/logger/experiment/parameter", (), (),
       ("experimentKey", "values"), ("experimentKey", "values"))
def w_param_batch(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    vals = batch_values(emu, b, BATCH_PARAM)
    for v in vals:
        if not isinstance(v.get("parameterName"), str) or not v["parameterName"]:
            raise bad("parameterName must be a non-empty string")
        check_opt_int(v.get("step"), "step")
        check_opt_int(v.get("timestamp"), "timestamp")
        if v.get("source") not in (None, "auto-logged", "cli", "manual"):
            raise bad("source must be auto-logged, cli or manual")
    for v in vals:
        e.params[v["parameterName"]] = [text_value(v.get("parameterValue")), v.get("timestamp"),
                                        v.get("step"), v.get("context")]
    return {}


def text_value(v):
    """Parameters and others come back as the text the server keeps."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return server_value(v)
    return json.dumps(v, separators=(",", ":"))


@jroute("write/experiment/metric", ("experimentKey", "metricName", "metricValue", "step",
                                    "epoch", "context", "timestamp"))
def w_metric(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    v = dict(b)
    del v["experimentKey"]
    w_metric_batch(emu, q, {"experimentKey": e.key, "values": [v]})
    return {}


@jroute("write/experiment/parameter", ("experimentKey", "parameterName", "parameterValue",
                                       "step", "timestamp"))
def w_param(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    v = dict(b)
    del v["experimentKey"]
    w_param_batch(emu, q, {"experimentKey": e.key, "values": [v]})
    return {}


@jroute("write/experiment/log-other", ("experimentKey", "key", "value", "timestamp"))
def w_other(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    if not isinstance(b.get("key"), str) or not b["key"]:
        raise bad("key must be a non-empty string")
    check_opt_int(b.get("timestamp"), "timestamp")
    e.others[b["key"]] = [text_value(b.get("value")), b.get("timestamp")]
    if b["key"] == "Name" and isinstance(b.get("value"), str):
        e.name = b["value"]
    return {}


@jroute("write/experiment/tags", ("experimentKey", "addedTags"))
def w_tags(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    t = b.get("addedTags")
    if not isinstance(t, list) or not all(isinstance(x, str) for x in t):
        raise bad("addedTags must be a list of strings")
    for x in t:
        if x not in e.tags:
            e.tags.append(x)
    return {}


@jroute("write/experiment/set-start-end-time", ("experimentKey", "startTimeMillis",
                                                "endTimeMillis"))
def w_times(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    check_opt_int(b.get("startTimeMillis"), "startTimeMillis")
    check_opt_int(b.get("endTimeMillis"), "endTimeMillis")
    if b.get("startTimeMillis") is not None:
        e.start = b["startTimeMillis"]
    if b.get("endTimeMillis") is not None:
        e.end = b["endTimeMillis"]
    return {}


@jroute("write/experiment/html", ("experimentKey", "html", "override", "timestamp"))
def w_html(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    if not isinstance(b.get("html"), str):
        raise bad("html must be a string")
    e.html = b["html"] if b.get("override") else e.html + b["html"]
    return {}


@jroute("write/experiment/code", ("experimentKey", "code"))
def w_code(emu, q, b):
    get_exp(emu, b["experimentKey"]).code = str_field(b, "code")
    return {}


@jroute("write/experiment/graph", ("experimentKey", "graph"))
def w_graph(emu, q, b):
    get_exp(emu, b["experimentKey"]).graph = str_field(b, "graph")
    return {}


def str_field(b, k):
    if not isinstance(b.get(k), str):
        raise bad("%s must be a string" % k)
    return b[k]


@jroute("write/experiment/output", ("experimentKey", "runContext", "outputLines"))
def w_output(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    lines = b.get("outputLines")
    if not isinstance(lines, list):
        raise bad("outputLines must be a list")
    for ln in lines:
        if not isinstance(ln, dict) or set(ln) - {"output", "stderr", "localTimestamp", "offset"}:
            raise bad("each output line is {output, stderr, localTimestamp, offset}")
        if not isinstance(ln.get("output"), str):
            raise bad("output must be a string")
    for ln in lines:
        e.output.append([ln["output"], bool(ln.get("stderr")), ln.get("localTimestamp"),
                         ln.get("offset")])
    return {}


@jroute("write/experiment/system-details", ("experimentKey",) + SYSTEM_FIELDS)
def w_system(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    s = dict(e.system or {})
    for k in SYSTEM_FIELDS:
        if k in b:
            s[k] = b[k]
    e.system = s
    return {}


@jroute("write/experiment/git/metadata", ("experimentKey",) + GIT_FIELDS)
def w_git(emu, q, b):
    e = get_exp(emu, b["experimentKey"])
    e.git = {k: b.get(k) for k in GIT_FIELDS}
    return {}


@route("POST", "write/experiment/git/patch", ("experimentKey",), ("experimentKey",))
def w_patch(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    parts = b
    if "file" not in parts:
        raise bad("multipart field file is required")
    e.patch = parts["file"][1]
    return {}


ASSET_PARAMS = ("experimentKey", "fileName", "step", "overwrite", "context", "type",
                "metadata", "extension", "groupingName", "artifactVersionId", "isRemote",
                "source", "epoch")
ASSET_TYPES_MEDIA = {"audio": "audio", "video": "video", "histogram3d": "histogram",
                     "image": "image"}


@route("POST", "write/experiment/upload-asset", ASSET_PARAMS, ("experimentKey", "fileName"))
def w_asset(emu, q, b):
    e = get_exp(emu, one(q, "experimentKey"))
    parts = b
    remote = (one(q, "isRemote") or "false").lower() == "true"
    if remote:
        if "link" not in parts or "file" in parts:
            raise bad("a remote asset takes the form field link and no file")
        data, link = None, parts["link"][1].decode("utf-8")
    else:
        if "file" not in parts or set(parts) - {"file"}:
            raise bad("multipart field file (only) is required")
        data, link = parts["file"][1], None
    step = one(q, "step")
    if step is not None:
        try:
            step = int(step)
        except ValueError:
            raise bad("step must be an integer")
    meta = one(q, "metadata")
    if meta is not None:
        try:
            if not isinstance(json.loads(meta), dict):
                raise ValueError()
        except ValueError:
            raise bad("metadata must be a JSON object")
    atype = one(q, "type") or "asset"
    aid = new_id("a")
    name = one(q, "fileName")
    if (one(q, "overwrite") or "false").lower() == "true":
        e.assets = [a for a in e.assets if a["fileName"] != name or a["type"] != atype]
    rec = {"fileName": name, "fileSize": len(data) if data is not None else 0,
           "runContext": one(q, "context"), "step": step, "remote": remote,
           "link": link if remote else "%s/api/asset/download?assetId=%s&experimentKey=%s"
           % (emu.base, aid, e.key),
           "compressedAssetLink": None if remote else
           "%s/api/asset/download?assetId=%s&experimentKey=%s" % (emu.base, aid, e.key),
           "createdAt": emu.now_ms(), "dir": atype, "canView": False,
           "audio": atype == "audio", "video": atype == "video",
           "histogram": atype == "histogram3d", "image": atype == "image",
           "type": atype, "metadata": meta, "assetId": aid, "tags": [],
           "curlDownload": "curl -H 'Authorization: <Your Api Key>' '%s/api/rest/v2/experiment/"
           "asset/get-asset?experimentKey=%s&assetId=%s'" % (emu.base, e.key, aid),
           "_bytes": data}
    e.assets.append(rec)
    return {"assetId": aid, "web": rec["link"], "api": rec["link"]}


def parse_multipart(body, ctype):
    """{name: (filename, bytes)} of a multipart/form-data body."""
    b = None
    for part in ctype.split(";"):
        part = part.strip()
        if part.startswith("boundary="):
            b = part[9:].strip('"')
    if not b:
        raise bad("multipart/form-data without a boundary")
    delim = b"--" + b.encode()
    out = {}
    chunks = body.split(delim)
    for ch in chunks[1:]:
        if ch.startswith(b"--"):
            break
        head, _, data = ch.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = fname = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for item in line.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    v = v.strip('"')
                    if k == "name":
                        name = v
                    elif k == "filename":
                        fname = v
        if name is None:
            raise bad("multipart part without a name")
        if name in out:
            raise bad("multipart field %s given twice" % name)
        out[name] = (fname, data)
    return out


def b64(s):
    return base64.b64decode(s)
