#!/usr/bin/env python3
"""Loopback emulator of a Weights & Biases server, for tests.

Standard library only.  Emulates the subset of the W&B backend described in
the wandb/wandb sources named in docs/vendor-sources.md: GraphQL at POST /graphql (HTTP Basic api:KEY)
for reading projects, runs, history, events, files and artifacts and for the
UpsertBucket / CreateRunFiles mutations and the artifact write protocol
(CreateArtifact, CreateArtifactManifest, CreateArtifactFiles, CommitArtifact);
the file_stream endpoint; presigned storage PUT/GET; plus a control API under /__emu for seeding, dumping, fault,
rate-limit and latency injection.  See tests/emulators/README.md.

Start:  python3 -u wandb_emu.py [--api-key K] [--username U] [--latency-ms M]
                                [--rate-limit N [--rate-window S]] ...
Prints "PORT <n>" as the first stdout line, then nothing else on stdout.
"""

import argparse
import base64
import bisect
import gzip
import hashlib
import hmac
import json
import math
import mimetypes
import os
import random
import re
import sys
import threading
import time
import traceback
import zlib
from array import array
from datetime import datetime, timezone
from urllib.parse import parse_qs, quote, unquote, urlsplit

import emuhttp  # noqa: E402 (the emulators' shared HTTP plumbing)
from gql import GQLAllowed, GQLError, Obj, gql_execute, gql_paths, gql_value  # noqa: E402 (the emulators' shared engine)

# The fields and arguments W&B's own public client asks for (issue 20): a
# document with anything else is refused as a server without it would. An
# edge's `cursor` is never allowed: the Go core pages by pageInfo alone.
PUBLIC_GQL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                          "wandb", "public_gql.txt")
_ALLOWED = []


def allowed_fields():
    if not _ALLOWED:
        _ALLOWED.append(GQLAllowed.from_file(PUBLIC_GQL, never={("edges", "cursor")}))
    return _ALLOWED[0]

DEFAULT_API_KEY = "emu_" + "0" * 36 + "wandb"       # 45 chars of [A-Za-z0-9_] (wandb.md 1.1)
RUN_STATES = ("running", "finished", "crashed", "failed", "killed",
              "preempting", "preempted", "pending")   # wandb.md 1.5
HISTORY_FILE = "wandb-history.jsonl"
EVENTS_FILE = "wandb-events.jsonl"
SUMMARY_FILE = "wandb-summary.json"
OUTPUT_FILE = "output.log"


def _gql_resolver_error(e, path):
    """A resolver's HTTPErr as a GraphQL error entry; server errors fail
    the whole request, as they would on W&B."""
    if e.status >= 500:
        raise e
    return {"message": e.message, "path": path}


def validate_document(emu, query):
    """The validation error a W&B server without a field or argument that
    the document asks for would answer; None when it has them all."""
    if not isinstance(query, str):
        return None
    try:
        paths = gql_paths(query)
    except GQLError:
        return None   # gql_execute reports syntax errors
    if emu.cfg["log_lines_legacy"]:
        for _otype, path in paths:
            if path[-1][0] == "logLines" and "useImprovedPagination" in path[-1][1]:
                # what servers before 0.77 answer (runhandler_test.go)
                return ('Unknown argument "useImprovedPagination" on field '
                        '"Run.logLines".')
    if emu.cfg["strict_fields"]:
        return allowed_fields().check(query)
    return None


class HTTPErr(Exception):
    def __init__(self, status, message, headers=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad(msg):
    return HTTPErr(400, msg)


def now_iso(t=None):
    # wandb.md 1.5: createdAt/heartbeatAt are ISO-8601; both "...Z" and zone-less occur.
    # The emulator prints the zone-less form (guess: what api.wandb.ai prints).
    return datetime.fromtimestamp(time.time() if t is None else t,
                                  timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def b64(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def jdumps(obj):
    # extended JSON: NaN/Infinity stay bare tokens (wandb.md 1.6)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def rand_name(n=8):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


# --------------------------------------------------------------------------
# Line-addressed files (file_stream targets)
# --------------------------------------------------------------------------

class Lines:
    """A file_stream file: line number -> line text.  A POST writes content[i]
    at line offset+i, so a resent offset overwrites instead of appending
    (assumption, see README)."""

    def __init__(self):
        self.lines = []         # str, or None for a gap nobody wrote
        self.gaps = 0
        self.overwritten = 0    # lines written again with different text
        self.resent = 0         # lines written again with identical text

    def __len__(self):
        return len(self.lines)

    def check(self, line):
        pass

    def on_set(self, idx, line, old):
        pass

    def put(self, offset, content):
        if offset < 0:
            raise bad("negative offset")
        for line in content:
            if not isinstance(line, str):
                raise bad("content lines must be strings")
            self.check(line)
        n0 = len(self.lines)
        if offset > n0:
            self.gaps += offset - n0
        for i, line in enumerate(content):
            idx = offset + i
            self._set(idx, line)
        return n0

    def _set(self, idx, line):
        n = len(self.lines)
        if idx < n:
            old = self.lines[idx]
            if old == line:
                self.resent += 1
                return
            if old is not None:
                self.overwritten += 1
            self.lines[idx] = line
            self.on_set(idx, line, old)
        else:
            while len(self.lines) < idx:
                self.lines.append(None)
                self.on_set(len(self.lines) - 1, None, None)
            self.lines.append(line)
            self.on_set(idx, line, None)

    def line(self, i):
        return self.lines[i]

    def all_lines(self):
        return [self.line(i) for i in range(len(self))]


def parse_row(line):
    try:
        row = json.loads(line)
    except ValueError as e:
        raise bad("invalid JSON line: %s" % e)
    if not isinstance(row, dict):
        raise bad("history/events lines must be JSON objects")
    return row


def flat_keys(row, prefix="", out=None):
    """UI-style dotted key names with a coarse type (wandb.md 1.6)."""
    if out is None:
        out = {}
    for k, v in row.items():
        name = prefix + k
        if isinstance(v, dict) and "_type" not in v:
            flat_keys(v, name + ".", out)
            continue
        if isinstance(v, bool):
            t = "boolean"
        elif isinstance(v, (int, float)):
            t = "number"
        elif isinstance(v, str):
            t = "string"
        elif isinstance(v, dict):
            t = str(v.get("_type"))
        elif v is None:
            t = "nil"
        else:
            t = "list"
        out[name] = t
    return out


# --------------------------------------------------------------------------
# Generated history (seed {"rows": N, "metrics": K}) rendered on demand
# --------------------------------------------------------------------------

GEN_MOD = 10007
_GEN_TABLE = None


def _gen_table():
    global _GEN_TABLE
    if _GEN_TABLE is None:
        _GEN_TABLE = [repr(i / GEN_MOD) for i in range(GEN_MOD)]
    return _GEN_TABLE


def gen_value(i, k):
    """Value of generated metric k at row i."""
    return ((i * 7919 + k * 104729) % GEN_MOD) / GEN_MOD


class GenHistory:
    def __init__(self, spec):
        self.rows = int(spec.get("rows", 0))
        self.metrics = int(spec.get("metrics", 1))
        self.start = int(spec.get("startStep", 0))
        self.stride = int(spec.get("stepStride", 1))
        if self.stride < 1:
            raise bad("stepStride must be >= 1")
        self.prefix = spec.get("prefix", "m")
        self.ts0 = float(spec.get("timestamp", 1700000000.0))
        self.dt = float(spec.get("dt", 0.5))
        self.names = ["%s%d" % (self.prefix, k) for k in range(self.metrics)]
        self.suffixes = None      # the metric part repeats with period GEN_MOD in i
        self.esc_suffixes = None

    def _tables(self):
        t = _gen_table()
        frags = ["," + jdumps(n) + ":" for n in self.names]
        mults = [k * 104729 for k in range(self.metrics)]
        suf = []
        for i in range(min(self.rows, GEN_MOD)):
            a = i * 7919
            suf.append("".join([f + t[(a + m) % GEN_MOD] for f, m in zip(frags, mults)])
                       + "}")
        self.suffixes = suf
        self.esc_suffixes = [json.dumps(x)[1:] for x in suf]

    def step(self, i):
        return self.start + i * self.stride

    def row(self, i):
        d = {"_step": self.step(i), "_runtime": i * self.dt,
             "_timestamp": self.ts0 + i * self.dt}
        for k, n in enumerate(self.names):
            d[n] = gen_value(i, k)
        return d

    def render(self, i):
        if self.suffixes is None:
            self._tables()
        return ('{"_step":%d,"_runtime":%r,"_timestamp":%r' %
                (self.start + i * self.stride, i * self.dt, self.ts0 + i * self.dt)
                + self.suffixes[i % GEN_MOD])

    def render_escaped(self, i):
        """json.dumps(self.render(i)), built directly."""
        if self.suffixes is None:
            self._tables()
        return ('"{\\"_step\\":%d,\\"_runtime\\":%r,\\"_timestamp\\":%r' %
                (self.start + i * self.stride, i * self.dt, self.ts0 + i * self.dt)
                + self.esc_suffixes[i % GEN_MOD])

    def keys(self):
        out = {"_step": "number", "_runtime": "number", "_timestamp": "number"}
        for n in self.names:
            out[n] = "number"
        return out


class History(Lines):
    """wandb-history.jsonl / wandb-events.jsonl: lines plus their _step and key
    statistics.  A generated prefix (GenHistory) occupies lines [0, gen.rows)."""

    def __init__(self, steps_from_lines=True):
        Lines.__init__(self)
        self.gen = None
        self.n0 = 0
        self.overrides = {}          # generated line idx -> written line
        self.steps = array("q")      # step of lines[n0:]; gaps get the line index
        self.monotonic = True
        self.has_gaps = False
        self.keycount = {}           # key -> {type: count}
        self.keys_dirty = False
        self.dup_steps = 0
        self.max_step = None
        self.use_steps = steps_from_lines

    def set_gen(self, g):
        if len(self) or self.gen:
            raise bad("generated history must be seeded into an empty history")
        self.gen = g
        self.n0 = g.rows
        if g.rows:
            self.max_step = g.step(g.rows - 1)

    def __len__(self):
        return self.n0 + len(self.lines)

    def check(self, line):
        parse_row(line)

    def line(self, i):
        if i < self.n0:
            o = self.overrides.get(i)
            return o if o is not None else self.gen.render(i)
        return self.lines[i - self.n0]

    def step(self, i):
        if i < self.n0:
            o = self.overrides.get(i)
            if o is not None:
                return self._step_of(parse_row(o), i)
            return self.gen.step(i)
        return self.steps[i - self.n0]

    def _step_of(self, row, idx):
        s = row.get("_step") if self.use_steps else None
        if isinstance(s, bool) or not isinstance(s, (int, float)) or \
                (isinstance(s, float) and not math.isfinite(s)):
            return idx          # guess: a row without _step counts at its line number
        return int(s)

    def _set(self, idx, line):
        if idx < self.n0:
            old = self.line(idx)
            if old == line:
                self.resent += 1
                return
            self.overwritten += 1
            self.overrides[idx] = line
            self.keys_dirty = True
            self.monotonic = False
            return
        j = idx - self.n0
        n = len(self.lines)
        if j < n:
            old = self.lines[j]
            if old == line:
                self.resent += 1
                return
            if old is not None:
                self.overwritten += 1
                self.keys_dirty = True
            self.lines[j] = line
            row = parse_row(line)
            self.steps[j] = self._step_of(row, idx)
            self.monotonic = False      # recomputed lazily
            if not self.keys_dirty:
                self._count_keys(row)
            self._note_step(self.steps[j])
            return
        while len(self.lines) < j:
            self.lines.append(None)
            self.steps.append(self.n0 + len(self.lines) - 1)
            self.has_gaps = True
        row = parse_row(line)
        s = self._step_of(row, idx)
        prev = self.step(idx - 1) if idx > 0 else None
        if prev is not None:
            if s == prev:
                self.dup_steps += 1
            if s < prev:
                self.monotonic = False
        self.lines.append(line)
        self.steps.append(s)
        self._count_keys(row)
        self._note_step(s)

    def _note_step(self, s):
        if self.max_step is None or s > self.max_step:
            self.max_step = s

    def _count_keys(self, row):
        for k, t in flat_keys(row).items():
            d = self.keycount.setdefault(k, {})
            d[t] = d.get(t, 0) + 1

    def json_list(self, idx):
        """The JSON text of [line, ...] for these indices, as RawJSON."""
        out = []
        n0, ov, g = self.n0, self.overrides, self.gen
        for i in idx:
            if i < n0 and i not in ov:
                out.append(g.render_escaped(i))
            else:
                out.append(json.dumps(self.line(i), ensure_ascii=False))
        return RawJSON("[" + ",".join(out) + "]")

    def key_stats(self):
        if self.keys_dirty:
            self.keycount = {}
            for i in list(self.overrides) + list(range(self.n0, len(self))):
                ln = self.line(i)
                if ln is not None:
                    self._count_keys(parse_row(ln))
            self.keys_dirty = False
        out = {k: dict(v) for k, v in self.keycount.items()}
        if self.gen:
            n = self.n0 - len(self.overrides)
            for k, t in self.gen.keys().items():
                d = out.setdefault(k, {})
                d[t] = d.get(t, 0) + n
        return out

    def indices(self, lo=None, hi=None, hi_inclusive=False):
        """Line indices whose step is in [lo, hi) (or [lo, hi]), in line order."""
        n = len(self)
        if lo is None and hi is None:
            if not self.has_gaps:
                return range(n)
            return [i for i in range(n) if self.line(i) is not None]
        lo = -2 ** 63 if lo is None else lo
        hi = 2 ** 63 - 1 if hi is None else hi
        ok_hi = (lambda s: s <= hi) if hi_inclusive else (lambda s: s < hi)
        if not self.monotonic or self.has_gaps or self.overrides:
            self._recheck()
        if self.monotonic and not self.has_gaps and not self.overrides:
            out = []
            if self.gen and self.n0:
                g = self.gen
                a = max(0, -(-(lo - g.start) // g.stride))
                hb = hi + 1 if hi_inclusive else hi
                b = min(self.n0, max(0, -(-(hb - g.start) // g.stride)))
                out = range(a, b) if a < b else range(0)
            st = self.steps
            a = bisect.bisect_left(st, lo)
            b = bisect.bisect_right(st, hi) if hi_inclusive else bisect.bisect_left(st, hi)
            tail = range(self.n0 + a, self.n0 + b)
            if not out:
                return tail
            if not tail:
                return out
            return list(out) + list(tail)
        return [i for i in range(n) if self.line(i) is not None
                and lo <= self.step(i) and ok_hi(self.step(i))]

    def _recheck(self):
        if self.overrides or self.has_gaps:
            return
        st = self.steps
        mono = all(st[i] <= st[i + 1] for i in range(len(st) - 1))
        if mono and self.gen and self.n0 and len(st):
            mono = st[0] >= self.gen.step(self.n0 - 1)
        self.monotonic = mono


def sample_indices(idx, n, how):
    """Pick n of the indices (always the first and the last), in order."""
    m = len(idx)
    if n >= m:
        return idx
    idx = list(idx) if not isinstance(idx, list) else idx
    if n <= 0:
        return []
    if n == 1:
        return [idx[0]]
    if how == "random":
        mid = random.sample(range(1, m - 1), n - 2)
        mid.sort()
        return [idx[0]] + [idx[j] for j in mid] + [idx[-1]]
    return [idx[(j * (m - 1)) // (n - 1)] for j in range(n)]


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


CFG_KEYS = {"latency_ms": float, "rate_limit": int, "rate_window_s": float,
            "filestream_rate_limit": int, "max_body_bytes": int,
            "history_default_samples": int, "events_default_samples": int,
            "sampled_history_cap": int, "history_samples_max": int,
            "sampling": str, "record_bodies": bool, "upload_headers": list,
            "require_content_md5": bool, "stopped": bool,
            "strict_fields": bool, "log_lines_legacy": bool,
            "log_page_max": int, "log_legacy_page": int}
FAULT_KEYS = ("path", "method", "query", "operation", "status", "body", "count", "skip",
              "delay_ms", "drop_after_bytes", "reset", "headers", "retry_after",
              "corrupt")


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


# --------------------------------------------------------------------------
# Upsert (UpsertBucket) and file_stream semantics
# --------------------------------------------------------------------------

def parse_json_string(v, what):
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (ValueError, TypeError):
        raise bad("%s must be a JSON string" % what)


def upsert_bucket(emu, inp):
    """wandb.md 2.1.  Fields given (not null) overwrite; config and
    summaryMetrics replace the stored value wholesale (guess)."""
    run = None
    inserted = False
    if inp.get("id"):
        run = emu.run_by_id(inp["id"])
        if run is None:
            raise HTTPErr(404, "run %s not found" % inp["id"])
    else:
        ename = inp.get("entityName") or emu.viewer["entity"]
        pname = inp.get("modelName") or "uncategorized"   # guess: SDK default project
        name = inp.get("name") or rand_name()
        if not re.match(r"^[A-Za-z0-9_.\-]+$", name):
            raise bad("invalid run name %r" % name)
        p = emu.project(ename, pname, create=True)
        run = p.runs.get(name)
        if run is None:
            run = p.runs[name] = Run(emu, p, name, emu.viewer["username"])
            inserted = True
    m = {"displayName": "display_name", "description": "description", "notes": "notes",
         "groupName": "group", "jobType": "job_type", "commit": "commit", "host": "host",
         "sweep": "sweep", "jobProgram": "program", "jobRepo": "repo"}
    for k, attr in m.items():
        if inp.get(k) is not None:
            setattr(run, attr, inp[k])
    if inp.get("state") is not None:
        if inp["state"] not in RUN_STATES:
            raise bad("invalid state %r" % inp["state"])
        run.state = inp["state"]
    if inp.get("tags") is not None:
        if not isinstance(inp["tags"], list) or not all(isinstance(t, str) for t in inp["tags"]):
            raise bad("tags must be a list of strings")
        run.tags = list(inp["tags"])
    if inp.get("config") is not None:
        c = parse_json_string(inp["config"], "config")
        if not isinstance(c, dict):
            raise bad("config must be a JSON object")
        run.config = c
    if inp.get("summaryMetrics") is not None:
        s = parse_json_string(inp["summaryMetrics"], "summaryMetrics")
        if not isinstance(s, dict):
            raise bad("summaryMetrics must be a JSON object")
        run.summary = s
    run.heartbeat = now_iso()
    return run, inserted


def file_stream(emu, run, body):
    """wandb.md 2.2."""
    if not isinstance(body, dict):
        raise bad("file_stream body must be a JSON object")
    files = body.get("files") or {}
    if not isinstance(files, dict):
        raise bad("files must be an object")
    # validate everything before changing anything
    plan = []
    for fname, spec in files.items():
        if not isinstance(spec, dict):
            raise bad("files[%s] must be an object" % fname)
        off = spec.get("offset", 0)
        content = spec.get("content", [])
        if isinstance(off, bool) or not isinstance(off, int) or off < 0:
            raise bad("files[%s].offset must be a non-negative integer" % fname)
        if not isinstance(content, list) or not all(isinstance(c, str) for c in content):
            raise bad("files[%s].content must be a list of strings" % fname)
        if fname in (HISTORY_FILE, EVENTS_FILE):
            for c in content:
                parse_row(c)
        if fname == SUMMARY_FILE and content:
            s = parse_json_string(content[-1], "summary line")
            if not isinstance(s, dict):
                raise bad("summary line must be a JSON object")
        plan.append((fname, off, content))
    if "exitcode" in body and body["exitcode"] is not None and \
            (isinstance(body["exitcode"], bool) or not isinstance(body["exitcode"], int)):
        raise bad("exitcode must be an integer")
    run.fs["posts"] += 1
    for fname, off, content in plan:
        if fname == HISTORY_FILE:
            run.history.put(off, content)
        elif fname == EVENTS_FILE:
            run.events.put(off, content)
            for c in content:
                row = parse_row(c)
                sm = {k: v for k, v in row.items() if not k.startswith("_")}
                run.system_metrics.update(sm)      # guess: systemMetrics = latest values
        elif fname == SUMMARY_FILE:
            if content:
                run.summary = parse_json_string(content[-1], "summary line")
        elif fname == OUTPUT_FILE:
            run.logs.put(off, content)
        else:
            run.other.setdefault(fname, Lines()).put(off, content)
    for p in body.get("uploaded") or []:
        run.fs["uploaded"].append(p)
    if body.get("preempting"):
        run.fs["preempting"] += 1
        run.state = "preempting"
    if body.get("complete"):
        run.fs["completes"] += 1
        run.complete = True
        code = body.get("exitcode")
        run.exitcode = code
        run.state = "finished" if not code else "failed"
    elif plan and run.state in ("finished", "failed", "crashed", "killed", "preempted"):
        run.state = "running"       # guess: streaming into a finished run resumes it
    run.heartbeat = now_iso()
    out = {"exitcode": None,
           "limits": {"name": "default", "rate_limit": "400/s", "system_metrics": "2/m"}}
    if emu.cfg["stopped"]:
        out["stopped"] = True
    return out


# --------------------------------------------------------------------------
# A small GraphQL: parser + executor over lazily resolved objects
# (same design as mldash_emu.py, with mutations)
# --------------------------------------------------------------------------

class RawJSON:
    """Prebuilt JSON text spliced into a response as is."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def encode_response(res):
    raws = []

    def dflt(o):
        if isinstance(o, RawJSON):
            raws.append(o.text)
            return "\x00RAW%d\x00" % (len(raws) - 1)
        raise TypeError("not JSON serializable: %r" % (o,))
    text = json.dumps(res, separators=(",", ":"), ensure_ascii=False, default=dflt)
    if raws:
        text = re.sub(r'"\\u0000RAW(\d+)\\u0000"', lambda m: raws[int(m.group(1))], text)
    return text.encode("utf-8")


# typename -> other names fragments may be declared on (legacy schema names, wandb.md 1.3)
ALIASES = {"Project": ("Model",), "Run": ("Bucket",), "ArtifactCollection":
           ("ArtifactSequence", "ArtifactPortfolio")}


def op_name_of(query, operation_name):
    if operation_name:
        return operation_name
    m = re.search(r"\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)", query or "")
    return m.group(2) if m else "(anonymous)"


# --------------------------------------------------------------------------
# Run filters and ordering (wandb.md 1.4)
# --------------------------------------------------------------------------

_MISSING = object()


def _unwrap(v):
    if isinstance(v, dict) and "value" in v:
        return v["value"]
    return v


def _dig(d, parts):
    for p in parts:
        if isinstance(d, dict) and p in d:
            d = d[p]
        else:
            return _MISSING
    return d


def run_field(run, key):
    k = key
    simple = {"name": run.name, "displayName": run.display_name,
              "display_name": run.display_name, "state": run.state, "tags": run.tags,
              "group": run.group, "jobType": run.job_type, "job_type": run.job_type,
              "notes": run.notes, "description": run.description,
              "createdAt": run.created, "created_at": run.created,
              "heartbeatAt": run.heartbeat, "heartbeat_at": run.heartbeat,
              "sweep": run.sweep, "sweepName": run.sweep, "commit": run.commit,
              "host": run.host, "username": run.user, "id": run.name}
    if k in simple:
        return simple[k]
    if k.startswith("config."):
        parts = k[7:].split(".")
        v = _dig(run.config, parts)
        if v is _MISSING and parts[-1] == "value":
            v = _dig(run.config, parts[:-1])
        if v is _MISSING and len(parts) > 1:    # config.a.b -> config.a.value.b
            v = _dig(_unwrap(run.config.get(parts[0])), parts[1:])
        return None if v is _MISSING else _unwrap(v)
    for pre in ("summary_metrics.", "summaryMetrics.", "summary."):
        if k.startswith(pre):
            v = _dig(run.summary, k[len(pre):].split("."))
            return None if v is _MISSING else v
    return None


def _cmp_ok(a, b, op):
    try:
        if op == "$gt":
            return a > b
        if op == "$gte":
            return a >= b
        if op == "$lt":
            return a < b
        if op == "$lte":
            return a <= b
    except TypeError:
        return False
    return False


def _match_value(val, cond):
    if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
        for op, arg in cond.items():
            if op == "$eq":
                if not _match_value(val, arg):
                    return False
            elif op == "$ne":
                if _match_value(val, arg):
                    return False
            elif op in ("$gt", "$gte", "$lt", "$lte"):
                vals = val if isinstance(val, list) else [val]
                if not any(_cmp_ok(v, arg, op) for v in vals if v is not None):
                    return False
            elif op == "$in":
                if not any(_match_value(val, a) for a in arg):
                    return False
            elif op == "$nin":
                if any(_match_value(val, a) for a in arg):
                    return False
            elif op == "$exists":
                if bool(arg) != (val is not None):
                    return False
            elif op == "$regex":
                vals = val if isinstance(val, list) else [val]
                if not any(isinstance(v, str) and re.search(arg, v) for v in vals):
                    return False
            elif op == "$not":
                if _match_value(val, arg):
                    return False
            elif op == "$size":
                if not isinstance(val, list) or len(val) != arg:
                    return False
            elif op == "$all":
                if not isinstance(val, list) or not all(a in val for a in arg):
                    return False
            else:
                raise bad("unsupported filter operator %s" % op)
        return True
    if isinstance(val, list) and not isinstance(cond, list):
        return cond in val
    return val == cond


def run_matches(run, flt):
    if not flt:
        return True
    for k, cond in flt.items():
        if k == "$and":
            if not all(run_matches(run, f) for f in cond):
                return False
        elif k == "$or":
            if not any(run_matches(run, f) for f in cond):
                return False
        elif k == "$nor":
            if any(run_matches(run, f) for f in cond):
                return False
        elif not _match_value(run_field(run, k), cond):
            return False
    return True


def order_runs(runs, order):
    if not order:
        order = "+created_at"     # wandb.md 1.4: the client default
    desc = order.startswith("-")
    key = order.lstrip("+-")
    if key in ("created_at", "createdAt"):
        kf = (lambda r: (r.created, r.seq))
    else:
        if key.startswith("summary_metrics."):
            key = "summary_metrics." + key[len("summary_metrics."):]
        kf0 = (lambda r: run_field(r, key))

        def kf(r):
            v = kf0(r)
            if v is None:
                return (0, "", 0, r.seq)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return (1, "num", v, r.seq)
            return (1, "str", v if isinstance(v, str) else jdumps(v), r.seq)
    return sorted(runs, key=kf, reverse=desc)


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


# --------------------------------------------------------------------------
# Artifact writes (wandb.md 1.9; the SDK's core/api/graphql/mutation_*artifact*
# .graphql, core/pkg/artifacts/saver.go, wandb/sdk/artifacts/artifact_saver.py)
# --------------------------------------------------------------------------

ALIAS_BAD_CHARS = set(":/")          # wandb/sdk/artifacts/_validators.py (aliases)


def b64_md5_hex(d):
    try:
        raw = base64.b64decode(d, validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 16:
        raise bad("md5 must be a base64 MD5 digest, not %r" % (d,))
    return raw.hex()


def manifest_digest(entries):
    # wandb.md 1.9: hex md5 of "wandb-artifact-manifest-v1\n" + "<path>:<digest>\n" sorted
    h = hashlib.md5(b"wandb-artifact-manifest-v1\n")
    for p in sorted(entries):
        h.update(("%s:%s\n" % (p, entries[p]["digest"])).encode("utf-8"))
    return h.hexdigest()


class ArtifactWrites:
    """The four mutations a client saves an artifact with.  An artifact is
    PENDING from CreateArtifact until CommitArtifact, which gives it the
    collection's next version (guess: the server may number it earlier),
    moves "latest" and makes it an output artifact of the run named in
    CreateArtifact."""

    def __init__(self, schema):
        self.s = schema
        self.emu = schema.emu

    def _art(self, aid, pending=True):
        art = self.emu.artifact_by_id(aid or "")
        if art is None:
            raise HTTPErr(404, "artifact %s not found" % (aid,))
        if pending and art.state != "PENDING":
            raise bad("artifact %s is %s, not PENDING" % (aid, art.state))  # guess
        return art

    def _payload(self, tname, art):
        return Obj(tname, {"artifact": self.s.g_artifact(art), "clientMutationId": None})

    def create(self, a):
        emu = self.emu
        inp = a.get("input") or {}
        ename = inp.get("entityName") or emu.viewer["entity"]
        pname = inp.get("projectName")
        tname = inp.get("artifactTypeName")
        names = inp.get("artifactCollectionNames") or []
        cname = inp.get("artifactCollectionName") or (names[0] if names else None)
        digest = inp.get("digest")
        if not pname or not tname:
            raise bad("projectName and artifactTypeName are required")
        if not cname or "/" in cname or len(cname) > 128:     # _validators.py
            raise bad("invalid artifact name %r" % (cname,))
        if not isinstance(digest, str) or not digest:
            raise bad("digest is required")
        if inp.get("digestAlgorithm") not in (None, "MANIFEST_MD5"):
            raise bad("unknown digestAlgorithm %r" % (inp.get("digestAlgorithm"),))
        if inp.get("distributedID"):
            raise bad("distributed artifacts are not emulated")
        aliases = []
        for x in inp.get("aliases") or []:
            al = x.get("alias") if isinstance(x, dict) else None
            if not isinstance(al, str) or not al or ALIAS_BAD_CHARS & set(al):
                raise bad("invalid alias %r" % (al,))
            if al not in aliases:
                aliases.append(al)
        meta = parse_json_string(inp.get("metadata"), "metadata")
        if meta is not None and not isinstance(meta, dict):
            raise bad("metadata must be a JSON object")
        run = None
        if inp.get("runName"):
            run = emu.run(ename, pname, inp["runName"])
            if run is None:
                raise HTTPErr(404, "run %s/%s/%s not found" % (ename, pname, inp["runName"]))
        p = emu.project(ename, pname, create=True)
        c = p.collections.get(cname)
        if c is None:
            c = p.collections[cname] = Collection(emu, p, cname, tname)
        elif c.type != tname:                                   # guess
            raise bad("artifact %s has type %s, not %s" % (cname, c.type, tname))
        if inp.get("enableDigestDeduplication"):
            # the SDK: a COMMITTED answer means "already exists with the same
            # content, no new version will be created" (saver.go)
            for v in c.versions:
                if v.digest == digest:
                    c.set_aliases(v, aliases)                  # guess
                    if run is not None and v not in run.output_artifacts:
                        run.output_artifacts.append(v)         # guess
                    return self._payload("CreateArtifactPayload", v)
            # a save of the same run that did not finish goes on (guess)
            for v in c.pending:
                if v.digest == digest and v.created_by is run:
                    v.requested_aliases = aliases
                    return self._payload("CreateArtifactPayload", v)
        art = Artifact(emu, c, {}, meta, inp.get("description"))
        art.version = None
        art.state = "PENDING"
        art.digest = digest
        art.requested_aliases = aliases
        art.tags = [t.get("tagName") for t in inp.get("tags") or []
                    if isinstance(t, dict) and t.get("tagName")]
        art.history_step = inp.get("historyStep")
        art.ttl = inp.get("ttlDurationSeconds")
        art.created_by = run
        c.pending.append(art)
        return self._payload("CreateArtifactPayload", art)

    def manifest(self, a):
        inp = a.get("input") or {}
        art = self._art(inp.get("artifactID"))
        if inp.get("type") not in (None, "FULL"):
            raise bad("only FULL manifests are emulated")
        digest = inp.get("digest")
        if not isinstance(digest, str):
            raise bad("digest is required")
        name = inp.get("name") or "wandb_manifest.json"
        art.manifest_id = art.manifest_id or b64("ArtifactManifest:%s" % art.id)
        hdrs = list(self.emu.cfg["upload_headers"])
        f = Obj("File", {
            "id": b64("File:manifest:%s" % art.id), "name": name, "displayName": name,
            "uploadUrl": lambda x: self.s.new_upload(
                {"kind": "manifest", "art": art, "digest": digest, "headers": hdrs}, "art-"),
            "uploadHeaders": hdrs})
        return Obj("CreateArtifactManifestPayload", {"artifactManifest": Obj(
            "ArtifactManifest", {"id": art.manifest_id, "file": f, "contents": None})})

    def files(self, a):
        emu = self.emu
        inp = a.get("input") or {}
        if inp.get("storageLayout") not in ("V1", "V2"):
            raise bad("storageLayout must be V1 or V2")
        specs = inp.get("artifactFiles")
        if not isinstance(specs, list):
            raise bad("artifactFiles must be a list")
        edges = []
        for sp in specs:
            art = self._art(sp.get("artifactID"))
            name, md5 = sp.get("name"), sp.get("md5")
            if not isinstance(name, str) or not name:
                raise bad("artifact file name is required")
            hexm = b64_md5_hex(md5)
            if sp.get("uploadPartsInput"):
                raise bad("multipart uploads are not emulated")
            if "md5:" + hexm in emu.blobs:
                # the SDK: no upload URL means the server has these bytes
                url, hdrs = None, []
            else:
                # guess: the presigned PUT is signed for the declared MD5
                hdrs = ["Content-MD5:%s" % md5] + list(emu.cfg["upload_headers"])
                url = self.s.new_upload({"kind": "afile", "art": art, "name": name,
                                         "md5": md5, "headers": hdrs}, "art-")
            edges.append(Obj("FileEdge", {"cursor": None, "node": Obj("File", {
                "id": b64("File:%s:%s" % (art.id, name)), "name": name,
                "displayName": name, "uploadUrl": url, "uploadHeaders": hdrs,
                "storagePath": "wandb_artifacts/%s" % hexm, "uploadMultipartUrls": None,
                "artifact": self.s.g_artifact(art)})}))
        return Obj("CreateArtifactFilesPayload", {"files": Obj("FileConnection", {
            "edges": edges, "totalCount": len(edges),
            "pageInfo": Obj("PageInfo", {"endCursor": None, "hasNextPage": False,
                                         "startCursor": None, "hasPreviousPage": False})})})

    def commit(self, a):
        emu = self.emu
        inp = a.get("input") or {}
        art = self._art(inp.get("artifactID"), pending=False)
        if art.state == "COMMITTED":
            return self._payload("CommitArtifactPayload", art)    # guess: idempotent
        if art.manifest_bytes is None:
            raise bad("artifact %s has no manifest uploaded" % art.id)   # guess
        try:
            man = json.loads(art.manifest_bytes)
        except ValueError:
            raise bad("the manifest of artifact %s is not JSON" % art.id)
        if not isinstance(man, dict) or man.get("version") != 1 or \
                man.get("storagePolicy") != "wandb-storage-policy-v1" or \
                not isinstance(man.get("contents"), dict):
            raise bad("the manifest of artifact %s is not a version 1 "
                      "wandb-storage-policy-v1 manifest" % art.id)
        entries = {}
        for path, e in man["contents"].items():
            if not isinstance(e, dict) or not isinstance(e.get("digest"), str):
                raise bad("manifest entry %r has no digest" % path)
            ent = {"digest": e["digest"], "size": e.get("size")}
            if e.get("ref") is not None:
                ent["ref"] = e["ref"]
            else:
                # guess: the server checks every stored entry was uploaded
                data = emu.blobs.get("md5:" + b64_md5_hex(e["digest"]))
                if data is None:
                    raise bad("artifact file %r was never uploaded" % path)
                if e.get("size") is not None and e["size"] != len(data):
                    raise bad("artifact file %r: size %r, uploaded %d bytes"
                              % (path, e["size"], len(data)))
                key = rand_name(32)
                emu.storage[key] = ("blob", None, path)
                emu.blobs[key] = data
                ent["key"] = key
            for k in ("birthArtifactID", "extra"):
                if e.get(k) is not None:
                    ent[k] = e[k]
            entries[path] = ent
        if manifest_digest(entries) != art.digest:            # guess: checked
            raise bad("the manifest's digest %s is not the artifact's %s"
                      % (manifest_digest(entries), art.digest))
        art.entries = entries
        c = art.coll
        c.pending.remove(art)
        art.version = len(c.versions)
        c.versions.append(art)
        art.state = "COMMITTED"
        art.aliases = []
        c.set_aliases(art, ["latest"] + [x for x in art.requested_aliases if x != "latest"])
        if art.created_by is not None and art not in art.created_by.output_artifacts:
            art.created_by.output_artifacts.append(art)
        return self._payload("CommitArtifactPayload", art)


def find_version(c, alias):
    if not c.versions:
        return None
    if alias == "latest":
        for v in c.versions:
            if "latest" in v.aliases:
                return v
        return c.versions[-1]
    m = re.match(r"^v(\d+)$", alias)
    if m:
        i = int(m.group(1))
        return c.versions[i] if i < len(c.versions) else None
    for v in c.versions:
        if alias in v.aliases:
            return v
    return None


# --------------------------------------------------------------------------
# Seed and dump
# --------------------------------------------------------------------------

def content_of(fs):
    if "contentBase64" in fs:
        return base64.b64decode(fs["contentBase64"])
    if "size" in fs:
        n, seedv = int(fs["size"]), int(fs.get("seed", 0))
        block = hashlib.sha256(str(seedv).encode()).digest()
        return (block * (n // 32 + 1))[:n]
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


# --------------------------------------------------------------------------
# Control API
# --------------------------------------------------------------------------

def control(emu, method, path, q, body):
    def jbody():
        return json.loads(body) if body else {}

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
            for k, v in jbody().items():
                if k not in CFG_KEYS:
                    raise bad("unknown config key %s" % k)
                emu.cfg[k] = None if v is None else CFG_KEYS[k](v)
            if "sampling" in emu.cfg and emu.cfg["sampling"] not in ("random", "even"):
                raise bad("sampling must be random or even")
        return 200, {"config": emu.cfg}
    if path == "/__emu/documents":
        if method == "DELETE":
            emuhttp.settle(emu)
            with emu.lock:
                emu.documents = []
            return 200, {"ok": True}
        emuhttp.settle(emu)
        with emu.lock:
            return 200, {"documents": list(emu.documents)}
    if path == "/__emu/stats":
        if method == "DELETE":
            emuhttp.settle(emu)
            emu.reset_stats()
            return 200, {"ok": True}
        emuhttp.settle(emu)
        with emu.stats_lock:
            return 200, {"requests": emu.req_total, "byRoute": emu.by_route,
                         "byOperation": emu.by_op, "byStatus": emu.by_status,
                         "maxConcurrency": emu.max_inflight, "inFlight": emu.inflight,
                         "faultsFired": emu.faults_fired, "rateLimited": emu.rate_limited,
                         "recent": emu.recent[-int(q.get("recent", ["200"])[0]):]}
    raise HTTPErr(404, "unknown control endpoint %s %s" % (method, path))


# --------------------------------------------------------------------------
# Request handler
# --------------------------------------------------------------------------

ROUTES = [
    ("POST", re.compile(r"^/graphql$"), "/graphql"),
    ("POST", re.compile(r"^/files/(?P<e>[^/]+)/(?P<p>[^/]+)/(?P<r>[^/]+)/file_stream$"),
     "/files/{entity}/{project}/{run}/file_stream"),
    ("PUT", re.compile(r"^/storage/upload/(?P<tok>[^/]+)$"), "/storage/upload/{token}"),
    ("GET", re.compile(r"^/storage/(?P<key>[^/]+)(?:/.*)?$"), "/storage/{key}"),
    ("GET", re.compile(r"^/files/(?P<e>[^/]+)/(?P<p>[^/]+)/(?P<r>[^/]+)/(?P<name>.+)$"),
     "/files/{entity}/{project}/{run}/{name}"),
    ("GET", re.compile(r"^/artifacts/(?P<e>[^/]+)/(?P<md5>[0-9a-f]{32})$"),
     "/artifacts/{entity}/{hexmd5}"),
    ("GET", re.compile(r"^/healthz$"), "/healthz"),
]


class Handler(emuhttp.Handler):
    server_version = "wandb-emu/1"
    NAME = "wandb_emu"

    def _read_body(self):
        data = self.read_raw_body()
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip" and data:
            data = gzip.decompress(data)
        return data

    def _send(self, status, data, ctype, headers=None, drop_after=None, corrupt=False):
        if corrupt and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            data = bytes(data)
        return self.send_parts(status, [data], ctype, headers, drop_after)

    def _json(self, status, obj, headers=None, drop_after=None, corrupt=False):
        data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        return self._send(status, data, "application/json", headers, drop_after, corrupt)

    def _err(self, e, drop_after=None):
        return self._json(e.status, {"errors": [{"message": e.message}],
                                     "error": e.message}, e.headers, drop_after)

    def handle_request(self):
        emu = self.server.emu
        method = self.command
        u = urlsplit(self.path)
        path = u.path
        q = parse_qs(u.query, keep_blank_values=True)
        try:
            body = self._read_body()
        except (ValueError, OSError, EOFError, zlib.error):
            self.close_connection = True
            return

        if path.startswith("/__emu/"):
            try:
                st, obj = control(emu, method, path, q, body)
                self._json(st, obj)
            except HTTPErr as e:
                self._err(e)
            except (ValueError, KeyError, TypeError, re.error) as e:
                self._json(400, {"error": "bad control request: %r" % (e,)})
            return

        self.serve_counted(emu, method, path, u.query, body,
                           lambda: self._dispatch(emu, method, path, u.query, q, body))

    def _base(self):
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        return "http://" + host

    def _auth(self, emu):
        h = self.headers.get("Authorization") or ""
        if h[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(h[6:].strip()).decode("utf-8").partition(":")
            except Exception:
                user, pw = None, ""
            if hmac.compare_digest(pw.encode(), emu.opts.api_key.encode()):
                return True
        raise HTTPErr(401, "user is not logged in",
                      {"WWW-Authenticate": 'Basic realm="wandb-emu"'})

    def _rate(self, emu, key, limit, window):
        """Fixed-window limiter (wandb.md 1.10).  Returns (ok, headers)."""
        now = time.time()
        with emu.stats_lock:
            start, n = emu.rl.get(key, (now, 0))
            if now - start >= window:
                start, n = now, 0
            n += 1
            emu.rl[key] = (start, n)
            reset = max(1, int(math.ceil(start + window - now)))
            remaining = max(0, limit - n)
            hdrs = {"RateLimit-Remaining": int(1000 * remaining / limit),
                    "RateLimit-Reset": reset}
            if n > limit:
                emu.rate_limited += 1
                hdrs["Retry-After"] = reset
                return False, hdrs
        return True, hdrs

    def _route(self, method, path):
        rname = None
        for m_, rx, pat in ROUTES:
            mm = rx.match(path)
            if mm and m_ == method:
                return pat, mm.groupdict()
            if mm and rname is None:
                rname = pat
        return rname, None

    def _dispatch(self, emu, method, path, query, q, body):
        cfg = emu.cfg
        rname, groups = self._route(method, path)
        opname = None
        gbody = None
        if rname == "/graphql" and groups is not None:
            try:
                gbody = json.loads(body or b"null")
            except ValueError:
                gbody = None
            if isinstance(gbody, dict):
                opname = op_name_of(gbody.get("query"), gbody.get("operationName"))
        if cfg["latency_ms"]:
            time.sleep(cfg["latency_ms"] / 1000.0)
        fault = emuhttp.match_fault(emu, method, path, query, opname)
        drop, corrupt = None, False
        if fault:
            if fault.get("delay_ms"):
                time.sleep(float(fault["delay_ms"]) / 1000.0)
            if fault.get("reset"):
                self.abort()
                return "reset", rname, opname
            if fault.get("status"):
                hdrs = dict(fault.get("headers") or {})
                if fault.get("retry_after") is not None:
                    hdrs["Retry-After"] = fault["retry_after"]
                st = int(fault["status"])
                fb = fault.get("body") or {"errors": [{"message": "injected fault %d" % st}]}
                if isinstance(fb, str):
                    self._send(st, fb.encode(), "text/plain", hdrs, fault.get("drop_after_bytes"))
                else:
                    self._json(st, fb, hdrs, fault.get("drop_after_bytes"))
                return st, rname, opname
            drop = fault.get("drop_after_bytes")
            corrupt = bool(fault.get("corrupt"))
        if groups is None:
            return self._err(HTTPErr(404 if rname is None else 405,
                                     "%s %s not found" % (method, path))), rname, opname
        if cfg["max_body_bytes"] and len(body) > cfg["max_body_bytes"]:
            return self._err(HTTPErr(413, "request entity too large")), rname, opname
        try:
            if rname == "/healthz":
                return self._json(200, {"ok": True}), rname, opname
            if rname.startswith("/storage/"):
                return self._storage(emu, method, rname, groups, body, drop, corrupt), \
                    rname, opname
            self._auth(emu)
            if rname == "/graphql":
                return self._graphql(emu, gbody, opname, drop, corrupt), rname, opname
            if rname.endswith("/file_stream"):
                return self._file_stream(emu, groups, body, drop), rname, opname
            if rname.startswith("/files/"):
                with emu.lock:
                    run = emu.run(unquote(groups["e"]), unquote(groups["p"]),
                                  unquote(groups["r"]))
                    f = run.files.get(unquote(groups["name"])) if run else None
                if f is None:
                    raise HTTPErr(404, "file not found")
                return self._bytes(f.data, f.mimetype, drop, corrupt, f.md5), rname, opname
            if rname.startswith("/artifacts/"):
                data = emu.blobs.get("md5:" + groups["md5"])
                if data is None:
                    raise HTTPErr(404, "object not found")
                return self._bytes(data, "application/octet-stream", drop, corrupt,
                                   md5_b64(data)), rname, opname
            raise HTTPErr(404, "not found")
        except HTTPErr as e:
            return self._err(e), rname, opname
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return 499, rname, opname
        except Exception as e:  # an emulator bug: say so loudly
            traceback.print_exc(file=sys.stderr)
            return self._json(500, {"errors": [{"message": "emulator bug: %r" % (e,)}]}), \
                rname, opname

    def _bytes(self, data, ctype, drop, corrupt, md5=None):
        hdrs = {"ETag": '"%s"' % hashlib.md5(data).hexdigest()}
        if md5:
            hdrs["x-goog-hash"] = "md5=%s" % md5       # GCS-style (cassette, wandb.md 4)
        rng = self.headers.get("Range")
        m = re.match(r"^bytes=(\d*)-(\d*)$", rng or "")
        if m and (m.group(1) or m.group(2)):
            n = len(data)
            if m.group(1):
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else n - 1
            else:
                a, b = max(0, n - int(m.group(2))), n - 1
            if a >= n or a > b:
                hdrs["Content-Range"] = "bytes */%d" % n
                return self._send(416, b"", ctype, hdrs)
            b = min(b, n - 1)
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (a, b, n)
            return self._send(206, data[a:b + 1], ctype, hdrs, drop, corrupt)
        hdrs["Accept-Ranges"] = "bytes"
        return self._send(200, data, ctype, hdrs, drop, corrupt)

    def _storage(self, emu, method, rname, groups, body, drop, corrupt):
        if rname == "/storage/upload/{token}":
            with emu.lock:
                ent = emu.uploads.get(groups["tok"])
                if ent is None:
                    raise HTTPErr(403, "invalid or expired upload URL")
                if ent["kind"] != "run":
                    self._artifact_put(emu, ent, body)
                else:
                    self._run_file_put(emu, ent, body)
            return self._send(200, b"", "text/plain", {"ETag": '"%s"' %
                                                       hashlib.md5(body).hexdigest()})
        with emu.lock:
            ent = emu.storage.get(groups["key"])
            if ent is None:
                raise HTTPErr(404, "no such object")
            kind, obj, name = ent
            if kind == "run":
                f = obj.files.get(name)
                if f is None:
                    raise HTTPErr(404, "no such object")
                data, ctype = f.data, f.mimetype
            elif kind == "manifest":
                data, ctype = obj.manifest_data(), "application/json"
            else:
                data, ctype = emu.blobs[groups["key"]], "application/octet-stream"
        return self._bytes(data, ctype, drop, corrupt, md5_b64(data))

    def _run_file_put(self, emu, ent, body):
        run, name = ent["run"], ent["name"]
        for h in emu.cfg["upload_headers"]:
            k, _, v = h.partition(":")
            if (self.headers.get(k.strip()) or "") != v.strip():
                raise HTTPErr(400, "missing upload header %s" % k)
        cm = self.headers.get("Content-MD5")
        if cm is None and emu.cfg["require_content_md5"]:
            raise HTTPErr(400, "Content-MD5 required")
        if cm is not None and cm.strip() != md5_b64(body):
            raise HTTPErr(400, "Content-MD5 mismatch")
        f = run.files.get(name)
        if f is None:
            run.files[name] = StoredFile(name, body)
        else:
            f.set(body)

    def _artifact_put(self, emu, ent, body):
        """PUT of an artifact file (kept by MD5, as the V1 layout addresses
        it) or of its manifest."""
        for h in ent["headers"]:
            k, _, v = h.partition(":")
            if (self.headers.get(k.strip()) or "").strip() != v.strip():
                raise HTTPErr(400, "missing upload header %s" % k)
        got = md5_b64(body)
        if ent["kind"] == "afile":
            if got != ent["md5"]:
                raise HTTPErr(400, "Content-MD5 mismatch")
            emu.blobs["md5:" + hashlib.md5(body).hexdigest()] = bytes(body)
        else:
            if ent["digest"] and got != ent["digest"]:
                raise HTTPErr(400, "manifest digest mismatch")          # guess
            ent["art"].manifest_bytes = bytes(body)

    def _graphql(self, emu, gbody, opname, drop, corrupt):
        cfg = emu.cfg
        hdrs = {}
        if cfg["rate_limit"]:
            ok, hdrs = self._rate(emu, "gql", cfg["rate_limit"], cfg["rate_window_s"])
            if not ok:
                return self._json(429, {"errors": [{"message": "rate limit exceeded"}]}, hdrs)
        if not isinstance(gbody, dict):
            raise HTTPErr(400, "body must be a JSON object with query and variables")
        variables = gbody.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise HTTPErr(400, "variables must be an object")
        with emu.lock:
            emu.documents.append(gbody.get("query"))
        refused = validate_document(emu, gbody.get("query"))
        if refused:
            return self._json(400, {"errors": [{"message": refused}]}, hdrs)
        sch = Schema(emu, self._base())
        with emu.lock:
            st, res = gql_execute(gbody.get("query"), variables,
                                  gbody.get("operationName"), sch.root, sch.mutation,
                                  aliases=ALIASES, error_types=(HTTPErr,),
                                  resolver_error=_gql_resolver_error)
        data = encode_response(res)
        return self._send(st, data, "application/json", hdrs, drop, corrupt)

    def _file_stream(self, emu, groups, body, drop):
        cfg = emu.cfg
        e, p, r = unquote(groups["e"]), unquote(groups["p"]), unquote(groups["r"])
        hdrs = {}
        if cfg["filestream_rate_limit"]:
            ok, hdrs = self._rate(emu, "fs:%s/%s/%s" % (e, p, r),
                                  cfg["filestream_rate_limit"], 1.0)
            if not ok:
                return self._json(429, {"error": "Filestream rate limit exceeded"}, hdrs)
        try:
            b = json.loads(body or b"{}")
        except ValueError:
            raise HTTPErr(400, "body is not JSON")
        with emu.lock:
            run = emu.run(e, p, r)
            if run is None:
                raise HTTPErr(404, "run %s/%s/%s not found" % (e, p, r))
            out = file_stream(emu, run, b)
        return self._json(200, out, hdrs, drop)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=DEFAULT_API_KEY,
                    help="the accepted key (HTTP Basic password; default %s)" % DEFAULT_API_KEY)
    ap.add_argument("--username", default="emu-user", help="viewer username and entity")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--rate-limit", type=int, default=0,
                    help="GraphQL requests allowed per --rate-window (0 = unlimited)")
    ap.add_argument("--rate-window", type=float, default=1.0, help="seconds (default 1)")
    ap.add_argument("--sampling", choices=("random", "even"), default="random")
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
