"""The W&B emulator's artifact writes: create, manifest, files, upload and commit."""

import base64
import json
import re

from gql import Obj
from wandb_common import HTTPErr, b64, bad, rand_name
from wandb_store import Artifact, Collection, manifest_digest
from wandb_filestream import parse_json_string


# --------------------------------------------------------------------------
# Artifact writes (wandb.md 1.9; the SDK's core/api/graphql/mutation_*artifact*
# .graphql, core/pkg/artifacts/saver.go, wandb/sdk/artifacts/artifact_saver.py)
# --------------------------------------------------------------------------

ALIAS_BAD_CHARS = set(":/")          # wandb/sdk/artifacts/_validators.py (aliases)


def b64_md5_hex(d):
    try:
        raw = base64.b64decode(d, validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 16:
        raise bad("md5 must be a base64 MD5 digest, not %r" % (d,))
    return raw.hex()


class ArtifactWrites:
    """The four mutations a client saves an artifact with.  An artifact is
    PENDING from CreateArtifact until CommitArtifact, which gives it the
    collection's next version (guess: the server may number it earlier),
    moves "latest" and makes it an output artifact of the run named in
    CreateArtifact."""

    def __init__(self, schema):
        self.s = schema
        self.emu = schema.emu

    def _art(self, aid, pending=True):
        art = self.emu.artifact_by_id(aid or "")
        if art is None:
            raise HTTPErr(404, "artifact %s not found" % (aid,))
        if pending and art.state != "PENDING":
            raise bad("artifact %s is %s, not PENDING" % (aid, art.state))  # guess
        return art

    def _payload(self, tname, art):
        return Obj(tname, {"artifact": self.s.g_artifact(art), "clientMutationId": None})

    def create(self, a):
        emu = self.emu
        inp = a.get("input") or {}
        ename = inp.get("entityName") or emu.viewer["entity"]
        pname = inp.get("projectName")
        tname = inp.get("artifactTypeName")
        names = inp.get("artifactCollectionNames") or []
        cname = inp.get("artifactCollectionName") or (names[0] if names else None)
        digest = inp.get("digest")
        if not pname or not tname:
            raise bad("projectName and artifactTypeName are required")
        if not cname or "/" in cname or len(cname) > 128:     # _validators.py
            raise bad("invalid artifact name %r" % (cname,))
        if not isinstance(digest, str) or not digest:
            raise bad("digest is required")
        if inp.get("digestAlgorithm") not in (None, "MANIFEST_MD5"):
            raise bad("unknown digestAlgorithm %r" % (inp.get("digestAlgorithm"),))
        if inp.get("distributedID"):
            raise bad("distributed artifacts are not emulated")
        aliases = []
        for x in inp.get("aliases") or []:
            al = x.get("alias") if isinstance(x, dict) else None
            if not isinstance(al, str) or not al or ALIAS_BAD_CHARS & set(al):
                raise bad("invalid alias %r" % (al,))
            if al not in aliases:
                aliases.append(al)
        meta = parse_json_string(inp.get("metadata"), "metadata")
        if meta is not None and not isinstance(meta, dict):
            raise bad("metadata must be a JSON object")
        run = None
        if inp.get("runName"):
            run = emu.run(ename, pname, inp["runName"])
            if run is None:
                raise HTTPErr(404, "run %s/%s/%s not found" % (ename, pname, inp["runName"]))
        p = emu.project(ename, pname, create=True)
        c = p.collections.get(cname)
        if c is None:
            c = p.collections[cname] = Collection(emu, p, cname, tname)
        elif c.type != tname:                                   # guess
            raise bad("artifact %s has type %s, not %s" % (cname, c.type, tname))
        if inp.get("enableDigestDeduplication"):
            # the SDK: a COMMITTED answer means "already exists with the same
            # content, no new version will be created" (saver.go)
            for v in c.versions:
                if v.digest == digest:
                    c.set_aliases(v, aliases)                  # guess
                    if run is not None and v not in run.output_artifacts:
                        run.output_artifacts.append(v)         # guess
                    return self._payload("CreateArtifactPayload", v)
            # a save of the same run that did not finish goes on (guess)
            for v in c.pending:
                if v.digest == digest and v.created_by is run:
                    v.requested_aliases = aliases
                    return self._payload("CreateArtifactPayload", v)
        art = Artifact(emu, c, {}, meta, inp.get("description"))
        art.version = None
        art.state = "PENDING"
        art.digest = digest
        art.requested_aliases = aliases
        art.tags = [t.get("tagName") for t in inp.get("tags") or []
                    if isinstance(t, dict) and t.get("tagName")]
        art.history_step = inp.get("historyStep")
        art.ttl = inp.get("ttlDurationSeconds")
        art.created_by = run
        c.pending.append(art)
        return self._payload("CreateArtifactPayload", art)

    def manifest(self, a):
        inp = a.get("input") or {}
        art = self._art(inp.get("artifactID"))
        if inp.get("type") not in (None, "FULL"):
            raise bad("only FULL manifests are emulated")
        digest = inp.get("digest")
        if not isinstance(digest, str):
            raise bad("digest is required")
        name = inp.get("name") or "wandb_manifest.json"
        art.manifest_id = art.manifest_id or b64("ArtifactManifest:%s" % art.id)
        hdrs = list(self.emu.cfg["upload_headers"])
        f = Obj("File", {
            "id": b64("File:manifest:%s" % art.id), "name": name, "displayName": name,
            "uploadUrl": lambda x: self.s.new_upload(
                {"kind": "manifest", "art": art, "digest": digest, "headers": hdrs}, "art-"),
            "uploadHeaders": hdrs})
        return Obj("CreateArtifactManifestPayload", {"artifactManifest": Obj(
            "ArtifactManifest", {"id": art.manifest_id, "file": f, "contents": None})})

    def files(self, a):
        emu = self.emu
        inp = a.get("input") or {}
        if inp.get("storageLayout") not in ("V1", "V2"):
            raise bad("storageLayout must be V1 or V2")
        specs = inp.get("artifactFiles")
        if not isinstance(specs, list):
            raise bad("artifactFiles must be a list")
        edges = []
        for sp in specs:
            art = self._art(sp.get("artifactID"))
            name, md5 = sp.get("name"), sp.get("md5")
            if not isinstance(name, str) or not name:
                raise bad("artifact file name is required")
            hexm = b64_md5_hex(md5)
            if sp.get("uploadPartsInput"):
                raise bad("multipart uploads are not emulated")
            if "md5:" + hexm in emu.blobs:
                # the SDK: no upload URL means the server has these bytes
                url, hdrs = None, []
            else:
                # guess: the presigned PUT is signed for the declared MD5
                hdrs = ["Content-MD5:%s" % md5] + list(emu.cfg["upload_headers"])
                url = self.s.new_upload({"kind": "afile", "art": art, "name": name,
                                         "md5": md5, "headers": hdrs}, "art-")
            edges.append(Obj("FileEdge", {"cursor": None, "node": Obj("File", {
                "id": b64("File:%s:%s" % (art.id, name)), "name": name,
                "displayName": name, "uploadUrl": url, "uploadHeaders": hdrs,
                "storagePath": "wandb_artifacts/%s" % hexm, "uploadMultipartUrls": None,
                "artifact": self.s.g_artifact(art)})}))
        return Obj("CreateArtifactFilesPayload", {"files": Obj("FileConnection", {
            "edges": edges, "totalCount": len(edges),
            "pageInfo": Obj("PageInfo", {"endCursor": None, "hasNextPage": False,
                                         "startCursor": None, "hasPreviousPage": False})})})

    def commit(self, a):
        emu = self.emu
        inp = a.get("input") or {}
        art = self._art(inp.get("artifactID"), pending=False)
        if art.state == "COMMITTED":
            return self._payload("CommitArtifactPayload", art)    # guess: idempotent
        if art.manifest_bytes is None:
            raise bad("artifact %s has no manifest uploaded" % art.id)   # guess
        try:
            man = json.loads(art.manifest_bytes)
        except ValueError:
            raise bad("the manifest of artifact %s is not JSON" % art.id)
        if not isinstance(man, dict) or man.get("version") != 1 or \
                man.get("storagePolicy") != "wandb-storage-policy-v1" or \
                not isinstance(man.get("contents"), dict):
            raise bad("the manifest of artifact %s is not a version 1 "
                      "wandb-storage-policy-v1 manifest" % art.id)
        entries = {}
        for path, e in man["contents"].items():
            if not isinstance(e, dict) or not isinstance(e.get("digest"), str):
                raise bad("manifest entry %r has no digest" % path)
            ent = {"digest": e["digest"], "size": e.get("size")}
            if e.get("ref") is not None:
                ent["ref"] = e["ref"]
            else:
                # guess: the server checks every stored entry was uploaded
                data = emu.blobs.get("md5:" + b64_md5_hex(e["digest"]))
                if data is None:
                    raise bad("artifact file %r was never uploaded" % path)
                if e.get("size") is not None and e["size"] != len(data):
                    raise bad("artifact file %r: size %r, uploaded %d bytes"
                              % (path, e["size"], len(data)))
                key = rand_name(32)
                emu.storage[key] = ("blob", None, path)
                emu.blobs[key] = data
                ent["key"] = key
            for k in ("birthArtifactID", "extra"):
                if e.get(k) is not None:
                    ent[k] = e[k]
            entries[path] = ent
        if manifest_digest(entries) != art.digest:            # guess: checked
            raise bad("the manifest's digest %s is not the artifact's %s"
                      % (manifest_digest(entries), art.digest))
        art.entries = entries
        c = art.coll
        c.pending.remove(art)
        art.version = len(c.versions)
        c.versions.append(art)
        art.state = "COMMITTED"
        art.aliases = []
        c.set_aliases(art, ["latest"] + [x for x in art.requested_aliases if x != "latest"])
        if art.created_by is not None and art not in art.created_by.output_artifacts:
            art.created_by.output_artifacts.append(art)
        return self._payload("CommitArtifactPayload", art)


def find_version(c, alias):
    if not c.versions:
        return None
    if alias == "latest":
        for v in c.versions:
            if "latest" in v.aliases:
                return v
        return c.versions[-1]
    m = re.match(r"^v(\d+)$", alias)
    if m:
        i = int(m.group(1))
        return c.versions[i] if i < len(c.versions) else None
    for v in c.versions:
        if alias in v.aliases:
            return v
    return None
