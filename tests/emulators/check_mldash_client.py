#!/usr/bin/env python3
"""Run the real ml-dash v0.5.9 Python CLI against mldash_emu.py.

Needs a source checkout of fortyfive-labs/ml-dash at v0.5.9 (commit
3a3d2f31e6734b79d4339e11938348b28c31897f) whose path is given in
MLDASH_CLIENT_SRC, and a Python that has httpx, rich and PyJWT
(MLDASH_CLIENT_PYTHON, default /usr/bin/python3; on Debian 12:
apt-get install python3-httpx python3-rich python3-jwt).
Without MLDASH_CLIENT_SRC the script prints SKIP and exits 77.

Nothing of ml-dash is kept in this repository; the checkout is only run.

Scenarios (each on a fresh emulator):
  plain      upload the v0.5.9 local-store fixture, download it, compare
  chunked    same with --chunk-size 2 (download reads chunks/0 + the buffer)
  idsnum     same with --ids-as-numbers (19-digit ids as bare JSON numbers)
  big        seed 250,000 generated points, download, check every value
  chunkfail  chunks/1 answers 500: the client must fall back to paging
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.join(HERE, "mldash_emu.py")
FIXTURE = os.environ.get(
    "MLDASH_FIXTURE",
    os.path.join(HERE, "..", "fixtures", "mldash", "v0.5.9-local-store"))
SRC = os.environ.get("MLDASH_CLIENT_SRC")
CPY = os.environ.get("MLDASH_CLIENT_PYTHON", "/usr/bin/python3")

sys.path.insert(0, HERE)
from mldash_emu import gen_value  # noqa: E402


class Emu:
    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, "-u", EMU] + list(args),
                                  stdout=subprocess.PIPE)
        line = self.p.stdout.readline().decode()
        assert line.startswith("PORT "), line
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    def stop(self):
        self.p.terminate()
        self.p.wait(10)
        self.p.stdout.close()


def cli(tmp, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "src"), HOME=tmp)
    t0 = time.time()
    r = subprocess.run([CPY, "-m", "ml_dash.cli"] + list(args), cwd=tmp, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    out = r.stdout.decode("utf-8", "replace")
    return r.returncode, out, time.time() - t0


def read_tree(root):
    """project/experiment -> comparable content of a v0.5.9 local store."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        if "experiment.json" not in files:
            continue
        with open(os.path.join(dirpath, "experiment.json")) as f:
            ej = json.load(f)
        key = "%s/%s" % (ej["project"], ej["name"])
        d = {"folder": ej.get("folder")}
        pj = os.path.join(dirpath, "parameters.json")
        if os.path.exists(pj):
            with open(pj) as f:
                d["params"] = json.load(f)["data"]
        lj = os.path.join(dirpath, "logs", "logs.jsonl")
        if os.path.exists(lj):
            with open(lj) as f:
                d["logs"] = [{k: v for k, v in json.loads(x).items()}
                             for x in f if x.strip()]
        mdir = os.path.join(dirpath, "metrics")
        d["metrics"] = {}
        if os.path.isdir(mdir):
            for m in sorted(os.listdir(mdir)):
                with open(os.path.join(mdir, m, "data.jsonl")) as f:
                    d["metrics"][m] = [json.loads(x)["data"] for x in f if x.strip()]
        fm = os.path.join(dirpath, "files", ".files_metadata.json")
        d["files"] = []
        if os.path.exists(fm):
            with open(fm) as f:
                for rec in json.load(f)["files"]:
                    p = os.path.join(dirpath, "files", rec["path"].lstrip("/"),
                                     rec["id"], rec["filename"])
                    with open(p, "rb") as fb:
                        content = fb.read()
                    d["files"].append({k: rec[k] for k in
                                       ("path", "filename", "description", "tags",
                                        "contentType", "sizeBytes", "checksum",
                                        "metadata")} | {"bytes": content.hex()})
        out[key] = d
    return out


FAILS = []


def check(cond, msg):
    print(("  ok   " if cond else "  FAIL ") + msg)
    if not cond:
        FAILS.append(msg)


def roundtrip(name, *emu_args):
    print("[%s]" % name)
    tmp = tempfile.mkdtemp(prefix="mldash-check-")
    emu = Emu(*emu_args)
    try:
        emu.ctl("POST", "/__emu/config", {"record_bodies": True})
        rc, out, _ = cli(tmp, "upload", FIXTURE, "--remote", emu.url, "--username", "tom")
        check(rc == 0 and "Successful" in out, "upload exits 0 (rc=%d)" % rc)
        up = emu.ctl("GET", "/__emu/stats")
        routes = [r["route"] for r in up["recent"]]
        check(routes == ["/projects/{project}/experiments",
                         "/experiments/{eid}/parameters", "/experiments/{eid}/logs",
                         "/experiments/{eid}/metrics/{name}/append-batch",
                         "/experiments/{eid}/files"],
              "upload request sequence as in mldash.md 1.6: %s" % routes)
        create = json.loads(up["recent"][0]["body"])
        check(set(create) == {"name", "metadata"} and "folder" in create["metadata"],
              "create body is {name, metadata: <experiment.json>} (mldash.md 1.6)")
        emu.ctl("DELETE", "/__emu/stats")
        rc, out, _ = cli(tmp, "download", os.path.join(tmp, "dl"), "--remote", emu.url,
                         "--username", "tom")
        check(rc == 0 and "Failed            │ 0" in out, "download exits 0, 0 failed")
        dn = emu.ctl("GET", "/__emu/stats")
        a, b = read_tree(FIXTURE), read_tree(os.path.join(tmp, "dl"))
        check(sorted(a) == sorted(b), "same experiments %s" % sorted(b))
        for k in a:
            if k not in b:
                continue
            for part in ("folder", "params", "logs", "metrics", "files"):
                check(a[k].get(part) == b[k].get(part), "%s %s equal" % (k, part))
        return dn
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def big(chunkfail=False):
    print("[%s]" % ("chunkfail" if chunkfail else "big"))
    tmp = tempfile.mkdtemp(prefix="mldash-check-")
    n = 250000
    emu = Emu()
    try:
        emu.ctl("POST", "/__emu/seed", {"namespace": "tom", "experiments": [{
            "project": "p", "name": "e",
            "metrics": {"m": {"generate": {"count": n, "start": 0, "step": 1}}}}]})
        if chunkfail:
            emu.ctl("POST", "/__emu/faults", {"path": r"/chunks/1$", "status": 500})
        rc, out, secs = cli(tmp, "download", os.path.join(tmp, "dl"), "--remote",
                            emu.url, "--username", "tom")
        check(rc == 0, "download exits 0 (%.1fs)" % secs)
        st = emu.ctl("GET", "/__emu/stats")
        br = st["byRoute"]
        tree = read_tree(os.path.join(tmp, "dl"))
        pts = tree.get("p/e", {}).get("metrics", {}).get("m", [])
        check(len(pts) == n, "%d points downloaded (got %d)" % (n, len(pts)))
        good = all(p["step"] == i and p["value"] == gen_value(i) for i, p in enumerate(pts))
        check(good, "every point equals the generator's value, in order")
        chunks = br.get("GET /experiments/{eid}/metrics/{name}/chunks/{n}", 0)
        pages = br.get("GET /experiments/{eid}/metrics/{name}/data", 0)
        if chunkfail:
            check(st["faultsFired"] == 1, "one injected 500 fired")
            check(pages >= n // 1000, "fell back to /data paging (%d page requests)" % pages)
        else:
            check(chunks == 2 and pages == 1,
                  "2 chunk requests + 1 bufferOnly request (chunks=%d data=%d)"
                  % (chunks, pages))
    finally:
        emu.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not SRC:
        print("SKIP: set MLDASH_CLIENT_SRC to an ml-dash v0.5.9 checkout")
        return 77
    r = subprocess.run([CPY, "-c", "import httpx, jwt, rich"], capture_output=True)
    if r.returncode != 0:
        print("SKIP: %s lacks httpx/jwt/rich" % CPY)
        return 77
    roundtrip("plain")
    st = roundtrip("chunked", "--chunk-size", "2")
    br = st["byRoute"]
    check(br.get("GET /experiments/{eid}/metrics/{name}/chunks/{n}") == 1 and
          br.get("GET /experiments/{eid}/metrics/{name}/data") == 1,
          "chunked download read chunks/0 and the buffer: %s" % br)
    roundtrip("idsnum", "--ids-as-numbers")
    big()
    big(chunkfail=True)
    print("FAILED: %d" % len(FAILS) if FAILS else "ALL OK")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
