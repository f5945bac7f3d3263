"""Hostile answers for every vendor emulator (issue 16), switched on through /__emu/hostile.

Standard library only. install(Handler) wraps an emulator's handler class (one line in each
*_emu.py); the emulator's own routes then answer as before unless a hostile rule matches the
request. A rule is a JSON object:

  match:  "method", "path" (regex on the path), "query" (regex on the query string), "body"
          (regex on the request body, e.g. a GraphQL operation name), "skip" (let the first N
          matches pass), "count" (fire at most N times; default: always)
  answer, one of:
    "sub": [{"re": REGEX, <with>}, ...]  the emulator's own answer, each match of REGEX in its
          body (bytes, read as Latin-1) replaced by <with>: "text" (UTF-8; a template where
          \\1 names the regex's first group), "hex" (raw bytes, e.g. "fffe" for invalid
          UTF-8), "nest" N (N "[" then N "]": JSON nested N levels), "digits" N (a
          number of N digits) or "dense" N (an array of N zeros); Content-Length follows the new body; "hits" counts the
          replacements made
    "redirect": 302|307  a redirect to the same path and query on the sink (below)
    "endless": TEXT       200, chunked, "prefix" then TEXT repeated until the client closes
          (or "limit" bytes, 256 MiB by default, so a client that never stops cannot fill a
          disk), then "suffix" (which can make the answer complete JSON); the rule counts its
          "answers", the bytes "sent" and the "longest" answer
    "declare": N          200 with Content-Length N (e.g. 4 GiB) but only "text" sent, then
          the connection closed
  "ctype" sets the Content-Type of redirect/endless/declare answers (application/json).

The sink is a second server on 127.0.0.2 (another host, another port): it answers every
request 404 and records its method, path and headers, so a test can check that a client
following a redirect to another host sent no credentials there.

Control: POST /__emu/hostile {"rules": [...]} adds rules; GET returns the rules (with
"fired" and "sent"), the sink's address and the requests it saw; DELETE removes the rules and
the sink's records.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import emuhttp

SINK_HOST = "127.0.0.2"
RULE_KEYS = {"method", "path", "query", "body", "skip", "count", "sub", "redirect",
             "endless", "prefix", "suffix", "limit", "declare", "text", "ctype"}
SUB_KEYS = {"re", "text", "hex", "nest", "digits", "dense"}


class _SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            self.rfile.read(n)
        with self.server.state.lock:
            self.server.state.seen.append({"method": self.command, "path": self.path,
                                           "headers": dict(self.headers.items())})
        data = b'{"error":"not found on the sink host"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.seen = []
        self.sink = None
        self.faults_fired = 0

    def sink_port(self):
        with self.lock:
            if self.sink is None:
                srv = ThreadingHTTPServer((SINK_HOST, 0), _SinkHandler)
                srv.daemon_threads = True
                srv.state = self
                threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                                 daemon=True).start()
                self.sink = srv
            return self.sink.server_address[1]

    def add(self, body):
        rules = body if isinstance(body, list) else body.get("rules", [body])
        for r in rules:
            unknown = set(r) - RULE_KEYS
            if unknown:
                raise ValueError("unknown hostile rule keys: %s" % sorted(unknown))
            answers = [k for k in ("sub", "redirect", "endless", "declare") if k in r]
            if len(answers) != 1:
                raise ValueError("a hostile rule needs one of sub, redirect, endless, declare")
            for s in r.get("sub", []):
                if set(s) - SUB_KEYS or "re" not in s:
                    raise ValueError("bad sub %r" % (s,))
                re.compile(s["re"])
            for k in ("path", "query", "body"):
                re.compile(r.get(k, ""))
            r = dict(r, fired=0, seen=0, sent=0)
            if "body" in r:
                r["operation"] = r["body"]
            with self.lock:
                self.rules.append(r)
        return self.report()

    def report(self):
        port = self.sink_port()
        with self.lock:
            return {"rules": self.rules, "sink": "http://%s:%d" % (SINK_HOST, port),
                    "sinkSeen": list(self.seen)}

    # emuhttp.match_fault matches these rules as it does faults: the rules are its
    # "faults", and a rule's "body" regex is its "operation" (the body as Latin-1 text)
    @property
    def stats_lock(self):
        return self.lock

    @property
    def faults(self):
        return self.rules

    def match(self, method, path, query, body):
        return emuhttp.match_fault(self, method, path, query, body.decode("latin-1"))


def _with(s):
    if "hex" in s:
        return bytes.fromhex(s["hex"])
    if "nest" in s:
        return b"[" * int(s["nest"]) + b"]" * int(s["nest"])
    if "digits" in s:
        return b"1" + b"0" * (int(s["digits"]) - 1)
    if "dense" in s:
        return b"[" + b"0," * (int(s["dense"]) - 1) + b"0]"
    return s.get("text", "").encode("utf-8")


def rewrite(rule, data):
    """The body with the rule's substitutions made."""
    text = data.decode("latin-1")
    for s in rule["sub"]:
        rep = _with(s).decode("latin-1")
        if "text" in s:  # a template (\1: the first group)
            text, n = re.subn(s["re"], lambda m, t=rep: m.expand(t), text)
        else:
            text, n = re.subn(s["re"], lambda _m, r=rep: r, text)
        rule["hits"] = rule.get("hits", 0) + n
    return text.encode("latin-1")


def _answer(h, st, rule):
    """Send a redirect, endless or lying-length answer for rule."""
    ctype = rule.get("ctype") or "application/json"
    h.close_connection = True
    if "redirect" in rule:
        loc = "http://%s:%d%s" % (SINK_HOST, st.sink_port(), h.path)
        h.send_response(int(rule["redirect"]))
        h.send_header("Location", loc)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return
    if "declare" in rule:
        data = rule.get("text", "").encode("utf-8")
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(int(rule["declare"])))
        h.end_headers()
        try:
            h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            pass
        return
    h.send_response(200)
    h.send_header("Content-Type", ctype)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    fill = rule["endless"].encode("utf-8") or b"0"
    block = fill * max(1, 65536 // len(fill))
    limit = int(rule.get("limit") or (256 << 20))
    sent = 0
    with st.lock:
        rule["answers"] = rule.get("answers", 0) + 1
    try:
        first = rule.get("prefix", "").encode("utf-8")
        while sent < limit:
            chunk = first + block
            first = b""
            h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            with st.lock:
                rule["sent"] += len(chunk)
                rule["longest"] = max(rule.get("longest", 0), sent)
        last = rule.get("suffix", "").encode("utf-8")
        if last:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(last), last))
        h.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass


def install(handler_cls):
    """Give an emulator's handler class the hostile rules (see the module's docstring)."""
    orig_handle = handler_cls.handle_request
    orig_send = handler_cls.send_parts
    orig_read = handler_cls.read_raw_body

    def state(h):
        srv = h.server
        if not hasattr(srv, "hostile"):
            srv.hostile = State()
        return srv.hostile

    def read_raw_body(self):
        body = getattr(self, "_hostile_body", None)
        if body is not None:
            self._hostile_body = None
            return body
        return orig_read(self)

    def send_parts(self, status, parts, ctype, headers=None, drop_after=None):
        rule = getattr(self, "_hostile_sub", None)
        if rule is not None:
            self._hostile_sub = None
            parts = [rewrite(rule, b"".join(parts))]
        return orig_send(self, status, parts, ctype, headers, drop_after)

    def handle_request(self):
        st = state(self)
        u = urlsplit(self.path)
        self._hostile_sub = None
        try:
            body = orig_read(self)
        except (ValueError, OSError):
            self.close_connection = True
            return
        if u.path == "/__emu/hostile":
            try:
                if self.command == "POST":
                    out = st.add(json.loads(body or b"{}"))
                elif self.command == "DELETE":
                    with st.lock:
                        st.rules, st.seen = [], []
                    out = {"ok": True}
                else:
                    out = st.report()
                code = 200
            except (ValueError, TypeError, AttributeError, re.error) as e:
                out, code = {"error": "bad hostile rule: %s" % e}, 400
            data = json.dumps(out).encode()
            return orig_send(self, code, [data], "application/json")
        rule = None if u.path.startswith("/__emu/") else \
            st.match(self.command, u.path, u.query, body)
        if rule is not None and "sub" not in rule:
            return _answer(self, st, rule)
        self._hostile_sub = rule
        self._hostile_body = body
        return orig_handle(self)

    handler_cls.handle_request = handle_request
    handler_cls.send_parts = send_parts
    handler_cls.read_raw_body = read_raw_body
    return handler_cls
