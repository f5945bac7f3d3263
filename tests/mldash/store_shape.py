"""Does an ml-dash store written by xport have the shape of one the ml-dash
SDK wrote? Same files (relative paths) and, in every JSON / JSONL file, the
same keys (values may differ: times, ids of new things).

usage: store_shape.py REFERENCE_EXPERIMENT_DIR CANDIDATE_EXPERIMENT_DIR"""
import json
import os
import sys


def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            if not f.endswith(".lock"):
                out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def keys(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith(".jsonl"):
        return [sorted(json.loads(l)) for l in text.splitlines() if l.strip()]
    if path.endswith(".json"):
        o = json.loads(text)
        ks = sorted(o)
        if isinstance(o.get("files"), list):  # .files_metadata.json
            ks.append([sorted(e) for e in o["files"]])
        return ks
    return None


def main(ref, cand):
    a, b = files(ref), files(cand)
    bad = 0
    for f in sorted(a ^ b):
        print("only in %s: %s" % ("reference" if f in a else "candidate", f))
        bad += 1
    for f in sorted(a & b):
        ka, kb = keys(os.path.join(ref, f)), keys(os.path.join(cand, f))
        if ka != kb:
            print("keys differ in %s: %s vs %s" % (f, ka, kb))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
