"""The W&B emulator's line-addressed files and run history, stored or generated on demand."""

import bisect
import json
import math
import random
from array import array

from wandb_common import bad, jdumps
from wandb_gqlwire import RawJSON


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
