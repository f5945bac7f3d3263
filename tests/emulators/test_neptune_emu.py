#!/usr/bin/env python3
"""Self-test of neptune_emu.py (stdlib unittest; no Neptune client needed)."""

import base64
import http.client
import io
import json
import os
import subprocess
import sys
import unittest
import zipfile
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.join(HERE, "neptune_emu.py")


class Emu:
    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, "-u", EMU] + list(args), stdout=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("no PORT line: %r" % (line,))
        self.port = int(line.split()[1])

    def req(self, method, path, body=None, headers=None, host=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = dict(headers or {})
        h["Host"] = host or "localhost:%d" % self.port
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data, r

    def jreq(self, *a, **k):
        st, data, _ = self.req(*a, **k)
        return st, json.loads(data) if data else None

    def stop(self):
        self.p.terminate()
        self.p.wait()


SEED = {"projects": [
    {"workspace": "ws", "name": "proj", "key": "CLS", "runs": [
        {"id": "CLS-1", "attributes": {
            "parameters/x": {"type": "float", "value": 2.0},
            "metrics/loss": {"type": "floatSeries",
                             "values": [[0.1, float("nan"), 1], [1e-6, float("inf"), 2]]},
            "source_code/files": {"type": "fileSet", "files": {"a.py": "1", "d/b.txt": "2"}}}},
        {"id": "CLS-2", "trashed": True},
        {"id": "CLS-MOD", "type": "model"}]},
    {"workspace": "ws", "name": "big", "key": "BIG", "generate": {"runs": 10001}}]}


class T(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.e = Emu("--api-host", "localhost")
        st, _ = cls.e.jreq("POST", "/__emu/seed", SEED, host="127.0.0.1:%d" % cls.e.port)
        assert st == 200
        cls.token = cls.e.jreq("GET", "/__emu/token")[1]["token"]

    @classmethod
    def tearDownClass(cls):
        cls.e.stop()

    def bearer(self):
        st, d = self.e.jreq("GET", "/api/backend/v1/authorization/oauth-token",
                            headers={"X-Neptune-Api-Token": self.token})
        self.assertEqual(st, 200)
        return d

    def auth(self):
        return {"Authorization": "Bearer " + self.bearer()["accessToken"]}

    def test_token_config_exchange_refresh(self):
        d = json.loads(base64.b64decode(self.token))
        self.assertIn("api_address", d)
        st, cfg = self.e.jreq("GET", "/api/backend/v1/clients/config?alpha=true",
                              headers={"X-Neptune-Api-Token": self.token},
                              host="127.0.0.1:%d" % self.e.port)
        self.assertEqual(st, 200)
        self.assertEqual(cfg["apiUrl"], "http://localhost:%d" % self.e.port)
        st, _ = self.e.jreq("GET", "/api/backend/v1/clients/config?alpha=true&x=1",
                            headers={"X-Neptune-Api-Token": self.token})
        self.assertEqual(st, 400)  # unknown parameter
        tok = self.bearer()
        form = urlencode({"grant_type": "refresh_token", "refresh_token": tok["refreshToken"],
                          "client_id": "neptune-cli"})
        path = "/auth/realms/neptune/protocol/openid-connect/token"
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        st, r = self.e.jreq("POST", path, form, headers=hdr)
        self.assertEqual(st, 200)
        self.assertIn("access_token", r)
        st, _ = self.e.jreq("POST", path, form, headers=hdr)
        self.assertEqual(st, 400)  # refresh tokens are single-use

    def test_wrong_host_refused(self):
        st, _ = self.e.jreq("GET", "/api/backend/v1/projects", headers=self.auth(),
                            host="127.0.0.1:%d" % self.e.port)
        self.assertEqual(st, 421)

    def test_search_offset_cap_and_nql(self):
        h = self.auth()
        u = "/api/leaderboard/v1/leaderboard/entries/search?projectIdentifier=ws/big&type=run"
        st, _ = self.e.jreq("POST", u, {"pagination": {"offset": 9999, "limit": 2}}, headers=h)
        self.assertEqual(st, 400)
        st, _ = self.e.jreq("POST", u, {"pagination": {"offset": 0, "limit": 1}, "bogus": 1},
                            headers=h)
        self.assertEqual(st, 400)
        q = {"query": {"query": '(`sys/id`:string > "BIG-9998") AND (`sys/trashed`:bool = false)'},
             "sorting": {"dir": "ascending", "aggregationMode": "none",
                         "sortBy": {"name": "sys/id", "type": "string"}},
             "attributeFilters": [{"path": "sys/id"}], "pagination": {"offset": 0, "limit": 10}}
        st, d = self.e.jreq("POST", u, q, headers=h)
        self.assertEqual(st, 200)
        ids = [e["attributes"][0]["stringProperties"]["value"] for e in d["entries"]]
        self.assertEqual(ids, ["BIG-9999"])

    def test_search_by_type(self):
        u = "/api/leaderboard/v1/leaderboard/entries/search?projectIdentifier=ws/proj&type="
        st, d = self.e.jreq("POST", u + "model", {"attributeFilters": [{"path": "sys/id"}]},
                            headers=self.auth())
        self.assertEqual(st, 200)
        self.assertEqual([e["type"] for e in d["entries"]], ["model"])

    def test_series_and_file_set(self):
        h = self.auth()
        rid = "ws/proj/CLS-1"
        st, d = self.e.jreq("GET", "/api/leaderboard/v1/attributes/series/float?" +
                            urlencode({"experimentId": rid, "attribute": "metrics/loss",
                                       "offset": 0, "limit": 10}), headers=h)
        self.assertEqual(st, 200)
        self.assertEqual(d["totalItemCount"], 2)
        self.assertNotEqual(d["values"][0]["value"], d["values"][0]["value"])  # NaN
        q = urlencode({"experimentId": rid, "attribute": "source_code/files"})
        st, d = self.e.jreq("POST", "/api/leaderboard/v1/attributes/downloadFileSetZipRequest?" + q,
                            headers=h)
        self.assertEqual(st, 200)
        polls = 0
        while True:
            polls += 1
            st, r = self.e.jreq("GET", "/api/leaderboard/v1/download/downloadRequest?id=" + d["id"],
                                headers=h)
            self.assertEqual(st, 200)
            if r.get("downloadUrl"):
                break
        self.assertGreater(polls, 1)
        path = r["downloadUrl"].split(str(self.e.port), 1)[1]
        st, data, _ = self.e.req("GET", path, headers=h)
        self.assertEqual(st, 200)
        self.assertEqual(sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()), ["a.py", "d/b.txt"])

    def test_fault_with_retry_after(self):
        self.e.jreq("POST", "/__emu/faults", {"path": "/projects$", "status": 429,
                                               "retry_after": 1})
        st, data, r = self.e.req("GET", "/api/backend/v1/projects", headers=self.auth())
        self.assertEqual(st, 429)
        self.assertEqual(r.getheader("Retry-After"), "1")
        st, _ = self.e.jreq("GET", "/api/backend/v1/projects", headers=self.auth())
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
