#!/usr/bin/env bash
# Checks the source's use graph: no cycles between files, and no adapter
# including another adapter's headers.
#
# The graph: file A -> file B when A names a function that B defines (not
# static) and that a header A includes (directly or through other headers)
# declares; that is, A includes B's header to use B. Cycles between files
# fail, except those listed in scripts/include_cycles.allow (one cycle a
# line: its files, sorted, separated by spaces), which are reported; a
# listed cycle that is gone fails too, so the list only shrinks. The same
# graph by module (core, cmd, adapters, adapters/X) must be acyclic too.
# Any #include in adapters/X that names a file of adapters/Y fails.
#
# Usage: scripts/check_includes.sh [-v]   (-v prints every edge)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import collections
import os
import re
import sys

verbose = "-v" in sys.argv[1:]
DIRS = ["core", "cmd", "adapters", "include"]
ALLOW = "scripts/include_cycles.allow"

files = []
for d in DIRS:
    for dp, dn, fn in os.walk(d):
        dn[:] = sorted(x for x in dn if not x.startswith((".", "build")))
        files += [os.path.join(dp, f) for f in sorted(fn) if f.endswith((".c", ".h"))]
files = [os.path.normpath(f) for f in files]
fset = set(files)

def strip(s):
    """Drop comments, string and character literals (keeping line count)."""
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if s.startswith("/*", i):
            j = s.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * s.count("\n", i, j))
            i = j
        elif s.startswith("//", i):
            j = s.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and s[j] != c and s[j] != "\n":
                j += 2 if s[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)

raw = {f: open(f, encoding="utf-8", errors="replace").read() for f in files}
code = {f: strip(raw[f]) for f in files}

def resolve(f, name):
    for base in (os.path.dirname(f), "include", "."):
        p = os.path.normpath(os.path.join(base, name))
        if p in fset:
            return p
    return None

includes = {}
problems = []
for f in files:
    inc = []
    for m in re.finditer(r'^\s*#\s*include\s*"([^"]+)"', raw[f], re.M):
        p = resolve(f, m.group(1))
        if p:
            inc.append(p)
        # adapters/X never includes adapters/Y
        parts = os.path.normpath(f).split(os.sep)
        if len(parts) > 2 and parts[0] == "adapters":
            target = p or os.path.normpath(os.path.join(os.path.dirname(f), m.group(1)))
            tparts = target.split(os.sep)
            if len(tparts) > 2 and tparts[0] == "adapters" and tparts[1] != parts[1]:
                problems.append("%s includes '%s', a file of adapter '%s'"
                                % (f, m.group(1), tparts[1]))
    includes[f] = inc

def reach(f):
    seen, pending = set(), [f]
    while pending:
        for h in includes.get(pending.pop(), []):
            if h not in seen:
                seen.add(h)
                pending.append(h)
    return seen

KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "defined"}
defn = re.compile(r"^(?!static\b|typedef\b|extern\b|struct\b[^(]*;)"
                  r"[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\(([^;{}()]|\([^()]*\))*\)"
                  r"\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?\{", re.M | re.S)
defs = collections.defaultdict(set)
where = collections.defaultdict(set)
for f in files:
    if f.endswith(".c"):
        for m in defn.finditer(code[f]):
            if m.group(1) not in KEYWORDS:
                defs[f].add(m.group(1))
                where[m.group(1)].add(f)
declared = {f: set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", code[f]))
            for f in files if f.endswith(".h")}

# a name used as a name: not after struct/enum/union, '.' or '->'
use = re.compile(r"(?<![\w.>])(?<!struct )(?<!enum )(?<!union )([A-Za-z_]\w*)\b")
edges = collections.defaultdict(lambda: collections.defaultdict(set))
for f in files:
    if not f.endswith(".c"):
        continue
    visible = set()
    for h in reach(f):
        visible |= declared.get(h, set())
    for name in set(use.findall(code[f])):
        if name in defs[f] or name not in visible:
            continue
        for g in where.get(name, ()):
            if g != f:
                edges[f][g].add(name)

def cycles(nodes, out):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(out.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))
    sys.setrecursionlimit(100000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found

def show(comp, out):
    lines = []
    for a in comp:
        for b in sorted(out.get(a, ())):
            if b in comp:
                names = sorted(out[a][b])
                more = " ..." if len(names) > 4 else ""
                lines.append("    %s -> %s (%s%s)" % (a, b, ", ".join(names[:4]), more))
    return "\n".join(lines)

if verbose:
    for a in sorted(edges):
        for b in sorted(edges[a]):
            print("%s -> %s: %s" % (a, b, ", ".join(sorted(edges[a][b]))))

allowed = set()
if os.path.exists(ALLOW):
    for line in open(ALLOW):
        line = line.split("#", 1)[0].split()
        if line:
            allowed.add(tuple(sorted(os.path.normpath(x) for x in line)))

cfiles = [f for f in files if f.endswith(".c")]
found = cycles(cfiles, edges)
for comp in found:
    if tuple(comp) in allowed:
        print("check_includes: known cycle (%s):\n%s" % (ALLOW, show(comp, edges)))
    else:
        problems.append("files use each other in a cycle:\n" + show(comp, edges))
for comp in sorted(allowed - {tuple(c) for c in found}):
    problems.append("%s lists a cycle that is gone (remove its line): %s"
                    % (ALLOW, " ".join(comp)))

def module(f):
    parts = f.split(os.sep)
    if parts[0] == "adapters" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0]

medges = collections.defaultdict(lambda: collections.defaultdict(set))
for a in edges:
    for b in edges[a]:
        if module(a) != module(b):
            medges[module(a)][module(b)] |= {"%s -> %s" % (a, b)}
for comp in cycles({module(f) for f in cfiles}, medges):
    problems.append("modules use each other in a cycle:\n" + show(comp, medges))

for p in problems:
    print("check_includes: " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print("check_includes: %d files, %d uses between them, no cycles"
      % (len(cfiles), sum(len(v) for v in edges.values())))
PY
