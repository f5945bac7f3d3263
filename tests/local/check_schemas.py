#!/usr/bin/env python3
"""Validate every file of an xport layout against schemas/*.schema.json.

A subset of JSON Schema (type, required, properties, items, const, enum,
pattern, minimum, additionalProperties) is enough for our schemas, so this
needs only the standard library. Python's json reads NaN/Infinity tokens,
as the layout allows. Usage: check_schemas.py SCHEMA_DIR LAYOUT_ROOT"""
import json
import os
import re
import sys

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def type_ok(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


def validate(v, s, where, errors):
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(type_ok(v, t) for t in ts):
            errors.append(f"{where}: {v!r} is not {ts}")
            return
    if "const" in s and v != s["const"]:
        errors.append(f"{where}: {v!r} != {s['const']!r}")
    if "enum" in s and v not in s["enum"]:
        errors.append(f"{where}: {v!r} not in {s['enum']}")
    if "pattern" in s and isinstance(v, str) and not re.search(s["pattern"], v):
        errors.append(f"{where}: {v!r} does not match {s['pattern']}")
    if "minimum" in s and isinstance(v, (int, float)) and v < s["minimum"]:
        errors.append(f"{where}: {v} < {s['minimum']}")
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                errors.append(f"{where}: missing {k!r}")
        props = s.get("properties", {})
        for k, sub in v.items():
            if k in props:
                validate(sub, props[k], f"{where}.{k}", errors)
            elif s.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected key {k!r}")
    if isinstance(v, list) and "items" in s:
        for i, sub in enumerate(v):
            validate(sub, s["items"], f"{where}[{i}]", errors)


def main():
    sdir, root = sys.argv[1], sys.argv[2]
    schemas = {n: json.load(open(os.path.join(sdir, n))) for n in os.listdir(sdir) if n.endswith(".json")}
    errors, checked = [], 0

    def check(path, schema, lines=False):
        nonlocal checked
        with open(path, encoding="utf-8") as f:
            docs = [json.loads(l) for l in f if l.strip()] if lines else [json.load(f)]
        for i, d in enumerate(docs):
            validate(d, schemas[schema], f"{path}:{i + 1}" if lines else path, errors)
            checked += 1

    check(os.path.join(root, "xport.json"), "xport.schema.json")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "files"]
        rel = os.path.relpath(dirpath, root).split(os.sep)
        if "experiment.json" in filenames:
            check(os.path.join(dirpath, "experiment.json"), "experiment.schema.json")
            for name, schema, lines in [("parameters.json", "parameters.schema.json", False),
                                        ("summary.json", "document.schema.json", False),
                                        ("others.json", "document.schema.json", False),
                                        ("files.jsonl", "file-entry.schema.json", True)]:
                if name in filenames:
                    check(os.path.join(dirpath, name), schema, lines)
        if len(rel) >= 2 and rel[-2] in ("metrics", "system"):
            check(os.path.join(dirpath, "data.jsonl"), "series-point.schema.json", True)
            check(os.path.join(dirpath, "metadata.json"), "series-metadata.schema.json")
        if rel[-1] == "logs" and "logs.jsonl" in filenames:
            check(os.path.join(dirpath, "logs.jsonl"), "log-line.schema.json", True)
    for e in errors[:50]:
        print(e)
    print(f"{checked} documents checked, {len(errors)} errors")
    return 1 if errors or checked < 5 else 0


if __name__ == "__main__":
    sys.exit(main())
