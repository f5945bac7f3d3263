"""The ml-dash emulator's REST plumbing: the request context and the route table."""

import re

from mldash_common import HTTPErr, NodeJSONError, bad, node_loads


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

class Raw:
    def __init__(self, status, parts, ctype="application/json; charset=utf-8",
                 headers=None):
        self.status = status
        self.parts = parts          # list of bytes
        self.ctype = ctype
        self.headers = headers or {}


class Ctx:
    def __init__(self, emu, handler, method, path, query, body, gen):
        self.emu = emu
        self.h = handler
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.gen = gen
        self.user = None
        self._json = None

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def qint(self, name, default):
        v = self.q(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise bad("%s must be an integer" % name)

    @property
    def ctype(self):
        return self.h.headers.get("Content-Type", "") or ""

    def json(self):
        if self._json is None:
            ct = self.ctype.lower()
            if not self.body or "json" not in ct:
                # express.json() leaves req.body = {} for other content types
                self._json = {}
            else:
                try:
                    v = node_loads(self.body)
                except (NodeJSONError, UnicodeDecodeError) as e:
                    raise HTTPErr(400, str(e), "Bad Request")
                if not isinstance(v, (dict, list)):
                    raise HTTPErr(400, "Unexpected token in JSON at position 0")
                self._json = v
        if not isinstance(self._json, dict):
            raise bad("request body must be a JSON object")
        return self._json


ROUTES = []


def route(method, pattern, gens=(5, 6)):
    rx = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def deco(fn):
        ROUTES.append((method, rx, pattern, gens, fn))
        return fn
    return deco


def ok(obj, status=200):
    return status, obj
