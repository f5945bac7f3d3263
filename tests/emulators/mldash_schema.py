"""The ml-dash emulator's GraphQL schema: the public fields per client generation, resolvers."""

import fnmatch

from gql import GQLError, Obj
from mldash_common import ID
from mldash_views import _page, v_file05, v_physical


# The fields of each type that the public client of each generation asks
# for: the GraphQL documents of fortyfive-labs/ml-dash at v0.5.9 (commit
# 3a3d2f31e6734b79d4339e11938348b28c31897f, src/ml_dash/client.py:
# Projects, ExperimentsCount, Experiments, Experiment) and at v0.6.27 (commit
# 173283847eb2b2eae944ac1175eab71e742bc46f, src/ml_dash/client.py:
# GetMyNamespace, GetCurrentUser, GetProject, GetExperimentNode,
# GetExperimentProject, GetExpInfo, GetExperimentPath,
# ListExperimentFilesPaginated, ProjectsPaginated, ExperimentsPaginated,
# Experiment, GetProjectHierarchy, GetExperiment, SearchExperimentsPaginated).
# No server source is public (mldash.md 3.1), so a field no public client
# asks for may not exist on a real server: the "public" schema answers
# such a field as graphql-js does, 'Cannot query field "X" on type "Y".'
PUBLIC_SCHEMA = {
    "v0.5.9": {
        "Query": {"projects", "experiments", "experiment"},
        "Project": {"id", "name", "slug", "description", "tags"},
        "Experiment": {"id", "name", "description", "tags", "status", "startedAt",
                       "endedAt", "metadata", "project", "logMetadata", "metrics", "files",
                       "parameters"},
        "LogMetadata": {"totalLogs"},
        "Metric": {"name", "metricMetadata"},
        "MetricMetadata": {"totalDataPoints"},
        "File": {"id", "filename", "path", "contentType", "sizeBytes", "checksum",
                 "description", "tags", "metadata"},
        "Parameters": {"id", "data"},
    },
    "v0.6.27": {
        "Query": {"me", "namespace", "experimentNode", "experimentById", "project",
                  "projectsPaginated", "experimentsPaginated", "experiment",
                  "searchExperimentsPaginated"},
        "User": {"id", "username", "email", "name", "given_name", "family_name", "picture"},
        "Namespace": {"id", "slug", "projects"},
        "Project": {"id", "name", "slug", "description", "tags", "experimentCount",
                    "namespace", "nodes"},
        "Node": {"id", "name", "type", "pPath", "experimentId", "parentId", "children"},
        "Experiment": {"id", "name", "description", "tags", "status", "startedAt", "endedAt",
                       "metadata", "project", "projectId", "logMetadata", "metrics", "files",
                       "filesPaginated", "parameters", "trackCount", "displayPath"},
        "FilesPage": {"files", "totalCount", "hasMore"},
        "ProjectsPage": {"projects", "totalCount", "hasMore"},
        "ExperimentsPage": {"experiments", "totalCount", "hasMore"},
        "File": {"id", "name", "description", "tags", "metadata", "createdAt", "pPath",
                 "physicalFile"},
        "PhysicalFile": {"id", "filename", "contentType", "sizeBytes", "checksum", "s3Url"},
        "LogMetadata": {"totalLogs"},
        "Metric": {"name", "metricMetadata"},
        "MetricMetadata": {"totalDataPoints"},
        "Parameters": {"id", "data"},
    },
}
# Every field the emulator can answer (the "all" schema, for introspection).
ALL_FIELDS = {k: set(v.split()) for k, v in {
    "Query": "me projects projectsPaginated experiments experimentsPaginated "
             "searchExperimentsPaginated experiment experimentById experimentNode "
             "namespace project node",
    "User": "id username email name given_name family_name picture",
    "Namespace": "id slug name projects",
    "Project": "id name slug description tags createdAt updatedAt namespaceId "
               "experimentCount namespace experiments nodes",
    "Node": "id name type pPath projectId parentId experimentId description tags metadata "
            "createdAt updatedAt deletedAt children physicalFile experiment",
    "PhysicalFile": "id filename contentType sizeBytes checksum s3Url",
    "File": "id experimentId path filename description tags contentType sizeBytes checksum "
            "metadata uploadedAt updatedAt deletedAt name pPath createdAt type parentId "
            "physicalFile",
    "Metric": "id name description tags metadata createdAt updatedAt metricMetadata",
    "MetricMetadata": "metricId name description tags metadata totalDataPoints "
                      "bufferedDataPoints chunkedDataPoints totalChunks chunkSize "
                      "firstDataAt lastDataAt createdAt updatedAt",
    "Experiment": "id name description tags bindrs status startedAt endedAt createdAt "
                  "updatedAt metadata folder writeProtected projectId project logMetadata "
                  "metrics files filesPaginated parameters trackCount displayPath node",
    "Parameters": "id experimentId data version createdAt updatedAt",
    "FilesPage": "files totalCount hasMore",
    "ProjectsPage": "projects totalCount hasMore",
    "ExperimentsPage": "experiments totalCount hasMore",
    "LogMetadata": "totalLogs",
}.items()}
SCHEMAS = ("public", "v0.5.9", "v0.6.27", "all")


def schema_fields(cfg):
    """typename -> the fields the schema has, or None for every field the
    emulator can answer ("all")."""
    name = cfg["schema"]
    if name == "all":
        return None
    if name == "public":
        gen = cfg["generation"]
        if gen != "both":
            return PUBLIC_SCHEMA["v0.5.9" if gen == "v05" else "v0.6.27"]
        out = {}
        for t in PUBLIC_SCHEMA.values():
            for k, v in t.items():
                out[k] = out.get(k, set()) | v
        return out
    return PUBLIC_SCHEMA[name]


INTROSPECTION_REFUSED = ("GraphQL introspection is not allowed by Apollo Server, but the "
                         "query contained __schema or __type. To enable introspection, pass "
                         "introspection: true to ApolloServer in production")


class Schema:
    def __init__(self, emu, user):
        self.emu = emu
        self.user = user
        self.big = emu.cfg["bigint_strings"]
        self.fields = schema_fields(emu.cfg)
        self.introspection = emu.cfg["introspection"]

    def obj(self, typename, fields):
        """An Obj with only the fields the schema has: the engine answers the
        others 'Cannot query field'."""
        if self.fields is None:
            return Obj(typename, fields)
        keep = self.fields.get(typename, set())
        return Obj(typename, {k: v for k, v in fields.items()
                              if k in keep or k.startswith("__")})

    def type_info(self, a):
        """__type(name) { fields { name } } (the part of introspection the
        clients use), or graphql-js's refusal."""
        if not self.introspection:
            raise GQLError(INTROSPECTION_REFUSED)
        name = a.get("name")
        if self.fields is not None:
            have = self.fields.get(name)
        else:
            have = ALL_FIELDS.get(name)
        if have is None:
            return None
        return Obj("__Type", {"name": name, "kind": "OBJECT", "fields": [
            Obj("__Field", {"name": f}) for f in sorted(have)]})

    def ns_slug(self, args):
        return args.get("namespaceSlug") or self.user.username

    # -- objects --

    def g_namespace(self, ns):
        return self.obj("Namespace", {
            "id": ns.id, "slug": ns.slug, "name": ns.slug,
            "projects": lambda a: [self.g_project(p) for p in ns.projects.values()],
        })

    def g_project(self, p):
        return self.obj("Project", {
            "id": p.id, "name": p.name, "slug": p.slug,
            "description": p.description, "tags": p.tags,
            "createdAt": p.created, "updatedAt": p.updated,
            "namespaceId": p.ns.id,
            "experimentCount": lambda a: len(p.experiments),
            "namespace": lambda a: self.g_namespace(p.ns),
            "experiments": lambda a: [self.g_experiment(e) for e in p.experiments.values()],
            "nodes": lambda a: self.g_nodes(p, a),
        })

    def g_nodes(self, p, a):
        pid = a.get("parentId")
        if pid is None:
            roots = [n for n in p.nodes if n.parent is None and n.deleted is None]
        else:
            par = self.emu.nodes.get(str(pid))
            roots = par.live_children() if par else []
        depth = a.get("maxDepth")
        depth = 10 if depth is None else int(depth)
        return [self.g_node(n, depth) for n in roots]

    def g_node(self, n, depth=10):
        def children(a):
            if depth <= 0:
                return []
            return [self.g_node(c, depth - 1) for c in n.live_children()]
        f = {
            "id": n.id, "name": n.name, "type": n.type,
            "pPath": lambda a: n.ppath(),
            "projectId": n.project.id,
            "parentId": n.parent.id if n.parent is not None else None,
            "experimentId": n.experiment.id if n.experiment is not None else None,
            "description": n.description, "tags": n.tags, "metadata": n.metadata,
            "createdAt": n.created, "updatedAt": n.updated, "deletedAt": n.deleted,
            "children": children,
            "physicalFile": (lambda a: self.g_physical(n)) if n.type == "FILE" else None,
            "experiment": (lambda a: self.g_experiment(n.experiment)) if n.experiment else None,
        }
        return self.obj("Node", f)

    def g_physical(self, n):
        return self.obj("PhysicalFile", v_physical(n, self.big))

    def g_file(self, n):
        d = v_file05(n)
        d.update({
            "name": n.name, "pPath": lambda a: n.ppath(), "createdAt": n.created,
            "type": n.type,
            "parentId": n.parent.id if n.parent is not None else None,
            "physicalFile": lambda a: self.g_physical(n),
        })
        return self.obj("File", d)

    def g_metric(self, m):
        return self.obj("Metric", {
            "id": m.id, "name": m.name, "description": m.description,
            "tags": m.tags, "metadata": m.metadata,
            "createdAt": m.created, "updatedAt": m.updated,
            "metricMetadata": lambda a: self.obj("MetricMetadata", m.stats()),
        })

    def g_experiment(self, e):
        def params(a):
            if e.params is None:
                return None
            return self.obj("Parameters", dict(e.params))

        def files_page(a):
            page, total, more = _page(e.files(), a, 500, self.emu.cfg["gql_max_limit"])
            return self.obj("FilesPage", {"files": [self.g_file(n) for n in page],
                                     "totalCount": total, "hasMore": more})
        return self.obj("Experiment", {
            "id": e.id, "name": e.name, "description": e.description,
            "tags": e.tags, "bindrs": e.bindrs, "status": e.status,
            "startedAt": e.started, "endedAt": e.ended,
            "createdAt": e.created, "updatedAt": e.updated,
            "metadata": e.metadata, "folder": e.folder,
            "writeProtected": e.write_protected,
            "projectId": e.project.id,
            "project": lambda a: self.g_project(e.project),
            "logMetadata": lambda a: self.obj("LogMetadata", {"totalLogs": len(e.logs)}),
            "metrics": lambda a: [self.g_metric(m) for m in e.metrics.values()],
            "files": lambda a: [self.g_file(n) for n in e.files()],
            "filesPaginated": files_page,
            "parameters": params,
            "trackCount": lambda a: len(e.tracks),
            "displayPath": lambda a: e.display_path(),
            "node": lambda a: self.g_node(e.node),
        })

    # -- root --

    def _experiments(self, a):
        p = self.emu.project_by_slug(self.ns_slug(a), a.get("projectSlug"))
        if p is None:
            return []
        exps = list(p.experiments.values())
        if a.get("status"):
            exps = [e for e in exps if e.status == a["status"]]
        return exps

    def _project(self, a):
        if a.get("id") is not None:
            p = self.emu.projects.get(str(a["id"]))
        else:
            p = self.emu.project_by_slug(self.ns_slug(a), a.get("projectSlug") or a.get("slug"))
        return self.g_project(p) if p else None

    def _search(self, a):
        pat = a.get("pattern") or "*"
        if pat.count("/") < 2:
            pat = "*/" * (2 - pat.count("/")) + pat
        hits = []
        for ns in self.emu.namespaces.values():
            for p in ns.projects.values():
                for e in p.experiments.values():
                    if fnmatch.fnmatchcase("%s/%s/%s" % (ns.slug, p.slug, e.name), pat):
                        hits.append(e)
        page, total, more = _page(hits, a, cap=self.emu.cfg["gql_max_limit"])
        return self.obj("ExperimentsPage", {"experiments": [self.g_experiment(e) for e in page],
                                       "totalCount": total, "hasMore": more})

    def root(self):
        emu, u = self.emu, self.user

        def me(a):
            return self.obj("User", {"id": ID(u.id) if u.id else None, "username": u.username,
                                "email": u.claims.get("email"),
                                "name": u.claims.get("name"),
                                "given_name": u.claims.get("given_name"),
                                "family_name": u.claims.get("family_name"),
                                "picture": u.claims.get("picture")})

        def projects(a):
            ns = emu.namespaces.get(self.ns_slug(a))
            return [self.g_project(p) for p in ns.projects.values()] if ns else []

        def projects_paginated(a):
            ns = emu.namespaces.get(self.ns_slug(a))
            items = list(ns.projects.values()) if ns else []
            page, total, more = _page(items, a, cap=self.emu.cfg["gql_max_limit"])
            return self.obj("ProjectsPage", {"projects": [self.g_project(p) for p in page],
                                        "totalCount": total, "hasMore": more})

        def experiments_paginated(a):
            page, total, more = _page(self._experiments(a), a,
                                      cap=self.emu.cfg["gql_max_limit"])
            return self.obj("ExperimentsPage", {"experiments": [self.g_experiment(e) for e in page],
                                           "totalCount": total, "hasMore": more})

        def experiment(a):
            p = emu.project_by_slug(self.ns_slug(a), a.get("projectSlug"))
            e = p.experiments.get(a.get("experimentName")) if p else None
            return self.g_experiment(e) if e else None

        def experiment_by_id(a):
            e = emu.experiments.get(str(a.get("id")))
            return self.g_experiment(e) if e else None

        def experiment_node(a):
            e = emu.experiments.get(str(a.get("experimentId")))
            return self.g_node(e.node) if e and e.node else None

        def namespace(a):
            ns = emu.namespaces.get(a.get("slug") or u.username)
            return self.g_namespace(ns) if ns else None

        def node(a):
            n = emu.nodes.get(str(a.get("id")))
            return self.g_node(n) if n else None

        return self.obj("Query", {
            "me": me, "projects": projects, "projectsPaginated": projects_paginated,
            "experiments": lambda a: [self.g_experiment(e) for e in self._experiments(a)],
            "experimentsPaginated": experiments_paginated,
            "searchExperimentsPaginated": self._search,
            "experiment": experiment, "experimentById": experiment_by_id,
            "experimentNode": experiment_node, "namespace": namespace,
            "project": self._project, "node": node,
            "__type": self.type_info,
        })
