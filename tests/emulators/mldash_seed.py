"""The ml-dash emulator's seeding (with generated metric points) and state dump for /__emu."""

import base64
import json
import re

from emucontrol import gen_file_bytes
from mldash_common import (LOG_LEVELS, _node_number, bad, ids_to_numbers, node_dumps,
    node_num_text, now_iso)
from mldash_views import v_experiment, v_file05, v_node, v_project
from mldash_routes_exp import _check_point
from mldash_routes_tracks import _track_meta


# --------------------------------------------------------------------------
# Generated metric points (for /__emu/seed)
# --------------------------------------------------------------------------

def gen_value(i):
    """Deterministic value of generated point i (documented in README)."""
    return ((i * 7919) % 10007) / 10007.0


def gen_points(spec):
    """Yield the `data` JSON texts of a generator spec
    {count, start=0, step=1, key="step", valueKey="value", extra={}}."""
    count = int(spec["count"])
    start = spec.get("start", 0)
    step = spec.get("step", 1)
    key = spec.get("key", "step")
    vkey = spec.get("valueKey", "value")
    extra = spec.get("extra") or {}
    extra_txt = ""
    if extra:
        extra_txt = "," + node_dumps(extra)[1:-1]
    kq = json.dumps(key)
    vq = json.dumps(vkey)
    ints = isinstance(start, int) and isinstance(step, int)
    fmt = "{" + vq + ":%s," + kq + ":%s" + extra_txt + "}"
    for i in range(count):
        v = gen_value(i)
        s = start + i * step
        yield fmt % (node_num_text(v), str(s) if ints else node_num_text(s))


# --------------------------------------------------------------------------
# Seed and dump (/__emu/seed, /__emu/dump)
# --------------------------------------------------------------------------

def seed(emu, spec):
    out = []
    default_ns = spec.get("namespace", "tom")
    default_cs = spec.get("chunkSize")
    exps = list(spec.get("experiments") or [])
    for proj in spec.get("projects") or []:
        for e in proj.get("experiments") or []:
            e = dict(e)
            e.setdefault("project", proj.get("name") or proj.get("slug"))
            e.setdefault("namespace", proj.get("namespace", default_ns))
            exps.append(e)
    for es in exps:
        ns = emu.namespace(es.get("namespace", default_ns))
        pname = es.get("project")
        if not pname or not es.get("name"):
            raise bad("seed experiment needs project and name")
        p = emu.get_or_create_project(ns, pname, es.get("projectSlug"))
        fields = {k: es[k] for k in ("description", "tags", "bindrs", "metadata")
                  if k in es}
        exp, _ = emu.upsert_experiment(p, es["name"], fields, folder=es.get("folder"))
        if es.get("status"):
            emu.set_status(exp, es["status"])
        if es.get("parameters") is not None:
            emu.merge_params(exp, es["parameters"])
        logs = es.get("logs")
        if isinstance(logs, dict) and "count" in logs:
            base = logs.get("message", "log line")
            logs = [{"timestamp": "2025-01-01T00:00:%02d.%03dZ" % ((i // 1000) % 60, i % 1000),
                     "level": LOG_LEVELS[i % 4], "message": "%s %d" % (base, i)}
                    for i in range(int(logs["count"]))]
        if logs:
            emu.add_logs(exp, logs)
        minfo = {}
        for mname, ms in (es.get("metrics") or {}).items():
            if isinstance(ms, list):
                ms = {"points": ms}
            m = emu.metric(exp, mname, ms, create=True,
                           chunk_size=ms.get("chunkSize", default_cs))
            ts = ms.get("createdAt") or now_iso()
            if ms.get("points"):
                for d in ms["points"]:
                    _check_point(d)
                m.append_encoded([node_dumps(_renorm(d)) for d in ms["points"]], ts)
            if ms.get("generate"):
                g = ms["generate"]
                cs = m.chunk_size
                it = gen_points(g)
                batch = []
                for dj in it:
                    batch.append(dj)
                    if len(batch) >= cs:
                        m.append_encoded(batch, ts)
                        batch = []
                if batch:
                    m.append_encoded(batch, ts)
            minfo[mname] = {"metricId": m.id, "totalDataPoints": m.next_index,
                            "totalChunks": len(m.chunks),
                            "bufferedDataPoints": len(m.buffer)}
        finfo = []
        for fs in es.get("files") or []:
            if "contentBase64" in fs:
                content = base64.b64decode(fs["contentBase64"])
            elif "size" in fs:
                content = gen_file_bytes(int(fs["size"]), int(fs.get("seed", 0)))
            else:
                content = fs.get("content", "").encode("utf-8")
            path = fs.get("path", "/")
            parent = emu.folder_chain(p, exp.node, path, exp)
            node = emu.add_file(exp, content, fs["filename"], parent,
                                fs.get("contentType"), None, fs.get("description"),
                                fs.get("tags"), fs.get("metadata"), v05_path=path)
            finfo.append({"id": node.id, "path": path, "filename": node.filename,
                          "checksum": node.checksum, "sizeBytes": len(content)})
        out.append({"namespace": ns.slug, "project": p.slug, "projectId": p.id,
                    "name": exp.name, "id": exp.id, "nodeId": exp.node.id,
                    "metrics": minfo, "files": finfo})
    return {"experiments": out}


def _renorm(v):
    """Seed JSON was parsed by the control endpoint with Python rules;
    normalise numbers as Node would have stored them."""
    if isinstance(v, dict):
        return {k: _renorm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_renorm(x) for x in v]
    if isinstance(v, float):
        return _node_number(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 9007199254740992:
        return _node_number(float(v))
    return v


def dump(emu, q):
    want_points = q.get("points", ["1"])[0] not in ("0", "false")
    want_content = q.get("content", ["1"])[0] not in ("0", "false")
    fproj = q.get("project", [None])[0]
    fexp = q.get("experiment", [None])[0]
    nss = []
    raws = []
    for ns in emu.namespaces.values():
        projs = []
        for p in ns.projects.values():
            if fproj and p.slug != fproj:
                continue
            exps = []
            for e in p.experiments.values():
                if fexp and e.name != fexp:
                    continue
                d = v_experiment(e)
                d["nodeId"] = e.node.id
                d["displayPath"] = e.display_path()
                d["parameters"] = dict(e.params) if e.params else None
                d["logs"] = e.logs
                mets = {}
                for m in e.metrics.values():
                    md = m.stats()
                    if want_points:
                        raws.append(m.raw_points())
                        md["points"] = "\x00RAW%d\x00" % (len(raws) - 1)
                    mets[m.name] = md
                d["metrics"] = mets
                files = []
                for n in e.files(include_deleted=True):
                    fd = v_file05(n)
                    fd["nodeId"] = n.id
                    fd["pPath"] = n.ppath()
                    if want_content:
                        fd["contentBase64"] = base64.b64encode(n.content).decode("ascii")
                    files.append(fd)
                d["files"] = files
                d["tracks"] = {t["topic"]: dict(_track_meta(t), entries=t["entries"])
                               for t in e.tracks.values()}
                exps.append(d)
            pd = v_project(p)
            pd["experiments"] = exps
            pd["nodes"] = [v_node(n, False) for n in p.nodes]
            projs.append(pd)
        nss.append({"id": ns.id, "slug": ns.slug, "projects": projs})
    return RawDump({"namespaces": nss}, raws)


class RawDump:
    """A JSON object whose "\x00RAW<n>\x00" strings are replaced by raw JSON."""
    def __init__(self, obj, raws):
        self.obj = obj
        self.raws = raws

    def encode(self, ids_as_numbers):
        obj = ids_to_numbers(self.obj) if ids_as_numbers else self.obj
        text = node_dumps(obj).encode("utf-8")
        if not self.raws:
            return [text]
        out, pos = [], 0
        for m in re.finditer(rb'"\\u0000RAW(\d+)\\u0000"', text):
            out.append(text[pos:m.start()])
            out.append(self.raws[int(m.group(1))])
            pos = m.end()
        out.append(text[pos:])
        return out
