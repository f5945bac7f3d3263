"""The W&B emulator's GraphQL schema: queries and mutations over the stored state."""

import base64
import hashlib
import json
import os
import re
from urllib.parse import quote

from gql import Obj
from wandb_common import HTTPErr, RUN_STATES, b64, bad, jdumps, md5_b64, rand_name
from wandb_history import sample_indices
from wandb_filestream import parse_json_string, upsert_bucket
from wandb_filters import _MISSING, _dig, _unwrap, order_runs, run_matches
from wandb_artifacts import ArtifactWrites, find_version


# --------------------------------------------------------------------------
# GraphQL schema
# --------------------------------------------------------------------------

_CONSOLE = re.compile(r"^(ERROR )?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z? )?"
                      r"(?:\[([^\]]*)\] )?(.*)$", re.S)


def split_console_line(raw):
    """A stored output.log line in file_stream's form ("ERROR " for stderr,
    time, "[label] ", text; runlogschangemodel.go LegacyFormat) as logLines
    gives it: level ("error" for stderr, else empty), timestamp (UTC, with
    Z), label (empty when none), line (wandb/apis/public/console_logs.py,
    ConsoleLogLine; runhandler_test.go). A label is only read after a time,
    as the Go core writes it."""
    m = _CONSOLE.match(raw)
    err, ts, label, text = m.group(1), m.group(2), m.group(3), m.group(4)
    if label is not None and ts is None:
        text, label = raw[len(err or ""):], None
    if ts:
        ts = ts.strip()
        ts = ts if ts.endswith("Z") else ts + "Z"
    return ("error" if err else "", ts, label or "", text)


def cursor_of(i):
    return base64.b64encode(("cursor:%d" % i).encode()).decode()


def offset_after(cur):
    if cur in (None, ""):
        return 0
    try:
        s = base64.b64decode(cur).decode()
        if not s.startswith("cursor:"):
            raise ValueError
        return int(s[7:]) + 1
    except Exception:
        raise bad("invalid cursor %r" % (cur,))


def connection(tname, items, args, node_fn, default_first=50, extra=None):
    start = offset_after(args.get("after"))
    first = args.get("first")
    first = default_first if first is None else int(first)
    if first < 0:
        raise bad("first must be >= 0")
    page = items[start:start + first]
    edges = [Obj(tname + "Edge", {"node": (lambda a, it=it: node_fn(it)),
                                  "cursor": cursor_of(start + i)})
             for i, it in enumerate(page)]
    end = cursor_of(start + len(page) - 1) if page else (cursor_of(start - 1) if start else None)
    fields = {
        "edges": edges,
        "pageInfo": Obj("PageInfo", {"endCursor": end,
                                     "startCursor": cursor_of(start) if page else None,
                                     "hasNextPage": start + len(page) < len(items),
                                     "hasPreviousPage": start > 0}),
        "totalCount": len(items),
    }
    if extra:
        fields.update(extra)
    return Obj(tname + "Connection", fields)


def like_to_regex(pat):
    out = []
    for ch in pat:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.S)


class Schema:
    def __init__(self, emu, base):
        self.emu = emu
        self.base = base

    # ---- leaf objects ----

    def g_user(self, username):
        if username is None:
            return None
        v = self.emu.viewer
        me = username == v["username"]
        return Obj("User", {
            "id": b64("User:%s" % username), "name": v["name"] if me else username,
            "username": username, "email": v["email"] if me else None,
            "entity": v["entity"] if me else username, "admin": False,
            "photoUrl": None, "flags": None,
            "teams": lambda a: connection("Entity", [e for e in self.emu.entities.values()
                                                     if e.is_team], a, self.g_entity),
            "defaultEntity": lambda a: self.g_entity(self.emu.entity(v["entity"])),
            "userEntity": lambda a: self.g_entity(self.emu.entity(v["entity"])),
        })

    def g_entity(self, e):
        if e is None:
            return None
        return Obj("Entity", {
            "id": e.id, "name": e.name, "isTeam": e.is_team, "photoUrl": None,
            "projects": lambda a: connection("Project", list(e.projects.values()), a,
                                             self.g_project),
            "project": lambda a: self.g_project(e.projects.get(a.get("name"))),
        })

    def g_project(self, p):
        if p is None:
            return None
        emu = self.emu

        def runs_list(a):
            flt = parse_json_string(a.get("filters"), "filters") or {}
            if not isinstance(flt, dict):
                raise bad("filters must be a JSON object")
            return order_runs([r for r in p.runs.values() if run_matches(r, flt)],
                              a.get("order"))

        def art(a):
            name = a.get("name") or ""
            seq, _, alias = name.partition(":")
            c = p.collections.get(seq)
            if c is None:
                return None
            return self.g_artifact(find_version(c, alias or "latest"))

        def types(a):
            names = sorted({c.type for c in p.collections.values()})
            return names

        return Obj("Project", {
            "id": p.id, "internalId": p.internal_id, "name": p.name,
            "entityName": p.entity.name, "entity": lambda a: self.g_entity(p.entity),
            "createdAt": p.created, "updatedAt": p.created, "isBenchmark": False,
            "readOnly": False, "description": p.description, "access": "PRIVATE",
            "views": "{}", "user": lambda a: self.g_user(emu.viewer["username"]),
            "runCount": lambda a: len(runs_list(a)),
            "runs": lambda a: connection("Run", runs_list(a), a, self.g_run),
            "buckets": lambda a: connection("Run", runs_list(a), a, self.g_run),
            "run": lambda a: self.g_run(p.runs.get(a.get("name"))),
            "bucket": lambda a: self.g_run(p.runs.get(a.get("name"))),
            "artifact": art,
            "artifactCollection": lambda a: self.g_collection(p.collections.get(a.get("name"))),
            "artifactSequence": lambda a: self.g_collection(p.collections.get(a.get("name"))),
            "artifactTypes": lambda a: connection("ArtifactType", types(a), a,
                                                  lambda t: self.g_atype(p, t)),
            "artifactType": lambda a: (self.g_atype(p, a.get("name"))
                                       if a.get("name") in types(a) else None),
        })

    def file_url(self, run, f):
        return "%s/files/%s/%s/%s/%s" % (self.base, quote(run.project.entity.name),
                                         quote(run.project.name), quote(run.name),
                                         quote(f.name))

    def direct_url(self, key, name):
        return "%s/storage/%s/%s?X-Emu-Signature=%s" % (
            self.base, key, quote(os.path.basename(name)),
            hashlib.sha256(key.encode()).hexdigest()[:16])

    def upload_url(self, run, name):
        return self.new_upload({"kind": "run", "run": run, "name": name})

    def new_upload(self, target, prefix=""):
        """A single-purpose upload URL; artifact uploads ("art-" tokens)
        live at other bucket paths than run files on W&B, which lets a
        fault rule pick them out."""
        tok = prefix + rand_name(32)
        self.emu.uploads[tok] = target
        return "%s/storage/upload/%s?X-Emu-Signature=%s" % (
            self.base, tok, hashlib.sha256(tok.encode()).hexdigest()[:16])

    def g_file(self, run, f, name=None):
        if f is None:          # a name asked for that does not exist yet (legacy upload)
            return Obj("File", {"id": None, "name": name, "sizeBytes": 0, "md5": None,
                                "mimetype": None, "updatedAt": None, "digest": None,
                                "url": lambda a: (self.upload_url(run, name)
                                                  if a.get("upload") else None),
                                "directUrl": None, "storagePath": None})
        if f.key not in self.emu.storage:
            self.emu.storage[f.key] = ("run", run, f.name)
        return Obj("File", {
            "id": b64("File:%s:%s" % (run.name, f.name)), "name": f.name,
            "sizeBytes": len(f.data), "md5": f.md5, "digest": f.md5,
            "mimetype": f.mimetype, "updatedAt": f.updated,
            "url": lambda a: (self.upload_url(run, f.name) if a.get("upload")
                              else self.file_url(run, f)),
            "directUrl": self.direct_url(f.key, f.name),
            "storagePath": f.key,
        })

    def history_arg(self, a, default):
        n = a.get("samples")
        n = default if n is None else int(n)
        mx = self.emu.cfg["history_samples_max"]
        if mx and n > mx:
            raise HTTPErr(500, "samples too large")    # issue #8291 (wandb.md 1.6)
        return n

    def g_run(self, r):
        if r is None:
            return None
        emu = self.emu

        def history(a):
            n = self.history_arg(a, emu.cfg["history_default_samples"])
            idx = r.history.indices(a.get("minStep"), a.get("maxStep"))
            idx = sample_indices(idx, n, emu.cfg["sampling"])
            return r.history.json_list(idx)

        def events(a):
            n = self.history_arg(a, emu.cfg["events_default_samples"])
            idx = r.events.indices()
            idx = sample_indices(idx, n, emu.cfg["sampling"])
            return r.events.json_list(idx)

        def sampled(a):
            specs = a.get("specs") or []
            out = []
            for s in specs:
                sp = parse_json_string(s, "spec")
                if not isinstance(sp, dict):
                    raise bad("spec must be a JSON object")
                keys = sp.get("keys") or []
                n = int(sp.get("samples", emu.cfg["history_default_samples"]))
                n = min(n, emu.cfg["sampled_history_cap"] or n)
                idx = r.history.indices(sp.get("minStep"), sp.get("maxStep"),
                                        hi_inclusive=True)
                rows = []
                for i in idx:
                    row = json.loads(r.history.line(i))
                    if all(_dig(row, k.split(".")) is not _MISSING or k in row for k in keys):
                        rows.append({k: (row[k] if k in row else _dig(row, k.split(".")))
                                     for k in keys} if keys else row)
                rows = [rows[j] for j in sample_indices(list(range(len(rows))), n,
                                                        emu.cfg["sampling"])]
                out.append(rows)
            return out

        def parquet(a):
            keys = a.get("liveKeys") or []
            # The emulated server never exports parquet: every row is live data.
            rows = []
            for i in r.history.indices():
                row = json.loads(r.history.line(i))
                rows.append({k: row[k] for k in keys if k in row} if keys else row)
            return Obj("ParquetHistory", {"parquetUrls": [], "liveData": rows})

        def files(a):
            names = a.get("names") or []
            pat = a.get("pattern")
            if names and pat:
                raise bad("names and pattern cannot be used together")
            fl = sorted(r.files.values(), key=lambda f: f.name)
            if names:
                return connection("File", [(r.files.get(n), n) for n in names], a,
                                  lambda t: self.g_file(r, t[0], t[1]),
                                  extra={"uploadHeaders": emu.cfg["upload_headers"]})
            if pat:
                rx = like_to_regex(pat)
                fl = [f for f in fl if rx.match(f.name)]
            return connection("File", fl, a, lambda f: self.g_file(r, f),
                              extra={"uploadHeaders": emu.cfg["upload_headers"]})

        def log_line(t):
            level, ts, label, text = split_console_line(t[1])
            return Obj("LogLine", {"id": "%s:%d" % (r.name, t[0]), "number": t[0],
                                   "line": text, "timestamp": ts, "level": level,
                                   "label": label})

        def log_page(page, end, more):
            return Obj("LogLineConnection", {
                "edges": [Obj("LogLineEdge", {"node": (lambda a, t=t: log_line(t))})
                          for t in page],
                "pageInfo": Obj("PageInfo", {"endCursor": end, "hasNextPage": more}),
                "totalCount": len(page)})

        def log_lines(a):
            # query_run_console_logs.graphql: `last` is the tail in ascending
            # order on every server; forward pages need useImprovedPagination
            # (0.77+); without it the legacy resolver ignores `first` and
            # reads `after` as a backward offset from the end of the log
            lines = [(i, ln) for i, ln in enumerate(r.logs.lines) if ln is not None]
            if a.get("last") is not None:
                last = int(a["last"])
                return log_page(lines[-last:] if last > 0 else [], None, False)
            if a.get("useImprovedPagination"):
                start = offset_after(a.get("after"))
                first = a.get("first")
                first = len(lines) if first is None else int(first)
                cap = emu.cfg["log_page_max"]
                cut = bool(cap) and first > cap
                page = lines[start:start + (cap if cut else first)]
                end = cursor_of(start + len(page) - 1) if page else a.get("after")
                more = start + len(page) < len(lines) and not cut
                return log_page(page, end, more)
            back = int(a.get("after") or 0)
            stop = max(0, len(lines) - back)
            page = lines[max(0, stop - emu.cfg["log_legacy_page"]):stop]
            return log_page(page, str(back + len(page)), stop - len(page) > 0)

        def history_keys(a):
            ks = r.history.key_stats()
            return {"lastStep": r.history.max_step if r.history.max_step is not None else -1,
                    "keys": {k: {"typeCounts": [{"type": t, "count": c}
                                                for t, c in sorted(v.items())]}
                             for k, v in ks.items()}}

        def wandb_config(a):
            keys = a.get("keys")
            w = _unwrap(r.config.get("_wandb")) or {}
            if keys:
                w = {k: w[k] for k in keys if isinstance(w, dict) and k in w}
            return jdumps(w)

        def tail(h):
            # guess: the last lines as a JSON string holding a list of line strings
            n = len(h)
            return jdumps([h.line(i) for i in range(max(0, n - 10), n)
                           if h.line(i) is not None])

        def arts(lst, a):
            return connection("Artifact", lst, a, self.g_artifact, default_first=100)

        return Obj("Run", {
            "id": r.id, "name": r.name, "displayName": r.display_name or r.name,
            "state": r.state, "config": jdumps(r.config),
            "summaryMetrics": jdumps(r.summary), "systemMetrics": jdumps(r.system_metrics),
            "historyLineCount": len(r.history), "eventsLineCount": len(r.events),
            "logLineCount": len(r.logs), "historyKeys": history_keys,
            "history": history, "events": events, "sampledHistory": sampled,
            "parquetHistory": parquet, "logLines": log_lines,
            "notes": r.notes, "description": r.description, "tags": list(r.tags),
            "tagColors": None, "group": r.group, "jobType": r.job_type,
            "commit": r.commit, "sweepName": r.sweep, "sweep": None, "host": r.host,
            "readOnly": False, "createdAt": r.created, "updatedAt": r.heartbeat,
            "heartbeatAt": r.heartbeat, "computeSeconds": 0,
            "exitcode": r.exitcode, "projectId": r.project.internal_id,
            "project": lambda a: self.g_project(r.project),
            "user": lambda a: self.g_user(r.user),
            "runInfo": None, "servicesAvailable": None, "defaultColorIndex": 0,
            "fileCount": len(r.files), "files": files, "wandbConfig": wandb_config,
            "historyTail": lambda a: tail(r.history),
            "eventsTail": lambda a: tail(r.events),
            "outputArtifacts": lambda a: arts(r.output_artifacts, a),
            "inputArtifacts": lambda a: arts(r.input_artifacts, a),
        })

    def g_atype(self, p, t):
        colls = [c for c in p.collections.values() if c.type == t]
        conn = (lambda a: connection("ArtifactCollection", colls, a, self.g_collection))
        return Obj("ArtifactType", {
            "id": b64("ArtifactType:%s:%s" % (p.name, t)), "name": t, "description": None,
            "createdAt": p.created,
            "artifactCollections": conn, "artifactSequences": conn,
            "artifactCollection": lambda a: self.g_collection(
                next((c for c in colls if c.name == a.get("name")), None)),
        })

    def g_collection(self, c):
        if c is None:
            return None
        return Obj("ArtifactCollection", {
            "id": c.id, "name": c.name, "description": c.description,
            "createdAt": c.created, "updatedAt": c.created,
            "project": self.g_project(c.project),
            "defaultArtifactType": lambda a: self.g_atype(c.project, c.type),
            "artifactType": lambda a: self.g_atype(c.project, c.type),
            "artifacts": lambda a: connection("Artifact", list(reversed(c.versions)), a,
                                              self.g_artifact),
            "aliases": lambda a: connection("ArtifactAlias",
                                            [(v, al) for v in c.versions for al in v.aliases],
                                            a, lambda t: self.g_alias(c, t[1])),
            "tags": lambda a: connection("Tag", [], a, lambda t: t),
        })

    def g_alias(self, c, alias):
        return Obj("ArtifactAlias", {"id": b64("ArtifactAlias:%s:%s" % (c.name, alias)),
                                     "alias": alias,
                                     "artifactCollection": lambda a: self.g_collection(c)})

    def g_artifact(self, art):
        if art is None:
            return None
        c = art.coll
        emu = self.emu

        def manifest_file(a):
            key = art.manifest_key
            if key not in emu.storage:
                emu.storage[key] = ("manifest", art, "wandb_manifest.json")
            data = art.manifest_data()
            return Obj("File", {"id": b64("File:manifest:%s" % art.id),
                                "name": "wandb_manifest.json",
                                "directUrl": self.direct_url(key, "wandb_manifest.json"),
                                "url": lambda a: self.direct_url(key, "wandb_manifest.json"),
                                "sizeBytes": len(data), "md5": md5_b64(data)})

        def afiles(a):
            names = a.get("names") or []
            paths = sorted(art.entries)
            if names:
                paths = [p for p in paths if p in names]
            return connection("File", paths, a, lambda p: self.g_afile(art, p))

        seq = Obj("ArtifactSequence", {"id": c.id, "name": c.name,
                                       "project": lambda a: self.g_project(c.project),
                                       "latestArtifact": lambda a: self.g_artifact(c.latest())})
        return Obj("Artifact", {
            "id": art.id, "digest": art.digest, "commitHash": art.digest[:12],
            "versionIndex": art.version, "state": art.state, "size": art.size(),
            "fileCount": len(art.entries), "description": art.description,
            "metadata": jdumps(art.metadata), "ttlDurationSeconds": art.ttl or -1,
            "ttlIsInherited": True, "historyStep": art.history_step,
            "createdAt": art.created, "updatedAt": art.created,
            "tags": [Obj("Tag", {"id": b64("Tag:%s" % t), "name": t}) for t in art.tags],
            "aliases": [self.g_alias(c, al) for al in art.aliases],
            "artifactSequence": seq, "artifactCollection": lambda a: self.g_collection(c),
            "artifactType": Obj("ArtifactType", {"id": b64("ArtifactType:%s" % c.type),
                                                 "name": c.type}),
            "currentManifest": lambda a: Obj("ArtifactManifest", {
                "id": b64("ArtifactManifest:%s" % art.id), "file": manifest_file,
                "contents": art.manifest_data().decode("utf-8")}),
            "files": afiles,
            "createdBy": lambda a: self.g_run(art.created_by),
            "usedBy": lambda a: connection("Run", art.used_by, a, self.g_run),
        })

    def g_afile(self, art, path):
        e = art.entries[path]
        key = e.get("key")
        url = self.direct_url(key, path) if key else e.get("ref")
        return Obj("File", {"id": b64("File:%s:%s" % (art.id, path)), "name": path,
                            "directUrl": url, "url": lambda a: url,
                            "sizeBytes": e.get("size"), "md5": e["digest"],
                            "digest": e["digest"], "mimetype": None, "updatedAt": art.created,
                            "storagePath": key})

    # ---- roots ----

    def root(self):
        emu = self.emu

        def projects(a):
            e = emu.entity(a.get("entityName") or emu.viewer["entity"], create=False)
            return connection("Project", list(e.projects.values()) if e else [], a,
                              self.g_project)

        def proj(a):
            return self.g_project(emu.project(a.get("entityName") or emu.viewer["entity"],
                                              a.get("name")))

        return Obj("Query", {
            "viewer": lambda a: self.g_user(emu.viewer["username"]),
            "entity": lambda a: self.g_entity(emu.entity(a.get("name") or
                                                         emu.viewer["entity"], False)),
            "models": projects, "projects": projects,
            "project": proj, "model": proj,
            "artifact": lambda a: self.g_artifact(emu.artifact_by_id(a.get("id"))),
            "serverInfo": Obj("ServerInfo", {
                "cliVersionInfo": {"max_cli_version": "0.99.0"},
                "latestLocalVersionInfo": None,
                "features": [],
                "availableBucketProviders": [],
            }),
        })

    def mutation(self):
        emu = self.emu

        def upsert(a):
            inp = a.get("input") or {}
            run, ins = upsert_bucket(emu, inp)
            return Obj("UpsertBucketPayload", {"bucket": self.g_run(run), "inserted": ins,
                                               "updateAvailable": False})

        def create_files(a):
            inp = a.get("input") or {}
            run = emu.run(inp.get("entityName") or emu.viewer["entity"],
                          inp.get("projectName"), inp.get("runName"))
            if run is None:
                raise HTTPErr(404, "run %s/%s/%s not found" % (
                    inp.get("entityName"), inp.get("projectName"), inp.get("runName")))
            names = inp.get("files") or []
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise bad("files must be a list of strings")
            return Obj("CreateRunFilesPayload", {
                "runID": run.id, "uploadHeaders": list(emu.cfg["upload_headers"]),
                "files": [Obj("File", {"name": n, "uploadUrl": self.upload_url(run, n)})
                          for n in names]})

        def update_state(a):
            inp = a.get("input") or {}
            run = emu.run_by_id(inp.get("id") or "")
            if run is None:
                raise HTTPErr(404, "run not found")
            if inp.get("state") not in RUN_STATES:
                raise bad("invalid state")
            run.state = inp["state"]
            return Obj("UpdateRunStatePayload", {"success": True})

        def mark_uploaded(a):
            inp = a.get("input") or {}
            run = emu.run(inp.get("entityName") or emu.viewer["entity"],
                          inp.get("projectName"), inp.get("runName"))
            if run is None:
                raise HTTPErr(404, "run not found")
            run.fs["uploaded"].extend(inp.get("files") or [])
            return Obj("MarkRunFilesUploadedPayload", {"success": True,
                                                       "clientMutationId": None})

        def delete_run(a):
            inp = a.get("input") or {}
            run = emu.run_by_id(inp.get("id") or "")
            if run is None:
                raise HTTPErr(404, "run not found")
            del run.project.runs[run.name]
            return Obj("DeleteRunPayload", {"clientMutationId": None})

        art_m = ArtifactWrites(self)
        return Obj("Mutation", {"upsertBucket": upsert, "createRunFiles": create_files,
                                "updateRunState": update_state,
                                "markRunFilesUploaded": mark_uploaded,
                                "deleteRun": delete_run,
                                "createArtifact": art_m.create,
                                "createArtifactManifest": art_m.manifest,
                                "createArtifactFiles": art_m.files,
                                "commitArtifact": art_m.commit})
