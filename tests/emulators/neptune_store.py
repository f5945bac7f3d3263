"""The Neptune 2.x emulator's data: projects, runs and their attributes, the seed format, generated
projects (thousands of runs made on demand) and the NQL subset the 1.x client writes.

Shapes follow the swagger snapshot of Neptune's leaderboard service (neptune-ai/neptune-api commit
105043e, codegen/swagger/leaderboard.json: AttributeDTO, ExperimentAttributesDTO, ...) and the
1.x client (neptune-ai/neptune-client dev/1.x, src/neptune/internal/backends/nql.py for NQL).
"""

import hashlib
import math
import re

ATOMS = ("float", "int", "bool", "string", "datetime", "experimentState")
TYPES = ATOMS + ("stringSet", "floatSeries", "stringSeries", "imageSeries", "file", "fileSet",
                 "gitRef", "notebookRef")


class Bad(Exception):
    """A request or seed the emulator refuses (400)."""


def uuid_of(*parts):
    h = hashlib.md5("/".join(parts).encode()).hexdigest()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])


def iso_ms(ms):
    import datetime
    d = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def gen_bytes(n, seed):
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (n // 32 + 1))[:n]


class GenSeries:
    """A float series of n points made on demand: step i, value f(i), time base + i ms."""
    def __init__(self, n, seed, base_ms):
        self.n, self.seed, self.base = n, seed, base_ms

    def __len__(self):
        return self.n

    def slice(self, a, b):
        s = self.seed
        return [(float(i), (i * 0.001 + s) % 7.0, self.base + i) for i in range(a, min(b, self.n))]


class Run:
    """A run, model or model version (the containers searchLeaderboardEntries lists by type)."""
    def __init__(self, project, short_id, attrs, trashed=False, created_ms=0, kind="run"):
        self.project = project
        self.kind = kind
        self.short_id = short_id
        self.uuid = uuid_of(project.qname, short_id)
        self.trashed = trashed
        self.attrs = attrs  # path -> dict(type=..., ...)
        self.created_ms = created_ms


def sys_attrs(short_id, name, created_ms, trashed, extra=None):
    a = {
        "sys/id": {"type": "string", "value": short_id},
        "sys/name": {"type": "string", "value": name},
        "sys/owner": {"type": "string", "value": "tom"},
        "sys/description": {"type": "string", "value": ""},
        "sys/tags": {"type": "stringSet", "values": []},
        "sys/creation_time": {"type": "datetime", "value": iso_ms(created_ms)},
        "sys/modification_time": {"type": "datetime", "value": iso_ms(created_ms + 60000)},
        "sys/ping_time": {"type": "datetime", "value": iso_ms(created_ms + 60000)},
        "sys/state": {"type": "experimentState", "value": "idle"},
        "sys/failed": {"type": "bool", "value": False},
        "sys/trashed": {"type": "bool", "value": bool(trashed)},
        "sys/size": {"type": "float", "value": 1024.0},
        "sys/running_time": {"type": "float", "value": 60.0},
        "sys/monitoring_time": {"type": "int", "value": 60},
        "sys/family": {"type": "string", "value": short_id},
    }
    for k, v in (extra or {}).items():
        a[k] = v
    return a


class Project:
    def __init__(self, workspace, name, key):
        self.workspace, self.name, self.key = workspace, name, key
        self.qname = workspace + "/" + name
        self.uuid = uuid_of(self.qname)
        self.runs = []        # seeded runs
        self.gen = None       # generated-run profile
        self._gen_cache = {}

    def count(self):
        return len(self.runs) + (self.gen["runs"] if self.gen else 0)

    def all_runs(self):
        for r in self.runs:
            yield r
        if self.gen:
            for i in range(self.gen["runs"]):
                yield self.gen_run(i)

    def gen_run(self, i):
        r = self._gen_cache.get(i)
        if r is not None:
            return r
        g = self.gen
        sid = "%s-%d" % (self.key, i + 1)
        created = 1767225600000 + i * 1000
        attrs = sys_attrs(sid, "run %d" % i, created, False)
        for k in range(g.get("atoms", 0)):
            t = k % 3
            if t == 0:
                attrs["parameters/p%d" % k] = {"type": "float", "value": k + i / 8.0}
            elif t == 1:
                attrs["parameters/p%d" % k] = {"type": "int", "value": k * 1000 + i}
            else:
                attrs["parameters/p%d" % k] = {"type": "string", "value": "v%d-%d" % (k, i)}
        for k in range(g.get("float_series", 0)):
            # the same few series in every run, so that their pages can be rendered once
            attrs["metrics/m%d" % k] = {"type": "floatSeries",
                                        "gen": GenSeries(g.get("points", 0), k, 1767225600000)}
        for k in range(g.get("files", 0)):
            attrs["files/f%d" % k] = {"type": "file", "ext": "bin",
                                      "data": gen_bytes(g.get("file_size", 1000), "%d/%d" % (i, k))}
        r = Run(self, sid, attrs, False, created)
        self._gen_cache[i] = r  # series points and file bytes stay lazy: runs are small
        return r


def check_attr(path, a):
    t = a.get("type")
    if t not in TYPES:
        raise Bad("seed: attribute %s has unknown type %r" % (path, t))
    if t == "floatSeries" and "generate" in a:
        a["gen"] = GenSeries(int(a.pop("generate")), 1, 1767225600000)
    elif t == "floatSeries":
        a["values"] = [(float(s), float(v), int(ts)) for s, v, ts in a["values"]]
    if t == "stringSeries":
        a["values"] = [(float(s), str(v), int(ts)) for s, v, ts in a["values"]]
    if t == "file":
        a["data"] = a["data"].encode() if isinstance(a.get("data"), str) else bytes(a.get("data", b""))
    if t == "fileSet":
        a["files"] = {k: v.encode() for k, v in a.get("files", {}).items()}
    if t == "imageSeries":
        import base64
        a["images"] = [base64.b64decode(x) for x in a.get("images", [])]
    if t == "float":
        a["value"] = float(a["value"])
    return a


def seed(emu, body):
    """{"projects": [{"workspace", "name", "key", "runs": [{"id", "type", "trashed", "created",
    "attributes": {path: {...}}}], "generate": {"runs", "atoms", "float_series", "points",
    "files", "file_size"}}]} -> the projects' run uuids."""
    out = {}
    for p in body.get("projects", []):
        proj = emu.projects.get(p["workspace"] + "/" + p["name"])
        if proj is None:
            proj = Project(p["workspace"], p["name"], p.get("key", "RUN"))
            emu.projects[proj.qname] = proj
        for r in p.get("runs", []):
            created = int(r.get("created", 1767225600000 + len(proj.runs) * 1000))
            attrs = sys_attrs(r["id"], r.get("name", r["id"]), created, r.get("trashed", False),
                              {k: check_attr(k, v) for k, v in r.get("sys", {}).items()})
            for k, v in r.get("attributes", {}).items():
                attrs[k] = check_attr(k, v)
            kind = r.get("type", "run")
            if kind not in ("run", "model", "modelVersion"):
                raise Bad("seed: container type %r" % kind)
            run = Run(proj, r["id"], attrs, r.get("trashed", False), created, kind)
            proj.runs.append(run)
            out[proj.qname + "/" + r["id"]] = run.uuid
        if "generate" in p:
            proj.gen = dict(p["generate"])
            proj._gen_cache = {}
    return {"runs": out}


# ---- attribute DTOs ----

def jnum(x):
    return x


def props(path, a):
    """The AttributeDTO of one attribute (its <type>Properties as in the snapshot)."""
    t = a["type"]
    p = {"attributeName": path, "attributeType": t}
    if t in ATOMS:
        p["value"] = a["value"]
    elif t == "stringSet":
        p["values"] = list(a["values"])
    elif t in ("floatSeries", "stringSeries"):
        vals = a["gen"].slice(len(a["gen"]) - 1, len(a["gen"])) if "gen" in a else a["values"][-1:]
        if vals:
            p["last"] = vals[-1][1]
            p["lastStep"] = vals[-1][0]
        if t == "floatSeries":
            p["hasPreview"] = False
            if "config" in a:
                p["config"] = a["config"]
    elif t == "imageSeries":
        p["channelId"] = uuid_of(path)
        if a["images"]:
            p["lastStep"] = float(len(a["images"]) - 1)
    elif t == "file":
        p.update({"name": path.rsplit("/", 1)[-1], "ext": a.get("ext", ""), "size": len(a["data"])})
    elif t == "fileSet":
        p["size"] = sum(len(v) for v in a["files"].values())
    elif t == "gitRef":
        p.update({k: v for k, v in a.items() if k != "type"})
    elif t == "notebookRef":
        p.update({k: v for k, v in a.items() if k != "type"})
    return {"name": path, "type": t, t + "Properties": p}


SYSTEM_KEYS = {"creationTime": "sys/creation_time", "customId": "sys/custom_run_id",
               "description": "sys/description", "failed": "sys/failed", "family": "sys/family",
               "hostname": "sys/hostname", "modificationTime": "sys/modification_time",
               "monitoringTime": "sys/monitoring_time", "name": "sys/name", "owner": "sys/owner",
               "pingTime": "sys/ping_time", "runningTime": "sys/running_time",
               "shortId": "sys/id", "size": "sys/size", "state": "sys/state", "tags": "sys/tags",
               "trashed": "sys/trashed"}


def experiment_attributes(run):
    sysd = {}
    for k, path in SYSTEM_KEYS.items():
        if path in run.attrs:
            d = props(path, run.attrs[path])
            sysd[k] = d[d["type"] + "Properties"]
        elif k == "customId":
            sysd[k] = {"attributeName": path, "attributeType": "string", "value": ""}
    return {"id": run.uuid, "organizationId": uuid_of(run.project.workspace),
            "organizationName": run.project.workspace, "projectId": run.project.uuid,
            "projectName": run.project.name, "trashed": run.trashed,
            "attributes": [props(k, v) for k, v in sorted(run.attrs.items())],
            "systemAttributes": sysd}


# ---- NQL (the subset the 1.x client writes: nql.py) ----

_TOK = re.compile(r'\s*(?:(\()|(\))|`((?:[^`\\]|\\.)*)`:(\w+)\s*(=|>|CONTAINS)\s*'
                  r'(?:"((?:[^"\\]|\\.)*)"|(true|false))|(AND|OR)\b)')


def nql_parse(text):
    """An NQL string -> a predicate on runs. Refuses anything outside the subset."""
    pos = 0
    toks = []
    text = text.strip()
    while pos < len(text):
        m = _TOK.match(text, pos)
        if not m:
            raise Bad("NQL syntax error at %d: %r" % (pos, text[pos:pos + 20]))
        pos = m.end()
        if m.group(1):
            toks.append("(")
        elif m.group(2):
            toks.append(")")
        elif m.group(8):
            toks.append(m.group(8))
        else:
            unq = m.group(7) if m.group(7) else re.sub(r"\\(.)", r"\1", m.group(6))
            toks.append(("cmp", m.group(3), m.group(4), m.group(5), unq))
        while pos < len(text) and text[pos] == " ":
            pos += 1
    i = 0

    def expr():
        nonlocal i
        left = atom()
        while i < len(toks) and toks[i] in ("AND", "OR"):
            op = toks[i]
            i += 1
            right = atom()
            left = (op, left, right)
        return left

    def atom():
        nonlocal i
        if i >= len(toks):
            raise Bad("NQL: unexpected end")
        t = toks[i]
        if t == "(":
            i += 1
            e = expr()
            if i >= len(toks) or toks[i] != ")":
                raise Bad("NQL: missing )")
            i += 1
            return e
        if isinstance(t, tuple):
            i += 1
            return t
        raise Bad("NQL: unexpected %r" % (t,))

    if not toks:
        return lambda run: True
    tree = expr()
    if i != len(toks):
        raise Bad("NQL: trailing tokens")
    return lambda run: nql_eval(tree, run)


def nql_value(run, path, typ):
    a = run.attrs.get(path)
    if a is None:
        return None
    if a["type"] == "stringSet":
        return a["values"]
    return a.get("value")


def nql_eval(t, run):
    if t[0] == "AND":
        return nql_eval(t[1], run) and nql_eval(t[2], run)
    if t[0] == "OR":
        return nql_eval(t[1], run) or nql_eval(t[2], run)
    _, path, typ, op, lit = t
    v = nql_value(run, path, typ)
    if v is None:
        return False
    if typ == "bool":
        lit = lit.lower() == "true"
    elif typ in ("float", "integer"):
        lit = float(lit)
    if op == "CONTAINS":
        return lit in v
    if op == "=":
        return v == lit
    return v > lit


def sort_key(run, name):
    v = nql_value(run, name, None)
    if isinstance(v, float) and math.isnan(v):
        v = None
    return (v is None, v if v is not None else 0)
