"""The W&B emulator's request handler: auth, rate limits, GraphQL, file_stream and storage."""

import base64
import gzip
import hashlib
import hmac
import json
import math
import re
import sys
import time
import traceback
import zlib
from urllib.parse import parse_qs, unquote, urlsplit

import emuhttp
from gql import gql_execute
from wandb_common import HTTPErr, md5_b64
from wandb_gqlwire import (ALIASES, _gql_resolver_error, encode_response, op_name_of,
    validate_document)
from wandb_store import StoredFile
from wandb_filestream import file_stream
from wandb_schema import Schema
from wandb_control import control


# --------------------------------------------------------------------------
# Request handler
# --------------------------------------------------------------------------

ROUTES = [
    ("POST", re.compile(r"^/graphql$"), "/graphql"),
    ("POST", re.compile(r"^/files/(?P<e>[^/]+)/(?P<p>[^/]+)/(?P<r>[^/]+)/file_stream$"),
     "/files/{entity}/{project}/{run}/file_stream"),
    ("PUT", re.compile(r"^/storage/upload/(?P<tok>[^/]+)$"), "/storage/upload/{token}"),
    ("GET", re.compile(r"^/storage/(?P<key>[^/]+)(?:/.*)?$"), "/storage/{key}"),
    ("GET", re.compile(r"^/files/(?P<e>[^/]+)/(?P<p>[^/]+)/(?P<r>[^/]+)/(?P<name>.+)$"),
     "/files/{entity}/{project}/{run}/{name}"),
    ("GET", re.compile(r"^/artifacts/(?P<e>[^/]+)/(?P<md5>[0-9a-f]{32})$"),
     "/artifacts/{entity}/{hexmd5}"),
    ("GET", re.compile(r"^/healthz$"), "/healthz"),
]


class Handler(emuhttp.Handler):
    server_version = "wandb-emu/1"
    NAME = "wandb_emu"

    def _read_body(self):
        data = self.read_raw_body()
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip" and data:
            data = gzip.decompress(data)
        return data

    def _send(self, status, data, ctype, headers=None, drop_after=None, corrupt=False):
        if corrupt and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            data = bytes(data)
        return self.send_parts(status, [data], ctype, headers, drop_after)

    def _json(self, status, obj, headers=None, drop_after=None, corrupt=False):
        data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        return self._send(status, data, "application/json", headers, drop_after, corrupt)

    def _err(self, e, drop_after=None):
        return self._json(e.status, {"errors": [{"message": e.message}],
                                     "error": e.message}, e.headers, drop_after)

    def handle_request(self):
        emu = self.server.emu
        method = self.command
        u = urlsplit(self.path)
        path = u.path
        q = parse_qs(u.query, keep_blank_values=True)
        try:
            body = self._read_body()
        except (ValueError, OSError, EOFError, zlib.error):
            self.close_connection = True
            return

        if path.startswith("/__emu/"):
            try:
                st, obj = control(emu, method, path, q, body)
                self._json(st, obj)
            except HTTPErr as e:
                self._err(e)
            except (ValueError, KeyError, TypeError, re.error) as e:
                self._json(400, {"error": "bad control request: %r" % (e,)})
            return

        self.serve_counted(emu, method, path, u.query, body,
                           lambda: self._dispatch(emu, method, path, u.query, q, body))

    def _base(self):
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        return "http://" + host

    def _auth(self, emu):
        h = self.headers.get("Authorization") or ""
        if h[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(h[6:].strip()).decode("utf-8").partition(":")
            except Exception:
                user, pw = None, ""
            if hmac.compare_digest(pw.encode(), emu.opts.api_key.encode()):
                return True
        raise HTTPErr(401, "user is not logged in",
                      {"WWW-Authenticate": 'Basic realm="wandb-emu"'})

    def _rate(self, emu, key, limit, window):
        """Fixed-window limiter (wandb.md 1.10).  Returns (ok, headers)."""
        now = time.time()
        with emu.stats_lock:
            start, n = emu.rl.get(key, (now, 0))
            if now - start >= window:
                start, n = now, 0
            n += 1
            emu.rl[key] = (start, n)
            reset = max(1, int(math.ceil(start + window - now)))
            remaining = max(0, limit - n)
            hdrs = {"RateLimit-Remaining": int(1000 * remaining / limit),
                    "RateLimit-Reset": reset}
            if n > limit:
                emu.rate_limited += 1
                hdrs["Retry-After"] = reset
                return False, hdrs
        return True, hdrs

    def _route(self, method, path):
        rname = None
        for m_, rx, pat in ROUTES:
            mm = rx.match(path)
            if mm and m_ == method:
                return pat, mm.groupdict()
            if mm and rname is None:
                rname = pat
        return rname, None

    def _dispatch(self, emu, method, path, query, q, body):
        cfg = emu.cfg
        rname, groups = self._route(method, path)
        opname = None
        gbody = None
        if rname == "/graphql" and groups is not None:
            try:
                gbody = json.loads(body or b"null")
            except ValueError:
                gbody = None
            if isinstance(gbody, dict):
                opname = op_name_of(gbody.get("query"), gbody.get("operationName"))
        if cfg["latency_ms"]:
            time.sleep(cfg["latency_ms"] / 1000.0)
        fault = emuhttp.match_fault(emu, method, path, query, opname)
        drop, corrupt = None, False
        if fault:
            if fault.get("delay_ms"):
                time.sleep(float(fault["delay_ms"]) / 1000.0)
            if fault.get("reset"):
                self.abort()
                return "reset", rname, opname
            if fault.get("status"):
                hdrs = dict(fault.get("headers") or {})
                if fault.get("retry_after") is not None:
                    hdrs["Retry-After"] = fault["retry_after"]
                st = int(fault["status"])
                fb = fault.get("body") or {"errors": [{"message": "injected fault %d" % st}]}
                if isinstance(fb, str):
                    self._send(st, fb.encode(), "text/plain", hdrs, fault.get("drop_after_bytes"))
                else:
                    self._json(st, fb, hdrs, fault.get("drop_after_bytes"))
                return st, rname, opname
            drop = fault.get("drop_after_bytes")
            corrupt = bool(fault.get("corrupt"))
        if groups is None:
            return self._err(HTTPErr(404 if rname is None else 405,
                                     "%s %s not found" % (method, path))), rname, opname
        if cfg["max_body_bytes"] and len(body) > cfg["max_body_bytes"]:
            return self._err(HTTPErr(413, "request entity too large")), rname, opname
        try:
            if rname == "/healthz":
                return self._json(200, {"ok": True}), rname, opname
            if rname.startswith("/storage/"):
                return self._storage(emu, method, rname, groups, body, drop, corrupt), \
                    rname, opname
            self._auth(emu)
            if rname == "/graphql":
                return self._graphql(emu, gbody, opname, drop, corrupt), rname, opname
            if rname.endswith("/file_stream"):
                return self._file_stream(emu, groups, body, drop), rname, opname
            if rname.startswith("/files/"):
                with emu.lock:
                    run = emu.run(unquote(groups["e"]), unquote(groups["p"]),
                                  unquote(groups["r"]))
                    f = run.files.get(unquote(groups["name"])) if run else None
                if f is None:
                    raise HTTPErr(404, "file not found")
                return self._bytes(f.data, f.mimetype, drop, corrupt, f.md5), rname, opname
            if rname.startswith("/artifacts/"):
                data = emu.blobs.get("md5:" + groups["md5"])
                if data is None:
                    raise HTTPErr(404, "object not found")
                return self._bytes(data, "application/octet-stream", drop, corrupt,
                                   md5_b64(data)), rname, opname
            raise HTTPErr(404, "not found")
        except HTTPErr as e:
            return self._err(e), rname, opname
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return 499, rname, opname
        except Exception as e:  # an emulator bug: say so loudly
            traceback.print_exc(file=sys.stderr)
            return self._json(500, {"errors": [{"message": "emulator bug: %r" % (e,)}]}), \
                rname, opname

    def _bytes(self, data, ctype, drop, corrupt, md5=None):
        hdrs = {"ETag": '"%s"' % hashlib.md5(data).hexdigest()}
        if md5:
            hdrs["x-goog-hash"] = "md5=%s" % md5       # GCS-style (cassette, wandb.md 4)
        rng = self.headers.get("Range")
        m = re.match(r"^bytes=(\d*)-(\d*)$", rng or "")
        if m and (m.group(1) or m.group(2)):
            n = len(data)
            if m.group(1):
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else n - 1
            else:
                a, b = max(0, n - int(m.group(2))), n - 1
            if a >= n or a > b:
                hdrs["Content-Range"] = "bytes */%d" % n
                return self._send(416, b"", ctype, hdrs)
            b = min(b, n - 1)
            hdrs["Content-Range"] = "bytes %d-%d/%d" % (a, b, n)
            return self._send(206, data[a:b + 1], ctype, hdrs, drop, corrupt)
        hdrs["Accept-Ranges"] = "bytes"
        return self._send(200, data, ctype, hdrs, drop, corrupt)

    def _storage(self, emu, method, rname, groups, body, drop, corrupt):
        if rname == "/storage/upload/{token}":
            with emu.lock:
                ent = emu.uploads.get(groups["tok"])
                if ent is None:
                    raise HTTPErr(403, "invalid or expired upload URL")
                if ent["kind"] != "run":
                    self._artifact_put(emu, ent, body)
                else:
                    self._run_file_put(emu, ent, body)
            return self._send(200, b"", "text/plain", {"ETag": '"%s"' %
                                                       hashlib.md5(body).hexdigest()})
        with emu.lock:
            ent = emu.storage.get(groups["key"])
            if ent is None:
                raise HTTPErr(404, "no such object")
            kind, obj, name = ent
            if kind == "run":
                f = obj.files.get(name)
                if f is None:
                    raise HTTPErr(404, "no such object")
                data, ctype = f.data, f.mimetype
            elif kind == "manifest":
                data, ctype = obj.manifest_data(), "application/json"
            else:
                data, ctype = emu.blobs[groups["key"]], "application/octet-stream"
        return self._bytes(data, ctype, drop, corrupt, md5_b64(data))

    def _run_file_put(self, emu, ent, body):
        run, name = ent["run"], ent["name"]
        for h in emu.cfg["upload_headers"]:
            k, _, v = h.partition(":")
            if (self.headers.get(k.strip()) or "") != v.strip():
                raise HTTPErr(400, "missing upload header %s" % k)
        cm = self.headers.get("Content-MD5")
        if cm is None and emu.cfg["require_content_md5"]:
            raise HTTPErr(400, "Content-MD5 required")
        if cm is not None and cm.strip() != md5_b64(body):
            raise HTTPErr(400, "Content-MD5 mismatch")
        f = run.files.get(name)
        if f is None:
            run.files[name] = StoredFile(name, body)
        else:
            f.set(body)

    def _artifact_put(self, emu, ent, body):
        """PUT of an artifact file (kept by MD5, as the V1 layout addresses
        it) or of its manifest."""
        for h in ent["headers"]:
            k, _, v = h.partition(":")
            if (self.headers.get(k.strip()) or "").strip() != v.strip():
                raise HTTPErr(400, "missing upload header %s" % k)
        got = md5_b64(body)
        if ent["kind"] == "afile":
            if got != ent["md5"]:
                raise HTTPErr(400, "Content-MD5 mismatch")
            emu.blobs["md5:" + hashlib.md5(body).hexdigest()] = bytes(body)
        else:
            if ent["digest"] and got != ent["digest"]:
                raise HTTPErr(400, "manifest digest mismatch")          # guess
            ent["art"].manifest_bytes = bytes(body)

    def _graphql(self, emu, gbody, opname, drop, corrupt):
        cfg = emu.cfg
        hdrs = {}
        if cfg["rate_limit"]:
            ok, hdrs = self._rate(emu, "gql", cfg["rate_limit"], cfg["rate_window_s"])
            if not ok:
                return self._json(429, {"errors": [{"message": "rate limit exceeded"}]}, hdrs)
        if not isinstance(gbody, dict):
            raise HTTPErr(400, "body must be a JSON object with query and variables")
        variables = gbody.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise HTTPErr(400, "variables must be an object")
        with emu.lock:
            emu.documents.append(gbody.get("query"))
        refused = validate_document(emu, gbody.get("query"))
        if refused:
            return self._json(400, {"errors": [{"message": refused}]}, hdrs)
        sch = Schema(emu, self._base())
        with emu.lock:
            st, res = gql_execute(gbody.get("query"), variables,
                                  gbody.get("operationName"), sch.root, sch.mutation,
                                  aliases=ALIASES, error_types=(HTTPErr,),
                                  resolver_error=_gql_resolver_error)
        data = encode_response(res)
        return self._send(st, data, "application/json", hdrs, drop, corrupt)

    def _file_stream(self, emu, groups, body, drop):
        cfg = emu.cfg
        e, p, r = unquote(groups["e"]), unquote(groups["p"]), unquote(groups["r"])
        hdrs = {}
        if cfg["filestream_rate_limit"]:
            ok, hdrs = self._rate(emu, "fs:%s/%s/%s" % (e, p, r),
                                  cfg["filestream_rate_limit"], 1.0)
            if not ok:
                return self._json(429, {"error": "Filestream rate limit exceeded"}, hdrs)
        try:
            b = json.loads(body or b"{}")
        except ValueError:
            raise HTTPErr(400, "body is not JSON")
        with emu.lock:
            run = emu.run(e, p, r)
            if run is None:
                raise HTTPErr(404, "run %s/%s/%s not found" % (e, p, r))
            out = file_stream(emu, run, b)
        return self._json(200, out, hdrs, drop)
