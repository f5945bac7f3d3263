"""The ml-dash emulator's basics: Snowflake ids, Node.js-flavoured JSON, times, HTTP errors."""

import json
import re
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal


DEV_JWT_SECRET = b"your-secret-key-change-this-in-production"   # mldash.md 1.1.1
LOG_LEVELS = ("info", "warn", "error", "debug", "fatal")          # mldash.md 1.2
STATUSES = ("RUNNING", "COMPLETED", "FAILED", "CANCELLED")        # mldash.md 1.2


# --------------------------------------------------------------------------
# IDs
# --------------------------------------------------------------------------

class ID(str):
    """A Snowflake id.  A str subclass so it can be told apart from user data
    when --ids-as-numbers turns ids into bare JSON numbers."""
    __slots__ = ()


_TWEPOCH = 1288834974657  # Snowflake epoch: gives 19-digit ids today


class Snowflake:
    def __init__(self, worker=1):
        self.lock = threading.Lock()
        self.last = 0
        self.seq = 0
        self.worker = worker & 0x3FF

    def next(self):
        with self.lock:
            ms = int(time.time() * 1000) - _TWEPOCH
            if ms <= self.last:
                ms = self.last
                self.seq = (self.seq + 1) & 0xFFF
                if self.seq == 0:
                    ms = self.last + 1
            else:
                self.seq = 0
            self.last = ms
            return ID(str((ms << 22) | (self.worker << 12) | self.seq))


# --------------------------------------------------------------------------
# Node.js-flavoured JSON (the real server is Node: mldash.md 3.1 and 7)
# --------------------------------------------------------------------------

class NodeJSONError(ValueError):
    pass


def _reject_constant(tok):
    # Node's JSON.parse has no NaN / Infinity / -Infinity tokens.
    raise NodeJSONError("Unexpected token %s in JSON" % tok[:1])


def _node_number(v):
    """Normalise a parsed number to what a Node round trip would give."""
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return None                    # JSON.stringify(Infinity) == "null"
        if v.is_integer():
            if abs(v) < 9007199254740992.0:
                return int(v)              # 1.0 -> 1, -0.0 -> 0
            if abs(v) < 1e21:
                return int(Decimal(repr(v)))   # printed without exponent
        return v
    return v


def _parse_int(s):
    v = int(s)
    if -9007199254740992 <= v <= 9007199254740992:
        return v
    return _node_number(float(v))          # Node reads big ints as doubles


def _parse_float(s):
    return _node_number(float(s))


def node_loads(text):
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    if text.startswith("\ufeff"):
        raise NodeJSONError("Unexpected token \ufeff in JSON at position 0")
    try:
        return json.loads(text, parse_constant=_reject_constant,
                          parse_int=_parse_int, parse_float=_parse_float)
    except NodeJSONError:
        raise
    except json.JSONDecodeError as e:
        raise NodeJSONError("Unexpected token in JSON at position %d" % e.pos)
    except RecursionError:
        raise NodeJSONError("Maximum call stack size exceeded")


def _js_small(s):
    # Format a Python repr like 1e-05 / 1.5e-07 the way Number#toString does.
    sign = ""
    if s.startswith("-"):
        sign, s = "-", s[1:]
    t = Decimal(s).as_tuple()
    digits = "".join(map(str, t.digits)).rstrip("0") or "0"
    n = t.exponent + len(t.digits)     # value = 0.DIGITS * 10^n
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    e = n - 1
    return sign + mant + "e" + ("-" if e < 0 else "+") + str(abs(e))


_JS_FIX = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?e-\d+)')


def _js_fix(m):
    g = m.group(1)
    return _js_small(g) if g else m.group(0)


_ENC = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ENC_ASCII = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def node_dumps(obj):
    """JSON text as Node's JSON.stringify would print it (values already
    normalised by node_loads / _node_number)."""
    try:
        s = _ENC.encode(obj)
        s.encode("utf-8")
    except UnicodeEncodeError:        # lone surrogates: Node escapes them
        s = _ENC_ASCII.encode(obj)
    if "e-" in s:
        s = _JS_FIX.sub(_js_fix, s)
    return s


def node_num_text(v):
    v = _node_number(v)
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    r = repr(v)
    return _js_small(r) if "e-" in r else r


def ids_to_numbers(obj):
    if isinstance(obj, ID):
        return int(obj) if obj.isdigit() else obj
    if isinstance(obj, dict):
        return {k: ids_to_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [ids_to_numbers(v) for v in obj]
    return obj


def now_iso():
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def parse_iso(s):
    if not isinstance(s, str):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def _gql_resolver_error(e, path):
    """A resolver's HTTPErr as Apollo-style GraphQL error entry."""
    return {"message": e.message, "path": path,
            "extensions": {"code": e.error.upper().replace(" ", "_")}}


class HTTPErr(Exception):
    def __init__(self, status, message, error=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error or {400: "Bad Request", 401: "Unauthorized",
                               403: "Forbidden", 404: "Not Found",
                               409: "Conflict", 413: "Payload Too Large",
                               415: "Unsupported Media Type"}.get(status, "Error")
        self.headers = headers or {}


def bad(msg):
    return HTTPErr(400, msg)


def notfound(msg):
    return HTTPErr(404, msg)
