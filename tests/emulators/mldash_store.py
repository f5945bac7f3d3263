"""The ml-dash emulator's in-memory state: metrics, chunks, nodes, experiments, namespaces."""

import hashlib
import json
import threading
from array import array

from mldash_common import (HTTPErr, LOG_LEVELS, STATUSES, Snowflake, bad, notfound, now_iso,
    parse_iso)


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------

class Chunk:
    __slots__ = ("number", "start", "count", "items", "offsets", "created")

    def __init__(self, number, start, items_list):
        self.number = number
        self.start = start
        self.count = len(items_list)
        offs = array("Q", [0]) * (self.count + 1)
        pos = 0
        for i, it in enumerate(items_list):
            offs[i] = pos
            pos += len(it) + 1
        offs[self.count] = pos
        self.items = b",".join(items_list)   # item JSON texts, comma joined
        self.offsets = offs
        self.created = now_iso()

    def slice(self, a, b):
        """Items [a, b) relative to the chunk, as comma-joined JSON."""
        lo = self.offsets[a]
        hi = self.offsets[b] - 1
        return self.items[lo:hi]


class Metric:
    def __init__(self, emu, exp, name, description=None, tags=None,
                 metadata=None, chunk_size=None):
        self.id = emu.ids.next()
        self.exp = exp
        self.name = name
        self.description = description
        self.tags = list(tags or [])
        self.metadata = metadata
        self.chunk_size = int(chunk_size or emu.cfg["chunk_size"])
        self.chunks = []
        self.buffer = []          # encoded item JSON bytes
        self.next_index = 0
        self.created = now_iso()
        self.updated = self.created
        self.first_at = None
        self.last_at = None
        self.big = emu.cfg["bigint_strings"]

    @property
    def buffer_start(self):
        return self.next_index - len(self.buffer)

    @property
    def chunked(self):
        return self.next_index - len(self.buffer)

    def bigint(self, n):
        return str(n) if self.big else n

    def append_encoded(self, data_jsons, ts):
        """Append points given as their `data` JSON texts (str)."""
        start = self.next_index
        idx_fmt = '{"index":"%d","data":%s,"createdAt":"%s"}' if self.big \
            else '{"index":%d,"data":%s,"createdAt":"%s"}'
        i = start
        buf = self.buffer
        for dj in data_jsons:
            buf.append((idx_fmt % (i, dj, ts)).encode("utf-8"))
            i += 1
        self.next_index = i
        if self.first_at is None and i > start:
            self.first_at = ts
        if i > start:
            self.last_at = ts
        self.updated = ts
        self._seal()
        return start, i - 1

    def _seal(self):
        cs = self.chunk_size
        while len(self.buffer) >= cs:
            items = self.buffer[:cs]
            start = self.buffer_start
            self.chunks.append(Chunk(len(self.chunks), start, items))
            del self.buffer[:cs]

    def stats(self):
        return {
            "metricId": self.id, "name": self.name,
            "description": self.description, "tags": self.tags,
            "metadata": self.metadata,
            "totalDataPoints": self.bigint(self.next_index),
            "bufferedDataPoints": self.bigint(len(self.buffer)),
            "chunkedDataPoints": self.bigint(self.chunked),
            "totalChunks": len(self.chunks),
            "chunkSize": self.chunk_size,
            "firstDataAt": self.first_at, "lastDataAt": self.last_at,
            "createdAt": self.created, "updatedAt": self.updated,
        }

    def chunk_response(self, n):
        c = self.chunks[n]
        end = c.start + c.count - 1
        head = '{"chunkNumber":%d,"startIndex":%s,"endIndex":%s,"dataCount":%d,' \
               '"metricId":%s,"createdAt":"%s","data":[' % (
                   n, json.dumps(self.bigint(c.start)), json.dumps(self.bigint(end)),
                   c.count, "%s", c.created)
        return head, c.items, b"]}"

    def range_items(self, start, limit):
        """Comma-joined item JSON for indexes [start, start+limit)."""
        total = self.next_index
        stop = min(total, start + limit)
        parts = []
        i = start
        while i < stop:
            bs = self.buffer_start
            if i >= bs:
                parts.append(b",".join(self.buffer[i - bs: stop - bs]))
                i = stop
                break
            # binary search would be nicer; chunks are few
            for c in self.chunks:
                if c.start <= i < c.start + c.count:
                    hi = min(stop, c.start + c.count)
                    parts.append(c.slice(i - c.start, hi - c.start))
                    i = hi
                    break
            else:
                break
        return b",".join(p for p in parts if p), max(0, stop - start)

    def raw_points(self):
        parts = [c.items for c in self.chunks]
        if self.buffer:
            parts.append(b",".join(self.buffer))
        return b"[" + b",".join(parts) + b"]"

    def all_points(self):
        out = []
        for c in self.chunks:
            out.extend(json.loads(b"[" + c.items + b"]"))
        if self.buffer:
            out.extend(json.loads(b"[" + b",".join(self.buffer) + b"]"))
        return out


class Node:
    def __init__(self, emu, ntype, name, project, parent, experiment=None):
        self.id = emu.ids.next()
        self.type = ntype
        self.name = name
        self.project = project
        self.parent = parent
        self.experiment = experiment
        self.children = []
        self.description = None
        self.tags = []
        self.metadata = None
        self.created = now_iso()
        self.updated = self.created
        self.deleted = None
        # FILE payload
        self.content = None
        self.filename = None
        self.content_type = None
        self.checksum = None
        self.physical_id = None
        self.v05_path = None      # prefix exactly as a v0.5 client sent it
        if parent is not None:
            parent.children.append(self)
        project.nodes.append(self)
        emu.nodes[self.id] = self

    def live_children(self):
        return [c for c in self.children if c.deleted is None]

    def chain(self):
        out, n = [], self
        while n is not None:
            out.append(n)
            n = n.parent
        return list(reversed(out))

    def ppath(self):
        return "/".join(n.name for n in self.chain())

    def file_rel_path(self):
        """Folder path of a FILE node below its experiment node (v0.5 'path')."""
        if self.v05_path is not None:
            return self.v05_path
        names = []
        n = self.parent
        while n is not None and n.type == "FOLDER" and \
                (self.experiment is None or n is not self.experiment.node):
            names.append(n.name)
            n = n.parent
        return "/" + "/".join(reversed(names))


class Experiment:
    def __init__(self, emu, project, name):
        self.id = emu.ids.next()
        self.project = project
        self.name = name
        self.description = None
        self.tags = []
        self.bindrs = []
        self.folder = None
        self.metadata = None
        self.write_protected = False
        self.status = "RUNNING"
        self.created = now_iso()
        self.updated = self.created
        self.started = self.created
        self.ended = None
        self.logs = []
        self.params = None
        self.metrics = {}
        self.tracks = {}
        self.node = None
        emu.experiments[self.id] = self

    def files(self, include_deleted=False):
        out = []

        def walk(n):
            for c in n.children:
                if c.type == "FILE":
                    if include_deleted or c.deleted is None:
                        out.append(c)
                elif c.type == "FOLDER" and c.deleted is None:
                    walk(c)
        if self.node is not None:
            walk(self.node)
        return out

    def folder_path(self):
        names = []
        n = self.node.parent if self.node else None
        while n is not None:
            names.append(n.name)
            n = n.parent
        return "/".join(reversed(names))

    def display_path(self):
        fp = self.folder_path()
        return (fp + "/" + self.name) if fp else self.name


class Project:
    def __init__(self, emu, ns, name, slug=None):
        self.id = emu.ids.next()
        self.ns = ns
        self.name = name
        self.slug = slug or name
        self.description = None
        self.tags = []
        self.created = now_iso()
        self.updated = self.created
        self.experiments = {}     # name -> Experiment (insertion ordered)
        self.nodes = []
        emu.projects[self.id] = self


class Namespace:
    def __init__(self, emu, slug, user_id=None):
        self.id = emu.ids.next()
        self.slug = slug
        self.user_id = user_id
        self.projects = {}        # slug -> Project
        self.created = now_iso()


# --------------------------------------------------------------------------
# Emulator state
# --------------------------------------------------------------------------

class Emulator:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.ids = Snowflake()
        self.base_cfg = {
            "chunk_size": opts.chunk_size,
            "latency_ms": opts.latency_ms,
            "ids_as_numbers": opts.ids_as_numbers,
            "bigint_strings": not opts.bigint_numbers,
            "logs_default_limit": 100,
            "logs_max_limit": 10000,
            "data_default_limit": 1000,
            "data_max_limit": 10000,
            "buffer_only_limit": None,
            # the real server seals chunks asynchronously [mldash.md 1.4]: a
            # chunk may seal between a client's stats and buffer requests.
            # When set, the first bufferOnly read of a metric first seals
            # half of its buffer into a new chunk.
            "seal_on_buffer_read": False,
            "max_body_bytes": None,
            "strict_claims": opts.strict_claims,
            "generation": opts.generation,
            "schema": opts.schema,
            "gql_max_limit": None,
            "introspection": not opts.no_introspection,
            "record_bodies": False,
        }
        self.reset()

    def reset(self):
        with self.lock:
            self.cfg = dict(self.base_cfg)
            self.namespaces = {}
            self.projects = {}
            self.experiments = {}
            self.nodes = {}
            self.faults = []
            self.reset_stats()

    def reset_stats(self):
        self.stats_lock = threading.Lock()
        self.req_total = 0
        self.by_route = {}
        self.by_status = {}
        self.inflight = 0
        self.max_inflight = 0
        self.faults_fired = 0
        self.recent = []

    # ---- lookups -----------------------------------------------------

    def namespace(self, slug, user_id=None, create=True):
        ns = self.namespaces.get(slug)
        if ns is None and create:
            ns = self.namespaces[slug] = Namespace(self, slug, user_id)
        return ns

    def project_by_slug(self, ns_slug, slug):
        ns = self.namespaces.get(ns_slug)
        return ns.projects.get(slug) if ns else None

    def get_or_create_project(self, ns, name, slug=None):
        slug = slug or name
        p = ns.projects.get(slug)
        if p is None:
            p = ns.projects[slug] = Project(self, ns, name, slug)
        return p

    def experiment(self, eid):
        e = self.experiments.get(str(eid))
        if e is None:
            raise notfound("Experiment not found")
        return e

    def folder(self, project, parent, name, experiment=None):
        siblings = parent.children if parent is not None else \
            [n for n in project.nodes if n.parent is None]
        for n in siblings:
            if n.type == "FOLDER" and n.name == name and n.deleted is None:
                return n
        n = Node(self, "FOLDER", name, project, parent, experiment)
        if parent is not None and parent.experiment is not None:
            n.experiment = parent.experiment
        return n

    def folder_chain(self, project, parent, path, experiment=None):
        for seg in [s for s in (path or "").split("/") if s]:
            parent = self.folder(project, parent, seg, experiment)
        return parent

    def upsert_experiment(self, project, name, fields, parent=None,
                          folder=None):
        """Same (project, name) -> same experiment (mldash.md 1.2)."""
        exp = project.experiments.get(name)
        created = exp is None
        if created:
            exp = Experiment(self, project, name)
            project.experiments[name] = exp
            if parent is None and folder:
                parent = self.folder_chain(project, None, folder)
            exp.node = Node(self, "EXPERIMENT", name, project, parent, exp)
        for k, attr in (("description", "description"), ("tags", "tags"),
                        ("bindrs", "bindrs"), ("metadata", "metadata"),
                        ("writeProtected", "write_protected")):
            if k in fields and fields[k] is not None:
                setattr(exp, attr, fields[k])
        if folder is not None:
            exp.folder = folder
        elif created and exp.node.parent is not None:
            exp.folder = "/" + exp.folder_path()
        exp.node.description = exp.description
        exp.node.tags = exp.tags
        exp.node.metadata = exp.metadata
        exp.updated = now_iso()
        return exp, created

    def set_status(self, exp, status):
        if status not in STATUSES:
            raise bad("Invalid status: %r" % (status,))
        exp.status = status
        exp.updated = now_iso()
        if status == "RUNNING":
            exp.ended = None
        else:
            exp.ended = exp.updated

    def check_writable(self, exp):
        if exp.write_protected:
            raise HTTPErr(403, "Experiment is write-protected")

    # ---- writes shared by REST and seeding ---------------------------

    def add_logs(self, exp, logs):
        if not isinstance(logs, list) or not logs:
            raise bad("logs must be a non-empty array")
        prepared = []
        for lg in logs:
            if not isinstance(lg, dict):
                raise bad("each log must be an object")
            msg = lg.get("message")
            if not isinstance(msg, str):
                raise bad("log.message is required")
            level = lg.get("level", "info")
            if level not in LOG_LEVELS:
                raise bad("Invalid log level: %r" % (level,))
            ts = lg.get("timestamp")
            if ts is None:
                ts = now_iso()
            elif parse_iso(ts) is None:
                raise bad("Invalid timestamp: %r" % (ts,))
            md = lg.get("metadata")
            if md is not None and not isinstance(md, dict):
                raise bad("log.metadata must be an object")
            prepared.append((ts, level, msg, md))
        start = len(exp.logs)
        created = now_iso()
        for i, (ts, level, msg, md) in enumerate(prepared):
            exp.logs.append({
                "id": self.ids.next(), "experimentId": exp.id,
                "sequenceNumber": start + i, "timestamp": ts, "level": level,
                "message": msg, "metadata": md, "createdAt": created})
        return start, len(exp.logs) - 1

    def merge_params(self, exp, data):
        if not isinstance(data, dict):
            raise bad("data must be an object")
        t = now_iso()
        if exp.params is None:
            exp.params = {"id": self.ids.next(), "experimentId": exp.id,
                          "data": {}, "version": 0, "createdAt": t}
        exp.params["data"].update(data)
        exp.params["version"] += 1
        exp.params["updatedAt"] = t
        return exp.params

    def metric(self, exp, name, body=None, create=False, chunk_size=None):
        m = exp.metrics.get(name)
        if m is None:
            if not create:
                raise notfound("Metric not found: %s" % name)
            body = body or {}
            m = exp.metrics[name] = Metric(
                self, exp, name, body.get("description"), body.get("tags"),
                body.get("metadata"), chunk_size)
        return m

    def add_file(self, exp, content, filename, parent, content_type=None,
                 checksum=None, description=None, tags=None, metadata=None,
                 v05_path=None, size_bytes=None):
        actual = hashlib.sha256(content).hexdigest()
        if checksum and checksum.lower() != actual:
            raise bad("Checksum mismatch: expected %s, got %s" % (checksum, actual))
        if size_bytes is not None:
            try:
                sb = int(size_bytes)
            except (TypeError, ValueError):
                raise bad("sizeBytes must be an integer")
            if sb != len(content):
                raise bad("sizeBytes mismatch: declared %d, received %d" % (sb, len(content)))
        # Same folder + same name replaces the previous file (soft delete).
        for c in parent.children:
            if c.type == "FILE" and c.name == filename and c.deleted is None:
                c.deleted = now_iso()
        n = Node(self, "FILE", filename, exp.project, parent, exp)
        n.content = bytes(content)
        n.filename = filename
        n.content_type = content_type or "application/octet-stream"
        n.checksum = actual
        n.physical_id = self.ids.next()
        n.description = description
        n.tags = list(tags or [])
        n.metadata = metadata
        n.v05_path = v05_path
        return n
