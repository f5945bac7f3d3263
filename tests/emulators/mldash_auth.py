"""The ml-dash emulator's HS256 JWTs (signed with the dev secret) and the user a token names."""

import base64
import hashlib
import hmac
import json
import time

from mldash_common import DEV_JWT_SECRET


# --------------------------------------------------------------------------
# JWT
# --------------------------------------------------------------------------

def b64url_decode(s):
    s = s + "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s.encode("ascii"))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def jwt_encode(payload, secret=DEV_JWT_SECRET):
    h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64url(sig)


def jwt_verify(token, secret=DEV_JWT_SECRET):
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("malformed token")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except Exception:
        raise ValueError("malformed token")
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError("unsupported algorithm")
    want = hmac.new(secret, (parts[0] + "." + parts[1]).encode("ascii"),
                    hashlib.sha256).digest()
    if not hmac.compare_digest(want, sig):
        raise ValueError("invalid signature")
    if not isinstance(payload, dict):
        raise ValueError("invalid payload")
    exp = payload.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        raise ValueError("jwt expired")
    return payload


class User:
    def __init__(self, username, user_id, claims_gen, claims=None):
        self.username = username
        self.id = user_id
        self.claims_gen = claims_gen    # 5, 6 or "apikey"
        self.claims = claims or {}
