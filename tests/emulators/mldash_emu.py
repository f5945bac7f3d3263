#!/usr/bin/env python3
"""Loopback emulator of the ml-dash (fortyfive-labs) tracking server, for tests.

Standard library only.  Emulates both protocol generations described in
the public ml-dash sources named in docs/vendor-sources.md (v0.5.x routes without prefix, v0.6.x routes
under /api including the unified node API, GraphQL at /graphql for both),
plus a control API under /__emu for seeding, dumping, fault and latency
injection.  See tests/emulators/README.md.

Start:  python3 -u mldash_emu.py [--chunk-size N] [--latency-ms M]
                                 [--ids-as-numbers] [--api-key K] ...
Prints "PORT <n>" as the first stdout line, then nothing else on stdout.
"""

import argparse
import base64
import fnmatch
import hashlib
import hmac
import json
import re
import sys
import threading
import time
import traceback
from array import array
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlsplit

import emuhttp  # noqa: E402 (the emulators' shared HTTP plumbing)
from gql import GQLError, Obj, gql_execute  # noqa: E402 (the emulators' shared engine)

DEV_JWT_SECRET = b"your-secret-key-change-this-in-production"   # mldash.md 1.1.1
LOG_LEVELS = ("info", "warn", "error", "debug", "fatal")          # mldash.md 1.2
STATUSES = ("RUNNING", "COMPLETED", "FAILED", "CANCELLED")        # mldash.md 1.2


# --------------------------------------------------------------------------
# IDs
# --------------------------------------------------------------------------

class ID(str):
    """A Snowflake id.  A str subclass so it can be told apart from user data
    when --ids-as-numbers turns ids into bare JSON numbers."""
    __slots__ = ()


_TWEPOCH = 1288834974657  # Snowflake epoch: gives 19-digit ids today


class Snowflake:
    def __init__(self, worker=1):
        self.lock = threading.Lock()
        self.last = 0
        self.seq = 0
        self.worker = worker & 0x3FF

    def next(self):
        with self.lock:
            ms = int(time.time() * 1000) - _TWEPOCH
            if ms <= self.last:
                ms = self.last
                self.seq = (self.seq + 1) & 0xFFF
                if self.seq == 0:
                    ms = self.last + 1
            else:
                self.seq = 0
            self.last = ms
            return ID(str((ms << 22) | (self.worker << 12) | self.seq))


# --------------------------------------------------------------------------
# Node.js-flavoured JSON (the real server is Node: mldash.md 3.1 and 7)
# --------------------------------------------------------------------------

class NodeJSONError(ValueError):
    pass


def _reject_constant(tok):
    # Node's JSON.parse has no NaN / Infinity / -Infinity tokens.
    raise NodeJSONError("Unexpected token %s in JSON" % tok[:1])


def _node_number(v):
    """Normalise a parsed number to what a Node round trip would give."""
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None                    # JSON.stringify(Infinity) == "null"
        if v.is_integer():
            if abs(v) < 9007199254740992.0:
                return int(v)              # 1.0 -> 1, -0.0 -> 0
            if abs(v) < 1e21:
                return int(Decimal(repr(v)))   # printed without exponent
        return v
    return v


def _parse_int(s):
    v = int(s)
    if -9007199254740992 <= v <= 9007199254740992:
        return v
    return _node_number(float(v))          # Node reads big ints as doubles


def _parse_float(s):
    return _node_number(float(s))


def node_loads(text):
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if text.startswith("\ufeff"):
        raise NodeJSONError("Unexpected token \ufeff in JSON at position 0")
    try:
        return json.loads(text, parse_constant=_reject_constant,
                          parse_int=_parse_int, parse_float=_parse_float)
    except NodeJSONError:
        raise
    except json.JSONDecodeError as e:
        raise NodeJSONError("Unexpected token in JSON at position %d" % e.pos)
    except RecursionError:
        raise NodeJSONError("Maximum call stack size exceeded")


def _js_small(s):
    # Format a Python repr like 1e-05 / 1.5e-07 the way Number#toString does.
    sign = ""
    if s.startswith("-"):
        sign, s = "-", s[1:]
    t = Decimal(s).as_tuple()
    digits = "".join(map(str, t.digits)).rstrip("0") or "0"
    n = t.exponent + len(t.digits)     # value = 0.DIGITS * 10^n
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    e = n - 1
    return sign + mant + "e" + ("-" if e < 0 else "+") + str(abs(e))


_JS_FIX = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?e-\d+)')


def _js_fix(m):
    g = m.group(1)
    return _js_small(g) if g else m.group(0)


_ENC = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ENC_ASCII = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def node_dumps(obj):
    """JSON text as Node's JSON.stringify would print it (values already
    normalised by node_loads / _node_number)."""
    try:
        s = _ENC.encode(obj)
        s.encode("utf-8")
    except UnicodeEncodeError:        # lone surrogates: Node escapes them
        s = _ENC_ASCII.encode(obj)
    if "e-" in s:
        s = _JS_FIX.sub(_js_fix, s)
    return s


def node_num_text(v):
    v = _node_number(v)
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    r = repr(v)
    return _js_small(r) if "e-" in r else r


def ids_to_numbers(obj):
    if isinstance(obj, ID):
        return int(obj) if obj.isdigit() else obj
    if isinstance(obj, dict):
        return {k: ids_to_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [ids_to_numbers(v) for v in obj]
    return obj


def now_iso():
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_iso(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def _gql_resolver_error(e, path):
    """A resolver's HTTPErr as Apollo-style GraphQL error entry."""
    return {"message": e.message, "path": path,
            "extensions": {"code": e.error.upper().replace(" ", "_")}}


class HTTPErr(Exception):
    def __init__(self, status, message, error=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error or {400: "Bad Request", 401: "Unauthorized",
                               403: "Forbidden", 404: "Not Found",
                               409: "Conflict", 413: "Payload Too Large",
                               415: "Unsupported Media Type"}.get(status, "Error")
        self.headers = headers or {}


def bad(msg):
    return HTTPErr(400, msg)


def notfound(msg):
    return HTTPErr(404, msg)


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


# --------------------------------------------------------------------------
# JSON views
# --------------------------------------------------------------------------

def v_project(p):
    return {"id": p.id, "name": p.name, "slug": p.slug,
            "description": p.description, "tags": p.tags,
            "namespaceId": p.ns.id, "createdAt": p.created, "updatedAt": p.updated}


def v_experiment(e):
    return {"id": e.id, "name": e.name, "description": e.description,
            "tags": e.tags, "bindrs": e.bindrs, "folder": e.folder,
            "metadata": e.metadata, "status": e.status,
            "writeProtected": e.write_protected, "projectId": e.project.id,
            "startedAt": e.started, "endedAt": e.ended,
            "createdAt": e.created, "updatedAt": e.updated}


def v_file05(n):
    exp = n.experiment
    return {"id": n.id, "experimentId": exp.id if exp else None,
            "path": n.file_rel_path(), "filename": n.filename,
            "description": n.description, "tags": n.tags,
            "contentType": n.content_type, "sizeBytes": len(n.content),
            "checksum": n.checksum, "metadata": n.metadata,
            "uploadedAt": n.created, "updatedAt": n.updated,
            "deletedAt": n.deleted}


def v_physical(n, big):
    return {"id": n.physical_id, "filename": n.filename,
            "contentType": n.content_type,
            "sizeBytes": str(len(n.content)) if big else len(n.content),
            "checksum": n.checksum, "s3Url": None}


def v_node(n, big):
    d = {"id": n.id, "type": n.type, "name": n.name,
         "projectId": n.project.id,
         "parentId": n.parent.id if n.parent is not None else None,
         "experimentId": n.experiment.id if n.experiment is not None else None,
         "pPath": n.ppath(), "description": n.description, "tags": n.tags,
         "metadata": n.metadata, "createdAt": n.created,
         "updatedAt": n.updated, "deletedAt": n.deleted}
    if n.type == "FILE":
        d["physicalFile"] = v_physical(n, big)
    if n.type == "EXPERIMENT" and n.experiment is not None:
        d["status"] = n.experiment.status
    return d


# --------------------------------------------------------------------------
# JWT
# --------------------------------------------------------------------------

def b64url_decode(s):
    s = s + "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s.encode("ascii"))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def jwt_encode(payload, secret=DEV_JWT_SECRET):
    h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64url(sig)


def jwt_verify(token, secret=DEV_JWT_SECRET):
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("malformed token")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except Exception:
        raise ValueError("malformed token")
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError("unsupported algorithm")
    want = hmac.new(secret, (parts[0] + "." + parts[1]).encode("ascii"),
                    hashlib.sha256).digest()
    if not hmac.compare_digest(want, sig):
        raise ValueError("invalid signature")
    if not isinstance(payload, dict):
        raise ValueError("invalid payload")
    exp = payload.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise ValueError("jwt expired")
    return payload


class User:
    def __init__(self, username, user_id, claims_gen, claims=None):
        self.username = username
        self.id = user_id
        self.claims_gen = claims_gen    # 5, 6 or "apikey"
        self.claims = claims or {}


# --------------------------------------------------------------------------
# Multipart
# --------------------------------------------------------------------------

def parse_multipart(body, ctype):
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', ctype)
    if not m:
        raise bad("multipart boundary missing")
    boundary = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    parts = []
    pos = body.find(boundary)
    if pos < 0:
        raise bad("malformed multipart body")
    while True:
        pos += len(boundary)
        if body[pos:pos + 2] == b"--":
            break
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        nxt = body.find(b"\r\n" + boundary, pos)
        if nxt < 0:
            raise bad("malformed multipart body")
        section = body[pos:nxt]
        hend = section.find(b"\r\n\r\n")
        if hend < 0:
            raise bad("malformed multipart part")
        headers = {}
        for line in section[:hend].decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        nm = re.search(r'\bname="([^"]*)"', disp)
        fn = re.search(r'\bfilename="([^"]*)"', disp)
        parts.append({"name": nm.group(1) if nm else None,
                      "filename": fn.group(1) if fn else None,
                      "content_type": headers.get("content-type"),
                      "data": section[hend + 4:]})
        pos = nxt + 2
    return parts


def split_tags(s):
    if s is None:
        return []
    return [t.strip() for t in s.split(",") if t.strip()]


# --------------------------------------------------------------------------
# A tiny GraphQL: parser for queries/fragments/variables, executor over
# lazily resolved objects.  Enough for the queries in mldash.md 1.2 / 1.3.
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# GraphQL schema (object builders)
# --------------------------------------------------------------------------

def _page(items, args, default_limit=50, cap=None):
    try:
        limit = int(args.get("limit") if args.get("limit") is not None else default_limit)
        if cap:
            limit = min(limit, cap)  # a server that gives less than asked
        offset = int(args.get("offset") or 0)
    except (TypeError, ValueError):
        raise HTTPErr(400, "limit/offset must be integers")
    if limit < 0 or offset < 0:
        raise HTTPErr(400, "limit/offset must be >= 0")
    page = items[offset:offset + limit]
    return page, len(items), offset + len(page) < len(items)


# The fields of each type that the public client of each generation asks
# for: the GraphQL documents of fortyfive-labs/ml-dash at v0.5.9 (commit
# 3a3d2f31e6734b79d4339e11938348b28c31897f, src/ml_dash/client.py:
# Projects, ExperimentsCount, Experiments, Experiment) and at v0.6.27 (commit
# 173283847eb2b2eae944ac1175eab71e742bc46f, src/ml_dash/client.py:
# GetMyNamespace, GetCurrentUser, GetProject, GetExperimentNode,
# GetExperimentProject, GetExpInfo, GetExperimentPath,
# ListExperimentFilesPaginated, ProjectsPaginated, ExperimentsPaginated,
# Experiment, GetProjectHierarchy, GetExperiment, SearchExperimentsPaginated).
# No server source is public (mldash.md 3.1), so a field no public client
# asks for may not exist on a real server: the "public" schema answers
# such a field as graphql-js does, 'Cannot query field "X" on type "Y".'
PUBLIC_SCHEMA = {
    "v0.5.9": {
        "Query": {"projects", "experiments", "experiment"},
        "Project": {"id", "name", "slug", "description", "tags"},
        "Experiment": {"id", "name", "description", "tags", "status", "startedAt",
                       "endedAt", "metadata", "project", "logMetadata", "metrics", "files",
                       "parameters"},
        "LogMetadata": {"totalLogs"},
        "Metric": {"name", "metricMetadata"},
        "MetricMetadata": {"totalDataPoints"},
        "File": {"id", "filename", "path", "contentType", "sizeBytes", "checksum",
                 "description", "tags", "metadata"},
        "Parameters": {"id", "data"},
    },
    "v0.6.27": {
        "Query": {"me", "namespace", "experimentNode", "experimentById", "project",
                  "projectsPaginated", "experimentsPaginated", "experiment",
                  "searchExperimentsPaginated"},
        "User": {"id", "username", "email", "name", "given_name", "family_name", "picture"},
        "Namespace": {"id", "slug", "projects"},
        "Project": {"id", "name", "slug", "description", "tags", "experimentCount",
                    "namespace", "nodes"},
        "Node": {"id", "name", "type", "pPath", "experimentId", "parentId", "children"},
        "Experiment": {"id", "name", "description", "tags", "status", "startedAt", "endedAt",
                       "metadata", "project", "projectId", "logMetadata", "metrics", "files",
                       "filesPaginated", "parameters", "trackCount", "displayPath"},
        "FilesPage": {"files", "totalCount", "hasMore"},
        "ProjectsPage": {"projects", "totalCount", "hasMore"},
        "ExperimentsPage": {"experiments", "totalCount", "hasMore"},
        "File": {"id", "name", "description", "tags", "metadata", "createdAt", "pPath",
                 "physicalFile"},
        "PhysicalFile": {"id", "filename", "contentType", "sizeBytes", "checksum", "s3Url"},
        "LogMetadata": {"totalLogs"},
        "Metric": {"name", "metricMetadata"},
        "MetricMetadata": {"totalDataPoints"},
        "Parameters": {"id", "data"},
    },
}
# Every field the emulator can answer (the "all" schema, for introspection).
ALL_FIELDS = {k: set(v.split()) for k, v in {
    "Query": "me projects projectsPaginated experiments experimentsPaginated "
             "searchExperimentsPaginated experiment experimentById experimentNode "
             "namespace project node",
    "User": "id username email name given_name family_name picture",
    "Namespace": "id slug name projects",
    "Project": "id name slug description tags createdAt updatedAt namespaceId "
               "experimentCount namespace experiments nodes",
    "Node": "id name type pPath projectId parentId experimentId description tags metadata "
            "createdAt updatedAt deletedAt children physicalFile experiment",
    "PhysicalFile": "id filename contentType sizeBytes checksum s3Url",
    "File": "id experimentId path filename description tags contentType sizeBytes checksum "
            "metadata uploadedAt updatedAt deletedAt name pPath createdAt type parentId "
            "physicalFile",
    "Metric": "id name description tags metadata createdAt updatedAt metricMetadata",
    "MetricMetadata": "metricId name description tags metadata totalDataPoints "
                      "bufferedDataPoints chunkedDataPoints totalChunks chunkSize "
                      "firstDataAt lastDataAt createdAt updatedAt",
    "Experiment": "id name description tags bindrs status startedAt endedAt createdAt "
                  "updatedAt metadata folder writeProtected projectId project logMetadata "
                  "metrics files filesPaginated parameters trackCount displayPath node",
    "Parameters": "id experimentId data version createdAt updatedAt",
    "FilesPage": "files totalCount hasMore",
    "ProjectsPage": "projects totalCount hasMore",
    "ExperimentsPage": "experiments totalCount hasMore",
    "LogMetadata": "totalLogs",
}.items()}
SCHEMAS = ("public", "v0.5.9", "v0.6.27", "all")


def schema_fields(cfg):
    """typename -> the fields the schema has, or None for every field the
    emulator can answer ("all")."""
    name = cfg["schema"]
    if name == "all":
        return None
    if name == "public":
        gen = cfg["generation"]
        if gen != "both":
            return PUBLIC_SCHEMA["v0.5.9" if gen == "v05" else "v0.6.27"]
        out = {}
        for t in PUBLIC_SCHEMA.values():
            for k, v in t.items():
                out[k] = out.get(k, set()) | v
        return out
    return PUBLIC_SCHEMA[name]


INTROSPECTION_REFUSED = ("GraphQL introspection is not allowed by Apollo Server, but the "
                         "query contained __schema or __type. To enable introspection, pass "
                         "introspection: true to ApolloServer in production")


class Schema:
    def __init__(self, emu, user):
        self.emu = emu
        self.user = user
        self.big = emu.cfg["bigint_strings"]
        self.fields = schema_fields(emu.cfg)
        self.introspection = emu.cfg["introspection"]

    def obj(self, typename, fields):
        """An Obj with only the fields the schema has: the engine answers the
        others 'Cannot query field'."""
        if self.fields is None:
            return Obj(typename, fields)
        keep = self.fields.get(typename, set())
        return Obj(typename, {k: v for k, v in fields.items()
                              if k in keep or k.startswith("__")})

    def type_info(self, a):
        """__type(name) { fields { name } } (the part of introspection the
        clients use), or graphql-js's refusal."""
        if not self.introspection:
            raise GQLError(INTROSPECTION_REFUSED)
        name = a.get("name")
        if self.fields is not None:
            have = self.fields.get(name)
        else:
            have = ALL_FIELDS.get(name)
        if have is None:
            return None
        return Obj("__Type", {"name": name, "kind": "OBJECT", "fields": [
            Obj("__Field", {"name": f}) for f in sorted(have)]})

    def ns_slug(self, args):
        return args.get("namespaceSlug") or self.user.username

    # -- objects --

    def g_namespace(self, ns):
        return self.obj("Namespace", {
            "id": ns.id, "slug": ns.slug, "name": ns.slug,
            "projects": lambda a: [self.g_project(p) for p in ns.projects.values()],
        })

    def g_project(self, p):
        return self.obj("Project", {
            "id": p.id, "name": p.name, "slug": p.slug,
            "description": p.description, "tags": p.tags,
            "createdAt": p.created, "updatedAt": p.updated,
            "namespaceId": p.ns.id,
            "experimentCount": lambda a: len(p.experiments),
            "namespace": lambda a: self.g_namespace(p.ns),
            "experiments": lambda a: [self.g_experiment(e) for e in p.experiments.values()],
            "nodes": lambda a: self.g_nodes(p, a),
        })

    def g_nodes(self, p, a):
        pid = a.get("parentId")
        if pid is None:
            roots = [n for n in p.nodes if n.parent is None and n.deleted is None]
        else:
            par = self.emu.nodes.get(str(pid))
            roots = par.live_children() if par else []
        depth = a.get("maxDepth")
        depth = 10 if depth is None else int(depth)
        return [self.g_node(n, depth) for n in roots]

    def g_node(self, n, depth=10):
        def children(a):
            if depth <= 0:
                return []
            return [self.g_node(c, depth - 1) for c in n.live_children()]
        f = {
            "id": n.id, "name": n.name, "type": n.type,
            "pPath": lambda a: n.ppath(),
            "projectId": n.project.id,
            "parentId": n.parent.id if n.parent is not None else None,
            "experimentId": n.experiment.id if n.experiment is not None else None,
            "description": n.description, "tags": n.tags, "metadata": n.metadata,
            "createdAt": n.created, "updatedAt": n.updated, "deletedAt": n.deleted,
            "children": children,
            "physicalFile": (lambda a: self.g_physical(n)) if n.type == "FILE" else None,
            "experiment": (lambda a: self.g_experiment(n.experiment)) if n.experiment else None,
        }
        return self.obj("Node", f)

    def g_physical(self, n):
        return self.obj("PhysicalFile", v_physical(n, self.big))

    def g_file(self, n):
        d = v_file05(n)
        d.update({
            "name": n.name, "pPath": lambda a: n.ppath(), "createdAt": n.created,
            "type": n.type,
            "parentId": n.parent.id if n.parent is not None else None,
            "physicalFile": lambda a: self.g_physical(n),
        })
        return self.obj("File", d)

    def g_metric(self, m):
        return self.obj("Metric", {
            "id": m.id, "name": m.name, "description": m.description,
            "tags": m.tags, "metadata": m.metadata,
            "createdAt": m.created, "updatedAt": m.updated,
            "metricMetadata": lambda a: self.obj("MetricMetadata", m.stats()),
        })

    def g_experiment(self, e):
        def params(a):
            if e.params is None:
                return None
            return self.obj("Parameters", dict(e.params))

        def files_page(a):
            page, total, more = _page(e.files(), a, 500, self.emu.cfg["gql_max_limit"])
            return self.obj("FilesPage", {"files": [self.g_file(n) for n in page],
                                     "totalCount": total, "hasMore": more})
        return self.obj("Experiment", {
            "id": e.id, "name": e.name, "description": e.description,
            "tags": e.tags, "bindrs": e.bindrs, "status": e.status,
            "startedAt": e.started, "endedAt": e.ended,
            "createdAt": e.created, "updatedAt": e.updated,
            "metadata": e.metadata, "folder": e.folder,
            "writeProtected": e.write_protected,
            "projectId": e.project.id,
            "project": lambda a: self.g_project(e.project),
            "logMetadata": lambda a: self.obj("LogMetadata", {"totalLogs": len(e.logs)}),
            "metrics": lambda a: [self.g_metric(m) for m in e.metrics.values()],
            "files": lambda a: [self.g_file(n) for n in e.files()],
            "filesPaginated": files_page,
            "parameters": params,
            "trackCount": lambda a: len(e.tracks),
            "displayPath": lambda a: e.display_path(),
            "node": lambda a: self.g_node(e.node),
        })

    # -- root --

    def _experiments(self, a):
        p = self.emu.project_by_slug(self.ns_slug(a), a.get("projectSlug"))
        if p is None:
            return []
        exps = list(p.experiments.values())
        if a.get("status"):
            exps = [e for e in exps if e.status == a["status"]]
        return exps

    def _project(self, a):
        if a.get("id") is not None:
            p = self.emu.projects.get(str(a["id"]))
        else:
            p = self.emu.project_by_slug(self.ns_slug(a), a.get("projectSlug") or a.get("slug"))
        return self.g_project(p) if p else None

    def _search(self, a):
        pat = a.get("pattern") or "*"
        if pat.count("/") < 2:
            pat = "*/" * (2 - pat.count("/")) + pat
        hits = []
        for ns in self.emu.namespaces.values():
            for p in ns.projects.values():
                for e in p.experiments.values():
                    if fnmatch.fnmatchcase("%s/%s/%s" % (ns.slug, p.slug, e.name), pat):
                        hits.append(e)
        page, total, more = _page(hits, a, cap=self.emu.cfg["gql_max_limit"])
        return self.obj("ExperimentsPage", {"experiments": [self.g_experiment(e) for e in page],
                                       "totalCount": total, "hasMore": more})

    def root(self):
        emu, u = self.emu, self.user

        def me(a):
            return self.obj("User", {"id": ID(u.id) if u.id else None, "username": u.username,
                                "email": u.claims.get("email"),
                                "name": u.claims.get("name"),
                                "given_name": u.claims.get("given_name"),
                                "family_name": u.claims.get("family_name"),
                                "picture": u.claims.get("picture")})

        def projects(a):
            ns = emu.namespaces.get(self.ns_slug(a))
            return [self.g_project(p) for p in ns.projects.values()] if ns else []

        def projects_paginated(a):
            ns = emu.namespaces.get(self.ns_slug(a))
            items = list(ns.projects.values()) if ns else []
            page, total, more = _page(items, a, cap=self.emu.cfg["gql_max_limit"])
            return self.obj("ProjectsPage", {"projects": [self.g_project(p) for p in page],
                                        "totalCount": total, "hasMore": more})

        def experiments_paginated(a):
            page, total, more = _page(self._experiments(a), a,
                                      cap=self.emu.cfg["gql_max_limit"])
            return self.obj("ExperimentsPage", {"experiments": [self.g_experiment(e) for e in page],
                                           "totalCount": total, "hasMore": more})

        def experiment(a):
            p = emu.project_by_slug(self.ns_slug(a), a.get("projectSlug"))
            e = p.experiments.get(a.get("experimentName")) if p else None
            return self.g_experiment(e) if e else None

        def experiment_by_id(a):
            e = emu.experiments.get(str(a.get("id")))
            return self.g_experiment(e) if e else None

        def experiment_node(a):
            e = emu.experiments.get(str(a.get("experimentId")))
            return self.g_node(e.node) if e and e.node else None

        def namespace(a):
            ns = emu.namespaces.get(a.get("slug") or u.username)
            return self.g_namespace(ns) if ns else None

        def node(a):
            n = emu.nodes.get(str(a.get("id")))
            return self.g_node(n) if n else None

        return self.obj("Query", {
            "me": me, "projects": projects, "projectsPaginated": projects_paginated,
            "experiments": lambda a: [self.g_experiment(e) for e in self._experiments(a)],
            "experimentsPaginated": experiments_paginated,
            "searchExperimentsPaginated": self._search,
            "experiment": experiment, "experimentById": experiment_by_id,
            "experimentNode": experiment_node, "namespace": namespace,
            "project": self._project, "node": node,
            "__type": self.type_info,
        })


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
# HTTP
# --------------------------------------------------------------------------

class Raw:
    def __init__(self, status, parts, ctype="application/json; charset=utf-8",
                 headers=None):
        self.status = status
        self.parts = parts          # list of bytes
        self.ctype = ctype
        self.headers = headers or {}


class Ctx:
    def __init__(self, emu, handler, method, path, query, body, gen):
        self.emu = emu
        self.h = handler
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.gen = gen
        self.user = None
        self._json = None

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def qint(self, name, default):
        v = self.q(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise bad("%s must be an integer" % name)

    @property
    def ctype(self):
        return self.h.headers.get("Content-Type", "") or ""

    def json(self):
        if self._json is None:
            ct = self.ctype.lower()
            if not self.body or "json" not in ct:
                # express.json() leaves req.body = {} for other content types
                self._json = {}
            else:
                try:
                    v = node_loads(self.body)
                except (NodeJSONError, UnicodeDecodeError) as e:
                    raise HTTPErr(400, str(e), "Bad Request")
                if not isinstance(v, (dict, list)):
                    raise HTTPErr(400, "Unexpected token in JSON at position 0")
                self._json = v
        if not isinstance(self._json, dict):
            raise bad("request body must be a JSON object")
        return self._json


ROUTES = []


def route(method, pattern, gens=(5, 6)):
    rx = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def deco(fn):
        ROUTES.append((method, rx, pattern, gens, fn))
        return fn
    return deco


def ok(obj, status=200):
    return status, obj


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


# ---- files, v0.5 API (also under /api for 0.6.0-0.6.1)

def _form(parts):
    fields, filepart = {}, None
    for p in parts:
        if p["filename"] is not None and p["name"] == "file":
            filepart = p
        elif p["filename"] is not None and filepart is None:
            filepart = p
        elif p["name"]:
            fields[p["name"]] = p["data"].decode("utf-8", "replace")
    return fields, filepart


def _form_metadata(fields):
    md = fields.get("metadata")
    if md is None or md == "":
        return None
    try:
        return node_loads(md)
    except NodeJSONError as e:
        raise bad("metadata: " + str(e))


@route("POST", "/experiments/{eid}/files")
def r_file_upload(c, eid):
    e = c.emu.experiment(eid)
    c.emu.check_writable(e)
    if "multipart/form-data" not in c.ctype.lower():
        raise HTTPErr(415, "multipart/form-data required")
    fields, fp = _form(parse_multipart(c.body, c.ctype))
    if fp is None:
        raise bad("file part is required")
    prefix = fields.get("prefix", "/")
    parent = c.emu.folder_chain(e.project, e.node, prefix, e)
    n = c.emu.add_file(e, fp["data"], fp["filename"], parent,
                       fp["content_type"], fields.get("checksum"),
                       fields.get("description"), split_tags(fields.get("tags")),
                       _form_metadata(fields), v05_path=prefix,
                       size_bytes=fields.get("sizeBytes"))
    return ok(v_file05(n), 201)


@route("GET", "/experiments/{eid}/files")
def r_file_list(c, eid):
    e = c.emu.experiment(eid)
    files = e.files()
    pre = c.q("prefix")
    if pre:
        files = [n for n in files if n.file_rel_path().startswith(pre)]
    tags = split_tags(c.q("tags"))
    if tags:
        files = [n for n in files if set(tags) & set(n.tags)]
    return ok({"files": [v_file05(n) for n in files]})


def _file_of(c, eid, fid):
    e = c.emu.experiment(eid)
    n = c.emu.nodes.get(fid)
    if n is None or n.type != "FILE" or n.experiment is not e or n.deleted:
        raise notfound("File not found")
    return n


@route("GET", "/experiments/{eid}/files/{fid}")
def r_file_get(c, eid, fid):
    return ok(v_file05(_file_of(c, eid, fid)))


def _download(n):
    fn = n.filename.replace('"', "")
    return Raw(200, [n.content], n.content_type,
               {"Content-Disposition": 'attachment; filename="%s"' % fn,
                "X-Checksum-Sha256": n.checksum})


@route("GET", "/experiments/{eid}/files/{fid}/download")
def r_file_download(c, eid, fid):
    return _download(_file_of(c, eid, fid))


def _update_meta(n, b):
    if "description" in b:
        n.description = b["description"]
    if "tags" in b:
        if not isinstance(b["tags"], list):
            raise bad("tags must be an array")
        n.tags = b["tags"]
    if "metadata" in b:
        n.metadata = b["metadata"]
    n.updated = now_iso()


@route("PATCH", "/experiments/{eid}/files/{fid}")
def r_file_patch(c, eid, fid):
    n = _file_of(c, eid, fid)
    _update_meta(n, c.json())
    return ok(v_file05(n))


@route("DELETE", "/experiments/{eid}/files/{fid}")
def r_file_delete(c, eid, fid):
    n = _file_of(c, eid, fid)
    n.deleted = now_iso()
    return ok({"id": n.id, "deletedAt": n.deleted})


# ---- v0.6 unified node API

@route("POST", "/namespaces/{ns}/nodes", gens=(6,))
def r_nodes_post(c, ns):
    emu = c.emu
    if ns != c.user.username:
        raise HTTPErr(403, "No write access to namespace %s" % ns)
    nsobj = emu.namespace(ns)
    big = emu.cfg["bigint_strings"]
    if "multipart/form-data" in c.ctype.lower():
        fields, fp = _form(parse_multipart(c.body, c.ctype))
        if fields.get("type", "FILE") != "FILE":
            raise bad("multipart node must be type FILE")
        if fp is None:
            raise bad("file part is required")
        e = emu.experiment(fields.get("experimentId"))
        emu.check_writable(e)
        pid = fields.get("parentId") or "ROOT"
        parent = e.node if pid == "ROOT" else emu.nodes.get(pid)
        if parent is None:
            raise notfound("Parent node not found")
        name = fields.get("name") or fp["filename"]
        n = emu.add_file(e, fp["data"], name, parent, fp["content_type"],
                         fields.get("checksum"), fields.get("description"),
                         split_tags(fields.get("tags")), _form_metadata(fields))
        d = v_node(n, big)
        phys = d.pop("physicalFile")
        return ok({"node": d, "physicalFile": phys}, 201)
    b = c.json()
    t = b.get("type")
    if t == "PROJECT":
        name = b.get("name")
        slug = b.get("slug") or name
        if not name:
            raise bad("name is required")
        if slug in nsobj.projects:
            raise HTTPErr(409, "Project already exists")
        p = emu.get_or_create_project(nsobj, name, slug)
        if b.get("description") is not None:
            p.description = b["description"]
        return ok({"project": v_project(p)}, 201)

    def project_of():
        if b.get("projectId"):
            p = emu.projects.get(str(b["projectId"]))
            if p is None or p.ns is not nsobj:
                raise notfound("Project not found")
            return p
        if b.get("projectSlug"):
            return emu.get_or_create_project(nsobj, b["projectSlug"])
        raise bad("projectId or projectSlug is required")

    def parent_of(p):
        pid = b.get("parentId") or "ROOT"
        if pid == "ROOT":
            return None
        par = emu.nodes.get(str(pid))
        if par is None or par.project is not p:
            raise notfound("Parent node not found")
        return par

    if t == "FOLDER":
        p = project_of()
        name = b.get("name")
        if not name:
            raise bad("name is required")
        par = parent_of(p)
        exp = emu.experiments.get(str(b["experimentId"])) if b.get("experimentId") else None
        if par is None and exp is not None:
            par = exp.node
        n = emu.folder(p, par, name, exp)
        return ok({"node": v_node(n, big)}, 201)
    if t == "EXPERIMENT":
        p = project_of()
        name = b.get("name")
        if not name:
            raise bad("name is required")
        par = parent_of(p)
        exp, created = emu.upsert_experiment(p, name, b, parent=par)
        return ok({"experiment": v_experiment(exp), "node": v_node(exp.node, big),
                   "project": v_project(p)}, 201 if created else 200)
    raise bad("Invalid node type: %r" % (t,))


def _node(c, nid):
    n = c.emu.nodes.get(nid)
    if n is None or n.deleted:
        raise notfound("Node not found")
    return n


@route("GET", "/nodes/{nid}", gens=(6,))
def r_node_get(c, nid):
    return ok(v_node(_node(c, nid), c.emu.cfg["bigint_strings"]))


@route("GET", "/nodes/{nid}/download", gens=(6,))
def r_node_download(c, nid):
    n = _node(c, nid)
    if n.type != "FILE":
        raise bad("Node is not a file")
    return _download(n)


@route("PATCH", "/nodes/{nid}", gens=(6,))
def r_node_patch(c, nid):
    n = _node(c, nid)
    b = c.json()
    if "status" in b:
        if n.type != "EXPERIMENT":
            raise bad("status applies to EXPERIMENT nodes")
        c.emu.set_status(n.experiment, b["status"])
    if "name" in b and n.type != "EXPERIMENT":
        n.name = b["name"]
        if n.type == "FILE":
            n.filename = b["name"]
    _update_meta(n, b)
    if n.type == "EXPERIMENT":
        for k in ("description", "tags", "metadata"):
            if k in b:
                setattr(n.experiment, k, b[k])
    return ok(v_node(n, c.emu.cfg["bigint_strings"]))


@route("DELETE", "/nodes/{nid}", gens=(6,))
def r_node_delete(c, nid):
    n = _node(c, nid)
    n.deleted = now_iso()
    return ok({"id": n.id, "deletedAt": n.deleted})


@route("DELETE", "/projects/{pid}", gens=(6,))
def r_project_delete(c, pid):
    p = c.emu.projects.get(pid)
    if p is None or p.ns.slug != c.user.username:
        raise notfound("Project not found")
    emu = c.emu
    nexp = len(p.experiments)
    for e in p.experiments.values():
        emu.experiments.pop(e.id, None)
    for n in p.nodes:
        emu.nodes.pop(n.id, None)
    del p.ns.projects[p.slug]
    del emu.projects[p.id]
    return ok({"projectId": p.id, "deleted": len(p.nodes) + 1, "experiments": nexp,
               "message": "Project deleted"})


@route("GET", "/search/files", gens=(6,))
def r_search_files(c):
    pat = c.q("pattern", "*")
    eid = c.q("experimentId")
    hits = []
    for n in c.emu.nodes.values():
        if n.type != "FILE" or n.deleted or n.experiment is None:
            continue
        if eid and n.experiment.id != eid:
            continue
        if n.project.ns.slug != c.user.username:
            continue
        if fnmatch.fnmatchcase(n.name, pat) or fnmatch.fnmatchcase(n.ppath(), pat):
            hits.append(n)
    page, total, more = _page(hits, {"limit": c.qint("limit", 50),
                                     "offset": c.qint("offset", 0)})
    big = c.emu.cfg["bigint_strings"]
    return ok({"files": [v_node(n, big) for n in page], "totalCount": total,
               "hasMore": more})


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


# --------------------------------------------------------------------------
# Control API (/__emu/...)
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
                n, seedv = int(fs["size"]), int(fs.get("seed", 0))
                block = hashlib.sha256(str(seedv).encode()).digest()
                content = (block * (n // 32 + 1))[:n]
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


CFG_KEYS = {"chunk_size": int, "latency_ms": float, "logs_default_limit": int,
            "logs_max_limit": int, "data_default_limit": int, "data_max_limit": int,
            "buffer_only_limit": int, "max_body_bytes": int, "strict_claims": bool,
            "ids_as_numbers": bool, "generation": str, "record_bodies": bool,
            "schema": str, "introspection": bool, "gql_max_limit": int,
            "seal_on_buffer_read": bool}

FAULT_KEYS = ("path", "method", "query", "status", "body", "count", "skip",
              "retry_after", "drop_after_bytes", "delay_ms", "reset", "headers")


def control(emu, method, path, q, body):
    def jbody():
        if not body:
            return {}
        return json.loads(body)

    if path == "/__emu/reset" and method == "POST":
        emuhttp.settle(emu)
        emu.reset()
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
            return 200, emuhttp.add_faults(emu, jbody(), FAULT_KEYS, bad)
    if path == "/__emu/config":
        if method == "POST":
            b = jbody()
            for k, v in b.items():
                if k not in CFG_KEYS:
                    raise bad("unknown config key %s" % k)
                if k == "schema" and v not in SCHEMAS:
                    raise bad("schema must be one of %s" % ", ".join(SCHEMAS))
                emu.cfg[k] = None if v is None else CFG_KEYS[k](v)
        return 200, {"config": emu.cfg}
    if path == "/__emu/stats":
        emuhttp.settle(emu)
        if method == "DELETE":
            emu.reset_stats()
            return 200, {"ok": True}
        with emu.stats_lock:
            return 200, {"requests": emu.req_total, "byRoute": emu.by_route,
                         "byStatus": emu.by_status, "maxConcurrency": emu.max_inflight,
                         "inFlight": emu.inflight, "faultsFired": emu.faults_fired,
                         "recent": emu.recent[-int(q.get("recent", ["200"])[0]):]}
    if path == "/__emu/token" and method == "POST":
        b = jbody()
        user = b.get("username", "tom")
        t = int(b.get("iat", time.time()))
        if b.get("style", "v05") == "v05":
            uid = str(int(hashlib.sha256(user.encode()).hexdigest()[:16], 16))[:10]
            payload = {"userId": uid, "userName": user, "iat": t, "exp": t + 30 * 86400}
        else:
            payload = {"sub": b.get("sub", "1"), "username": user, "iat": t,
                       "exp": t + 30 * 86400}
        payload.update(b.get("extra") or {})
        return 200, {"token": jwt_encode(payload), "payload": payload}
    raise notfound("unknown control endpoint %s %s" % (method, path))


# --------------------------------------------------------------------------
# Request handler
# --------------------------------------------------------------------------

class Handler(emuhttp.Handler):
    server_version = "mldash-emu/1"
    NAME = "mldash_emu"

    def _send(self, status, parts, ctype, headers=None, drop_after=None):
        return self.send_parts(status, parts, ctype, headers, drop_after)

    def _json(self, status, obj, headers=None, drop_after=None):
        if self.server.emu.cfg["ids_as_numbers"]:
            obj = ids_to_numbers(obj)
        data = node_dumps(obj).encode("utf-8")
        self._send(status, [data], "application/json; charset=utf-8", headers, drop_after)
        return status

    def _err(self, e, drop_after=None):
        return self._json(e.status, {"error": e.error, "message": e.message,
                                     "statusCode": e.status}, e.headers, drop_after)

    # -- main --

    def handle_request(self):
        emu = self.server.emu
        method = self.command
        u = urlsplit(self.path)
        path = u.path
        q = parse_qs(u.query, keep_blank_values=True)
        try:
            body = self.read_raw_body()
        except (ValueError, OSError):
            self.close_connection = True
            return

        if path.startswith("/__emu/"):
            try:
                st, obj = control(emu, method, path, q, body)
                if isinstance(obj, RawDump):
                    self._send(st, obj.encode(emu.cfg["ids_as_numbers"]),
                               "application/json; charset=utf-8")
                else:
                    self._json(st, obj)
            except HTTPErr as e:
                self._err(e)
            except (ValueError, KeyError, TypeError) as e:
                self._json(400, {"error": "Bad Request", "message": repr(e)})
            return

        def serve():
            return self._dispatch(emu, method, path, u.query, q, body) + (None,)
        self.serve_counted(emu, method, path, u.query, body, serve)

    def _route(self, method, path):
        gen = 6 if path.startswith("/api/") else 5
        sub = path[4:] if gen == 6 else path
        if path in ("/health", "/api/health"):
            return gen, "health", None, {}, path
        if sub == "/graphql" and gen == 5:
            return gen, "graphql", None, {}, "/graphql"
        handler, groups, rname = None, {}, None
        for m_, rx, pat, gens, fn in ROUTES:
            if gen not in gens:
                continue
            mm = rx.match(sub)
            if mm and m_ == method:
                return gen, "rest", fn, {k: unquote(v) for k, v in mm.groupdict().items()}, ("/api" if gen == 6 else "") + pat
            if mm and rname is None:
                rname = ("/api" if gen == 6 else "") + pat
        return gen, None, None, {}, rname

    def _dispatch(self, emu, method, path, query, q, body):
        cfg = emu.cfg
        gen, kind, handler, groups, rname = self._route(method, path)
        if cfg["latency_ms"]:
            time.sleep(cfg["latency_ms"] / 1000.0)
        fault = emuhttp.match_fault(emu, method, path, query)
        drop = None
        if fault:
            if fault.get("delay_ms"):
                time.sleep(float(fault["delay_ms"]) / 1000.0)
            if fault.get("reset"):
                self.abort()
                return "reset", rname
            if fault.get("status"):
                hdrs = dict(fault.get("headers") or {})
                if fault.get("retry_after") is not None:
                    hdrs["Retry-After"] = fault["retry_after"]
                st = int(fault["status"])
                fb = fault.get("body") or {"error": "Injected fault", "statusCode": st,
                                           "message": "injected by mldash_emu"}
                self._json(st, fb, hdrs, fault.get("drop_after_bytes"))
                return st, rname
            drop = fault.get("drop_after_bytes")

        if kind == "health" and method == "GET":
            return self._json(200, {"status": "ok", "emulator": True}, None, drop), rname
        if (cfg["generation"] == "v05" and gen == 6) or \
                (cfg["generation"] == "v06" and gen == 5 and kind != "graphql"):
            return self._err(notfound("Cannot %s %s" % (method, path))), rname
        if cfg["max_body_bytes"] and len(body) > cfg["max_body_bytes"]:
            return self._err(HTTPErr(413, "request entity too large")), rname
        if kind is None or kind == "health":
            return self._err(notfound("Cannot %s %s" % (method, path))), rname
        try:
            user = self._auth(emu, gen, exchange=(handler is r_auth_exchange))
            ctx = Ctx(emu, self, method, path, q, body, gen)
            ctx.user = user
            with emu.lock:
                emu.namespace(user.username, user.id)
                if kind == "graphql":
                    b = ctx.json()
                    st, res = gql_execute(b.get("query"), b.get("variables"),
                                          b.get("operationName"), Schema(emu, user).root(),
                                          parse_float=_parse_float, error_types=(HTTPErr,),
                                          resolver_error=_gql_resolver_error,
                                          validation_extensions={
                                              "code": "GRAPHQL_VALIDATION_FAILED"})
                    return self._json(st, res, None, drop), rname
                res = handler(ctx, **groups)
            if isinstance(res, Raw):
                self._send(res.status, res.parts, res.ctype, res.headers, drop)
                return res.status, rname
            st, obj = res
            return self._json(st, obj, None, drop), rname
        except HTTPErr as e:
            return self._err(e), rname
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return 499, rname
        except Exception as e:  # a bug in the emulator: say so loudly
            traceback.print_exc(file=sys.stderr)
            return self._json(500, {"error": "Internal Server Error",
                                    "message": "emulator bug: %r" % (e,)}), rname

    def _auth(self, emu, gen, exchange=False):
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Bearer ") or not h[7:].strip():
            raise HTTPErr(401, "Missing or invalid Authorization header")
        tok = h[7:].strip()
        if emu.opts.api_key and hmac.compare_digest(tok.encode(), emu.opts.api_key.encode()):
            return User(emu.opts.api_key_user, None, "apikey")
        if exchange:
            # the vuer.ai access token is verified by auth.vuer.ai, not emulated
            try:
                claims = json.loads(b64url_decode(tok.split(".")[1]))
            except Exception:
                raise HTTPErr(401, "Invalid token")
            name = claims.get("username") or claims.get("preferred_username") \
                or claims.get("sub")
            return User(name, claims.get("sub"), 6, claims)
        try:
            claims = jwt_verify(tok)
        except ValueError as e:
            raise HTTPErr(401, "Invalid token: %s" % e)
        strict = emu.cfg["strict_claims"]
        if "userName" in claims and (not strict or gen == 5):
            return User(str(claims["userName"]), str(claims.get("userId") or "") or None,
                        5, claims)
        if "username" in claims and (not strict or gen == 6):
            return User(str(claims["username"]), str(claims.get("sub") or "") or None,
                        6, claims)
        raise HTTPErr(401, "Invalid token: no %s claim" %
                      ("userName" if gen == 5 else "username"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=100000)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--ids-as-numbers", action="store_true",
                    help="emit 19-digit ids as bare JSON numbers")
    ap.add_argument("--bigint-numbers", action="store_true",
                    help="emit BigInt counters (index, bufferedDataPoints, ...) as "
                         "numbers instead of strings")
    ap.add_argument("--api-key", default=None, help="also accept this static bearer token")
    ap.add_argument("--api-key-user", default="tom",
                    help="namespace/user of the --api-key token (default tom)")
    ap.add_argument("--strict-claims", action="store_true",
                    help="v0.5 routes accept only userName tokens, /api only username")
    ap.add_argument("--generation", choices=("both", "v05", "v06"), default="both")
    ap.add_argument("--schema", choices=SCHEMAS, default="public",
                    help="GraphQL fields answered: those the public client of the "
                         "generation asks for (public; both generations' with "
                         "--generation both), one generation's, or all the emulator has")
    ap.add_argument("--no-introspection", action="store_true",
                    help="refuse __type/__schema as Apollo Server does in production")
    ap.add_argument("--seed", default=None, help="JSON file to load with /__emu/seed")
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args(argv)

    emu = Emulator(opts)
    if opts.seed:
        with open(opts.seed) as f:
            seed(emu, json.load(f))
    emuhttp.serve(emu, Handler, opts.port)


if __name__ == "__main__":
    main()
