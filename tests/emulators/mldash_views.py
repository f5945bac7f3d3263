"""The ml-dash emulator's JSON views of stored objects, multipart parsing and paging helpers."""

import re

from mldash_common import HTTPErr, bad


# --------------------------------------------------------------------------
# JSON views
# --------------------------------------------------------------------------

def v_project(p):
    return {"id": p.id, "name": p.name, "slug": p.slug,
            "description": p.description, "tags": p.tags,
            "namespaceId": p.ns.id, "createdAt": p.created, "updatedAt": p.updated}


def v_experiment(e):
    return {"id": e.id, "name": e.name, "description": e.description,
            "tags": e.tags, "bindrs": e.bindrs, "folder": e.folder,
            "metadata": e.metadata, "status": e.status,
            "writeProtected": e.write_protected, "projectId": e.project.id,
            "startedAt": e.started, "endedAt": e.ended,
            "createdAt": e.created, "updatedAt": e.updated}


def v_file05(n):
    exp = n.experiment
    return {"id": n.id, "experimentId": exp.id if exp else None,
            "path": n.file_rel_path(), "filename": n.filename,
            "description": n.description, "tags": n.tags,
            "contentType": n.content_type, "sizeBytes": len(n.content),
            "checksum": n.checksum, "metadata": n.metadata,
            "uploadedAt": n.created, "updatedAt": n.updated,
            "deletedAt": n.deleted}


def v_physical(n, big):
    return {"id": n.physical_id, "filename": n.filename,
            "contentType": n.content_type,
            "sizeBytes": str(len(n.content)) if big else len(n.content),
            "checksum": n.checksum, "s3Url": None}


def v_node(n, big):
    d = {"id": n.id, "type": n.type, "name": n.name,
         "projectId": n.project.id,
         "parentId": n.parent.id if n.parent is not None else None,
         "experimentId": n.experiment.id if n.experiment is not None else None,
         "pPath": n.ppath(), "description": n.description, "tags": n.tags,
         "metadata": n.metadata, "createdAt": n.created,
         "updatedAt": n.updated, "deletedAt": n.deleted}
    if n.type == "FILE":
        d["physicalFile"] = v_physical(n, big)
    if n.type == "EXPERIMENT" and n.experiment is not None:
        d["status"] = n.experiment.status
    return d


# --------------------------------------------------------------------------
# Multipart
# --------------------------------------------------------------------------

def parse_multipart(body, ctype):
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', ctype)
    if not m:
        raise bad("multipart boundary missing")
    boundary = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    parts = []
    pos = body.find(boundary)
    if pos < 0:
        raise bad("malformed multipart body")
    while True:
        pos += len(boundary)
        if body[pos:pos + 2] == b"--":
            break
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        nxt = body.find(b"\r\n" + boundary, pos)
        if nxt < 0:
            raise bad("malformed multipart body")
        section = body[pos:nxt]
        hend = section.find(b"\r\n\r\n")
        if hend < 0:
            raise bad("malformed multipart part")
        headers = {}
        for line in section[:hend].decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        nm = re.search(r'\bname="([^"]*)"', disp)
        fn = re.search(r'\bfilename="([^"]*)"', disp)
        parts.append({"name": nm.group(1) if nm else None,
                      "filename": fn.group(1) if fn else None,
                      "content_type": headers.get("content-type"),
                      "data": section[hend + 4:]})
        pos = nxt + 2
    return parts


def split_tags(s):
    if s is None:
        return []
    return [t.strip() for t in s.split(",") if t.strip()]


# --------------------------------------------------------------------------
# A tiny GraphQL: parser for queries/fragments/variables, executor over
# lazily resolved objects.  Enough for the queries in mldash.md 1.2 / 1.3.
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# GraphQL schema (object builders)
# --------------------------------------------------------------------------

def _page(items, args, default_limit=50, cap=None):
    try:
        limit = int(args.get("limit") if args.get("limit") is not None else default_limit)
        if cap:
            limit = min(limit, cap)  # a server that gives less than asked
        offset = int(args.get("offset") or 0)
    except (TypeError, ValueError):
        raise HTTPErr(400, "limit/offset must be integers")
    if limit < 0 or offset < 0:
        raise HTTPErr(400, "limit/offset must be >= 0")
    page = items[offset:offset + limit]
    return page, len(items), offset + len(page) < len(items)
