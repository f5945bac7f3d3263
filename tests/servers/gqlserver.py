#!/usr/bin/env python3
"""A tiny GraphQL server on 127.0.0.1 for the tests of core/graphql.c.
Standard library only; it understands just the few documents the tests send.

Prints "PORT <n>" as its first line, then serves until SIGTERM.

POST /<scenario>/graphql with {"query", "variables"[, "operationName"]}.
The scenario is a comma-separated list of options; requests are counted and
recorded per scenario (tests use a fresh one each).
  rl=K          the first K requests answer 200 with a rate-limit error
  err=TEXT      every request answers 200 with the error message TEXT
                (underscores read as spaces)
  n=N           the list has N items (default 7)
  stuck=1       Relay: every page says hasNextPage with the first cursor
  nocursor=1    Relay: hasNextPage without endCursor
  fields=a.b    the fields of type Thing (default a.b)
  args=x.y      the arguments of Query.thing (default none)
  nointro=1     introspection is refused
  status=S      errors (not rate limits) are answered with HTTP status S
  oldargs=1     unknown arguments are named graphql-js 15 style
                (`on field "thing" of type "Query"`)

Documents, told apart by their first field:
  echo          {"echo": {"query", "variables", "operationName"}}
  items(first: $n, after: $c) { edges { node { i } } pageInfo { endCursor
                hasNextPage } }   Relay paging over N items; `cursor` on an
                edge is rejected as W&B's public client never asks for it
  rows(limit: $l, offset: $o) { i }   offset paging over N items
  thing[(args)] { fields }   Thing has only the fields of `fields=`
  __type(name: "Thing") { fields { name } }   introspection

GET /__log?s=<scenario>   {"queries": [every document received, in order]}
"""
import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LOCK = threading.Lock()
LOG = {}


def opts_of(scenario):
    out = {}
    for part in unquote(scenario).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def cursor_of(i):
    return base64.b64encode(("item:%d" % i).encode()).decode()


def index_of(cursor):
    return int(base64.b64decode(cursor).decode().split(":")[1])


def err(msg, code=None):
    e = {"message": msg}
    if code:
        e["extensions"] = {"code": code}
    return {"errors": [e], "data": None}


def selection(query, field):
    """The arguments text and the words of the selection of `field`."""
    m = re.search(r"\b%s\b\s*(\(([^)]*)\))?\s*\{([^}]*)\}" % field, query)
    if not m:
        return None, []
    return m.group(2) or "", re.findall(r"[A-Za-z_]\w*", m.group(3))


def answer(o, query, variables):
    n = int(o.get("n", "7"))
    if re.search(r"\becho\b", query):
        return {"data": {"echo": {"query": query, "variables": variables}}}
    if "__type" in query:
        if o.get("nointro"):
            return err("GraphQL introspection is not allowed")
        name = re.search(r'__type\(name:\s*"(\w+)"\)', query).group(1)
        if name != "Thing":
            return {"data": {"__type": None}}
        return {"data": {"__type": {"fields": [
            {"name": f} for f in o.get("fields", "a.b").split(".")]}}}
    if re.search(r"\bitems\b", query):
        if re.search(r"(?<![\w$])cursor\b", query):
            return err('Cannot query field "cursor" on type "ItemEdge".')
        first = variables.get("first", 50)
        after = variables.get("after")
        start = index_of(after) + 1 if after else 0
        if o.get("stuck"):
            start = 0
        end = min(n, start + first)
        more = end < n
        page = {"edges": [{"node": {"i": i}} for i in range(start, end)],
                "pageInfo": {"endCursor": cursor_of(end - 1) if end > start
                             else after, "hasNextPage": more}}
        if o.get("stuck"):
            page["pageInfo"] = {"endCursor": cursor_of(first - 1),
                                "hasNextPage": True}
        if o.get("nocursor"):
            page["pageInfo"] = {"endCursor": None, "hasNextPage": True}
        return {"data": {"items": page}}
    if re.search(r"\brows\b", query):
        limit, offset = variables["limit"], variables["offset"]
        return {"data": {"rows": [{"i": i} for i in
                                  range(offset, min(n, offset + limit))]}}
    if re.search(r"\bthing\b", query):
        args, words = selection(query, "thing")
        have = o.get("fields", "a.b").split(".")
        for w in words:
            if w not in have:
                return err('Cannot query field "%s" on type "Thing".' % w)
        known = [a for a in o.get("args", "").split(".") if a]
        for a in re.findall(r"(\w+)\s*:", args or ""):
            if a not in known:
                if o.get("oldargs"):
                    return err('Unknown argument "%s" on field "thing" of '
                               'type "Query".' % a)
                return err('Unknown argument "%s" on field "Query.thing".' % a)
        return {"data": {"thing": {w: w.upper() for w in words}}}
    return err("no such document")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/__log":
            s = parse_qs(u.query).get("s", [""])[0]
            with LOCK:
                return self.send(200, {"queries": list(LOG.get(s, []))})
        self.send(404, {"message": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 2 or parts[1] != "graphql":
            return self.send(404, {"message": "not found"})
        scenario = parts[0]
        o = opts_of(scenario)
        query = req.get("query", "")
        with LOCK:
            log = LOG.setdefault(scenario, [])
            log.append(query)
            count = len(log)
        if count <= int(o.get("rl", "0")):
            return self.send(200, err("rate limit exceeded", "RATE_LIMITED"))
        status = int(o.get("status", "200"))
        if "err" in o:
            return self.send(status, err(unquote(o["err"]).replace("_", " ")))
        res = answer(o, query, req.get("variables") or {})
        self.send(status if "errors" in res else 200, res)


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
