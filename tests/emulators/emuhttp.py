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
"""
import os
import re
import signal
import socket
import sys
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

    def send_parts(self, status, parts, ctype, headers=None, drop_after=None):
        """Answer with the concatenated parts; with drop_after, cut the body
        after that many bytes and close the connection."""
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
            status, rname, opname = serve()
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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def serve(emu, handler, port):
    """Serve on 127.0.0.1:port (0 = any) until SIGTERM or SIGINT."""
    srv = Server(("127.0.0.1", port), handler)
    srv.emu = emu

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
