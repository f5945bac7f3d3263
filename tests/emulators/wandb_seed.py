"""The W&B emulator's seeding and state dump for /__emu."""

import base64

from emucontrol import gen_file_bytes
from wandb_common import bad, jdumps, md5_b64, rand_name
from wandb_history import GenHistory
from wandb_store import Artifact, Collection, Run, StoredFile
from wandb_artifacts import find_version


# --------------------------------------------------------------------------
# Seed and dump
# --------------------------------------------------------------------------

def content_of(fs):
    if "contentBase64" in fs:
        return base64.b64decode(fs["contentBase64"])
    if "size" in fs:
        return gen_file_bytes(int(fs["size"]), int(fs.get("seed", 0)))
    c = fs.get("content", "")
    return c.encode("utf-8") if isinstance(c, str) else jdumps(c).encode("utf-8")


def wrap_config(c):
    return {k: (v if k in ("_wandb", "wandb_version") and isinstance(v, dict) and "value" in v
                else {"value": v, "desc": None}) for k, v in c.items()}


def _rows_to_lines(rows):
    return [r if isinstance(r, str) else jdumps(r) for r in rows]


def seed_run(emu, p, rs):
    name = rs.get("name") or rand_name()
    run = p.runs.get(name)
    if run is None:
        run = p.runs[name] = Run(emu, p, name, rs.get("user") or emu.viewer["username"])
    for k, attr in (("displayName", "display_name"), ("notes", "notes"),
                    ("description", "description"), ("group", "group"),
                    ("jobType", "job_type"), ("commit", "commit"), ("host", "host"),
                    ("sweepName", "sweep"), ("createdAt", "created"),
                    ("heartbeatAt", "heartbeat")):
        if k in rs:
            setattr(run, attr, rs[k])
    if "heartbeatAt" not in rs and "createdAt" in rs:
        run.heartbeat = rs["createdAt"]
    run.state = rs.get("state", "finished")
    if "exitcode" in rs:
        run.exitcode = rs["exitcode"]
    if "tags" in rs:
        run.tags = list(rs["tags"])
    if "configRaw" in rs:
        run.config = dict(rs["configRaw"])
    elif "config" in rs:
        run.config = wrap_config(rs["config"])
    if "summary" in rs:
        run.summary = dict(rs["summary"])
    if "systemMetrics" in rs:
        run.system_metrics = dict(rs["systemMetrics"])
    h = rs.get("history")
    if isinstance(h, dict):
        run.history.set_gen(GenHistory(h))
        extra = h.get("append")
        if extra:
            run.history.put(len(run.history), _rows_to_lines(extra))
    elif h:
        run.history.put(len(run.history), _rows_to_lines(h))
    ev = rs.get("events")
    if isinstance(ev, dict):
        n = int(ev.get("rows", 0))
        t0 = float(ev.get("timestamp", 1700000000.0))
        run.events.put(0, [jdumps({"_wandb": True, "_timestamp": t0 + 2 * i, "_runtime": 2 * i,
                                   "system.cpu": (i * 37 % 100) / 1.0,
                                   "system.memory": 40.0 + (i % 7)}) for i in range(n)])
    elif ev:
        run.events.put(0, _rows_to_lines(ev))
    logs = rs.get("logs")
    if isinstance(logs, dict):
        logs = ["log line %d" % i for i in range(int(logs.get("count", 0)))]
    if logs:
        run.logs.put(0, list(logs))
    for fs in rs.get("files") or []:
        data = content_of(fs)
        run.files[fs["name"]] = StoredFile(fs["name"], data, fs.get("updatedAt"),
                                           fs.get("mimetype"))
    for a in rs.get("artifacts") or []:
        art = seed_artifact(emu, p, a)
        art.created_by = run
        run.output_artifacts.append(art)
    for ref in rs.get("usedArtifacts") or []:
        seqn, _, alias = ref.partition(":")
        c = p.collections.get(seqn)
        art = find_version(c, alias or "latest") if c else None
        if art is None:
            raise bad("usedArtifacts: %s not found (seed it first)" % ref)
        run.input_artifacts.append(art)
        art.used_by.append(run)
    return run


def seed_artifact(emu, p, a):
    name = a["name"]
    c = p.collections.get(name)
    if c is None:
        c = p.collections[name] = Collection(emu, p, name, a.get("type", "dataset"))
    entries = {}
    for f in a.get("files") or []:
        path = f["path"]
        if "ref" in f:
            entries[path] = {"digest": f.get("digest") or f["ref"], "ref": f["ref"],
                             "size": f.get("size")}
            continue
        data = content_of(f)
        key = rand_name(32)
        emu.storage[key] = ("blob", None, path)
        emu.blobs[key] = data
        dig = md5_b64(data)
        emu.blobs.setdefault("md5:" + base64.b64decode(dig).hex(), data)
        entries[path] = {"digest": dig, "size": len(data), "key": key}
        if f.get("extra"):
            entries[path]["extra"] = f["extra"]
    art = Artifact(emu, c, entries, a.get("metadata"), a.get("description"))
    art.tags = list(a.get("tags") or [])
    art.history_step = a.get("historyStep")
    art.ttl = a.get("ttlDurationSeconds")
    for v in c.versions:
        if "latest" in v.aliases:
            v.aliases.remove("latest")
    c.versions.append(art)
    art.aliases = ["latest"] + [x for x in a.get("aliases") or [] if x != "latest"]
    if a.get("collectionDescription"):
        c.description = a["collectionDescription"]
    return art


def seed(emu, spec):
    if spec.get("viewer"):
        emu.viewer.update(spec["viewer"])
        emu.entity(emu.viewer["entity"])
    projs = []
    for e in spec.get("entities") or []:
        ent = emu.entity(e["name"], is_team=bool(e.get("isTeam")))
        ent.is_team = bool(e.get("isTeam", ent.is_team))
        for pr in e.get("projects") or []:
            pr = dict(pr)
            pr.setdefault("entity", e["name"])
            projs.append(pr)
    projs += list(spec.get("projects") or [])
    out = []
    for pr in projs:
        p = emu.project(pr.get("entity") or emu.viewer["entity"], pr["name"], create=True)
        if "description" in pr:
            p.description = pr["description"]
        if "createdAt" in pr:
            p.created = pr["createdAt"]
        for a in pr.get("artifacts") or []:
            seed_artifact(emu, p, a)
        for rs in pr.get("runs") or []:
            r = seed_run(emu, p, rs)
            out.append({"entity": p.entity.name, "project": p.name, "name": r.name,
                        "id": r.id, "historyLineCount": len(r.history),
                        "eventsLineCount": len(r.events),
                        "files": {n: {"md5": f.md5, "sizeBytes": len(f.data)}
                                  for n, f in r.files.items()},
                        "artifacts": [{"id": a.id, "name": "%s:v%d" % (a.coll.name, a.version),
                                       "digest": a.digest} for a in r.output_artifacts]})
    return {"runs": out}


def _qflag(q, name, default=True):
    v = q.get(name, [None])[0]
    if v is None:
        return default
    return v not in ("0", "false", "no", "")


def dump_run(r, q):
    d = {"name": r.name, "id": r.id, "displayName": r.display_name, "state": r.state,
         "config": r.config, "summary": r.summary, "systemMetrics": r.system_metrics,
         "notes": r.notes, "description": r.description, "tags": r.tags, "group": r.group,
         "jobType": r.job_type, "commit": r.commit, "host": r.host, "sweepName": r.sweep,
         "program": r.program, "repo": r.repo,
         "createdAt": r.created, "heartbeatAt": r.heartbeat, "user": r.user,
         "exitcode": r.exitcode, "complete": r.complete,
         "historyLineCount": len(r.history), "eventsLineCount": len(r.events),
         "logLineCount": len(r.logs),
         "historyStats": {"gaps": r.history.gaps, "resentLines": r.history.resent,
                          "overwrittenLines": r.history.overwritten,
                          "duplicateSteps": r.history.dup_steps,
                          "lastStep": r.history.max_step,
                          "generatedRows": r.history.n0},
         "eventsStats": {"gaps": r.events.gaps, "resentLines": r.events.resent,
                         "overwrittenLines": r.events.overwritten},
         "logStats": {"gaps": r.logs.gaps, "resentLines": r.logs.resent,
                      "overwrittenLines": r.logs.overwritten},
         "fileStream": r.fs,
         "outputArtifacts": ["%s:v%d" % (a.coll.name, a.version) for a in r.output_artifacts],
         "inputArtifacts": ["%s:v%d" % (a.coll.name, a.version) for a in r.input_artifacts]}
    if _qflag(q, "history"):
        lim = q.get("history_limit", [None])[0]
        n = len(r.history) if lim is None else min(len(r.history), int(lim))
        d["history"] = [r.history.line(i) for i in range(n)]
    if _qflag(q, "events"):
        d["events"] = r.events.all_lines()
    if _qflag(q, "logs"):
        d["logs"] = r.logs.all_lines()
    d["otherStreams"] = {k: v.all_lines() for k, v in r.other.items()}
    files = {}
    for n, f in r.files.items():
        fd = {"sizeBytes": len(f.data), "md5": f.md5, "updatedAt": f.updated,
              "mimetype": f.mimetype}
        if _qflag(q, "content"):
            fd["contentBase64"] = base64.b64encode(f.data).decode()
        files[n] = fd
    d["files"] = files
    return d


def dump(emu, q):
    ents = {}
    fe, fp, fr = (q.get(k, [None])[0] for k in ("entity", "project", "run"))
    for e in emu.entities.values():
        if fe and e.name != fe:
            continue
        projs = {}
        for p in e.projects.values():
            if fp and p.name != fp:
                continue
            runs = {n: dump_run(r, q) for n, r in p.runs.items() if not fr or n == fr}
            arts = {}
            for c in p.collections.values():
                arts[c.name] = {"type": c.type, "description": c.description, "versions": [
                    {"id": a.id, "version": "v%d" % a.version, "digest": a.digest,
                     "state": a.state, "aliases": a.aliases, "metadata": a.metadata,
                     "description": a.description, "tags": a.tags,
                     "historyStep": a.history_step, "manifest": a.manifest(),
                     "createdBy": a.created_by.name if a.created_by else None}
                    for a in c.versions], "pending": [
                    {"id": a.id, "digest": a.digest, "state": a.state,
                     "createdBy": a.created_by.name if a.created_by else None}
                    for a in c.pending]}
            projs[p.name] = {"id": p.id, "createdAt": p.created, "description": p.description,
                             "runs": runs, "artifacts": arts}
        ents[e.name] = {"isTeam": e.is_team, "projects": projs}
    return {"viewer": emu.viewer, "entities": ents}
