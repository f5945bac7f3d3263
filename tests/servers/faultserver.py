#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 server on 127.0.0.1 for the HTTP engine's tests
and benchmark. Standard library only.

Prints "PORT <n>" as its first line, then serves until SIGTERM, --max-seconds
or --max-requests, whichever comes first.

Content
  /bytes/<n>?seed=S   n deterministic bytes: 64 KiB blocks, block k is the
                      base pattern of S with its first 8 bytes replaced by k
                      (little endian); base[j] = (j*31 + S*7 + (j>>8)*13) & 255
  /json/<any>         {"path", "count", "query"}
  /echo               the request as JSON: method, path, query, headers,
                      body_len, body_sha256, body (latin-1, first 64 KiB)
  /redirect?to=URL[&code=302]
  /status/<code>[?msg=text | ?raw=text]   JSON {"message"} or raw text
  /__stats[?tag=K]    {"count" (of K), "total", "in_flight", "max_in_flight"}
  /__reset            forget all counts

Faults, from the query of any request. Requests are counted per `tag`
(default: the path); `times=K` limits a fault to the first K requests of the
tag (default: all).
  delay=MS            sleep before answering (every request)
  fail=STATUS         answer STATUS with a JSON error body
  retry_after=V       with fail: a Retry-After header of V (seconds)
  retry_after_date=S  with fail: Retry-After as an HTTP date S seconds ahead
  truncate=B          /bytes: full Content-Length, B bytes, then close
  drop=B              /bytes: chunked, B bytes, then reset the connection
  corrupt=1           /bytes: one byte flipped in the middle
  md5=1 | badmd5=1    /bytes: a right or wrong Content-MD5 header
"""
import base64
import email.utils
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "emulators"))
import emuhttp  # noqa: E402 (request body reading, shared with the emulators)

BLOCK = 65536
_bases = {}
_bases_lock = threading.Lock()


ROW0 = bytes((lo * 31) & 255 for lo in range(256))
SHIFT = [bytes((v + c) & 255 for v in range(256)) for c in range(256)]


def base_block(seed):
    # base[j] = (lo*31 + hi*13 + seed*7) & 255 with j = hi*256 + lo, since
    # j*31 = hi*256*31 + lo*31; built a row at a time so a new seed is cheap
    with _bases_lock:
        b = _bases.get(seed)
        if b is None:
            b = b"".join(ROW0.translate(SHIFT[(hi * 13 + seed * 7) & 255])
                         for hi in range(256))
            _bases[seed] = b
        return b


def gen_chunks(n, seed, chunk=1 << 20):
    """Yield the content of /bytes/<n>?seed=S in pieces of about chunk."""
    base = base_block(seed)
    tail = base[8:]
    k, left, out = 0, n, []
    size = 0
    while left > 0:
        blk = struct.pack("<Q", k) + tail
        piece = blk if left >= BLOCK else blk[:left]
        out.append(piece)
        size += len(piece)
        left -= len(piece)
        k += 1
        if size >= chunk:
            yield b"".join(out)
            out, size = [], 0
    if out:
        yield b"".join(out)


def gen_all(n, seed):
    return b"".join(gen_chunks(n, seed))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.counts = {}
        self.total = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def enter(self, key):
        with self.lock:
            self.total += 1
            self.counts[key] = self.counts.get(key, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.counts[key], self.total

    def leave(self):
        with self.lock:
            self.in_flight -= 1


STATS = Stats()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections do not pin a thread forever
    # headers and body go out in separate writes: without this, Nagle and
    # delayed ACKs add ~40 ms to every small response
    disable_nagle_algorithm = True
    counted = False  # this request is in STATS.in_flight
    server_version = "faultserver/1"

    def log_message(self, fmt, *args):
        pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass  # the connection was dropped on purpose

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout):
            self.close_connection = True

    # -- helpers -----------------------------------------------------------
    def read_body(self):
        return emuhttp.read_body(self.rfile, self.headers)

    def uncount(self):
        """Leave the in-flight count once the headers are out: the client
        is still busy with this request then, so the count never exceeds
        the client's own (a count left after the last byte would overlap
        the client's next request on another connection)."""
        if self.counted:
            self.counted = False
            STATS.leave()

    def send(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.uncount()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=()):
        self.send(status, json.dumps(obj).encode(), headers=headers)

    # -- dispatch ------------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def dispatch(self):
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        body = self.read_body()
        if u.path == "/__stats":
            with STATS.lock:
                self.send_json(200, {
                    "count": STATS.counts.get(q.get("tag", ""), 0),
                    "total": STATS.total,
                    "in_flight": STATS.in_flight,
                    "max_in_flight": STATS.max_in_flight})
            return
        if u.path == "/__reset":
            with STATS.lock:
                STATS.reset()
            self.send_json(200, {"ok": True})
            return
        key = q.get("tag", u.path)
        n, total = STATS.enter(key)
        self.counted = True
        try:
            if total > self.server.max_requests:
                self.server.stop()
            self.route(u, q, n, body)
        finally:
            self.uncount()

    def route(self, u, q, n, body):
        faulty = n <= int(q.get("times", "1000000000"))
        if "delay" in q:
            time.sleep(int(q["delay"]) / 1000.0)
        if faulty and "fail" in q:
            st = int(q["fail"])
            hdrs = []
            if "retry_after" in q:
                hdrs.append(("Retry-After", q["retry_after"]))
            if "retry_after_date" in q:
                when = time.time() + float(q["retry_after_date"])
                hdrs.append(("Retry-After",
                             email.utils.formatdate(when, usegmt=True)))
            self.send_json(st, {"error": "injected %d" % st,
                                "message": q.get("msg", "")}, hdrs)
            return
        p = u.path
        if p.startswith("/bytes/"):
            self.bytes(int(p[7:]), q, faulty)
        elif p.startswith("/json/"):
            self.send_json(200, {"path": p, "count": n, "query": q})
        elif p == "/echo":
            hdrs = {}
            for k, v in self.headers.items():
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
            self.send_json(200, {
                "method": self.command, "path": p, "query": q,
                "headers": hdrs, "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body": body[:65536].decode("latin-1")})
        elif p == "/redirect":
            self.send(int(q.get("code", "302")), b"",
                      headers=[("Location", q.get("to", "/"))])
        elif p.startswith("/status/"):
            st = int(p[8:])
            if "raw" in q:
                self.send(st, q["raw"].encode(), "text/plain")
            else:
                self.send_json(st, {"message": q.get("msg", "status %d" % st)})
        else:
            self.send_json(404, {"error": "no such path '%s'" % p})

    def bytes(self, size, q, faulty):
        seed = int(q.get("seed", "0"))
        hdrs = []
        if "md5" in q or "badmd5" in q:
            digest = hashlib.md5(gen_all(size, seed)).digest()
            if faulty and "badmd5" in q:
                digest = hashlib.md5(digest).digest()
            hdrs.append(("Content-MD5", base64.b64encode(digest).decode()))
        if faulty and "drop" in q:
            self.drop(size, seed, int(q["drop"]))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        for k, v in hdrs:
            self.send_header(k, v)
        self.end_headers()
        self.uncount()
        if self.command == "HEAD":
            return
        limit = int(q["truncate"]) if faulty and "truncate" in q else size
        corrupt = faulty and "corrupt" in q
        sent = 0
        for chunk in gen_chunks(size, seed):
            if corrupt and sent <= size // 2 < sent + len(chunk):
                b = bytearray(chunk)
                b[size // 2 - sent] ^= 0xFF
                chunk = bytes(b)
            if sent + len(chunk) > limit:
                chunk = chunk[:limit - sent]
            self.wfile.write(chunk)
            sent += len(chunk)
            if sent >= limit:
                break
        if limit < size:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def drop(self, size, seed, upto):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.uncount()
        data = gen_all(min(size, upto), seed)
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
        self.close_connection = True
        # SO_LINGER 0: close with a reset, as a crashed peer would
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    max_requests = 1000000

    def stop(self):
        threading.Thread(target=self.shutdown, daemon=True).start()


def main(argv):
    max_seconds, max_requests = 600.0, 1000000
    it = iter(argv)
    for a in it:
        if a == "--max-seconds":
            max_seconds = float(next(it))
        elif a == "--max-requests":
            max_requests = int(next(it))
        else:
            sys.stderr.write("faultserver: unknown argument %r\n" % a)
            return 2
    srv = Server(("127.0.0.1", 0), Handler)
    srv.max_requests = max_requests
    signal.signal(signal.SIGTERM, lambda *_: srv.stop())
    timer = threading.Timer(max_seconds, srv.stop)
    timer.daemon = True
    timer.start()
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        timer.cancel()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
