#!/usr/bin/env python3
"""Self-test of wandb_emu.py (stdlib unittest; no wandb client needed)."""

import base64
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.join(HERE, "wandb_emu.py")
sys.path.insert(0, HERE)
import wandb_emu  # noqa: E402

KEY = wandb_emu.DEFAULT_API_KEY
ENT = "emu-user"

# Query texts in the shape wandb.md quotes (sections in brackets).
RUN_FRAGMENT = """fragment RunFragment on Run {
  id tags name displayName sweepName state config group jobType commit readOnly
  createdAt heartbeatAt description notes systemMetrics summaryMetrics
  historyLineCount user { name username } historyKeys }"""          # 1.4

RUNS_Q = """query Runs($project: String!, $entity: String!, $cursor: String,
  $perPage: Int = 50, $order: String, $filters: JSONString) {
  project(name: $project, entityName: $entity) {
    internalId runCount(filters: $filters) readOnly
    runs(filters: $filters, after: $cursor, first: $perPage, order: $order) {
      edges { node { projectId ...RunFragment } cursor }
      pageInfo { endCursor hasNextPage } } } }
""" + RUN_FRAGMENT                                                    # 1.4

PROJECTS_Q = """query GetProjects($entity: String, $cursor: String, $perPage: Int = 50) {
  models(entityName: $entity, after: $cursor, first: $perPage) {
    pageInfo { endCursor hasNextPage }
    edges { node { id name entityName createdAt isBenchmark } cursor } } }"""   # 1.3

HISTORY_PAGE_Q = """query HistoryPage($entity: String!, $project: String!, $run: String!,
  $minStep: Int64!, $maxStep: Int64!, $pageSize: Int!) {
  project(name: $project, entityName: $entity) {
    run(name: $run) { history(minStep: $minStep, maxStep: $maxStep, samples: $pageSize) } } }"""

FULL_HISTORY_Q = """query RunFullHistory($project: String!, $entity: String!, $name: String!,
  $samples: Int) {
  project(name: $project, entityName: $entity) {
    run(name: $name) { history(samples: $samples) } } }"""           # 1.6 (1)

SAMPLED_Q = """query RunSampledHistory($project: String!, $entity: String!, $name: String!,
  $specs: [JSONString!]!) {
  project(name: $project, entityName: $entity) {
    run(name: $name) { sampledHistory(specs: $specs) } } }"""        # 1.6 (2)

UPSERT_M = """mutation UpsertBucket($id: String, $name: String, $project: String,
  $entity: String, $groupName: String, $description: String, $displayName: String,
  $notes: String, $commit: String, $config: JSONString, $host: String, $debug: Boolean,
  $program: String, $repo: String, $jobType: String, $state: String, $sweep: String,
  $tags: [String!], $summaryMetrics: JSONString) {
  upsertBucket(input: { id: $id, name: $name, groupName: $groupName, modelName: $project,
    entityName: $entity, description: $description, displayName: $displayName,
    notes: $notes, config: $config, commit: $commit, host: $host, debug: $debug,
    jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state,
    sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics }) {
    bucket { id name displayName description config sweepName
      project { id name entity { id name } } historyLineCount }
    inserted } }"""                                                   # 2.1

CREATE_FILES_M = """mutation CreateRunFiles($entity: String!, $project: String!,
  $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
    files: $files}) { runID uploadHeaders files { name uploadUrl } } }"""   # 2.3

RUN_FILES_Q = """query RunFiles($project: String!, $entity: String!, $name: String!,
  $fileCursor: String, $fileLimit: Int = 50, $fileNames: [String] = [],
  $upload: Boolean = false, $pattern: String) {
  project(name: $project, entityName: $entity) { internalId
    run(name: $name) { fileCount ...RunFilesFragment } } }
fragment RunFilesFragment on Run {
  files(names: $fileNames, after: $fileCursor, first: $fileLimit, pattern: $pattern) {
    edges { node { id name url(upload: $upload) directUrl sizeBytes mimetype updatedAt md5 }
      cursor }
    pageInfo { endCursor hasNextPage } } }"""                       # 1.8

RUN_OUT_ARTS_Q = """query RunOutputArtifacts($entity: String!, $project: String!,
  $run: String!, $cursor: String, $perPage: Int) {
  project(entityName: $entity, name: $project) {
    run(name: $run) {
      artifacts: outputArtifacts(after: $cursor, first: $perPage) {
        totalCount pageInfo { endCursor hasNextPage }
        edges { node { ...ArtifactFragment } } } } } }
fragment ArtifactFragment on Artifact {
  id artifactSequence { name project { id internalId name entity { name } } }
  versionIndex artifactType { name } description metadata ttlDurationSeconds
  ttlIsInherited tags { id name } historyStep state size digest commitHash fileCount
  createdAt updatedAt aliases { artifactCollection { name } id alias } }"""   # 1.9

MANIFEST_Q = """query FetchArtifactManifest($id: ID!) {
  artifact(id: $id) { currentManifest { file { directUrl } } } }"""         # 1.9

# The artifact write protocol, in the shape of the SDK's
# core/api/graphql/mutation_*artifact*.graphql (1.9).
CREATE_ART_M = """mutation CreateArtifact($input: CreateArtifactInput!) {
  createArtifact(input: $input) { artifact { id state versionIndex digest
    artifactSequence { id latestArtifact { id } } } } }"""

CREATE_MANIFEST_M = """mutation CreateArtifactManifest($artifactID: ID!,
  $baseArtifactID: ID, $name: String!, $digest: String!, $entityName: String!,
  $projectName: String!, $runName: String!, $includeUpload: Boolean!) {
  createArtifactManifest(input: {artifactID: $artifactID, baseArtifactID: $baseArtifactID,
    name: $name, digest: $digest, entityName: $entityName, projectName: $projectName,
    runName: $runName}) {
    artifactManifest { id file { id uploadUrl @include(if: $includeUpload)
      uploadHeaders @include(if: $includeUpload) } } } }"""

CREATE_ART_FILES_M = """mutation CreateArtifactFiles(
  $artifactFiles: [CreateArtifactFileSpecInput!]!, $storageLayout: ArtifactStorageLayout!) {
  createArtifactFiles(input: {artifactFiles: $artifactFiles, storageLayout: $storageLayout}) {
    files { edges { node { storagePath uploadUrl uploadHeaders
      uploadMultipartUrls { uploadID } artifact { id } } } } } }"""

COMMIT_ART_M = """mutation CommitArtifact($artifactID: ID!) {
  commitArtifact(input: {artifactID: $artifactID}) { artifact { id digest versionIndex } } }"""


def basic(user="api", key=KEY):
    return "Basic " + base64.b64encode(("%s:%s" % (user, key)).encode()).decode()


class Emu:
    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, "-u", EMU] + list(args),
                                  stdout=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("no PORT line: %r" % (line,))
        self.port = int(line.split()[1])

    def req(self, method, path, body=None, auth=True, headers=None, raw=False,
            ctype="application/json"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        if auth is True:
            h["Authorization"] = basic()
        elif auth:
            h["Authorization"] = auth
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None and ctype:
            h.setdefault("Content-Type", ctype)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        if raw:
            return r.status, data, r
        ct = r.getheader("Content-Type") or ""
        return r.status, (json.loads(data) if data and "json" in ct else data)

    def url(self, u, auth=False, headers=None):
        s = urlsplit(u)
        path = s.path + ("?" + s.query if s.query else "")
        return self.req("GET", path, auth=auth, raw=True, headers=headers)

    def ctl(self, method, path, body=None):
        st, d = self.req(method, path, body, auth=False)
        assert st == 200, (st, d)
        return d

    def gql(self, query, variables=None, auth=True, op=None):
        b = {"query": query, "variables": variables or {}}
        if op:
            b["operationName"] = op
        return self.req("POST", "/graphql", b, auth=auth)

    def ok(self, query, variables=None):
        st, d = self.gql(query, variables)
        assert st == 200 and "errors" not in d, (st, d)
        return d["data"]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(10)
        self.p.stdout.close()
        return rc


def seed_basic(e):
    return e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
        {"name": "r%d" % i, "displayName": "run-%d" % i,
         "state": "finished" if i % 2 == 0 else "crashed",
         "tags": ["even"] if i % 2 == 0 else ["odd", "x"], "group": "g%d" % (i % 3),
         "jobType": "train", "notes": "n%d" % i,
         "createdAt": "2024-01-01T00:00:%02d" % i,
         "config": {"lr": 0.1 * (i + 1), "bs": 32 if i < 3 else 64},
         "summary": {"loss": 1.0 / (i + 1), "_step": 9},
         "history": [{"_step": s, "loss": s * 0.5} for s in range(10)]}
        for i in range(7)]}]})


class WandbEmuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.e = Emu()

    @classmethod
    def tearDownClass(cls):
        rc = cls.e.stop()
        assert rc == 0, rc

    def setUp(self):
        self.e.ctl("POST", "/__emu/reset")
        # these tests exercise fields beyond what the public client asks
        # for; test_strict_fields holds the default
        self.e.ctl("POST", "/__emu/config", {"strict_fields": False})

    # ---- auth ----

    def test_auth(self):
        e = self.e
        st, d = e.gql("{ viewer { username entity } }", auth=False)
        self.assertEqual(st, 401)
        st, d = e.gql("{ viewer { username } }", auth=basic(key="wrong"))
        self.assertEqual(st, 401)
        st, d = e.gql("{ viewer { username } }", auth="Bearer " + KEY)
        self.assertEqual(st, 401)
        st, d = e.gql("{ viewer { username entity } }")
        self.assertEqual(st, 200)
        self.assertEqual(d["data"]["viewer"], {"username": ENT, "entity": ENT})
        st, _ = e.req("POST", "/files/%s/p/r/file_stream" % ENT, {}, auth=False)
        self.assertEqual(st, 401)

    def test_other_key(self):
        e2 = Emu("--api-key", "local-" + "k" * 40, "--username", "alice")
        try:
            e2.ctl("POST", "/__emu/config", {"strict_fields": False})
            st, _ = e2.gql("{ viewer { username } }")
            self.assertEqual(st, 401)
            st, d = e2.gql("{ viewer { username } }", auth=basic(key="local-" + "k" * 40))
            self.assertEqual(d["data"]["viewer"]["username"], "alice")
        finally:
            self.assertEqual(e2.stop(), 0)

    # ---- graphql basics ----

    def test_graphql_errors_and_aliases(self):
        e = self.e
        st, d = e.gql("{ viewer { nope } }")
        self.assertEqual(st, 400)
        self.assertIn("nope", d["errors"][0]["message"])
        st, d = e.gql("{ viewer { ")
        self.assertEqual(st, 400)
        seed_basic(e)
        d = e.ok('{ a: project(name: "p", entityName: "%s") { n: name r: run(name: "r1") '
                 '{ ... on Run { displayName } } missing: run(name: "zz") { name } } '
                 'b: model(name: "p", entityName: "%s") { bucket(name: "r2") { name } } }'
                 % (ENT, ENT))
        self.assertEqual(d["a"], {"n": "p", "r": {"displayName": "run-1"}, "missing": None})
        self.assertEqual(d["b"]["bucket"]["name"], "r2")

    def test_projects_paging(self):
        e = self.e
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p%d" % i} for i in range(5)]})
        names, cur, pages = [], None, 0
        while True:
            d = e.ok(PROJECTS_Q, {"entity": ENT, "cursor": cur, "perPage": 2})["models"]
            names += [x["node"]["name"] for x in d["edges"]]
            pages += 1
            if not d["pageInfo"]["hasNextPage"]:
                break
            cur = d["edges"][-1]["cursor"]
            self.assertEqual(cur, d["pageInfo"]["endCursor"])
        self.assertEqual(names, ["p%d" % i for i in range(5)])
        self.assertEqual(pages, 3)

    def test_runs_filters_order_paging(self):
        e = self.e
        seed_basic(e)

        def runs(filters=None, order=None, per=50):
            out, cur = [], None
            while True:
                v = {"project": "p", "entity": ENT, "cursor": cur, "perPage": per,
                     "order": order,
                     "filters": json.dumps(filters) if filters is not None else None}
                d = e.ok(RUNS_Q, v)["project"]
                out += [x["node"] for x in d["runs"]["edges"]]
                if not d["runs"]["pageInfo"]["hasNextPage"]:
                    return out, d["runCount"]
                cur = d["runs"]["pageInfo"]["endCursor"]

        all_, n = runs(per=3)
        self.assertEqual(n, 7)
        self.assertEqual([r["name"] for r in all_], ["r%d" % i for i in range(7)])
        r0 = all_[0]
        self.assertEqual(json.loads(r0["config"])["lr"], {"value": 0.1, "desc": None})
        self.assertEqual(json.loads(r0["summaryMetrics"])["loss"], 1.0)
        self.assertEqual(r0["historyLineCount"], 10)
        self.assertEqual(r0["historyKeys"]["lastStep"], 9)
        self.assertIn("loss", r0["historyKeys"]["keys"])
        self.assertEqual(r0["tags"], ["even"])
        self.assertEqual(r0["user"]["username"], ENT)
        self.assertTrue(r0["id"])
        self.assertEqual(base64.b64decode(r0["id"]).decode(), "Run:v1:r0:p:%s" % ENT)
        self.assertEqual([r["name"] for r in runs(order="-created_at")[0]][0], "r6")
        self.assertEqual(runs({"state": "finished"})[1], 4)
        self.assertEqual(runs({"tags": "odd"})[1], 3)
        self.assertEqual(runs({"tags": {"$in": ["x"]}})[1], 3)
        self.assertEqual([r["name"] for r in runs({"name": "r3"})[0]], ["r3"])
        self.assertEqual([r["name"] for r in runs({"displayName": "run-4"})[0]], ["r4"])
        self.assertEqual(runs({"display_name": {"$regex": "run-[12]"}})[1], 2)
        self.assertEqual(runs({"config.bs": 64})[1], 4)
        self.assertEqual(runs({"config.bs.value": 32})[1], 3)
        self.assertEqual(runs({"$or": [{"name": "r1"}, {"group": "g2"}]})[1], 3)
        self.assertEqual(runs({"$and": [{"state": "crashed"}, {"jobType": "train"}]})[1], 3)
        self.assertEqual(runs({"summary_metrics.loss": {"$gt": 0.3}})[1], 3)

    # ---- history ----

    def test_history_sampled_vs_full(self):
        e = self.e
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
            {"name": "h", "history": {"rows": 2500, "metrics": 3}}]}]})
        g = wandb_emu.GenHistory({"rows": 2500, "metrics": 3})
        # sampled form: 500 rows by default, the first and last kept, rows lost
        d = e.ok(FULL_HISTORY_Q, {"project": "p", "entity": ENT, "name": "h"})
        rows = [json.loads(x) for x in d["project"]["run"]["history"]]
        self.assertEqual(len(rows), 500)
        self.assertEqual(rows[0], g.row(0))
        self.assertEqual(rows[-1], g.row(2499))
        steps = [r["_step"] for r in rows]
        self.assertEqual(steps, sorted(steps))
        # full resolution: HistoryPage step windows [min, min+1000)
        got = []
        for lo in range(0, 2500, 1000):
            d = e.ok(HISTORY_PAGE_Q, {"entity": ENT, "project": "p", "run": "h",
                                      "minStep": lo, "maxStep": lo + 1000, "pageSize": 1000})
            got += [json.loads(x) for x in d["project"]["run"]["history"]]
        self.assertEqual(len(got), 2500)
        self.assertEqual(got, [g.row(i) for i in range(2500)])
        # a window larger than pageSize is sampled down too
        d = e.ok(HISTORY_PAGE_Q, {"entity": ENT, "project": "p", "run": "h",
                                  "minStep": 0, "maxStep": 2500, "pageSize": 1000})
        self.assertEqual(len(d["project"]["run"]["history"]), 1000)
        # sampledHistory: keys, inclusive maxStep, one list per spec
        specs = [json.dumps({"keys": ["_step", "m1"], "samples": 10000, "minStep": 10,
                             "maxStep": 20}),
                 json.dumps({"keys": ["_step", "nope"], "samples": 5})]
        d = e.ok(SAMPLED_Q, {"project": "p", "entity": ENT, "name": "h", "specs": specs})
        sh = d["project"]["run"]["sampledHistory"]
        self.assertEqual(len(sh[0]), 11)
        self.assertEqual(sh[0][0], {"_step": 10, "m1": g.row(10)["m1"]})
        self.assertEqual(sh[1], [])
        # parquetHistory: never exported, everything is live data
        d = e.ok('{ project(name:"p", entityName:"%s") { run(name:"h") { '
                 'parquetHistory(liveKeys: ["_step"]) { parquetUrls liveData } } } }' % ENT)
        ph = d["project"]["run"]["parquetHistory"]
        self.assertEqual(ph["parquetUrls"], [])
        self.assertEqual(ph["liveData"][0], {"_step": 0})
        self.assertEqual(len(ph["liveData"]), 2500)
        # even sampling is deterministic
        e.ctl("POST", "/__emu/config", {"sampling": "even"})
        a = e.ok(FULL_HISTORY_Q, {"project": "p", "entity": ENT, "name": "h", "samples": 7})
        b = e.ok(FULL_HISTORY_Q, {"project": "p", "entity": ENT, "name": "h", "samples": 7})
        self.assertEqual(a, b)
        self.assertEqual(len(a["project"]["run"]["history"]), 7)

    def test_million_rows(self):
        e = self.e
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
            {"name": "big", "history": {"rows": 1000000, "metrics": 23}}]}]})
        d = e.ok('{ project(name:"p", entityName:"%s") { run(name:"big") { '
                 'historyLineCount historyKeys } } }' % ENT)["project"]["run"]
        self.assertEqual(d["historyLineCount"], 1000000)
        self.assertEqual(d["historyKeys"]["lastStep"], 999999)
        self.assertEqual(len(d["historyKeys"]["keys"]), 26)
        g = wandb_emu.GenHistory({"rows": 1000000, "metrics": 23})
        n = 0
        for lo in list(range(0, 50000, 1000)) + [999000]:
            d = e.ok(HISTORY_PAGE_Q, {"entity": ENT, "project": "p", "run": "big",
                                      "minStep": lo, "maxStep": lo + 1000, "pageSize": 1000})
            h = d["project"]["run"]["history"]
            self.assertEqual(len(h), 1000)
            self.assertEqual(json.loads(h[0]), g.row(lo))
            n += len(h)
        self.assertEqual(n, 51000)
        dm = e.ctl("GET", "/__emu/dump?history=0")
        self.assertNotIn("history", dm["entities"][ENT]["projects"]["p"]["runs"]["big"])

    # ---- write side ----

    def test_upsert_and_file_stream(self):
        e = self.e
        cfg = {"lr": {"value": 0.01, "desc": None}, "_wandb": {"value": {"cli_version": "x"}}}
        d = e.ok(UPSERT_M, {"name": "w1", "project": "dst", "entity": ENT,
                            "displayName": "Write one", "config": json.dumps(cfg),
                            "tags": ["a", "b"], "notes": "hello", "groupName": "grp",
                            "jobType": "eval", "state": "running"})["upsertBucket"]
        self.assertTrue(d["inserted"])
        b = d["bucket"]
        self.assertEqual(b["name"], "w1")
        self.assertEqual(b["displayName"], "Write one")
        self.assertEqual(json.loads(b["config"]), cfg)
        self.assertEqual(b["project"], {"id": b["project"]["id"], "name": "dst",
                                        "entity": {"id": b["project"]["entity"]["id"],
                                                   "name": ENT}})
        self.assertEqual(b["historyLineCount"], 0)
        rid = b["id"]
        d = e.ok(UPSERT_M, {"id": rid, "notes": "changed",
                            "summaryMetrics": json.dumps({"acc": 1})})["upsertBucket"]
        self.assertFalse(d["inserted"])
        self.assertEqual(d["bucket"]["id"], rid)

        fs = "/files/%s/dst/w1/file_stream" % ENT

        def post(body):
            st, r = e.req("POST", fs, body)
            self.assertEqual(st, 200, r)
            return r

        h = [json.dumps({"_step": i, "loss": i / 10}) for i in range(5)]
        r = post({"files": {"wandb-history.jsonl": {"offset": 0, "content": h[:3]},
                            "output.log": {"offset": 0, "content": ["line 0", "line 1"]},
                            "wandb-events.jsonl": {"offset": 0, "content": [
                                json.dumps({"_wandb": True, "_timestamp": 1.0,
                                            "system.cpu": 5.0})]}}})
        self.assertIn("limits", r)
        # a resend of offset 0 (lost response) plus new lines: no duplicates
        post({"files": {"wandb-history.jsonl": {"offset": 0, "content": h[:5]}}})
        post({"files": {"wandb-history.jsonl": {"offset": 3, "content": h[3:5]}}})
        post({})                                     # heartbeat
        post({"files": {"wandb-summary.json": {"offset": 0, "content": [
            json.dumps({"loss": 0.4, "_step": 4})]},
                        "output.log": {"offset": 1, "content": ["line 1 (rewritten)",
                                                                 "line 2"]}}})
        post({"files": {"wandb-history.jsonl": {"offset": 5, "content": [
            json.dumps({"_step": 5, "x": float("nan")})]}}})   # NaN token accepted
        post({"complete": True, "exitcode": 0})
        st, r = e.req("POST", fs, {"files": {"wandb-history.jsonl": {"offset": 6,
                                                                     "content": ["not json"]}}})
        self.assertEqual(st, 400)
        st, r = e.req("POST", "/files/%s/dst/nosuch/file_stream" % ENT, {})
        self.assertEqual(st, 404)

        run = e.ctl("GET", "/__emu/dump?project=dst")["entities"][ENT]["projects"]["dst"][
            "runs"]["w1"]
        self.assertEqual(run["history"][:5], h)
        self.assertEqual(len(run["history"]), 6)
        self.assertEqual(run["historyStats"]["resentLines"], 5)
        self.assertEqual(run["historyStats"]["duplicateSteps"], 0)
        self.assertEqual(run["logs"], ["line 0", "line 1 (rewritten)", "line 2"])
        self.assertEqual(run["summary"], {"loss": 0.4, "_step": 4})
        self.assertEqual(run["state"], "finished")
        self.assertEqual(run["exitcode"], 0)
        self.assertEqual(run["notes"], "changed")
        self.assertEqual(run["tags"], ["a", "b"])
        self.assertEqual(run["group"], "grp")
        self.assertEqual(run["jobType"], "eval")
        self.assertEqual(run["config"], cfg)
        d = e.ok('{ project(name:"dst", entityName:"%s") { run(name:"w1") { state '
                 'historyLineCount eventsLineCount logLineCount systemMetrics '
                 'events(samples: 10) } } }' % ENT)["project"]["run"]
        self.assertEqual((d["historyLineCount"], d["eventsLineCount"], d["logLineCount"]),
                         (6, 1, 3))
        self.assertEqual(json.loads(d["systemMetrics"]), {"system.cpu": 5.0})
        self.assertEqual(len(d["events"]), 1)
        # a failing exit code
        e.ok(UPSERT_M, {"name": "w2", "project": "dst", "entity": ENT})
        st, _ = e.req("POST", "/files/%s/dst/w2/file_stream" % ENT,
                      {"complete": True, "exitcode": 3})
        d = e.ok('{ project(name:"dst", entityName:"%s") { run(name:"w2") { state } } }'
                 % ENT)
        self.assertEqual(d["project"]["run"]["state"], "failed")
        # gzip request bodies
        import gzip
        body = gzip.compress(json.dumps({"files": {"output.log": {
            "offset": 0, "content": ["zipped"]}}}).encode())
        st, _ = e.req("POST", "/files/%s/dst/w2/file_stream" % ENT, body,
                      headers={"Content-Encoding": "gzip"})
        self.assertEqual(st, 200)

    def test_files_upload_download(self):
        e = self.e
        e.ok(UPSERT_M, {"name": "f1", "project": "p", "entity": ENT})
        d = e.ok(CREATE_FILES_M, {"entity": ENT, "project": "p", "run": "f1",
                                  "files": ["config.yaml", "media/a.bin"]})["createRunFiles"]
        self.assertEqual(d["uploadHeaders"], [])
        self.assertEqual([f["name"] for f in d["files"]], ["config.yaml", "media/a.bin"])
        blobs = {"config.yaml": b"wandb_version: 1\n", "media/a.bin": os.urandom(70000)}
        for f in d["files"]:
            u = urlsplit(f["uploadUrl"])
            self.assertEqual(u.port, e.port)
            st, _ = e.req("PUT", u.path + "?" + u.query, blobs[f["name"]], auth=False,
                          ctype="application/octet-stream")
            self.assertEqual(st, 200)
        # Content-MD5 is checked when sent
        d2 = e.ok(CREATE_FILES_M, {"entity": ENT, "project": "p", "run": "f1",
                                   "files": ["x.txt"]})["createRunFiles"]
        u = urlsplit(d2["files"][0]["uploadUrl"])
        st, _ = e.req("PUT", u.path + "?" + u.query, b"abc", auth=False,
                      headers={"Content-MD5": base64.b64encode(
                          hashlib.md5(b"abd").digest()).decode()})
        self.assertEqual(st, 400)
        # list (paged) + download + md5
        names, cur = [], None
        while True:
            r = e.ok(RUN_FILES_Q, {"project": "p", "entity": ENT, "name": "f1",
                                   "fileCursor": cur, "fileLimit": 1})["project"]["run"]
            self.assertEqual(r["fileCount"], 2)
            for ed in r["files"]["edges"]:
                n = ed["node"]
                names.append(n["name"])
                data = blobs[n["name"]]
                self.assertEqual(n["sizeBytes"], len(data))
                self.assertEqual(n["md5"],
                                 base64.b64encode(hashlib.md5(data).digest()).decode())
                st, got, _ = e.url(n["url"])
                self.assertEqual(st, 401)                # url wants Basic auth
                st, got, _ = e.url(n["url"], auth=basic())
                self.assertEqual((st, got), (200, data))
                st, got, _ = e.url(n["directUrl"])       # signed: no auth
                self.assertEqual((st, got), (200, data))
            if not r["files"]["pageInfo"]["hasNextPage"]:
                break
            cur = r["files"]["pageInfo"]["endCursor"]
        self.assertEqual(names, ["config.yaml", "media/a.bin"])
        r = e.ok(RUN_FILES_Q, {"project": "p", "entity": ENT, "name": "f1",
                               "pattern": "%.yaml"})["project"]["run"]["files"]["edges"]
        self.assertEqual([x["node"]["name"] for x in r], ["config.yaml"])
        r = e.ok(RUN_FILES_Q, {"project": "p", "entity": ENT, "name": "f1",
                               "fileNames": ["media/a.bin"]})["project"]["run"]["files"]
        self.assertEqual(len(r["edges"]), 1)
        # range request, and a corrupt fault that a md5 check must catch
        n = r["edges"][0]["node"]
        st, got, _ = e.url(n["directUrl"], headers={"Range": "bytes=10-19"})
        self.assertEqual((st, got), (206, blobs["media/a.bin"][10:20]))
        e.ctl("POST", "/__emu/faults", {"path": "^/storage/", "corrupt": True})
        st, got, _ = e.url(n["directUrl"])
        self.assertEqual(st, 200)
        self.assertNotEqual(base64.b64encode(hashlib.md5(got).digest()).decode(), n["md5"])
        # upload headers configured -> returned and required
        e.ctl("POST", "/__emu/config", {"upload_headers": ["X-Emu-Test:1"]})
        d3 = e.ok(CREATE_FILES_M, {"entity": ENT, "project": "p", "run": "f1",
                                   "files": ["y.txt"]})["createRunFiles"]
        self.assertEqual(d3["uploadHeaders"], ["X-Emu-Test:1"])
        u = urlsplit(d3["files"][0]["uploadUrl"])
        st, _ = e.req("PUT", u.path + "?" + u.query, b"y", auth=False)
        self.assertEqual(st, 400)
        st, _ = e.req("PUT", u.path + "?" + u.query, b"y", auth=False,
                      headers={"X-Emu-Test": "1"})
        self.assertEqual(st, 200)

    # ---- artifacts ----

    def test_artifacts(self):
        e = self.e
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
            {"name": "a1", "artifacts": [
                {"name": "ds", "type": "dataset", "aliases": ["best"],
                 "metadata": {"k": 1}, "description": "d",
                 "files": [{"path": "b/x.txt", "content": "xx"},
                           {"path": "a.bin", "size": 1000, "seed": 2},
                           {"path": "remote", "ref": "s3://bucket/key", "digest": "etag1"}]}]},
            {"name": "a2", "usedArtifacts": ["ds:v0"], "artifacts": [
                {"name": "ds", "type": "dataset", "files": [
                    {"path": "b/x.txt", "content": "yy"}]}]}]}]})
        d = e.ok(RUN_OUT_ARTS_Q, {"entity": ENT, "project": "p", "run": "a1"})
        arts = d["project"]["run"]["artifacts"]
        self.assertEqual(arts["totalCount"], 1)
        a = arts["edges"][0]["node"]
        self.assertEqual(a["artifactSequence"]["name"], "ds")
        self.assertEqual(a["versionIndex"], 0)
        self.assertEqual(a["artifactType"]["name"], "dataset")
        self.assertEqual(json.loads(a["metadata"]), {"k": 1})
        self.assertEqual(sorted(x["alias"] for x in a["aliases"]), ["best"])
        self.assertEqual(a["fileCount"], 3)
        m = e.ok(MANIFEST_Q, {"id": a["id"]})["artifact"]["currentManifest"]["file"]
        st, body, _ = e.url(m["directUrl"])
        self.assertEqual(st, 200)
        man = json.loads(body)
        self.assertEqual(man["version"], 1)
        self.assertEqual(man["storagePolicy"], "wandb-storage-policy-v1")
        h = hashlib.md5(b"wandb-artifact-manifest-v1\n")
        for p in sorted(man["contents"]):
            h.update(("%s:%s\n" % (p, man["contents"][p]["digest"])).encode())
        self.assertEqual(h.hexdigest(), a["digest"])
        ent = man["contents"]["b/x.txt"]
        self.assertEqual(ent["digest"], base64.b64encode(hashlib.md5(b"xx").digest()).decode())
        self.assertEqual(man["contents"]["remote"]["ref"], "s3://bucket/key")
        hexmd5 = base64.b64decode(ent["digest"]).hex()
        st, got, _ = e.url("http://x/artifacts/%s/%s" % (ENT, hexmd5), auth=basic())
        self.assertEqual((st, got), (200, b"xx"))
        d = e.ok('query($id: ID!) { artifact(id: $id) { files(first: 10) { edges { node { '
                 'name directUrl md5 sizeBytes } } } } }', {"id": a["id"]})
        fl = {x["node"]["name"]: x["node"] for x in d["artifact"]["files"]["edges"]}
        st, got, _ = e.url(fl["a.bin"]["directUrl"])
        self.assertEqual(len(got), 1000)
        self.assertEqual(base64.b64encode(hashlib.md5(got).digest()).decode(),
                         fl["a.bin"]["md5"])
        # versions, latest alias, input artifacts, project-level lookup
        d = e.ok('{ project(name:"p", entityName:"%s") { '
                 'latest: artifact(name:"ds:latest") { versionIndex } '
                 'v0: artifact(name:"ds:v0") { versionIndex aliases { alias } } '
                 'artifactType(name:"dataset") { artifactCollections { edges { node { '
                 'name artifacts { edges { node { versionIndex } } } } } } } '
                 'run(name:"a2") { inputArtifacts { edges { node { versionIndex '
                 'artifactSequence { name } } } } } } }' % ENT)["project"]
        self.assertEqual(d["latest"]["versionIndex"], 1)
        self.assertEqual(d["v0"]["aliases"], [{"alias": "best"}])
        c = d["artifactType"]["artifactCollections"]["edges"][0]["node"]
        self.assertEqual([x["node"]["versionIndex"] for x in c["artifacts"]["edges"]], [1, 0])
        self.assertEqual(d["run"]["inputArtifacts"]["edges"][0]["node"]["versionIndex"], 0)

    def _put(self, url, data, headers):
        hdrs = dict(h.split(":", 1) for h in headers or [])
        u = urlsplit(url)
        return self.e.req("PUT", u.path + "?" + u.query, data, auth=False,
                          headers=hdrs, ctype="application/octet-stream")[0]

    def _save(self, run, files, aliases=(), meta=None, put=True, commit=True):
        """Save an artifact 'ds' of run with the SDK's sequence; returns
        (create answer, artifact id)."""
        e = self.e
        md5 = {p: base64.b64encode(hashlib.md5(b).digest()).decode() for p, b in files.items()}
        h = hashlib.md5(b"wandb-artifact-manifest-v1\n")
        for p in sorted(files):
            h.update(("%s:%s\n" % (p, md5[p])).encode())
        inp = {"entityName": ENT, "projectName": "p", "runName": run,
               "artifactTypeName": "dataset", "artifactCollectionName": "ds",
               "digest": h.hexdigest(), "digestAlgorithm": "MANIFEST_MD5",
               "enableDigestDeduplication": True, "clientID": "c1",
               "sequenceClientID": "s1",
               "aliases": [{"artifactCollectionName": "ds", "alias": a} for a in aliases]}
        if meta is not None:
            inp["metadata"] = json.dumps(meta)
        art = e.ok(CREATE_ART_M, {"input": inp})["createArtifact"]["artifact"]
        if art["state"] == "COMMITTED":
            return art, art["id"]
        mv = {"artifactID": art["id"], "baseArtifactID": None, "name": "wandb_manifest.json",
              "digest": "", "entityName": ENT, "projectName": "p", "runName": run,
              "includeUpload": False}
        m = e.ok(CREATE_MANIFEST_M, mv)["createArtifactManifest"]["artifactManifest"]
        self.assertNotIn("uploadUrl", m["file"])
        specs = [{"artifactID": art["id"], "artifactManifestID": m["id"], "name": p,
                  "md5": md5[p]} for p in sorted(files)]
        edges = e.ok(CREATE_ART_FILES_M, {"artifactFiles": specs, "storageLayout": "V1"})[
            "createArtifactFiles"]["files"]["edges"]
        self.assertEqual(len(edges), len(files))
        birth = {}
        for sp, ed in zip(specs, edges):
            n = ed["node"]
            birth[sp["name"]] = n["artifact"]["id"]
            if n["uploadUrl"] and put:
                self.assertIn("Content-MD5:" + sp["md5"], n["uploadHeaders"])
                self.assertEqual(self._put(n["uploadUrl"], files[sp["name"]],
                                           n["uploadHeaders"]), 200)
        man = {"version": 1, "storagePolicy": "wandb-storage-policy-v1",
               "storagePolicyConfig": {"storageLayout": "V1"},
               "contents": {p: {"digest": md5[p], "birthArtifactID": birth[p],
                                "size": len(b)} for p, b in files.items()}}
        body = json.dumps(man).encode()
        mv.update(digest=base64.b64encode(hashlib.md5(body).digest()).decode(),
                  includeUpload=True)
        f = e.ok(CREATE_MANIFEST_M, mv)["createArtifactManifest"]["artifactManifest"]["file"]
        self.assertEqual(self._put(f["uploadUrl"], body, f["uploadHeaders"]), 200)
        if commit:
            c = e.ok(COMMIT_ART_M, {"artifactID": art["id"]})["commitArtifact"]["artifact"]
            self.assertEqual(c["digest"], h.hexdigest())
        return art, art["id"]

    def test_artifact_writes(self):
        e = self.e
        e.ok(UPSERT_M, {"name": "w1", "project": "p", "entity": ENT})
        e.ok(UPSERT_M, {"name": "w2", "project": "p", "entity": ENT})
        files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(5000), "empty": b""}
        art, aid = self._save("w1", files, aliases=["best"], meta={"k": [1, 2.5]})
        self.assertEqual(art["state"], "PENDING")
        self.assertIsNone(art["versionIndex"])
        # the run's output, readable like a seeded one
        d = e.ok(RUN_OUT_ARTS_Q, {"entity": ENT, "project": "p", "run": "w1"})
        a = d["project"]["run"]["artifacts"]["edges"][0]["node"]
        self.assertEqual((a["id"], a["versionIndex"], a["state"]), (aid, 0, "COMMITTED"))
        self.assertEqual(sorted(x["alias"] for x in a["aliases"]), ["best", "latest"])
        self.assertEqual(json.loads(a["metadata"]), {"k": [1, 2.5]})
        m = e.ok(MANIFEST_Q, {"id": aid})["artifact"]["currentManifest"]["file"]
        st, body, _ = e.url(m["directUrl"])
        self.assertEqual(set(json.loads(body)["contents"]), set(files))
        d = e.ok('query($id: ID!) { artifact(id: $id) { files(first: 10) { edges { node { '
                 'name directUrl } } } } }', {"id": aid})
        for ed in d["artifact"]["files"]["edges"]:
            st, got, _ = e.url(ed["node"]["directUrl"])
            self.assertEqual((st, got), (200, files[ed["node"]["name"]]))
        # the same content again: COMMITTED, no new version; another run gets it too
        art2, aid2 = self._save("w2", files, aliases=["again"])
        self.assertEqual((art2["state"], aid2, art2["versionIndex"]), ("COMMITTED", aid, 0))
        d = e.ok(RUN_OUT_ARTS_Q, {"entity": ENT, "project": "p", "run": "w2"})
        self.assertEqual(d["project"]["run"]["artifacts"]["totalCount"], 1)
        # new content: v1, "latest" moves; stored bytes need no second upload
        more = dict(files, **{"c.txt": b"gamma"})
        self._save("w2", more)
        dump = e.ctl("GET", "/__emu/dump")["entities"][ENT]["projects"]["p"]["artifacts"]["ds"]
        self.assertEqual([v["version"] for v in dump["versions"]], ["v0", "v1"])
        self.assertEqual(dump["versions"][0]["aliases"], ["best", "again"])
        self.assertEqual(dump["versions"][1]["aliases"], ["latest"])
        self.assertEqual(e.ctl("GET", "/__emu/stats")["byRoute"]
                         ["PUT /storage/upload/{token}"], (3 + 1) + (1 + 1))
        # an unfinished save: commit refuses files never uploaded; the same
        # run asking again gets the pending artifact back and finishes it
        other = {"x.txt": b"never sent"}
        art3, aid3 = self._save("w1", other, put=False, commit=False)
        st, d = e.gql(COMMIT_ART_M, {"artifactID": aid3})
        self.assertIn("never uploaded", d["errors"][0]["message"])
        art4, aid4 = self._save("w1", other)
        self.assertEqual((art4["state"], aid4), ("PENDING", aid3))
        dump = e.ctl("GET", "/__emu/dump")["entities"][ENT]["projects"]["p"]["artifacts"]["ds"]
        self.assertEqual((len(dump["versions"]), dump["pending"]), (3, []))
        # a PUT whose bytes are not the declared MD5 is refused
        inp = {"entityName": ENT, "projectName": "p", "runName": "w1",
               "artifactTypeName": "dataset", "artifactCollectionName": "ds",
               "digest": "0" * 32, "enableDigestDeduplication": True}
        aid5 = e.ok(CREATE_ART_M, {"input": inp})["createArtifact"]["artifact"]["id"]
        spec = {"artifactID": aid5, "name": "z", "md5": base64.b64encode(
            hashlib.md5(b"zzz").digest()).decode()}
        n = e.ok(CREATE_ART_FILES_M, {"artifactFiles": [spec], "storageLayout": "V1"})[
            "createArtifactFiles"]["files"]["edges"][0]["node"]
        self.assertEqual(self._put(n["uploadUrl"], b"zzZ", n["uploadHeaders"]), 400)
        self.assertEqual(self._put(n["uploadUrl"], b"zzz", []), 400)   # header missing
        # bad input: a type other than the collection's, an unknown run, an alias with ':'
        for bad_inp, msg in ((dict(inp, artifactTypeName="model"), "type"),
                             (dict(inp, runName="nope"), "not found"),
                             (dict(inp, aliases=[{"artifactCollectionName": "ds",
                                                  "alias": "a:b"}]), "alias")):
            st, d = e.gql(CREATE_ART_M, {"input": bad_inp})
            self.assertIn(msg, d["errors"][0]["message"])

    # ---- rate limits and faults ----

    def test_rate_limit(self):
        e = self.e
        e.ctl("POST", "/__emu/config", {"rate_limit": 2, "rate_window_s": 30})
        for _ in range(2):
            st, _ = e.gql("{ viewer { username } }")
            self.assertEqual(st, 200)
        st, body, r = e.req("POST", "/graphql", {"query": "{ viewer { username } }"}, raw=True)
        self.assertEqual(st, 429)
        ra = int(r.getheader("Retry-After"))
        self.assertTrue(1 <= ra <= 30, ra)
        self.assertEqual(r.getheader("RateLimit-Remaining"), "0")
        self.assertTrue(1 <= int(r.getheader("RateLimit-Reset")) <= 30)
        self.assertGreaterEqual(e.ctl("GET", "/__emu/stats")["rateLimited"], 1)
        e.ctl("POST", "/__emu/config", {"rate_limit": 0})
        st, _ = e.gql("{ viewer { username } }")
        self.assertEqual(st, 200)
        # file_stream: per-run requests/s
        e.ok(UPSERT_M, {"name": "rl", "project": "p", "entity": ENT})
        e.ctl("POST", "/__emu/config", {"filestream_rate_limit": 1})
        sts = [e.req("POST", "/files/%s/p/rl/file_stream" % ENT, {})[0] for _ in range(3)]
        self.assertIn(429, sts)

    def test_faults(self):
        e = self.e
        seed_basic(e)
        e.ctl("POST", "/__emu/faults", {"path": "^/graphql$", "operation": "^Runs$",
                                        "status": 503, "retry_after": 2, "count": 1})
        v = {"project": "p", "entity": ENT}
        st, body, r = e.req("POST", "/graphql", {"query": RUNS_Q, "variables": v}, raw=True)
        self.assertEqual(st, 503)
        self.assertEqual(r.getheader("Retry-After"), "2")
        st, _ = e.gql("{ viewer { username } }")         # other operations unaffected
        self.assertEqual(st, 200)
        st, d = e.gql(RUNS_Q, v)
        self.assertEqual(st, 200)
        # skip + drop_after_bytes: the second HistoryPage is cut short
        e.ctl("POST", "/__emu/faults", {"operation": "HistoryPage", "skip": 1,
                                        "drop_after_bytes": 20})
        hv = {"entity": ENT, "project": "p", "run": "r1", "minStep": 0, "maxStep": 1000,
              "pageSize": 1000}
        self.assertEqual(e.gql(HISTORY_PAGE_Q, hv)[0], 200)
        with self.assertRaises((http.client.IncompleteRead, ConnectionError)):
            e.gql(HISTORY_PAGE_Q, hv)
        # reset
        e.ctl("POST", "/__emu/faults", {"path": "file_stream", "reset": True})
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected, OSError)):
            e.req("POST", "/files/%s/p/r1/file_stream" % ENT, {})
        # delay + latency + concurrency
        e.ctl("DELETE", "/__emu/faults")
        e.ctl("POST", "/__emu/faults", {"path": "^/graphql$", "delay_ms": 300})
        t = time.time()
        e.gql("{ viewer { username } }")
        self.assertGreaterEqual(time.time() - t, 0.3)
        e.ctl("DELETE", "/__emu/stats")
        e.ctl("POST", "/__emu/config", {"latency_ms": 300})
        ths = [threading.Thread(target=e.gql, args=("{ viewer { username } }",))
               for _ in range(4)]
        for t_ in ths:
            t_.start()
        for t_ in ths:
            t_.join()
        st = e.ctl("GET", "/__emu/stats")
        self.assertGreaterEqual(st["maxConcurrency"], 2)
        self.assertEqual(st["byOperation"].get("(anonymous)"), 4)
        self.assertEqual(st["byRoute"]["POST /graphql"], 4)
        lst = e.ctl("GET", "/__emu/faults")["faults"]
        self.assertTrue(all("fired" in f for f in lst))

    def test_gaps_logs_events_seed(self):
        e = self.e
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
            {"name": "g", "events": {"rows": 30}, "logs": {"count": 5}}]}]})
        fs = "/files/%s/p/g/file_stream" % ENT
        st, _ = e.req("POST", fs, {"files": {"wandb-history.jsonl": {
            "offset": 2, "content": [json.dumps({"_step": 2, "a": 1})]}}})
        self.assertEqual(st, 200)
        d = e.ok('{ project(name:"p", entityName:"%s") { run(name:"g") { historyLineCount '
                 'eventsLineCount logLineCount history events(samples: 10) '
                 'logLines(first: 2, useImprovedPagination: true) { edges { '
                 'node { number line } } pageInfo { hasNextPage } } } } }'
                 % ENT)["project"]["run"]
        self.assertEqual(d["historyLineCount"], 3)
        self.assertEqual([json.loads(x) for x in d["history"]], [{"_step": 2, "a": 1}])
        self.assertEqual(d["eventsLineCount"], 30)
        self.assertEqual(len(d["events"]), 10)
        self.assertTrue(json.loads(d["events"][0])["_wandb"])
        self.assertEqual(d["logLineCount"], 5)
        self.assertEqual([x["node"] for x in d["logLines"]["edges"]],
                         [{"number": 0, "line": "log line 0"},
                          {"number": 1, "line": "log line 1"}])
        self.assertTrue(d["logLines"]["pageInfo"]["hasNextPage"])
        r = e.ctl("GET", "/__emu/dump?run=g")["entities"][ENT]["projects"]["p"]["runs"]["g"]
        self.assertEqual(r["historyStats"]["gaps"], 2)
        self.assertEqual(r["history"][:2], [None, None])

    def test_strict_fields(self):
        e = self.e
        e.ctl("POST", "/__emu/reset")          # strict_fields is the default
        seed_basic(e)
        e.ctl("DELETE", "/__emu/documents")
        page = ('query GetProjects($entity: String, $cursor: String, $perPage: Int = 50) '
                '{ models(entityName: $entity, after: $cursor, first: $perPage) { '
                'pageInfo { endCursor hasNextPage } edges { node { id name } %s } } }')
        st, d = e.gql(page % "", {"entity": ENT})
        self.assertEqual(st, 200, d)
        # an edge's cursor: never (issue 20)
        st, d = e.gql(page % "cursor", {"entity": ENT})
        self.assertEqual(st, 400)
        self.assertEqual(d["errors"][0]["message"],
                         'Cannot query field "cursor" on type "edges".')
        # a field no public document asks for there
        st, d = e.gql('{ project(name: "p", entityName: "%s") { run(name: "r0") '
                      '{ eventsLineCount } } }' % ENT)
        self.assertEqual(st, 400)
        self.assertIn('"eventsLineCount"', d["errors"][0]["message"])
        # ... though it is asked for elsewhere (RunResumeStatus)
        d = e.ok('{ model(name: "p", entityName: "%s") { bucket(name: "r0", '
                 'missingOk: true) { eventsLineCount } } }' % ENT)
        self.assertEqual(d["model"]["bucket"]["eventsLineCount"], 0)
        # an argument no public document gives
        st, d = e.gql('{ project(name: "p", entityName: "%s", foo: 1) { id } }' % ENT)
        self.assertEqual(st, 400)
        self.assertEqual(d["errors"][0]["message"],
                         'Unknown argument "foo" on field "Query.project".')
        docs = e.ctl("GET", "/__emu/documents")["documents"]
        self.assertEqual(len(docs), 5)
        self.assertIn("cursor } } }", docs[1])

    def test_log_lines_paging(self):
        e = self.e
        e.ctl("POST", "/__emu/reset")
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
            {"name": "g", "logs": ["l%d" % i for i in range(25)]}]}]})
        page = ('query RunConsoleLogPage($entity: String!, $project: String!, '
                '$runName: String!, $first: Int, $after: String) { project(name: '
                '$project, entityName: $entity) { run(name: $runName) { logLineCount '
                'logLines(first: $first, after: $after%s) { edges { node { number '
                'timestamp level label line } } pageInfo { endCursor hasNextPage } '
                '} } } }')
        tail = ('query RunConsoleLogTail($entity: String!, $project: String!, '
                '$runName: String!, $last: Int!) { project(name: $project, '
                'entityName: $entity) { run(name: $runName) { logLineCount '
                'logLines(last: $last) { edges { node { number line } } } } } }')
        v = {"entity": ENT, "project": "p", "runName": "g", "first": 10}

        def conn(q, extra):
            d = e.ok(q, dict(v, **extra))["project"]["run"]
            self.assertEqual(d["logLineCount"], 25)
            ll = d["logLines"]
            return [x["node"]["line"] for x in ll["edges"]], ll.get("pageInfo")

        improved = page % ", useImprovedPagination: true"
        lines, pi = conn(improved, {})
        self.assertEqual(lines, ["l%d" % i for i in range(10)])
        self.assertTrue(pi["hasNextPage"])
        lines, pi = conn(improved, {"after": pi["endCursor"]})
        self.assertEqual(lines, ["l%d" % i for i in range(10, 20)])
        # the legacy resolver: `first` ignored, `after` counts back from the end
        e.ctl("POST", "/__emu/config", {"log_legacy_page": 8})
        lines, pi = conn(page % "", {})
        self.assertEqual(lines, ["l%d" % i for i in range(17, 25)])
        lines, pi = conn(page % "", {"after": pi["endCursor"]})
        self.assertEqual(lines, ["l%d" % i for i in range(9, 17)])
        # `last` is the tail in order on both
        lines, _ = conn(tail, {"last": 25})
        self.assertEqual(lines, ["l%d" % i for i in range(25)])
        # a page cut short mid-log says hasNextPage false (runhandler.go)
        e.ctl("POST", "/__emu/config", {"log_page_max": 4})
        lines, pi = conn(improved, {})
        self.assertEqual(lines, ["l%d" % i for i in range(4)])
        self.assertFalse(pi["hasNextPage"])
        # servers before 0.77 reject the argument
        e.ctl("POST", "/__emu/config", {"log_lines_legacy": True})
        st, d = e.gql(improved, v)
        self.assertEqual(st, 400)
        self.assertEqual(d["errors"][0]["message"], 'Unknown argument '
                         '"useImprovedPagination" on field "Run.logLines".')
        lines, _ = conn(tail, {"last": 25})
        self.assertEqual(len(lines), 25)

    def test_console_levels(self):
        e = self.e
        e.ctl("POST", "/__emu/seed", {"projects": [{"name": "p", "runs": [
            {"name": "g", "logs": ["plain", "2024-01-01T00:00:00.000001 out",
                                   "ERROR 2024-01-01T00:00:01.000000 [rank-1] boom",
                                   "[x] not a label"]}]}]})
        d = e.ok('{ project(name: "p", entityName: "%s") { run(name: "g") { '
                 'logLines(last: 4) { edges { node { number timestamp level label '
                 'line } } } } } }' % ENT)
        nodes = [x["node"] for x in d["project"]["run"]["logLines"]["edges"]]
        self.assertEqual(nodes, [
            {"number": 0, "timestamp": None, "level": "", "label": "", "line": "plain"},
            {"number": 1, "timestamp": "2024-01-01T00:00:00.000001Z", "level": "",
             "label": "", "line": "out"},
            {"number": 2, "timestamp": "2024-01-01T00:00:01.000000Z", "level": "error",
             "label": "rank-1", "line": "boom"},
            {"number": 3, "timestamp": None, "level": "", "label": "",
             "line": "[x] not a label"}])

    def test_stats_dump_reset(self):
        e = self.e
        seed_basic(e)
        e.gql(RUNS_Q, {"project": "p", "entity": ENT}, op="Runs")
        st = e.ctl("GET", "/__emu/stats")
        self.assertEqual(st["byOperation"]["Runs"], 1)
        d = e.ctl("GET", "/__emu/dump?content=0&history=0")
        r = d["entities"][ENT]["projects"]["p"]["runs"]["r0"]
        self.assertEqual(r["historyLineCount"], 10)
        self.assertNotIn("history", r)
        e.ctl("POST", "/__emu/reset")
        d = e.ctl("GET", "/__emu/dump")
        self.assertEqual(d["entities"][ENT]["projects"], {})
        self.assertEqual(e.ctl("GET", "/__emu/stats")["requests"], 0)
        st, _ = e.req("GET", "/__emu/nope", auth=False)
        self.assertEqual(st, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
