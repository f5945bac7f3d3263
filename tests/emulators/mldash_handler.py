"""The ml-dash emulator's request handler: auth, generations, GraphQL and REST dispatch."""

import hmac
import json
import sys
import time
import traceback
from urllib.parse import parse_qs, unquote, urlsplit

import emuhttp
from gql import gql_execute
from mldash_common import (HTTPErr, _gql_resolver_error, _parse_float, ids_to_numbers,
    node_dumps, notfound)
from mldash_auth import User, b64url_decode, jwt_verify
from mldash_schema import Schema
from mldash_rest import Ctx, ROUTES, Raw
from mldash_routes_tracks import r_auth_exchange
from mldash_seed import RawDump
from mldash_control import control


# --------------------------------------------------------------------------
# Request handler
# --------------------------------------------------------------------------

class Handler(emuhttp.Handler):
    server_version = "mldash-emu/1"
    NAME = "mldash_emu"
    # file bodies whose SHA-256 the file listings give (checksum)
    CHECKSUM_PATHS = (r"/files/[^/]+/download$", r"/nodes/[^/]+/download$")

    def _send(self, status, parts, ctype, headers=None, drop_after=None):
        return self.send_parts(status, parts, ctype, headers, drop_after)

    def _json(self, status, obj, headers=None, drop_after=None):
        if self.server.emu.cfg["ids_as_numbers"]:
            obj = ids_to_numbers(obj)
        data = node_dumps(obj).encode("utf-8")
        self._send(status, [data], "application/json; charset=utf-8", headers, drop_after)
        return status

    def _err(self, e, drop_after=None):
        return self._json(e.status, {"error": e.error, "message": e.message,
                                     "statusCode": e.status}, e.headers, drop_after)

    # -- main --

    def handle_request(self):
        emu = self.server.emu
        method = self.command
        u = urlsplit(self.path)
        path = u.path
        q = parse_qs(u.query, keep_blank_values=True)
        try:
            body = self.read_raw_body()
        except (ValueError, OSError):
            self.close_connection = True
            return

        if path.startswith("/__emu/"):
            try:
                st, obj = control(emu, method, path, q, body)
                if isinstance(obj, RawDump):
                    self._send(st, obj.encode(emu.cfg["ids_as_numbers"]),
                               "application/json; charset=utf-8")
                else:
                    self._json(st, obj)
            except HTTPErr as e:
                self._err(e)
            except (ValueError, KeyError, TypeError) as e:
                self._json(400, {"error": "Bad Request", "message": repr(e)})
            return

        def serve():
            return self._dispatch(emu, method, path, u.query, q, body) + (None,)
        self.serve_counted(emu, method, path, u.query, body, serve)

    def _route(self, method, path):
        gen = 6 if path.startswith("/api/") else 5
        sub = path[4:] if gen == 6 else path
        if path in ("/health", "/api/health"):
            return gen, "health", None, {}, path
        if sub == "/graphql" and gen == 5:
            return gen, "graphql", None, {}, "/graphql"
        handler, groups, rname = None, {}, None
        for m_, rx, pat, gens, fn in ROUTES:
            if gen not in gens:
                continue
            mm = rx.match(sub)
            if mm and m_ == method:
                return gen, "rest", fn, {k: unquote(v) for k, v in mm.groupdict().items()}, ("/api" if gen == 6 else "") + pat
            if mm and rname is None:
                rname = ("/api" if gen == 6 else "") + pat
        return gen, None, None, {}, rname

    def _dispatch(self, emu, method, path, query, q, body):
        cfg = emu.cfg
        gen, kind, handler, groups, rname = self._route(method, path)
        if cfg["latency_ms"]:
            time.sleep(cfg["latency_ms"] / 1000.0)
        fault = emuhttp.match_fault(emu, method, path, query)
        drop = None
        if fault:
            if fault.get("delay_ms"):
                time.sleep(float(fault["delay_ms"]) / 1000.0)
            if fault.get("reset"):
                self.abort()
                return "reset", rname
            if fault.get("status"):
                hdrs = dict(fault.get("headers") or {})
                if fault.get("retry_after") is not None:
                    hdrs["Retry-After"] = fault["retry_after"]
                st = int(fault["status"])
                fb = fault.get("body") or {"error": "Injected fault", "statusCode": st,
                                           "message": "injected by mldash_emu"}
                self._json(st, fb, hdrs, fault.get("drop_after_bytes"))
                return st, rname
            drop = fault.get("drop_after_bytes")

        if kind == "health" and method == "GET":
            return self._json(200, {"status": "ok", "emulator": True}, None, drop), rname
        if (cfg["generation"] == "v05" and gen == 6) or \
                (cfg["generation"] == "v06" and gen == 5 and kind != "graphql"):
            return self._err(notfound("Cannot %s %s" % (method, path))), rname
        if cfg["max_body_bytes"] and len(body) > cfg["max_body_bytes"]:
            return self._err(HTTPErr(413, "request entity too large")), rname
        if kind is None or kind == "health":
            return self._err(notfound("Cannot %s %s" % (method, path))), rname
        try:
            user = self._auth(emu, gen, exchange=(handler is r_auth_exchange))
            ctx = Ctx(emu, self, method, path, q, body, gen)
            ctx.user = user
            with emu.lock:
                emu.namespace(user.username, user.id)
                if kind == "graphql":
                    b = ctx.json()
                    st, res = gql_execute(b.get("query"), b.get("variables"),
                                          b.get("operationName"), Schema(emu, user).root(),
                                          parse_float=_parse_float, error_types=(HTTPErr,),
                                          resolver_error=_gql_resolver_error,
                                          validation_extensions={
                                              "code": "GRAPHQL_VALIDATION_FAILED"})
                    return self._json(st, res, None, drop), rname
                res = handler(ctx, **groups)
            if isinstance(res, Raw):
                self._send(res.status, res.parts, res.ctype, res.headers, drop)
                return res.status, rname
            st, obj = res
            return self._json(st, obj, None, drop), rname
        except HTTPErr as e:
            return self._err(e), rname
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return 499, rname
        except Exception as e:  # a bug in the emulator: say so loudly
            traceback.print_exc(file=sys.stderr)
            return self._json(500, {"error": "Internal Server Error",
                                    "message": "emulator bug: %r" % (e,)}), rname

    def _auth(self, emu, gen, exchange=False):
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Bearer ") or not h[7:].strip():
            raise HTTPErr(401, "Missing or invalid Authorization header")
        tok = h[7:].strip()
        if emu.opts.api_key and hmac.compare_digest(tok.encode(), emu.opts.api_key.encode()):
            return User(emu.opts.api_key_user, None, "apikey")
        if exchange:
            # the vuer.ai access token is verified by auth.vuer.ai, not emulated
            try:
                claims = json.loads(b64url_decode(tok.split(".")[1]))
            except Exception:
                raise HTTPErr(401, "Invalid token")
            name = claims.get("username") or claims.get("preferred_username") \
                or claims.get("sub")
            return User(name, claims.get("sub"), 6, claims)
        try:
            claims = jwt_verify(tok)
        except ValueError as e:
            raise HTTPErr(401, "Invalid token: %s" % e)
        strict = emu.cfg["strict_claims"]
        if "userName" in claims and (not strict or gen == 5):
            return User(str(claims["userName"]), str(claims.get("userId") or "") or None,
                        5, claims)
        if "username" in claims and (not strict or gen == 6):
            return User(str(claims["username"]), str(claims.get("sub") or "") or None,
                        6, claims)
        raise HTTPErr(401, "Invalid token: no %s claim" %
                      ("userName" if gen == 5 else "username"))
