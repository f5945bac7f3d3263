#!/usr/bin/env python3
"""Writes tests/wandb/public_gql.txt: every selection path (fields with their
argument names) of the GraphQL documents W&B's own public client sends, from
a local clone of github.com/wandb/wandb.

    public_gql_extract.py CLONE [COMMIT] > tests/wandb/public_gql.txt

Sources (at COMMIT, default the clone's HEAD):
  - the Go core's documents, core/api/graphql/*.graphql, each on its own;
  - the Python public API's generated documents,
    tools/graphql_codegen/**/*.graphql (fragments shared across files);
  - the Python public API's inline documents in wandb/apis/public/runs.py and
    files.py: string constants and f-strings, with the bindings below for the
    parts they fill in at run time.
Only the operations xport follows count (FOLLOWED), so that the list stays
small; a path is listed once with the sources it comes from.
Standard library only; not run by the tests (they read the list)."""
import ast
import itertools
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "emulators"))
from gql import GQLError, GQLParser, gql_path_str, gql_paths  # noqa: E402

# Values for the f-string and str.format fields of the inline documents:
# a name bound to a module-level string constant, or a list of literals.
PY_SOURCES = {
    "wandb/apis/public/runs.py": {
        "fragment": "RUN_FRAGMENT", "fragment_name": ["RunFragment"],
        "_0": ["history", "events"]},
    "wandb/apis/public/files.py": {"FILE_FRAGMENT": "FILE_FRAGMENT"},
}


# The public operations whose documents xport's W&B documents follow.
FOLLOWED = {
    "GetProjects", "Runs", "Run", "RunFullHistory", "HistoryPage",
    "RunConsoleLogPage", "RunConsoleLogTail", "RunFiles", "RunOutputArtifacts",
    "ArtifactFileURLs", "RunResumeStatus", "UpsertBucket", "CreateRunFiles",
    "CreateArtifact", "CreateArtifactManifest", "CreateArtifactFiles",
    "CommitArtifact", "ArtifactByID", "ArtifactManifest",
}


def git(clone, *args):
    return subprocess.run(["git", "-C", clone] + list(args), check=True,
                          capture_output=True, text=True).stdout


def ls(clone, commit, prefix, suffix):
    names = git(clone, "ls-tree", "-r", "--name-only", commit, prefix).split()
    return sorted(n for n in names if n.endswith(suffix))


def ops_and_frags(text):
    """(operation texts, fragment texts) of a document, split at top level."""
    ops, frags, depth, start = [], [], 0, None
    i = 0
    while i < len(text):
        c = text[i]
        if c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        if c == '"':
            j = text.index('"', i + 1) if not text.startswith('"""', i) \
                else text.index('"""', i + 3) + 2
            i = j + 1
            continue
        if depth == 0 and start is None and not c.isspace():
            start = i
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                piece = text[start:i + 1].strip()
                (frags if piece.startswith("fragment") else ops).append(piece)
                start = None
        i += 1
    return ops, frags


def py_strings(src, bindings):
    """The strings of a module, with f-string and .format fields filled from
    bindings (every combination of list values)."""
    tree = ast.parse(src)
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    consts[t.id] = node.value.value

    def values(name):
        b = bindings.get(name)
        if isinstance(b, list):
            return b
        if isinstance(b, str):
            return [consts[b]]
        if name in consts:
            return [consts[name]]
        return None

    out = []
    formatted = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "format" and \
                isinstance(node.func.value, ast.Constant):
            formatted.add(id(node.func.value))
            args = []
            for a in node.args:
                if isinstance(a, ast.Constant):
                    args.append([str(a.value)])
                elif isinstance(a, ast.Name) and a.id in consts:
                    args.append([consts[a.id]])
                else:
                    args.append(values("_%d" % len(args)) or [""])
            for combo in itertools.product(*args):
                try:
                    out.append(node.func.value.value.format(*combo))
                except (IndexError, KeyError, ValueError):
                    pass
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in formatted:
            out.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            parts = []
            ok = True
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append([v.value])
                elif isinstance(v.value, ast.Name) and values(v.value.id):
                    parts.append(values(v.value.id))
                else:
                    ok = False
            if ok:
                out.extend("".join(p) for p in itertools.product(*parts))
    return [s for s in out if "query" in s or "mutation" in s or "fragment" in s]


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    clone = argv[1]
    commit = argv[2] if len(argv) > 2 else git(clone, "rev-parse", "HEAD").strip()
    sources = []   # (path, [operation texts], [fragment texts])

    for p in ls(clone, commit, "core/api/graphql/", ".graphql"):
        ops, frags = ops_and_frags(git(clone, "show", "%s:%s" % (commit, p)))
        sources.append((p, ops, frags))
    pooled, gen = [], []
    for p in ls(clone, commit, "tools/graphql_codegen/", ".graphql"):
        ops, frags = ops_and_frags(git(clone, "show", "%s:%s" % (commit, p)))
        pooled.extend(frags)
        gen.append((p, ops))
    sources.extend((p, ops, pooled) for p, ops in gen)
    for p, bindings in PY_SOURCES.items():
        ops, frags = [], []
        for s in py_strings(git(clone, "show", "%s:%s" % (commit, p)), bindings):
            try:
                o, f = ops_and_frags(s.replace("#graphql", ""))
                for piece in o + f:
                    GQLParser(piece).document()
            except (GQLError, ValueError):
                continue
            ops.extend(o)
            frags.extend(f)
        sources.append((p, ops, frags))

    paths = {}
    ids = []
    for p, ops, frags in sources:
        names = []
        for op in ops:
            try:
                parsed, _ = GQLParser(op).document()
                found = gql_paths(op + "\n" + "\n".join(frags))
            except GQLError as e:
                sys.stderr.write("skipped an operation of %s: %s\n" % (p, e))
                continue
            if parsed[0]["name"] not in FOLLOWED:
                continue
            names.append(parsed[0]["name"])
            for otype, path in found:
                paths.setdefault(gql_path_str(otype, path), set()).add(len(ids) + 1)
        if names:
            ids.append((p, sorted(set(names))))

    print("# Every selection path of the GraphQL documents W&B's own public client")
    print("# sends: <operation type> <field(argument names)>.<field...>, tab, the")
    print("# sources it appears in. Made by tests/wandb/public_gql_extract.py from")
    print("# github.com/wandb/wandb at commit %s;" % commit)
    print("# the W&B emulator rejects anything else, and an edge's `cursor` always")
    print("# (issue 20). Sources:")
    for i, (p, names) in enumerate(ids, 1):
        print("# S%d wandb/wandb@%s:%s  %s" % (i, commit[:12], p, " ".join(names)))
    for line in sorted(paths):
        print("%s\t%s" % (line, ",".join("S%d" % i for i in sorted(paths[line]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
