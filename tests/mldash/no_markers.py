"""What ml-dash's own client sees after an xport upload: the parameters,
metric points and log lines hold exactly the source's members, no xport
type marker among them (issue 10, item 4).

usage:
  no_markers.py --layout DIR
      write an xport layout (workspace "tom") whose values need every kind
      of type mark: whole floats, NaN/±Inf/-0.0, int64/uint64 extremes,
      nested JSON, a series that mixes cases, a log whose every line needs
      the same mark, and source members named like xport's markers
  no_markers.py --check URL GEN DIR
      read every experiment of namespace "tom" from the ml-dash server (or
      emulator) at URL the way the ml-dash v0.5.9 client reads it (GraphQL
      experiments, GET parameters, logs and metric data pages; GEN 5 or 6
      for the REST prefix) and fail unless the parameters, every point and
      every log line's metadata have exactly the members (at every depth)
      that the layout DIR's have, or when there is nothing to look at
Standard library only.
"""
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from store_shape import EDGE_VALUES, write_layout_experiment  # noqa: E402

NAN, INF = float("nan"), float("inf")
# what the server's log lines hold (tests/emulators/mldash_emu.py, the
# ml-dash client's local mirror)
LOG_MEMBERS = {"id", "experimentId", "sequenceNumber", "timestamp", "level", "message",
               "metadata", "createdAt"}


def layout(root):
    params = {"lr": 1.0, "n": 3, "nan": NAN, "neg0": -0.0, "inf": -INF,
              "big": 18446744073709551615, "i64": -9223372036854775808,
              "_xport": {"lr": "f"}, "_xport_types": {"x": 1.0},
              "model": {"depth": 2.0, "layers": [64, 1.0], "_xport": {"o": 1}}}
    edge = [{"index": i, "data": {"value": v, "step": i}} for i, v in enumerate(EDGE_VALUES)]
    whole = [{"index": i, "data": {"loss": NAN if i % 7 == 3 else float(i) / (1 + i % 2),
                                   "epoch": float(i // 10)}} for i in range(60)]
    fake = [{"index": i, "data": {"a": i, "_xport": {"a": "f"}}} for i in range(3)]
    ints = [{"index": i, "data": {"x": i, "s": "NaN" if i == 1 else "w"}} for i in range(5)]
    mixed = [{"index": i, "data": {"v": [0, 0.5, 1.0, 2, NAN, "NaN", 2 ** 62, 3.0][i % 8]}}
             for i in range(40)]
    logs = [{"sequenceNumber": i, "timestamp": "2026-01-02T03:04:%02dZ" % i, "level": "info",
             "message": "line %d" % i, "metadata": {"step": float(i), "lr": 0.5}}
            for i in range(12)]
    logs += [
        {"sequenceNumber": 12, "timestamp": "2026-01-02T03:05:00Z", "level": "warn",
         "stream": "stderr", "message": "from stderr"},
        {"sequenceNumber": 13, "message": "no level, no time"},
        {"sequenceNumber": 14, "timestamp": "2026-01-02T03:05:01Z", "level": "info",
         "message": "fake marker", "metadata": {"a": 1, "_xport": {"a": "f"}}},
        {"sequenceNumber": 15, "timestamp": "2026-01-02T03:05:02Z", "level": "info",
         "message": "fake extras", "metadata": {"_xport_log": {"stream": "x"}}},
        {"sequenceNumber": 16, "timestamp": "2026-01-02T03:05:03Z", "level": "debug",
         "message": "values", "metadata": {"v": [1, NAN], "big": 2 ** 63, "z": -0.0}},
    ]
    write_layout_experiment(
        root, {"workspace": "tom", "project": "marks", "name": "all-kinds",
               "status": "COMPLETED", "metadata": {"k": 1.0, "_xport_types": "mine",
                                                   "_xport": {"o": 1}}},
        params=params,
        metrics=[("edge", edge, {"description": "every edge value",
                                 "metadata": {"unit": 1.0, "_xport_types": 5}}),
                 ("whole", whole, {}), ("fake", fake, {}), ("ints", ints, {}),
                 ("mixed", mixed, {})],
        logs=logs)
    write_layout_experiment(
        root, {"workspace": "tom", "project": "marks", "name": "plain", "status": "COMPLETED"},
        params={"lr": 0.5}, metrics=[("loss", [{"index": 0, "data": {"v": 0.25}}], {})],
        logs=[{"sequenceNumber": 0, "timestamp": "2026-01-02T03:04:00Z", "level": "info",
               "message": "hi"}])


def keys(o):
    """The members of o at every depth (values aside)."""
    if isinstance(o, dict):
        return {k: keys(v) for k, v in o.items()}
    return None


def source(root):
    """{experiment name: (parameters, [point data per metric], [log lines])}."""
    out = {}
    for d, _, fs in os.walk(root):
        if "experiment.json" not in fs:
            continue
        def load(rel, lines=False):
            p = os.path.join(d, rel)
            if not os.path.exists(p):
                return None
            with open(p, encoding="utf-8") as f:
                return [json.loads(l) for l in f if l.strip()] if lines else json.load(f)
        ej = load("experiment.json")
        prm = load("parameters.json")
        metrics = {}
        for m in os.listdir(os.path.join(d, "metrics")) if os.path.isdir(
                os.path.join(d, "metrics")) else ():
            md = load(os.path.join("metrics", m, "metadata.json"))
            metrics[md["name"]] = [p["data"] for p in load(os.path.join("metrics", m,
                                                                       "data.jsonl"), True)]
        out[ej["name"]] = (prm["data"] if prm else None, metrics,
                           load(os.path.join("logs", "logs.jsonl"), True) or [])
    return out


def check(url, gen, root):
    src = source(root)
    def call(method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = "Bearer " + token
        req = urllib.request.Request(url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    tok = call("POST", "/__emu/token", {"username": "tom"})["token"]
    rest = "" if gen == 5 else "/api"
    q = call("POST", "/graphql", {"query": "query P($ns: String) { projects(namespaceSlug: "
                                           "$ns) { slug } }", "variables": {"ns": "tom"}}, tok)
    seen = {"parameters": 0, "points": 0, "logs": 0}
    bad = []

    def look(what, got, want):
        if keys(got) != keys(want):
            bad.append("%s: %s, the source has %s" % (
                what, json.dumps(got, ensure_ascii=False)[:300],
                json.dumps(want, ensure_ascii=False, default=str)[:300]))

    for p in q["data"]["projects"]:
        e = call("POST", "/graphql", {
            "query": "query E($ns: String, $p: String) { experiments(namespaceSlug: $ns, "
                     "projectSlug: $p) { id name metrics { name } } }",
            "variables": {"ns": "tom", "p": p["slug"]}}, tok)
        for x in e["data"]["experiments"]:
            base = "%s/experiments/%s" % (rest, x["id"])
            sp, sm, sl = src[x["name"]]
            prm = call("GET", base + "/parameters", token=tok)
            if prm is not None:
                seen["parameters"] += len(prm["data"])
                look("parameters of %s" % x["name"], prm["data"], sp)
            off = 0
            while True:
                lg = call("GET", base + "/logs?limit=1000&offset=%d&orderBy=sequenceNumber"
                                        "&order=asc" % off, token=tok)
                for i, line in enumerate(lg["logs"]):
                    look("log line %d of %s" % (off + i, x["name"]), line.get("metadata"),
                         sl[off + i].get("metadata"))
                    extra = set(line) - LOG_MEMBERS
                    if extra:
                        bad.append("log line %d of %s has %s" % (off + i, x["name"], extra))
                seen["logs"] += len(lg["logs"])
                off += len(lg["logs"])
                if not lg["logs"] or not lg.get("hasMore"):
                    break
            for m in x["metrics"]:
                start = 0
                while True:
                    d = call("GET", base + "/metrics/%s/data?startIndex=%d&limit=1000" % (
                        urllib.request.quote(m["name"], safe=""), start), token=tok)
                    for i, pt in enumerate(d["data"]):
                        look("point %d of %s/%s" % (start + i, x["name"], m["name"]),
                             pt["data"], sm[m["name"]][start + i])
                    seen["points"] += len(d["data"])
                    start += len(d["data"])
                    if not d["data"] or not d.get("hasMore"):
                        break
    if bad:
        print("xport markers where ml-dash's client shows the user's data:", file=sys.stderr)
        for b in bad:
            print("  " + b, file=sys.stderr)
        return 1
    if not all(seen.values()):
        print("nothing to look at: %s" % seen, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--layout":
        layout(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) == 5 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
