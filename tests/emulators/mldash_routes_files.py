"""The ml-dash emulator's REST routes for files (v0.5) and the v0.6 node API."""

import fnmatch

from mldash_common import HTTPErr, NodeJSONError, bad, node_loads, notfound, now_iso
from mldash_views import (_page, parse_multipart, split_tags, v_experiment, v_file05, v_node,
    v_project)
from mldash_rest import Raw, ok, route


# ---- files, v0.5 API (also under /api for 0.6.0-0.6.1)

def _form(parts):
    fields, filepart = {}, None
    for p in parts:
        if p["filename"] is not None and p["name"] == "file":
            filepart = p
        elif p["filename"] is not None and filepart is None:
            filepart = p
        elif p["name"]:
            fields[p["name"]] = p["data"].decode("utf-8", "replace")
    return fields, filepart


def _form_metadata(fields):
    md = fields.get("metadata")
    if md is None or md == "":
        return None
    try:
        return node_loads(md)
    except NodeJSONError as e:
        raise bad("metadata: " + str(e))


@route("POST", "/experiments/{eid}/files")
def r_file_upload(c, eid):
    e = c.emu.experiment(eid)
    c.emu.check_writable(e)
    if "multipart/form-data" not in c.ctype.lower():
        raise HTTPErr(415, "multipart/form-data required")
    fields, fp = _form(parse_multipart(c.body, c.ctype))
    if fp is None:
        raise bad("file part is required")
    prefix = fields.get("prefix", "/")
    parent = c.emu.folder_chain(e.project, e.node, prefix, e)
    n = c.emu.add_file(e, fp["data"], fp["filename"], parent,
                       fp["content_type"], fields.get("checksum"),
                       fields.get("description"), split_tags(fields.get("tags")),
                       _form_metadata(fields), v05_path=prefix,
                       size_bytes=fields.get("sizeBytes"))
    return ok(v_file05(n), 201)


@route("GET", "/experiments/{eid}/files")
def r_file_list(c, eid):
    e = c.emu.experiment(eid)
    files = e.files()
    pre = c.q("prefix")
    if pre:
        files = [n for n in files if n.file_rel_path().startswith(pre)]
    tags = split_tags(c.q("tags"))
    if tags:
        files = [n for n in files if set(tags) & set(n.tags)]
    return ok({"files": [v_file05(n) for n in files]})


def _file_of(c, eid, fid):
    e = c.emu.experiment(eid)
    n = c.emu.nodes.get(fid)
    if n is None or n.type != "FILE" or n.experiment is not e or n.deleted:
        raise notfound("File not found")
    return n


@route("GET", "/experiments/{eid}/files/{fid}")
def r_file_get(c, eid, fid):
    return ok(v_file05(_file_of(c, eid, fid)))


def _download(n):
    fn = n.filename.replace('"', "")
    return Raw(200, [n.content], n.content_type,
               {"Content-Disposition": 'attachment; filename="%s"' % fn,
                "X-Checksum-Sha256": n.checksum})


@route("GET", "/experiments/{eid}/files/{fid}/download")
def r_file_download(c, eid, fid):
    return _download(_file_of(c, eid, fid))


def _update_meta(n, b):
    if "description" in b:
        n.description = b["description"]
    if "tags" in b:
        if not isinstance(b["tags"], list):
            raise bad("tags must be an array")
        n.tags = b["tags"]
    if "metadata" in b:
        n.metadata = b["metadata"]
    n.updated = now_iso()


@route("PATCH", "/experiments/{eid}/files/{fid}")
def r_file_patch(c, eid, fid):
    n = _file_of(c, eid, fid)
    _update_meta(n, c.json())
    return ok(v_file05(n))


@route("DELETE", "/experiments/{eid}/files/{fid}")
def r_file_delete(c, eid, fid):
    n = _file_of(c, eid, fid)
    n.deleted = now_iso()
    return ok({"id": n.id, "deletedAt": n.deleted})


# ---- v0.6 unified node API

@route("POST", "/namespaces/{ns}/nodes", gens=(6,))
def r_nodes_post(c, ns):
    emu = c.emu
    if ns != c.user.username:
        raise HTTPErr(403, "No write access to namespace %s" % ns)
    nsobj = emu.namespace(ns)
    big = emu.cfg["bigint_strings"]
    if "multipart/form-data" in c.ctype.lower():
        fields, fp = _form(parse_multipart(c.body, c.ctype))
        if fields.get("type", "FILE") != "FILE":
            raise bad("multipart node must be type FILE")
        if fp is None:
            raise bad("file part is required")
        e = emu.experiment(fields.get("experimentId"))
        emu.check_writable(e)
        pid = fields.get("parentId") or "ROOT"
        parent = e.node if pid == "ROOT" else emu.nodes.get(pid)
        if parent is None:
            raise notfound("Parent node not found")
        name = fields.get("name") or fp["filename"]
        n = emu.add_file(e, fp["data"], name, parent, fp["content_type"],
                         fields.get("checksum"), fields.get("description"),
                         split_tags(fields.get("tags")), _form_metadata(fields))
        d = v_node(n, big)
        phys = d.pop("physicalFile")
        return ok({"node": d, "physicalFile": phys}, 201)
    b = c.json()
    t = b.get("type")
    if t == "PROJECT":
        name = b.get("name")
        slug = b.get("slug") or name
        if not name:
            raise bad("name is required")
        if slug in nsobj.projects:
            raise HTTPErr(409, "Project already exists")
        p = emu.get_or_create_project(nsobj, name, slug)
        if b.get("description") is not None:
            p.description = b["description"]
        return ok({"project": v_project(p)}, 201)

    def project_of():
        if b.get("projectId"):
            p = emu.projects.get(str(b["projectId"]))
            if p is None or p.ns is not nsobj:
                raise notfound("Project not found")
            return p
        if b.get("projectSlug"):
            return emu.get_or_create_project(nsobj, b["projectSlug"])
        raise bad("projectId or projectSlug is required")

    def parent_of(p):
        pid = b.get("parentId") or "ROOT"
        if pid == "ROOT":
            return None
        par = emu.nodes.get(str(pid))
        if par is None or par.project is not p:
            raise notfound("Parent node not found")
        return par

    if t == "FOLDER":
        p = project_of()
        name = b.get("name")
        if not name:
            raise bad("name is required")
        par = parent_of(p)
        exp = emu.experiments.get(str(b["experimentId"])) if b.get("experimentId") else None
        if par is None and exp is not None:
            par = exp.node
        n = emu.folder(p, par, name, exp)
        return ok({"node": v_node(n, big)}, 201)
    if t == "EXPERIMENT":
        p = project_of()
        name = b.get("name")
        if not name:
            raise bad("name is required")
        par = parent_of(p)
        exp, created = emu.upsert_experiment(p, name, b, parent=par)
        return ok({"experiment": v_experiment(exp), "node": v_node(exp.node, big),
                   "project": v_project(p)}, 201 if created else 200)
    raise bad("Invalid node type: %r" % (t,))


def _node(c, nid):
    n = c.emu.nodes.get(nid)
    if n is None or n.deleted:
        raise notfound("Node not found")
    return n


@route("GET", "/nodes/{nid}", gens=(6,))
def r_node_get(c, nid):
    return ok(v_node(_node(c, nid), c.emu.cfg["bigint_strings"]))


@route("GET", "/nodes/{nid}/download", gens=(6,))
def r_node_download(c, nid):
    n = _node(c, nid)
    if n.type != "FILE":
        raise bad("Node is not a file")
    return _download(n)


@route("PATCH", "/nodes/{nid}", gens=(6,))
def r_node_patch(c, nid):
    n = _node(c, nid)
    b = c.json()
    if "status" in b:
        if n.type != "EXPERIMENT":
            raise bad("status applies to EXPERIMENT nodes")
        c.emu.set_status(n.experiment, b["status"])
    if "name" in b and n.type != "EXPERIMENT":
        n.name = b["name"]
        if n.type == "FILE":
            n.filename = b["name"]
    _update_meta(n, b)
    if n.type == "EXPERIMENT":
        for k in ("description", "tags", "metadata"):
            if k in b:
                setattr(n.experiment, k, b[k])
    return ok(v_node(n, c.emu.cfg["bigint_strings"]))


@route("DELETE", "/nodes/{nid}", gens=(6,))
def r_node_delete(c, nid):
    n = _node(c, nid)
    n.deleted = now_iso()
    return ok({"id": n.id, "deletedAt": n.deleted})


@route("DELETE", "/projects/{pid}", gens=(6,))
def r_project_delete(c, pid):
    p = c.emu.projects.get(pid)
    if p is None or p.ns.slug != c.user.username:
        raise notfound("Project not found")
    emu = c.emu
    nexp = len(p.experiments)
    for e in p.experiments.values():
        emu.experiments.pop(e.id, None)
    for n in p.nodes:
        emu.nodes.pop(n.id, None)
    del p.ns.projects[p.slug]
    del emu.projects[p.id]
    return ok({"projectId": p.id, "deleted": len(p.nodes) + 1, "experiments": nexp,
               "message": "Project deleted"})


@route("GET", "/search/files", gens=(6,))
def r_search_files(c):
    pat = c.q("pattern", "*")
    eid = c.q("experimentId")
    hits = []
    for n in c.emu.nodes.values():
        if n.type != "FILE" or n.deleted or n.experiment is None:
            continue
        if eid and n.experiment.id != eid:
            continue
        if n.project.ns.slug != c.user.username:
            continue
        if fnmatch.fnmatchcase(n.name, pat) or fnmatch.fnmatchcase(n.ppath(), pat):
            hits.append(n)
    page, total, more = _page(hits, {"limit": c.qint("limit", 50),
                                     "offset": c.qint("offset", 0)})
    big = c.emu.cfg["bigint_strings"]
    return ok({"files": [v_node(n, big) for n in page], "totalCount": total,
               "hasMore": more})
