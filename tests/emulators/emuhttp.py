"""The HTTP plumbing the vendor emulators share (mldash_emu.py, wandb_emu.py and their modules).

Standard library only. Each emulator keeps its routes, its answers and its own
control endpoints (the shared ones are in emucontrol.py); this module holds
what does not depend on the vendor: reading a request body, sending one
(whole, cut after N bytes, or not at all), the fault rules and their
matching, the request statistics, and the server loop that prints "PORT <n>"
as its only stdout line.

An emulator object passed here has: opts.verbose, stats_lock, faults,
faults_fired, inflight, max_inflight, req_total, by_route, by_status, recent
and cfg (a dict; cfg["record_bodies"] keeps request bodies in `recent`).

The network fault schedule (class Schedule below) is the one every emulator
shares: enabled by --schedule or POST /__emu/config {"schedule": {...}}, it
faults 1 request in `every` of those that reach serve_counted (never a
/__emu control call).
"""
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def read_body(rfile, headers):
    """A request's body, chunked or by Content-Length (tests/servers'
    fault server reads bodies through this too)."""
    te = (headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        out = bytearray()
        while True:
            line = rfile.readline(65537)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            out += rfile.read(size)
            rfile.readline(65537)
        return bytes(out)
    n = int(headers.get("Content-Length") or 0)
    return rfile.read(n) if n > 0 else b""


class Handler(BaseHTTPRequestHandler):
    """Base request handler; subclasses set NAME and define handle_request()."""
    protocol_version = "HTTP/1.1"
    sys_version = ""
    NAME = "emu"
    # Node's http server (ml-dash; noDelay defaults to true since
    # nodejs/node#42163) and Go's net package (W&B) set TCP_NODELAY on every
    # connection; without it, a body written after its headers waits for the
    # client's delayed ACK (40 ms on Linux) and each request looks slower.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.emu.opts.verbose:
            sys.stderr.write(self.NAME + ": " + (fmt % args) + "\n")

    def read_raw_body(self):
        return read_body(self.rfile, self.headers)

    def do_GET(self):
        self.handle_request()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # Regexes of request paths whose bodies the API gives a checksum for
    # elsewhere (in a listing, not in this response's headers): the
    # schedule's "checksum" fault applies to them (set per emulator).
    CHECKSUM_PATHS = ()

    def send_parts(self, status, parts, ctype, headers=None, drop_after=None):
        """Answer with the concatenated parts; with drop_after, cut the body
        after that many bytes and close the connection."""
        sched, self.sched_kind = getattr(self, "sched_kind", None), None
        if sched is not None:
            return sched_send(self, sched, status, parts, ctype, headers or {})
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(sum(len(p) for p in parts)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command == "HEAD":
            return status
        if drop_after is not None:
            left = int(drop_after)
            for p in parts:
                if left <= 0:
                    break
                self.wfile.write(p[:left])
                left -= len(p[:left])
            self.abort()
            return status
        for p in parts:
            mv = memoryview(p)
            for i in range(0, len(mv), 1 << 20):
                self.wfile.write(mv[i:i + (1 << 20)])
        return status

    def abort(self):
        """Close the connection at once (a reset or a cut body)."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def serve_counted(self, emu, method, path, query, body, serve):
        """Run serve() -> (status, route, operation) and count the request."""
        with emu.stats_lock:
            emu.inflight += 1
            emu.max_inflight = max(emu.max_inflight, emu.inflight)
        status, rname, opname = 0, None, None
        t0 = time.time()
        try:
            status, rname, opname = sched_serve(self, emu, method, path, serve)
        finally:
            with emu.stats_lock:
                emu.inflight -= 1
                emu.req_total += 1
                key = "%s %s" % (method, rname or "(unmatched)")
                emu.by_route[key] = emu.by_route.get(key, 0) + 1
                if opname and hasattr(emu, "by_op"):
                    emu.by_op[opname] = emu.by_op.get(opname, 0) + 1
                emu.by_status[str(status)] = emu.by_status.get(str(status), 0) + 1
                rec = {"method": method, "path": path, "query": query,
                       "status": status, "route": rname,
                       "ms": round((time.time() - t0) * 1000, 2)}
                if hasattr(emu, "by_op"):
                    rec["operation"] = opname
                if emu.cfg.get("record_bodies") and len(body) < 65536:
                    rec["body"] = body.decode("utf-8", "replace")
                emu.recent.append(rec)
                if len(emu.recent) > 5000:
                    del emu.recent[:1000]


def settle(emu, limit=5.0):
    """A response is sent before its request is counted: let the requests
    in flight finish their counting (control calls that read or reset the
    statistics call this first)."""
    t_end = time.time() + limit
    while emu.inflight and time.time() < t_end:
        time.sleep(0.005)


def match_fault(emu, method, path, query, operation=None):
    """The first fault rule this request fires, counting it, or None."""
    with emu.stats_lock:
        for r in list(emu.faults):
            if r.get("method") and r["method"].upper() != method:
                continue
            if r.get("path") and not re.search(r["path"], path):
                continue
            if r.get("query") and not re.search(r["query"], query):
                continue
            if r.get("operation") and not re.search(r["operation"], operation or ""):
                continue
            r["seen"] += 1
            if r["seen"] <= int(r.get("skip") or 0):
                continue
            cnt = r.get("count")
            if cnt is not None and cnt >= 0 and r["fired"] >= cnt:
                continue
            r["fired"] += 1
            emu.faults_fired += 1
            return r
    return None


def add_faults(emu, body, keys, bad):
    """POST /__emu/faults: a rule, a list of rules or {"rules": [...]};
    bad(message) makes the 400 error raised for an unknown key."""
    rules = body if isinstance(body, list) else body.get("rules", [body])
    for r in rules:
        unknown = set(r) - set(keys)
        if unknown:
            raise bad("unknown fault keys: %s" % sorted(unknown))
        r = dict(r)
        re.compile(r.get("path", ""))
        re.compile(r.get("operation", ""))
        r.setdefault("count", 1)
        r["fired"] = 0
        r["seen"] = 0
        emu.faults.append(r)
    return {"faults": emu.faults}


# --------------------------------------------------------------------------
# The network fault schedule (issue 16): one for every emulator
# --------------------------------------------------------------------------

SCHEDULE_KINDS = ("503", "429", "reset", "cut", "checksum", "slow")
SCHEDULE_KEYS = ("every", "seed", "kinds", "retry_after", "slow_s", "limit", "path")


class Schedule:
    """Faults request n (1, 2, ... in arrival order, control calls not
    counted) when (n + seed) % every == 0, with the kind
    kinds[((n + seed) // every + seed) % len(kinds)], so that a run cycles
    through every kind. The kinds:

    503       a 503 with an error body, before the request is served
    429       a 429 with Retry-After (retry_after s), before it is served
    reset     the connection closed with SO_LINGER 0 (a TCP reset) before
              any response, the request not served
    cut       the response with its full Content-Length, the connection
              closed after half the body (an empty body: closed before
              the headers, the request having been served)
    checksum  the response with one body byte flipped, when the API gives a
              checksum of that body (a digest header such as X-Goog-Hash or
              Content-MD5, or a path in the handler's CHECKSUM_PATHS); any
              other response gets "cut" instead
    slow      the headers, then one body byte every 0.1 s for slow_s s
              (below any useful --low-speed-limit), then the rest

    `limit` (optional) stops faulting after that many faults; `path`
    (optional, a regex searched in the request path) limits the schedule to
    the requests it matches (the others are neither counted nor faulted)."""

    def __init__(self, spec):
        if isinstance(spec, str):
            spec = json.loads(spec)
        unknown = set(spec) - set(SCHEDULE_KEYS)
        if unknown:
            raise ValueError("unknown schedule keys: %s" % sorted(unknown))
        self.every = int(spec.get("every", 7))
        self.seed = int(spec.get("seed", 0))
        self.kinds = tuple(str(k) for k in spec.get("kinds") or SCHEDULE_KINDS)
        bad = [k for k in self.kinds if k not in SCHEDULE_KINDS]
        if self.every < 1 or bad:
            raise ValueError("schedule: every must be >= 1, kinds among %s" %
                             ", ".join(SCHEDULE_KINDS))
        self.retry_after = spec.get("retry_after", 1)
        self.slow_s = float(spec.get("slow_s", 3.0))
        self.limit = None if spec.get("limit") is None else int(spec["limit"])
        self.path = re.compile(spec["path"]) if spec.get("path") else None
        self.spec = dict(spec)
        self.lock = threading.Lock()
        self.n = 0
        self.log = []   # {"n", "kind", "method", "path"} per fault

    def next(self, method, path):
        """The kind of fault for the next request, or None."""
        if self.path is not None and not self.path.search(path):
            return None
        with self.lock:
            self.n += 1
            k = self.n + self.seed
            if k % self.every or (self.limit is not None and len(self.log) >= self.limit):
                return None
            kind = self.kinds[(k // self.every + self.seed) % len(self.kinds)]
            self.log.append({"n": self.n, "kind": kind, "method": method, "path": path})
            return kind

    def note(self, kind):
        """What the last fault became ("checksum" falling back to "cut")."""
        with self.lock:
            if self.log:
                self.log[-1]["applied"] = kind

    def stats(self):
        with self.lock:
            by = {}
            for f in self.log:
                k = f.get("applied", f["kind"])
                by[k] = by.get(k, 0) + 1
            return {"spec": self.spec, "requests": self.n, "faulted": len(self.log),
                    "byKind": by, "log": list(self.log)}


def schedule_of(emu):
    return emu.__dict__.get("schedule")


def set_schedule(emu, spec):
    """Install (spec a dict or JSON text) or remove (None) the schedule."""
    emu.__dict__["schedule"] = None if spec is None else Schedule(spec)


def add_args(ap):
    """The command-line flags every emulator takes for the schedule."""
    ap.add_argument("--schedule", default=None, metavar="JSON",
                    help='network fault schedule, e.g. {"every": 7, "seed": 1} '
                         "(README: the fault schedule)")


def reset_link(handler):
    """Close the connection with a TCP reset (SO_LINGER 0), no response."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
    except OSError:
        pass
    # rfile and wfile keep the socket open past close(): take its descriptor
    # away from them and close that, so the reset goes out now
    try:
        os.close(handler.connection.detach())
    except OSError:
        pass


def sched_serve(handler, emu, method, path, serve):
    """serve() under the schedule: the faults that come before a response
    answer here; the others are left to send_parts (handler.sched_kind)."""
    sch = schedule_of(emu)
    kind = sch.next(method, path) if sch is not None else None
    handler.sched_kind = None
    if kind == "reset":
        reset_link(handler)
        return "reset", "(scheduled fault)", None
    if kind in ("503", "429"):
        st = int(kind)
        hdrs = {"Retry-After": sch.retry_after} if st == 429 else {}
        body = json.dumps({"error": "scheduled fault", "statusCode": st,
                           "message": "injected by the fault schedule"}).encode()
        handler.send_parts(st, [body], "application/json", hdrs)
        return st, "(scheduled fault)", None
    handler.sched_kind = kind
    try:
        return serve()
    finally:
        handler.sched_kind = None


def _has_checksum(handler, headers):
    names = {k.lower() for k in headers}
    if names & {"x-goog-hash", "content-md5", "digest", "repr-digest"}:
        return True
    path = handler.path.split("?", 1)[0]
    return any(re.search(rx, path) for rx in handler.CHECKSUM_PATHS)


def sched_send(handler, kind, status, parts, ctype, headers):
    """send_parts under a scheduled fault of kind cut, checksum or slow."""
    data = b"".join(parts)
    sch = schedule_of(handler.server.emu)
    if kind == "checksum":
        if data and 200 <= status < 300 and _has_checksum(handler, headers):
            b = bytearray(data)
            b[len(b) // 2] ^= 0x20
            data = bytes(b)
        else:
            kind = "cut"
        if sch is not None:
            sch.note(kind)
    if kind == "cut" and not data:
        reset_link(handler)
        return status
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(data)))
    for k, v in headers.items():
        handler.send_header(k, str(v))
    if kind == "slow" and not data:
        time.sleep(sch.slow_s if sch is not None else 3.0)
    handler.end_headers()
    if handler.command == "HEAD":
        return status
    try:
        if kind == "cut":
            handler.wfile.write(data[:len(data) // 2])
            handler.abort()
        elif kind == "slow":
            t_end = time.time() + (sch.slow_s if sch is not None else 3.0)
            i = 0
            while i < len(data) and time.time() < t_end:
                handler.wfile.write(data[i:i + 1])
                i += 1
                time.sleep(0.1)
            handler.wfile.write(data[i:])
        else:
            handler.wfile.write(data)
    except OSError:
        handler.close_connection = True
    return status


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def serve(emu, handler, port):
    """Serve on 127.0.0.1:port (0 = any) until SIGTERM or SIGINT."""
    srv = Server(("127.0.0.1", port), handler)
    srv.emu = emu
    if getattr(emu.opts, "schedule", None):
        set_schedule(emu, emu.opts.schedule)

    def stop(*_):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    # The test helper closes its end of the pipe after the first line.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    except OSError:
        pass
    try:
        srv.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        srv.server_close()
