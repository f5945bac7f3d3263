"""The Neptune 2.x emulator's API routes: client config, OAuth token exchange and refresh,
projects, run search, attributes, series pages, files, file set zips and image series.

Paths, parameters and shapes: neptune-ai/neptune-api commit 105043e codegen/swagger/leaderboard.json
and HEAD codegen/swagger/backend.json; how the 1.x client calls them: neptune-ai/neptune-client
dev/1.x src/neptune/internal/backends/hosted_neptune_backend.py, hosted_client.py,
hosted_file_operations.py, api/searching_entries.py, common/oauth.py. Parameters no public source
shows are refused (400).
"""

import base64
import hashlib
import hmac
import io
import json
import os
import time
import zipfile
from urllib.parse import parse_qs

from neptune_store import Bad, experiment_attributes, nql_parse, props, sort_key

MAX_SERVER_OFFSET = 10000  # neptune-client src/neptune/internal/init/parameters.py


class HTTPErr(Exception):
    def __init__(self, status, message, headers=None):
        Exception.__init__(self, message)
        self.status, self.message, self.headers = status, message, headers or {}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def params(q, allowed, required=()):
    for k in q:
        if k not in allowed:
            raise HTTPErr(400, "unknown query parameter %r" % k)
    for k in required:
        if k not in q:
            raise HTTPErr(400, "missing query parameter %r" % k)
    return {k: v[0] for k, v in q.items()}


def intp(p, k, default=None):
    if k not in p:
        return default
    try:
        return int(p[k])
    except ValueError:
        raise HTTPErr(400, "%s is not an integer" % k)


# ---- auth ----

def api_token_ok(emu, h):
    tok = h.get("X-Neptune-Api-Token")
    if not tok:
        raise HTTPErr(401, "missing X-Neptune-Api-Token")
    try:
        d = json.loads(base64.b64decode(tok))
    except ValueError:
        raise HTTPErr(400, "X-Neptune-Api-Token is not a Neptune API token")
    if d.get("api_key") != emu.cfg["api_key"]:
        raise HTTPErr(401, "invalid API token")
    return d


def mint(emu):
    # NumericDate may be fractional (RFC 7519 section 2): tests use tokens of under a second
    now = time.time()
    ttl = float(emu.cfg["token_ttl"])
    claims = {"exp": int(now + ttl) if ttl == int(ttl) else round(now + ttl, 3),
              "iat": int(now) if ttl == int(ttl) else round(now, 3), "azp": "neptune-cli",
              "iss": emu.api_url() + "/auth/realms/neptune", "sub": "tom",
              "jti": os.urandom(6).hex()}
    head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64u(json.dumps(claims).encode())
    sig = b64u(hmac.new(emu.secret, (head + "." + body).encode(), hashlib.sha256).digest())
    refresh = os.urandom(16).hex()
    emu.refresh_tokens.add(refresh)
    emu.tokens_minted += 1
    return head + "." + body + "." + sig, refresh


def bearer_ok(emu, h):
    a = h.get("Authorization") or ""
    if not a.startswith("Bearer "):
        raise HTTPErr(401, "missing bearer token")
    t = a[7:]
    try:
        head, body, sig = t.split(".")
        want = b64u(hmac.new(emu.secret, (head + "." + body).encode(), hashlib.sha256).digest())
        claims = json.loads(b64u_dec(body))
    except ValueError:
        raise HTTPErr(401, "malformed bearer token")
    if not hmac.compare_digest(want, sig):
        raise HTTPErr(401, "bad token signature")
    if claims["exp"] < time.time():
        emu.expired_seen += 1
        raise HTTPErr(401, "token expired")


def r_config(emu, ctx):
    params(ctx.q, ("alpha",))
    api_token_ok(emu, ctx.h)
    return {"apiUrl": emu.api_url(), "applicationUrl": emu.api_url(),
            "pyLibVersions": {"minRecommendedVersion": "1.0.0", "minCompatibleVersion": "1.0.0",
                              "maxCompatibleVersion": "1.99.0"},
            "security": {"clientId": "neptune-cli", "openIdDiscovery":
                         emu.api_url() + "/auth/realms/neptune/.well-known/openid-configuration"}}


def r_exchange(emu, ctx):
    params(ctx.q, ())
    api_token_ok(emu, ctx.h)
    acc, ref = mint(emu)
    return {"accessToken": acc, "refreshToken": ref, "username": "tom"}


def r_refresh(emu, ctx):
    params(ctx.q, ())
    form = {k: v[0] for k, v in parse_qs(ctx.body.decode()).items()}
    for k in form:
        if k not in ("grant_type", "refresh_token", "client_id", "expires_in"):
            raise HTTPErr(400, "unknown form field %r" % k)
    if form.get("grant_type") != "refresh_token" or form.get("client_id") != "neptune-cli":
        raise HTTPErr(400, "invalid_request")
    rt = form.get("refresh_token")
    if rt not in emu.refresh_tokens:
        raise HTTPErr(400, "invalid_grant: refresh token not valid or already used")
    emu.refresh_tokens.discard(rt)  # single use
    emu.refreshes += 1
    acc, ref = mint(emu)
    return {"access_token": acc, "refresh_token": ref, "token_type": "Bearer",
            "expires_in": int(emu.cfg["token_ttl"])}


# ---- projects and runs ----

def project_dto(p):
    return {"id": p.uuid, "name": p.name, "organizationName": p.workspace, "projectKey": p.key,
            "version": 2, "archived": False, "organizationId": p.workspace}


def r_projects(emu, ctx):
    p = params(ctx.q, ("organizationIdentifier", "userRelation", "searchTerm", "sortBy",
                       "sortDirection", "offset", "limit"))
    ps = sorted((x for x in emu.projects.values()
                 if p.get("organizationIdentifier") in (None, x.workspace)),
                key=lambda x: x.qname)
    off, lim = intp(p, "offset", 0), intp(p, "limit", 100)
    return {"entries": [project_dto(x) for x in ps[off:off + lim]],
            "matchingItemCount": len(ps), "totalItemCount": len(ps)}


def r_project_get(emu, ctx):
    p = params(ctx.q, ("projectIdentifier",), ("projectIdentifier",))
    proj = emu.project(p["projectIdentifier"])
    return project_dto(proj)


SEARCH_KEYS = ("attributeFilters", "experimentLeader", "grouping", "pagination", "query",
               "queryNameAliases", "sorting", "suggestions", "truncateStringTo")


def r_search(emu, ctx):
    p = params(ctx.q, ("projectIdentifier", "type"), ("projectIdentifier",))
    types = ctx.q.get("type", ["run", "model", "modelVersion", "project", "report"])
    for t in types:
        if t not in ("run", "model", "modelVersion", "project", "report"):
            raise HTTPErr(400, "unknown type %r" % t)
    proj = emu.project(p["projectIdentifier"])
    try:
        b = json.loads(ctx.body or b"{}")
    except ValueError:
        raise HTTPErr(400, "body is not JSON")
    for k in b:
        if k not in SEARCH_KEYS:
            raise HTTPErr(400, "unknown body field %r" % k)
    pag = b.get("pagination") or {}
    for k in pag:
        if k not in ("limit", "offset"):
            raise HTTPErr(400, "unknown pagination field %r" % k)
    off, lim = int(pag.get("offset", 0)), int(pag.get("limit", 100))
    if off < 0 or lim < 0 or off + lim > MAX_SERVER_OFFSET:
        emu.offset_refusals += 1
        raise HTTPErr(400, "offset + limit must not exceed %d" % MAX_SERVER_OFFSET)
    try:
        pred = nql_parse((b.get("query") or {}).get("query", ""))
    except Bad as e:
        raise HTTPErr(400, str(e))
    runs = [r for r in proj.all_runs() if r.kind in types and pred(r)]
    s = b.get("sorting")
    if s:
        name = (s.get("sortBy") or {}).get("name", "sys/creation_time")
        runs.sort(key=lambda r: sort_key(r, name), reverse=s.get("dir") == "descending")
    want = [f["path"] for f in b.get("attributeFilters") or []]
    ents = []
    for r in runs[off:off + lim]:
        attrs = [props(k, r.attrs[k]) for k in want if k in r.attrs]
        ents.append({"experimentId": r.uuid, "organizationId": proj.workspace,
                     "organizationName": proj.workspace, "projectId": proj.uuid,
                     "projectName": proj.name, "type": r.kind, "attributes": attrs})
    return {"entries": ents, "matchingItemCount": len(runs)}


def r_experiment(emu, ctx):
    p = params(ctx.q, ("experimentId",), ("experimentId",))
    r = emu.run(p["experimentId"])
    return {"id": r.uuid, "shortId": r.short_id, "customId": "", "projectId": r.project.uuid,
            "projectName": r.project.name, "organizationId": r.project.workspace,
            "organizationName": r.project.workspace, "parentId": r.project.uuid,
            "trashed": r.trashed, "type": r.kind}


def r_attributes(emu, ctx):
    p = params(ctx.q, ("experimentId",), ("experimentId",))
    return experiment_attributes(emu.run(p["experimentId"]))


HOLDER = ("attribute", "experimentId", "holderIdentifier", "holderType")


def attr_of(emu, ctx, allowed, types):
    p = params(ctx.q, allowed, ("attribute", "experimentId"))
    r = emu.run(p["experimentId"])
    a = r.attrs.get(p["attribute"])
    if a is None:
        raise HTTPErr(404, "attribute %s not found" % p["attribute"])
    if a["type"] not in types:
        raise HTTPErr(400, "attribute %s is a %s" % (p["attribute"], a["type"]))
    return p, r, a


def getter(types, key):
    def route(emu, ctx):
        _, _, a = attr_of(emu, ctx, HOLDER, types)
        d = props(ctx.q["attribute"][0], a)
        pr = d[d["type"] + "Properties"]
        return pr if key is None else {key: pr[key], "attributeName": pr["attributeName"],
                                       "attributeType": pr["attributeType"]}
    return route


def r_float_values(emu, ctx):
    p, _, a = attr_of(emu, ctx, ("attribute", "experimentId", "includePreview", "limit",
                                 "lineage", "skipToStep", "offset"), ("floatSeries",))
    lim = intp(p, "limit", 1000)
    if lim < 0 or lim > 10000:
        raise HTTPErr(400, "limit must be at most 10000")
    vals = a["gen"] if "gen" in a else a["values"]
    n = len(vals)
    off = intp(p, "offset", 0)
    if "skipToStep" in p:
        step = float(p["skipToStep"])
        full = vals.slice(0, n) if "gen" in a else vals
        off = next((i for i, v in enumerate(full) if v[0] >= step), n)
    if "gen" in a:
        key = (vals.n, vals.seed, vals.base, off, lim)
        if key not in emu.page_cache:
            if len(emu.page_cache) > 64:
                emu.page_cache.clear()
            emu.page_cache[key] = json.dumps(float_page(n, vals.slice(off, off + lim))).encode()
        return Raw(emu.page_cache[key], "application/json")
    return float_page(n, vals[off:off + lim])


def float_page(n, page):
    return {"totalItemCount": n,
            "values": [{"step": s, "value": v, "timestampMillis": ts, "isPreview": False,
                        "completionRatio": 1.0} for s, v, ts in page]}


def r_string_values(emu, ctx):
    p, _, a = attr_of(emu, ctx, ("attribute", "experimentId", "limit", "maxSingleValueLength",
                                 "offset"), ("stringSeries",))
    lim, off = intp(p, "limit", 1000), intp(p, "offset", 0)
    if lim < 0 or lim > 10000:
        raise HTTPErr(400, "limit must be at most 10000")
    cut = intp(p, "maxSingleValueLength", 1000)
    vals = a["values"]
    return {"totalItemCount": len(vals),
            "values": [{"step": s, "value": v[:cut], "timestampMillis": ts}
                       for s, v, ts in vals[off:off + lim]]}


def r_image_values(emu, ctx):
    p, _, a = attr_of(emu, ctx, HOLDER + ("limit", "offset"), ("imageSeries",))
    return {"totalItemCount": len(a["images"])}


class Raw:
    def __init__(self, data, ctype, headers=None):
        self.data, self.ctype, self.headers = data, ctype, headers or {}


def r_image_single(emu, ctx):
    p, _, a = attr_of(emu, ctx, HOLDER + ("index",), ("imageSeries",))
    i = intp(p, "index")
    if i is None or not 0 <= i < len(a["images"]):
        raise HTTPErr(404, "no image %s" % p.get("index"))
    return Raw(a["images"][i], "image/png")


def r_download(emu, ctx):
    p, _, a = attr_of(emu, ctx, HOLDER + ("expectedContentDisposition", "path"), ("file",))
    name = ctx.q["attribute"][0].rsplit("/", 1)[-1] + ("." + a["ext"] if a.get("ext") else "")
    return Raw(a["data"], "application/octet-stream",
               {"Content-Disposition": 'attachment; filename="%s"' % name})


def r_prepare(emu, ctx):
    p, r, a = attr_of(emu, ctx, HOLDER, ("fileSet",))
    rid = os.urandom(8).hex()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(a["files"].items()):
            z.writestr(name, data)
    emu.prepared[rid] = {"polls": 0, "zip": buf.getvalue()}
    return {"id": rid}


def r_prepare_poll(emu, ctx):
    p = params(ctx.q, ("id",), ("id",))
    d = emu.prepared.get(p["id"])
    if d is None:
        raise HTTPErr(404, "no download request %s" % p["id"])
    d["polls"] += 1
    out = {"id": p["id"]}
    if d["polls"] >= int(emu.cfg["prepare_polls"]):
        out["downloadUrl"] = emu.api_url() + "/api/leaderboard/v1/download/downloadFile?id=" + p["id"]
    return out


def r_download_file(emu, ctx):
    p = params(ctx.q, ("id",), ("id",))
    d = emu.prepared.get(p["id"])
    if d is None or d["polls"] < int(emu.cfg["prepare_polls"]):
        raise HTTPErr(404, "download %s is not ready" % p["id"])
    return Raw(d["zip"], "application/zip")


LB = "/api/leaderboard/v1"
# (method, path) -> (handler, auth): auth is "token" (X-Neptune-Api-Token), "bearer" or None
ROUTES = {
    ("GET", "/api/backend/v1/clients/config"): (r_config, "token"),
    ("GET", "/api/backend/v1/authorization/oauth-token"): (r_exchange, "token"),
    ("POST", "/auth/realms/neptune/protocol/openid-connect/token"): (r_refresh, None),
    ("GET", "/api/backend/v1/projects"): (r_projects, "bearer"),
    ("GET", "/api/backend/v1/projects/get"): (r_project_get, "bearer"),
    ("POST", LB + "/leaderboard/entries/search"): (r_search, "bearer"),
    ("GET", LB + "/experiments"): (r_experiment, "bearer"),
    ("GET", LB + "/attributes"): (r_attributes, "bearer"),
    ("GET", LB + "/attributes/floats"): (getter(("float",), "value"), "bearer"),
    ("GET", LB + "/attributes/integers"): (getter(("int",), "value"), "bearer"),
    ("GET", LB + "/attributes/booleans"): (getter(("bool",), "value"), "bearer"),
    ("GET", LB + "/attributes/strings"): (getter(("string",), "value"), "bearer"),
    ("GET", LB + "/attributes/datetimes"): (getter(("datetime",), "value"), "bearer"),
    ("GET", LB + "/attributes/stringSets"): (getter(("stringSet",), "values"), "bearer"),
    ("GET", LB + "/attributes/files"): (getter(("file",), None), "bearer"),
    ("GET", LB + "/attributes/floatSeries"): (getter(("floatSeries",), None), "bearer"),
    ("GET", LB + "/attributes/stringSeries"): (getter(("stringSeries",), None), "bearer"),
    ("GET", LB + "/attributes/series/float"): (r_float_values, "bearer"),
    ("GET", LB + "/attributes/series/string"): (r_string_values, "bearer"),
    ("GET", LB + "/attributes/series/image"): (r_image_values, "bearer"),
    ("GET", LB + "/attributes/series/image/single"): (r_image_single, "bearer"),
    ("GET", LB + "/attributes/download"): (r_download, "bearer"),
    ("POST", LB + "/attributes/downloadFileSetZipRequest"): (r_prepare, "bearer"),
    ("GET", LB + "/download/downloadRequest"): (r_prepare_poll, "bearer"),
    ("GET", LB + "/download/downloadFile"): (r_download_file, "bearer"),
}
