#!/usr/bin/env python3
"""Self-test of mldash_emu.py (stdlib unittest; no ml-dash client needed)."""

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.join(HERE, "mldash_emu.py")
sys.path.insert(0, HERE)
import mldash_emu  # noqa: E402

# mldash.md 1.1.1 test vector (userId("tom") = 1624013799)
VECTOR = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySWQiOiIxNjI0MDEzNzk5IiwidXNlck5hbWUi"
          "OiJ0b20iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMjU5MjAwMH0.QGvCCT9i5BcUbxFENssoGFTxbctl"
          "4m5iPR4Wu6BAKac")


def tok05(user="tom"):
    t = int(time.time())
    uid = str(int(hashlib.sha256(user.encode()).hexdigest()[:16], 16))[:10]
    return mldash_emu.jwt_encode({"userId": uid, "userName": user, "iat": t,
                                  "exp": t + 3600})


def tok06(user="tom"):
    return mldash_emu.jwt_encode({"sub": "42", "username": user, "email": "t@x",
                                  "exp": int(time.time()) + 3600})


class Emu:
    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, "-u", EMU] + list(args),
                                  stdout=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("no PORT line: %r" % (line,))
        self.port = int(line.split()[1])

    def req(self, method, path, body=None, token=None, ctype="application/json",
            headers=None, raw=False):
        # generous: a CI machine loaded by sanitizer builds is slow, not broken
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None and ctype:
            h["Content-Type"] = ctype
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        if raw:
            return r.status, data, r
        return r.status, (json.loads(data) if data and "json" in
                          (r.getheader("Content-Type") or "") else data)

    def ctl(self, method, path, body=None):
        st, d = self.req(method, path, body)
        assert st == 200, (st, d)
        return d

    def gql(self, query, variables=None, token=None, path="/graphql"):
        return self.req("POST", path, {"query": query, "variables": variables or {}},
                        token or tok05())

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(10)
        self.p.stdout.close()
        return rc


class Base(unittest.TestCase):
    args = ()

    @classmethod
    def setUpClass(cls):
        cls.emu = Emu(*cls.args)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def setUp(self):
        self.emu.ctl("POST", "/__emu/reset")
        self.t = tok05()

    def mkexp(self, name="e1", project="p1", **kw):
        st, d = self.emu.req("POST", "/projects/%s/experiments" % project,
                             dict(name=name, **kw), self.t)
        self.assertIn(st, (200, 201), d)
        return d["experiment"]["id"]


class TestStartupAndAuth(Base):
    args = ("--api-key", "sekrit", "--api-key-user", "keyuser")

    def test_sigterm_exits(self):
        e = Emu()
        self.assertEqual(e.stop(), 0)

    def test_jwt_vector_signature(self):
        # the mldash.md 1.1.1 vector verifies with the dev secret (exp is past)
        with self.assertRaisesRegex(ValueError, "expired"):
            mldash_emu.jwt_verify(VECTOR)
        self.assertEqual(mldash_emu.jwt_encode(
            {"userId": "1624013799", "userName": "tom", "iat": 1700000000,
             "exp": 1702592000}), VECTOR)

    def test_401s(self):
        for tok in (None, "garbage", VECTOR, tok05()[:-2] + "xx",
                    mldash_emu.jwt_encode({"userName": "tom"}, b"other-secret")):
            st, d = self.emu.req("GET", "/experiments/1/logs", token=tok)
            self.assertEqual(st, 401, tok)
            self.assertEqual(d["error"], "Unauthorized")
            st, d = self.emu.gql("{ me { username } }", token=tok or "x")
            self.assertEqual(st, 401)

    def test_claims_and_namespace(self):
        st, d = self.emu.gql("{ me { id username } }", token=tok05("alice"))
        self.assertEqual(d["data"]["me"], {"id": "3159282601", "username": "alice"})
        st, d = self.emu.gql("{ me { id username email } }", token=tok06("bob"))
        self.assertEqual(d["data"]["me"], {"id": "42", "username": "bob", "email": "t@x"})
        st, d = self.emu.gql("{ me { username } }", token="sekrit")
        self.assertEqual(d["data"]["me"]["username"], "keyuser")
        # namespace derived from the token
        self.emu.req("POST", "/projects/px/experiments", {"name": "e"}, tok05("carol"))
        st, d = self.emu.gql('{ projects(namespaceSlug: "carol") { slug } }')
        self.assertEqual(d["data"]["projects"], [{"slug": "px"}])
        # v0.6 node writes only into the caller's namespace
        st, d = self.emu.req("POST", "/api/namespaces/carol/nodes",
                             {"type": "PROJECT", "name": "q"}, tok06("bob"))
        self.assertEqual(st, 403)

    def test_strict_claims(self):
        self.emu.ctl("POST", "/__emu/config", {"strict_claims": True})
        st, _ = self.emu.req("GET", "/api/experiments/1/logs", token=tok05())
        self.assertEqual(st, 401)
        st, _ = self.emu.req("GET", "/experiments/1/logs", token=tok06())
        self.assertEqual(st, 401)
        st, _ = self.emu.req("GET", "/experiments/1/logs", token=tok05())
        self.assertEqual(st, 404)


class TestNodeJSON(Base):
    def test_nan_rejected(self):
        eid = self.mkexp()
        for bad in ('{"data":{"v":NaN}}', '{"data":{"v":Infinity}}',
                    '{"data":{"v":-Infinity}}', '{"data":', '"str"'):
            st, d = self.emu.req("POST", "/experiments/%s/metrics/m/append" % eid, bad, self.t)
            self.assertEqual(st, 400, bad)
        st, d = self.emu.req("GET", "/experiments/%s/metrics" % eid, token=self.t)
        self.assertEqual(d["metrics"], [])

    def test_number_round_trip_like_node(self):
        eid = self.mkexp()
        body = ('{"dataPoints":[{"a":1.0,"b":-0.0,"c":12345678901234567890,'
                '"d":1e-7,"e":0.00001,"f":0.1,"g":1e21,"h":1e400}]}')
        st, _ = self.emu.req("POST", "/experiments/%s/metrics/m/append-batch" % eid,
                             body, self.t)
        self.assertEqual(st, 200)
        st, raw, _ = self.emu.req("GET", "/experiments/%s/metrics/m/data" % eid,
                                  token=self.t, raw=True)
        self.assertIn(b'"data":{"a":1,"b":0,"c":12345678901234567000,"d":1e-7,'
                      b'"e":0.00001,"f":0.1,"g":1e+21,"h":null}', raw)

    def test_non_json_content_type_body_ignored(self):
        st, d = self.emu.req("POST", "/projects/p/experiments", '{"name":"x"}', self.t,
                             ctype="text/plain")
        self.assertEqual(st, 400)
        self.assertIn("name", d["message"])


class TestV05(Base):
    def test_upsert_same_name(self):
        st, a = self.emu.req("POST", "/projects/p/experiments",
                             {"name": "e", "description": "d", "folder": "/x/y"}, self.t)
        st2, b = self.emu.req("POST", "/projects/p/experiments", {"name": "e"}, self.t)
        self.assertEqual((st, st2), (201, 200))
        self.assertEqual(a["experiment"]["id"], b["experiment"]["id"])
        self.assertRegex(a["experiment"]["id"], r"^\d{19}$")
        self.assertEqual(b["experiment"]["description"], "d")
        self.assertEqual(b["namespace"]["slug"], "tom")
        self.assertEqual(b["folder"]["path"], "/x/y")

    def test_status(self):
        eid = self.mkexp()
        st, d = self.emu.req("PATCH", "/experiments/%s/status" % eid,
                             {"status": "COMPLETED"}, self.t)
        self.assertEqual(d["experiment"]["status"], "COMPLETED")
        self.assertIsNotNone(d["experiment"]["endedAt"])
        st, d = self.emu.req("PATCH", "/experiments/%s/status" % eid, {"status": "X"}, self.t)
        self.assertEqual(st, 400)

    def test_logs(self):
        eid = self.mkexp()
        logs = [{"timestamp": "2025-01-01T00:00:%02dZ" % (59 - i), "level": lv,
                 "message": "m%d" % i} for i, lv in
                enumerate(["info", "warn", "error", "debug", "fatal"] * 3)]
        st, d = self.emu.req("POST", "/experiments/%s/logs" % eid, {"logs": logs[:10]}, self.t)
        self.assertEqual((st, d["created"], d["startSequence"], d["endSequence"]),
                         (201, 10, 0, 9))
        st, d = self.emu.req("POST", "/experiments/%s/logs" % eid, {"logs": logs[10:]}, self.t)
        self.assertEqual((d["startSequence"], d["endSequence"]), (10, 14))
        st, d = self.emu.req("POST", "/experiments/%s/logs" % eid,
                             {"logs": [{"message": "x", "level": "trace"}]}, self.t)
        self.assertEqual(st, 400)
        q = "/experiments/%s/logs?limit=4&offset=%d&orderBy=sequenceNumber&order=asc"
        seen, off = [], 0
        while True:
            st, d = self.emu.req("GET", q % (eid, off), token=self.t)
            seen += [lg["sequenceNumber"] for lg in d["logs"]]
            off += len(d["logs"])
            if not d["hasMore"]:
                break
        self.assertEqual(seen, list(range(15)))
        st, d = self.emu.req("GET", "/experiments/%s/logs?orderBy=timestamp&order=desc&limit=2"
                             % eid, token=self.t)
        self.assertEqual([lg["sequenceNumber"] for lg in d["logs"]], [0, 1])
        st, d = self.emu.req("GET", "/experiments/%s/logs?level=error,fatal&search=M1" % eid,
                             token=self.t)
        self.assertEqual([lg["message"] for lg in d["logs"]], ["m12", "m14"])

    def test_parameters(self):
        eid = self.mkexp()
        st, d = self.emu.req("GET", "/experiments/%s/parameters" % eid, token=self.t)
        self.assertEqual(st, 404)
        self.emu.req("POST", "/experiments/%s/parameters" % eid,
                     {"data": {"a.b": 1, "c": "x"}}, self.t)
        st, d = self.emu.req("POST", "/experiments/%s/parameters" % eid,
                             {"data": {"a.b": 2, "d": True}}, self.t)
        self.assertEqual(d["version"], 2)
        st, d = self.emu.req("GET", "/experiments/%s/parameters" % eid, token=self.t)
        self.assertEqual(d["data"], {"a.b": 2, "c": "x", "d": True})

    def test_chunk_sealing_and_paging(self):
        self.emu.ctl("POST", "/__emu/config", {"chunk_size": 5})
        eid = self.mkexp()
        base = "/experiments/%s/metrics/loss" % eid
        st, d = self.emu.req("POST", base + "/append-batch",
                             {"dataPoints": [{"v": i} for i in range(7)]}, self.t)
        self.assertEqual((d["startIndex"], d["endIndex"], d["count"],
                          d["bufferedDataPoints"], d["chunkSize"]), ("0", "6", 7, "2", 5))
        for i in range(7, 12):
            st, d = self.emu.req("POST", base + "/append", {"data": {"v": i}}, self.t)
            self.assertEqual(d["index"], str(i))
        st, s = self.emu.req("GET", base + "/stats", token=self.t)
        self.assertEqual((s["totalChunks"], s["bufferedDataPoints"], s["totalDataPoints"],
                          s["chunkedDataPoints"], s["chunkSize"]), (2, "2", "12", "10", 5))
        st, c = self.emu.req("GET", base + "/chunks/1", token=self.t)
        self.assertEqual([p["index"] for p in c["data"]], ["5", "6", "7", "8", "9"])
        self.assertEqual((c["chunkNumber"], c["startIndex"], c["endIndex"], c["dataCount"]),
                         (1, "5", "9", 5))
        st, _ = self.emu.req("GET", base + "/chunks/2", token=self.t)
        self.assertEqual(st, 404)
        st, d = self.emu.req("GET", base + "/data?startIndex=3&limit=4", token=self.t)
        self.assertEqual([p["data"]["v"] for p in d["data"]], [3, 4, 5, 6])
        self.assertTrue(d["hasMore"])
        st, d = self.emu.req("GET", base + "/data?startIndex=8&limit=100", token=self.t)
        self.assertEqual([p["data"]["v"] for p in d["data"]], [8, 9, 10, 11])
        self.assertFalse(d["hasMore"])
        st, d = self.emu.req("GET", base + "/data?bufferOnly=true", token=self.t)
        self.assertEqual([p["data"]["v"] for p in d["data"]], [10, 11])
        self.emu.ctl("POST", "/__emu/config", {"buffer_only_limit": 1})
        st, d = self.emu.req("GET", base + "/data?bufferOnly=true", token=self.t)
        self.assertEqual(([p["data"]["v"] for p in d["data"]], d["hasMore"]), ([10], True))
        st, d = self.emu.req("GET", "/experiments/%s/metrics" % eid, token=self.t)
        self.assertEqual([m["name"] for m in d["metrics"]], ["loss"])

    def test_files(self):
        eid = self.mkexp()
        content = b"\x00\x01binary\xffdata"
        sha = hashlib.sha256(content).hexdigest()

        def upload(checksum, size, prefix="/models"):
            bnd = "XBOUNDX"
            parts = []
            for k, v in (("prefix", prefix), ("checksum", checksum), ("sizeBytes", str(size)),
                         ("tags", "a,b"), ("metadata", '{"m":1}'), ("description", "dd")):
                parts.append(b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                             % (bnd.encode(), k.encode(), v.encode()))
            parts.append(b'--%s\r\nContent-Disposition: form-data; name="file"; '
                         b'filename="w.bin"\r\nContent-Type: application/x-bin\r\n\r\n'
                         % bnd.encode() + content + b"\r\n")
            body = b"".join(parts) + b"--%s--\r\n" % bnd.encode()
            return self.emu.req("POST", "/experiments/%s/files" % eid, body, self.t,
                                ctype="multipart/form-data; boundary=" + bnd)
        st, d = upload("0" * 64, len(content))
        self.assertEqual(st, 400)
        st, d = upload(sha, len(content) + 1)
        self.assertEqual(st, 400)
        st, f = upload(sha, len(content))
        self.assertEqual(st, 201, f)
        self.assertEqual((f["path"], f["filename"], f["sizeBytes"], f["checksum"], f["tags"],
                          f["metadata"], f["contentType"]),
                         ("/models", "w.bin", len(content), sha, ["a", "b"], {"m": 1},
                          "application/x-bin"))
        st, lst = self.emu.req("GET", "/experiments/%s/files" % eid, token=self.t)
        self.assertEqual([x["id"] for x in lst["files"]], [f["id"]])
        st, g = self.emu.req("GET", "/experiments/%s/files/%s" % (eid, f["id"]), token=self.t)
        self.assertEqual(g["checksum"], sha)
        st, raw, _ = self.emu.req("GET", "/experiments/%s/files/%s/download" % (eid, f["id"]),
                                  token=self.t, raw=True)
        self.assertEqual(raw, content)
        # same path + filename replaces
        st, f2 = upload(sha, len(content))
        st, lst = self.emu.req("GET", "/experiments/%s/files" % eid, token=self.t)
        self.assertEqual([x["id"] for x in lst["files"]], [f2["id"]])
        # GraphQL (v0.5 shape)
        st, d = self.emu.gql('query E($n:String!,$p:String!,$e:String!){ experiment('
                             'namespaceSlug:$n, projectSlug:$p, experimentName:$e){ id '
                             'files { id filename path sizeBytes checksum } parameters { id } '
                             'logMetadata { totalLogs } project { slug } } }',
                             {"n": "tom", "p": "p1", "e": "e1"})
        e = d["data"]["experiment"]
        self.assertEqual((e["id"], e["parameters"], e["logMetadata"]["totalLogs"]),
                         (eid, None, 0))
        self.assertEqual(e["files"][0]["sizeBytes"], len(content))


class TestGraphQL(Base):
    def test_lists_and_paging(self):
        for i in range(7):
            self.mkexp("e%d" % i, "proj%d" % (i % 3))
        st, d = self.emu.gql('query P($ns:String!){ projects(namespaceSlug:$ns){ slug } }',
                             {"ns": "tom"})
        self.assertEqual([p["slug"] for p in d["data"]["projects"]],
                         ["proj0", "proj1", "proj2"])
        st, d = self.emu.gql('query($l:Int!,$o:Int!){ projectsPaginated(limit:$l, offset:$o)'
                             '{ projects { slug experimentCount } totalCount hasMore } }',
                             {"l": 2, "o": 1}, token=tok06("bob"))
        self.assertEqual(d["errors"] if "errors" in d else None, None)
        self.assertEqual(d["data"]["projectsPaginated"]["totalCount"], 0)  # bob != tom
        st, d = self.emu.gql('query($l:Int!,$o:Int!){ projectsPaginated(namespaceSlug:"tom",'
                             ' limit:$l, offset:$o){ projects { slug experimentCount } '
                             'totalCount hasMore } }', {"l": 2, "o": 1})
        pp = d["data"]["projectsPaginated"]
        self.assertEqual(pp, {"projects": [{"slug": "proj1", "experimentCount": 2},
                                           {"slug": "proj2", "experimentCount": 2}],
                              "totalCount": 3, "hasMore": False})
        st, d = self.emu.gql('{ experimentsPaginated(namespaceSlug:"tom", projectSlug:"proj0",'
                             ' limit:2, offset:0){ experiments { name project { slug '
                             'namespace { slug } } } totalCount hasMore } }')
        ep = d["data"]["experimentsPaginated"]
        self.assertEqual(([e["name"] for e in ep["experiments"]], ep["totalCount"],
                          ep["hasMore"]), (["e0", "e3"], 3, True))
        st, d = self.emu.gql('{ searchExperimentsPaginated(pattern:"tom/proj[01]/e*",'
                             ' limit:10, offset:0){ experiments { name } totalCount } }')
        self.assertEqual(d["data"]["searchExperimentsPaginated"]["totalCount"], 5)

    def test_fragments_alias_typename_and_errors(self):
        self.mkexp("e", "p", folder="/f")
        st, d = self.emu.gql('query H($n:String!,$p:String!){ project(namespaceSlug:$n,'
                             ' projectSlug:$p){ x: nodes(parentId:null, maxDepth:5){ ...F '
                             'children { ...F } } } } fragment F on Node { id name type '
                             '__typename }', {"n": "tom", "p": "p"})
        n = d["data"]["project"]["x"][0]
        self.assertEqual((n["name"], n["type"], n["__typename"]), ("f", "FOLDER", "Node"))
        self.assertEqual(n["children"][0]["type"], "EXPERIMENT")
        st, d = self.emu.gql("{ nope { id } }")
        self.assertEqual(st, 400)
        self.assertIn("Cannot query field", d["errors"][0]["message"])
        st, d = self.emu.gql("{ me { username ")
        self.assertEqual(st, 400)
        self.assertIn("errors", d)
        st, d = self.emu.gql('{ experiment(namespaceSlug:"tom", projectSlug:"p", '
                             'experimentName:"zz"){ id } }')
        self.assertEqual(d, {"data": {"experiment": None}})


class TestV06(Base):
    def test_node_api_files(self):
        t = tok06()
        ns = "/api/namespaces/tom/nodes"
        st, d = self.emu.req("POST", ns, {"type": "PROJECT", "name": "pp", "slug": "pp"}, t)
        self.assertEqual(st, 201)
        pid = d["project"]["id"]
        st, d = self.emu.req("POST", ns, {"type": "PROJECT", "name": "pp", "slug": "pp"}, t)
        self.assertEqual(st, 409)
        st, d = self.emu.req("POST", ns, {"type": "FOLDER", "projectId": pid,
                                          "parentId": "ROOT", "name": "runs"}, t)
        fid = d["node"]["id"]
        st, d2 = self.emu.req("POST", ns, {"type": "FOLDER", "projectId": pid,
                                           "parentId": "ROOT", "name": "runs"}, t)
        self.assertEqual(d2["node"]["id"], fid)            # upsert
        st, d = self.emu.req("POST", ns, {"type": "EXPERIMENT", "name": "x", "parentId": fid,
                                          "projectSlug": "pp", "tags": ["a"]}, t)
        self.assertEqual(st, 201)
        eid, enode = d["experiment"]["id"], d["node"]["id"]
        st, d = self.emu.req("POST", ns, {"type": "EXPERIMENT", "name": "x", "parentId": fid,
                                          "projectId": pid}, t)
        self.assertEqual((st, d["experiment"]["id"]), (200, eid))
        st, d = self.emu.gql('query($e:ID!){ experimentNode(experimentId:$e){ id } }',
                             {"e": eid}, t)
        self.assertEqual(d["data"]["experimentNode"]["id"], enode)
        st, d = self.emu.req("PATCH", "/api/nodes/" + enode, {"status": "FAILED"}, t)
        self.assertEqual(d["status"], "FAILED")
        st, d = self.emu.req("POST", ns, {"type": "FOLDER", "projectId": pid, "parentId": enode,
                                          "experimentId": eid, "name": "ckpt"}, t)
        cf = d["node"]["id"]
        content = b"weights" * 1000
        sha = hashlib.sha256(content).hexdigest()
        bnd = "B0UND"
        fields = {"type": "FILE", "projectId": pid, "experimentId": eid, "parentId": cf,
                  "name": "w.pt", "checksum": sha, "tags": "t1"}
        body = b"".join(b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                        % (bnd.encode(), k.encode(), v.encode()) for k, v in fields.items())
        body += (b'--%s\r\nContent-Disposition: form-data; name="file"; filename="w.pt"\r\n'
                 b'Content-Type: application/octet-stream\r\n\r\n' % bnd.encode()
                 + content + b"\r\n--%s--\r\n" % bnd.encode())
        st, d = self.emu.req("POST", ns, body, t, ctype="multipart/form-data; boundary=" + bnd)
        self.assertEqual(st, 201, d)
        self.assertEqual(d["physicalFile"]["sizeBytes"], str(len(content)))
        nid = d["node"]["id"]
        st, d = self.emu.req("GET", "/api/nodes/" + nid, token=t)
        self.assertEqual((d["name"], d["physicalFile"]["checksum"]), ("w.pt", sha))
        self.assertEqual(d["pPath"], "runs/x/ckpt/w.pt")
        st, raw, _ = self.emu.req("GET", "/api/nodes/%s/download" % nid, token=t, raw=True)
        self.assertEqual(raw, content)
        st, d = self.emu.gql('query($e:ID!,$l:Int!,$o:Int!){ experimentById(id:$e){ projectId '
                             'filesPaginated(limit:$l, offset:$o){ files { id name pPath '
                             'physicalFile { filename sizeBytes checksum } } totalCount '
                             'hasMore } } }', {"e": eid, "l": 500, "o": 0}, t)
        fp = d["data"]["experimentById"]["filesPaginated"]
        self.assertEqual((fp["totalCount"], fp["hasMore"], fp["files"][0]["id"]), (1, False, nid))
        # the same file seen through the v0.5 API
        st, lst = self.emu.req("GET", "/experiments/%s/files" % eid, token=self.t)
        self.assertEqual((lst["files"][0]["path"], lst["files"][0]["sizeBytes"]),
                         ("/ckpt", len(content)))
        # /api variants of the shared experiment routes
        st, d = self.emu.req("POST", "/api/experiments/%s/metrics/m/append-batch" % eid,
                             {"dataPoints": [{"v": 1}]}, t)
        self.assertEqual(st, 200)
        st, d = self.emu.req("GET", "/api/experiments/%s/metrics/m/stats" % eid, token=t)
        self.assertEqual(d["totalDataPoints"], "1")
        st, d = self.emu.req("GET", "/api/nodes/%s" % nid, token=self.t)
        self.assertEqual(st, 200)

    def test_generation_switch(self):
        self.emu.ctl("POST", "/__emu/config", {"generation": "v06"})
        st, _ = self.emu.req("POST", "/projects/p/experiments", {"name": "e"}, self.t)
        self.assertEqual(st, 404)
        st, _ = self.emu.gql("{ me { username } }")
        self.assertEqual(st, 200)
        self.emu.ctl("POST", "/__emu/config", {"generation": "v05"})
        st, _ = self.emu.req("GET", "/api/nodes/1", token=self.t)
        self.assertEqual(st, 404)
        # v0.5 has no node API without prefix
        st, _ = self.emu.req("GET", "/nodes/1", token=self.t)
        self.assertEqual(st, 404)


class TestControl(Base):
    def test_faults(self):
        eid = self.mkexp()
        path = "/experiments/%s/logs" % eid
        self.emu.ctl("POST", "/__emu/faults", {"path": "/logs$", "method": "GET",
                                               "status": 503, "count": 2,
                                               "retry_after": "1"})
        st1, _, r1 = self.emu.req("GET", path, token=self.t, raw=True)
        st2, _ = self.emu.req("GET", path, token=self.t)
        st3, _ = self.emu.req("GET", path, token=self.t)
        self.assertEqual((st1, st2, st3), (503, 503, 200))
        self.assertEqual(r1.getheader("Retry-After"), "1")
        # drop the connection after 10 body bytes of the real response
        self.emu.ctl("POST", "/__emu/faults", {"path": "/logs$", "drop_after_bytes": 10})
        c = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=300)
        c.request("GET", path, headers={"Authorization": "Bearer " + self.t})
        r = c.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            r.read()
        # reset without any response
        self.emu.ctl("POST", "/__emu/faults", {"path": "/logs$", "reset": True, "skip": 1})
        self.assertEqual(self.emu.req("GET", path, token=self.t)[0], 200)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.emu.req("GET", path, token=self.t)
        # delay
        self.emu.ctl("POST", "/__emu/faults", {"path": "/logs$", "delay_ms": 300})
        t0 = time.time()
        self.assertEqual(self.emu.req("GET", path, token=self.t)[0], 200)
        self.assertGreaterEqual(time.time() - t0, 0.29)
        s = self.emu.ctl("GET", "/__emu/stats")
        self.assertEqual(s["faultsFired"], 5)   # 2 x 503, drop, reset, delay
        self.assertEqual(s["byRoute"]["GET /experiments/{eid}/logs"], 7)
        self.assertEqual(s["byStatus"]["503"], 2)

    def test_latency_and_concurrency(self):
        eid = self.mkexp()
        self.emu.ctl("POST", "/__emu/config", {"latency_ms": 200})
        self.emu.ctl("DELETE", "/__emu/stats")
        ths = [threading.Thread(target=self.emu.req,
                                args=("GET", "/experiments/%s/logs" % eid, None, self.t))
               for _ in range(6)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        # concurrency shows in the server's own count, not in wall time
        # (no timed assertions: they fail on a loaded machine)
        s = self.emu.ctl("GET", "/__emu/stats")
        self.assertGreaterEqual(s["maxConcurrency"], 4)
        self.assertEqual(s["requests"], 6)

    def test_seed_big_metric_dump_reset(self):
        d = self.emu.ctl("POST", "/__emu/seed", {"namespace": "tom", "experiments": [{
            "project": "p", "name": "big", "folder": "/a/b", "parameters": {"x.y": 1},
            "logs": {"count": 3},
            "metrics": {"m": {"generate": {"count": 1000000, "start": 0, "step": 1}},
                        "small": [{"v": 1.5}, {"v": 2}]},
            "files": [{"path": "/f", "filename": "a.txt", "content": "hello"},
                      {"filename": "r.bin", "size": 100000, "seed": 3}]}]})
        e = d["experiments"][0]
        self.assertEqual(e["metrics"]["m"], {"metricId": e["metrics"]["m"]["metricId"],
                                             "totalDataPoints": 1000000, "totalChunks": 10,
                                             "bufferedDataPoints": 0})
        base = "/experiments/%s/metrics/m" % e["id"]
        st, raw, _ = self.emu.req("GET", base + "/chunks/7", token=self.t, raw=True)
        c = json.loads(raw)
        self.assertEqual(len(c["data"]), 100000)
        p = c["data"][123]
        i = 700123
        self.assertEqual((p["index"], p["data"]), (str(i), {"value": mldash_emu.gen_value(i),
                                                            "step": i}))
        st, pg = self.emu.req("GET", base + "/data?startIndex=99998&limit=4", token=self.t)
        self.assertEqual([x["data"]["step"] for x in pg["data"]], [99998, 99999, 100000, 100001])
        dump = self.emu.ctl("GET", "/__emu/dump?points=0")
        ex = dump["namespaces"][0]["projects"][0]["experiments"][0]
        self.assertEqual((ex["folder"], ex["parameters"]["data"], len(ex["logs"]),
                          ex["metrics"]["m"]["totalDataPoints"]),
                         ("/a/b", {"x.y": 1}, 3, "1000000"))
        dump = self.emu.ctl("GET", "/__emu/dump?project=p&experiment=big&content=1")
        ex = dump["namespaces"][0]["projects"][0]["experiments"][0]
        self.assertEqual(len(ex["metrics"]["m"]["points"]), 1000000)
        self.assertEqual([x["data"] for x in ex["metrics"]["small"]["points"]],
                         [{"v": 1.5}, {"v": 2}])
        self.assertEqual(base64.b64decode(ex["files"][0]["contentBase64"]), b"hello")
        self.assertEqual(ex["files"][1]["sizeBytes"], 100000)
        self.emu.ctl("POST", "/__emu/reset")
        self.assertEqual(self.emu.ctl("GET", "/__emu/dump")["namespaces"], [])


class TestPublicSchema(Base):
    """--generation v05: the GraphQL schema has exactly the fields the
    ml-dash v0.5.9 client asks for (mldash_emu.PUBLIC_SCHEMA)."""
    args = ("--generation", "v05")

    def test_fields(self):
        self.mkexp("e1", "p1", folder="/a/b")
        q = ('{ experiment(namespaceSlug:"tom", projectSlug:"p1", experimentName:"e1"){ '
             'id name description tags status startedAt endedAt metadata project { slug } '
             'logMetadata { totalLogs } metrics { name metricMetadata { totalDataPoints } } '
             'files { id filename path contentType sizeBytes checksum description tags '
             'metadata } parameters { id data } } }')
        st, d = self.emu.gql(q)
        self.assertEqual(st, 200, d)
        self.assertEqual(d["data"]["experiment"]["name"], "e1")
        for field, typ in (("folder", "Experiment"), ("createdAt", "Experiment"),
                           ("experimentCount", "Project")):
            sel = {"Experiment": "%s", "Project": "project { %s }"}[typ] % field
            st, d = self.emu.gql('{ experiment(namespaceSlug:"tom", projectSlug:"p1", '
                                 'experimentName:"e1"){ id %s } }' % sel)
            self.assertEqual(st, 400, d)
            self.assertEqual(d["errors"][0]["message"],
                             'Cannot query field "%s" on type "%s".' % (field, typ))
        for root in ("me { username }", "experimentById(id: 1) { id }",
                     "projectsPaginated { hasMore }"):
            st, d = self.emu.gql("{ %s }" % root)
            self.assertEqual(st, 400, d)
            self.assertIn('on type "Query"', d["errors"][0]["message"])

    def test_introspection(self):
        st, d = self.emu.gql('{ __type(name: "Experiment") { fields { name } } }')
        self.assertEqual(st, 200, d)
        names = {f["name"] for f in d["data"]["__type"]["fields"]}
        self.assertEqual(names, mldash_emu.PUBLIC_SCHEMA["v0.5.9"]["Experiment"])
        self.emu.ctl("POST", "/__emu/config", {"introspection": False})
        st, d = self.emu.gql('{ __type(name: "Experiment") { fields { name } } }')
        self.assertEqual(st, 400, d)
        self.assertIn("introspection is not allowed", d["errors"][0]["message"])
        # the v0.6.27 client's schema, and every field the emulator has
        self.emu.ctl("POST", "/__emu/config", {"introspection": True, "schema": "all"})
        st, d = self.emu.gql('{ __type(name: "Experiment") { fields { name } } }')
        self.assertIn("folder", {f["name"] for f in d["data"]["__type"]["fields"]})
        self.emu.ctl("POST", "/__emu/config", {"schema": "v0.6.27"})
        st, d = self.emu.gql('{ __type(name: "Experiment") { fields { name } } }')
        names = {f["name"] for f in d["data"]["__type"]["fields"]}
        self.assertIn("filesPaginated", names)
        self.assertNotIn("folder", names)


class TestIdsAsNumbers(Base):
    args = ("--ids-as-numbers", "--chunk-size", "2")

    def test_bare_numbers(self):
        st, raw, _ = self.emu.req("POST", "/projects/p/experiments", {"name": "e"}, self.t,
                                  raw=True)
        m = re.search(rb'"experiment":\{"id":(\d{19}),', raw)
        self.assertIsNotNone(m, raw)
        eid = m.group(1).decode()
        self.emu.req("POST", "/experiments/%s/metrics/m/append-batch" % eid,
                     {"dataPoints": [{"v": 1}, {"v": 2}, {"v": 3}]}, self.t)
        st, raw, _ = self.emu.req("GET", "/experiments/%s/metrics/m/chunks/0" % eid,
                                  token=self.t, raw=True)
        self.assertRegex(raw, rb'"metricId":\d{19},')
        st, raw, _ = self.emu.req("POST", "/graphql", {"query": "{ projects { id } }"},
                                  self.t, raw=True)
        self.assertRegex(raw, rb'"id":\d{19}\}')


if __name__ == "__main__":
    unittest.main(verbosity=2)
