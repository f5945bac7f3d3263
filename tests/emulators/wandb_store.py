"""The W&B emulator's in-memory state: files, runs, projects, entities, artifacts and config."""

import base64
import hashlib
import mimetypes
import threading

from wandb_common import b64, jdumps, md5_b64, now_iso, rand_name
from wandb_history import History, Lines


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------

class StoredFile:
    def __init__(self, name, data, updated=None, mimetype=None):
        self.name = name
        self.set(data, updated)
        self.mimetype = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.key = rand_name(24)

    def set(self, data, updated=None):
        self.data = bytes(data)
        self.md5 = md5_b64(self.data)
        self.updated = updated or now_iso()


class Run:
    def __init__(self, emu, project, name, user):
        self.emu = emu
        self.project = project
        self.name = name
        self.id = b64("Run:v1:%s:%s:%s" % (name, project.name, project.entity.name))
        self.display_name = None
        self.state = "running"
        self.config = {}                 # stored (wrapped) form
        self.summary = {}
        self.system_metrics = {}
        self.notes = None
        self.description = None
        self.tags = []
        self.group = None
        self.job_type = None
        self.commit = None
        self.sweep = None
        self.host = None
        self.program = None
        self.repo = None
        self.created = now_iso()
        self.heartbeat = self.created
        self.user = user
        self.history = History()
        self.events = History(steps_from_lines=False)
        self.logs = Lines()
        self.other = {}                  # other file_stream files: name -> Lines
        self.files = {}                  # name -> StoredFile
        self.exitcode = None
        self.complete = False
        self.fs = {"posts": 0, "completes": 0, "preempting": 0, "uploaded": []}
        self.output_artifacts = []
        self.input_artifacts = []
        self.seq = emu.next_seq()


class Project:
    def __init__(self, entity, name):
        self.entity = entity
        self.name = name
        self.id = b64("Project:v1:%s:%s" % (name, entity.name))
        self.internal_id = hashlib.md5(("%s/%s" % (entity.name, name)).encode()).hexdigest()
        self.created = now_iso()
        self.description = None
        self.runs = {}                   # name -> Run (insertion order)
        self.collections = {}            # name -> Collection


class Entity:
    def __init__(self, name, is_team=False):
        self.name = name
        self.id = b64("Entity:%s" % name)
        self.is_team = is_team
        self.projects = {}


class Collection:
    def __init__(self, emu, project, name, atype):
        self.project = project
        self.name = name
        self.type = atype
        self.id = b64("ArtifactCollection:%d" % emu.next_seq())
        self.description = None
        self.versions = []
        self.pending = []                # created, not committed (no version yet)
        self.created = now_iso()

    def latest(self):
        for v in self.versions:
            if "latest" in v.aliases:
                return v
        return self.versions[-1] if self.versions else None

    def set_aliases(self, art, aliases):
        """An alias names one version of a collection: giving it to art
        takes it from the others (the SDK moves "latest" this way)."""
        for al in aliases:
            for v in self.versions:
                if v is not art and al in v.aliases:
                    v.aliases.remove(al)
            if al not in art.aliases:
                art.aliases.append(al)


class Artifact:
    def __init__(self, emu, coll, entries, metadata=None, description=None):
        self.emu = emu
        self.coll = coll
        self.num = emu.next_seq()
        self.id = b64("Artifact:%d" % self.num)
        self.version = len(coll.versions)
        self.entries = entries           # path -> {"digest","size","ref"?,"key"?,"extra"?}
        self.metadata = metadata or {}
        self.description = description
        self.aliases = []
        self.tags = []
        self.created = now_iso()
        self.state = "COMMITTED"
        self.history_step = None
        self.created_by = None
        self.used_by = []
        self.ttl = None
        self.digest = self.compute_digest()
        self.manifest_key = rand_name(24)
        self.manifest_bytes = None       # wandb_manifest.json as uploaded
        self.manifest_id = None
        self.requested_aliases = []

    def compute_digest(self):
        return manifest_digest(self.entries)

    def size(self):
        return sum(int(e.get("size") or 0) for e in self.entries.values())

    def manifest_data(self):
        """The manifest file: as the client uploaded it, else built."""
        if self.manifest_bytes is not None:
            return self.manifest_bytes
        return jdumps(self.manifest()).encode("utf-8")

    def manifest(self):
        contents = {}
        for p in sorted(self.entries):
            e = self.entries[p]
            c = {"digest": e["digest"], "size": e.get("size")}
            for k in ("ref", "birthArtifactID", "extra"):
                if e.get(k) is not None:
                    c[k] = e[k]
            contents[p] = c
        return {"version": 1, "storagePolicy": "wandb-storage-policy-v1",
                "storagePolicyConfig": {"storageLayout": "V1"}, "contents": contents}


def manifest_digest(entries):
    # wandb.md 1.9: hex md5 of "wandb-artifact-manifest-v1\n" + "<path>:<digest>\n" sorted
    h = hashlib.md5(b"wandb-artifact-manifest-v1\n")
    for p in sorted(entries):
        h.update(("%s:%s\n" % (p, entries[p]["digest"])).encode("utf-8"))
    return h.hexdigest()


class Emulator:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.stats_lock = threading.Lock()
        self._seq = 0
        self.base_cfg = {
            "latency_ms": opts.latency_ms,
            "rate_limit": opts.rate_limit,          # GraphQL requests per window per key
            "rate_window_s": opts.rate_window,
            "filestream_rate_limit": 0,             # file_stream requests/s per run (0 = off)
            "max_body_bytes": None,
            "history_default_samples": 500,         # guess (client default, wandb.md 1.6)
            "events_default_samples": 500,          # guess
            "sampled_history_cap": 10000,           # guess from issue #12067 (wandb.md 1.6)
            "history_samples_max": 0,               # >0: larger samples -> HTTP 500 (issue #8291)
            "sampling": opts.sampling,              # "random" | "even"
            "record_bodies": False,
            "upload_headers": [],                   # CreateRunFiles uploadHeaders
            "require_content_md5": False,
            "stopped": False,                       # file_stream answers "stopped": true
            "strict_fields": True,                  # refuse fields the public client never asks
            "log_lines_legacy": False,              # a server before 0.77: no useImprovedPagination
            "log_page_max": 0,                      # >0: improved logLines pages cut at this many
                                                    # lines, hasNextPage false (runhandler.go)
            "log_legacy_page": 1000,                # lines per legacy logLines page (guess)
        }
        self.reset()

    def next_seq(self):
        self._seq += 1
        return self._seq

    def reset(self):
        with self.lock:
            self.cfg = dict(self.base_cfg)
            self.entities = {}
            self.storage = {}        # key -> ("run", run, name) | ("art", art, path) | ...
            self.uploads = {}        # token -> (run, name)
            self.blobs = {}          # artifact entry key -> bytes
            self.faults = []
            self.viewer = {"username": self.opts.username, "name": "Emulated User",
                           "email": "%s@example.invalid" % self.opts.username,
                           "entity": self.opts.username}
            self.entity(self.opts.username)
            self.rl = {}
            self.documents = []      # every GraphQL document received, in order
            self.reset_stats()

    def reset_stats(self):
        with self.stats_lock:
            self.req_total = 0
            self.by_route = {}
            self.by_op = {}
            self.by_status = {}
            self.inflight = 0
            self.max_inflight = 0
            self.faults_fired = 0
            self.rate_limited = 0
            self.recent = []

    # ---- lookups -----------------------------------------------------

    def entity(self, name, create=True, is_team=False):
        e = self.entities.get(name)
        if e is None and create:
            e = self.entities[name] = Entity(name, is_team)
        return e

    def project(self, ename, pname, create=False):
        e = self.entity(ename or self.viewer["entity"], create)
        if e is None:
            return None
        p = e.projects.get(pname)
        if p is None and create:
            p = e.projects[pname] = Project(e, pname)
        return p

    def run(self, ename, pname, rname):
        p = self.project(ename, pname)
        return p.runs.get(rname) if p else None

    def run_by_id(self, rid):
        try:
            parts = base64.b64decode(rid).decode("utf-8").split(":")
        except Exception:
            return None
        if len(parts) != 5 or parts[0] != "Run":
            return None
        return self.run(parts[4], parts[3], parts[2])

    def artifact_by_id(self, aid):
        for e in self.entities.values():
            for p in e.projects.values():
                for c in p.collections.values():
                    for a in c.versions + c.pending:
                        if a.id == aid:
                            return a
        return None

    def store_key(self, kind, obj, name):
        key = rand_name(32)
        self.storage[key] = (kind, obj, name)
        return key
