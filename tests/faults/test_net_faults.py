#!/usr/bin/env python3
"""Network faults (issue 16): every HTTP adapter's download (vendor -> layout)
and upload (layout -> vendor, where the adapter writes) run against its
emulator under the shared fault schedule (tests/emulators/emuhttp.py,
Schedule: 1 request in 7 gets a 503, a 429 with Retry-After, a reset before
the response, a body cut in half, a flipped body byte where the API gives a
checksum, or a body trickled below --low-speed-limit).

Each faulted run must either exit 0 with the destination equal to the
source ('xport verify'; for a server destination also the emulator's dump:
no experiment twice), or exit non-zero naming in its summary every
experiment it did not copy; in both cases every experiment it reports
copied must be whole at the destination; and a rerun with --resume and no
faults must then finish with the destination equal to the source.

usage: test_net_faults.py XPORT EMULATORS_DIR [SEED...]
  Without seeds (as in ctest) each run uses the seeds below; the schedule is
  deterministic by request number and seed (requests in flight at once may
  arrive in another order)."""
import base64, json, os, re, shutil, subprocess, sys, tempfile, threading, time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

# the vendors run side by side (most of a run is waiting: backoff, Retry-After,
# slow bodies); each one's lines are printed together when it ends
OUT = threading.local()


def say(line):
    OUT.lines.append(line)

XPORT, EMUS = (os.path.abspath(a) for a in sys.argv[1:3])
SEEDS = [int(s) for s in sys.argv[3:]] or [1, 4]
HARSH_SEED = SEEDS[0]
# the slow body trickles 10 bytes/s: below 100 B/s for 1 s aborts the attempt
NET = ["--low-speed-limit", "100", "--low-speed-time", "1", "--json"]


# ---- emulators ------------------------------------------------------------------------------

class Emu:
    def __init__(self, script, args=()):
        self.p = subprocess.Popen([sys.executable, "-u", os.path.join(EMUS, script)] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.match(r"PORT (\d+)", line or "")
        if not m:
            sys.exit("%s did not start: %r %s" % (script, line, self.p.stderr.read()))
        self.p.stdout.close()
        self.url = "http://127.0.0.1:%s" % m.group(1)

    def ctl(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        rq = urllib.request.Request(self.url + path, data=data, method=method,
                                    headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(rq, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def schedule(self, spec):
        self.ctl("POST", "/__emu/config", {"schedule": spec})

    def faulted(self):
        s = self.ctl("GET", "/__emu/stats?recent=0").get("schedule") or {}
        if os.environ.get("NETFAULT_LOG"):
            for f in s.get("log", []):
                say("    #%d %s %s %s" % (f["n"], f.get("applied", f["kind"]), f["method"],
                                         f["path"]))
        return s.get("faulted", 0), s.get("byKind", {}), s.get("requests", 0)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
        err = self.p.stderr.read()
        if "Traceback" in err:
            say("emulator traceback:\n" + err[-3000:])
            return ["emulator traceback"]
        return []


def gen_bytes(n, seed):
    import hashlib
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (n // 32 + 1))[:n]


# ---- the vendors ----------------------------------------------------------------------------

def mldash_setup(emu):
    exps = []
    for i in range(3):
        exps.append({
            "project": "p", "name": "e%d" % i, "status": "COMPLETED",
            "parameters": {"lr": 0.001 * (i + 1), "model.depth": i},
            "logs": {"count": 12},
            "metrics": {"loss": [{"value": 1.0 / (k + 1), "step": k} for k in range(40)],
                        "acc": {"generate": {"count": 60, "start": 0, "step": 1}}},
            "files": [{"path": "/out", "filename": "a.txt", "content": "hello %d\n" % i},
                      {"filename": "w.bin", "size": 3000 + i, "seed": i}]})
    emu.ctl("POST", "/__emu/seed", {"namespace": "tom", "experiments": exps})
    return {"MLDASH_REMOTE": emu.url, "MLDASH_USERNAME": "tom"}


def mldash_dups(emu, project):
    d = emu.ctl("GET", "/__emu/dump?points=0&content=0")
    out = []
    for ns in d["namespaces"]:
        for p in ns["projects"]:
            if p.get("slug", p.get("name")) != project:
                continue
            names = [e["name"] for e in p["experiments"]]
            out += ["%s twice" % n for n in set(names) if names.count(n) > 1]
            for e in p["experiments"]:
                fs = [(f.get("path"), f["filename"]) for f in e["files"] if not f.get("deletedAt")]
                out += ["%s: file %s twice" % (e["name"], f) for f in set(fs) if fs.count(f) > 1]
    return out


def wandb_setup(emu):
    runs = []
    for i in range(3):
        runs.append({
            "name": "r%d" % i, "displayName": "run %d" % i, "state": "finished",
            "config": {"lr": 0.001 * (i + 1), "depth": i},
            "summary": {"loss": 0.5},
            "history": [{"_step": k, "loss": 1.0 / (k + 1), "acc": k * 0.25} for k in range(40)],
            "logs": {"count": 12},
            "files": [{"name": "a.txt", "content": "hello %d\n" % i},
                      {"name": "w.bin", "size": 3000 + i, "seed": i}]})
    runs[0]["artifacts"] = [{"name": "ds", "type": "dataset", "description": "d",
                             "files": [{"path": "x.txt", "content": "artifact\n"},
                                       {"path": "sub/y.bin", "size": 2000, "seed": 9}]}]
    emu.ctl("POST", "/__emu/seed", {"projects": [{"entity": "b", "name": "p", "runs": runs}]})
    return {"WANDB_BASE_URL": emu.url,
            "WANDB_API_KEY": "emu_000000000000000000000000000000000000wandb"}


def wandb_dups(emu, project):
    """Runs are kept by name (an id xport chose): two runs of one display name."""
    d = emu.ctl("GET", "/__emu/dump")
    out = []
    for ent in d["entities"].values():
        proj = ent["projects"].get(project, {})
        names = [r.get("displayName") or r["name"] for r in proj.get("runs", {}).values()]
        out += ["%s twice" % n for n in set(names) if names.count(n) > 1]
        # the source has one version of each artifact
        out += ["artifact %s: %d versions" % (a, len(c["versions"]))
                for a, c in proj.get("artifacts", {}).items() if len(c["versions"]) > 1]
    return out


def neptune_setup(emu):
    emu.ctl("POST", "/__emu/seed", {"projects": [{
        "workspace": "b", "name": "p", "key": "B",
        "generate": {"runs": 3, "atoms": 4, "float_series": 2, "points": 40, "files": 1,
                     "file_size": 3000},
        # a file set (a zip prepared, polled for, then fetched) and text series
        "runs": [{"id": "B-100", "name": "with files", "attributes": {
            "source_code/files": {"type": "fileSet",
                                  "files": {"train.py": "print(1)\n" * 50, "cfg/a.yaml": "a: 1\n"}},
            "monitoring/stdout": {"type": "stringSeries",
                                  "values": [[k, "line %d" % k, 1767225600000 + k]
                                             for k in range(20)]},
            "metrics/loss": {"type": "floatSeries",
                             "values": [[k, 1.0 / (k + 1), 1767225600000 + k]
                                        for k in range(30)]}}}]}]})
    return {"NEPTUNE_API_TOKEN": emu.ctl("GET", "/__emu/token")["token"]}


COMET_KEY = "emu0comet0000000000000000000key"


def comet_setup(emu):
    exps = []
    for i in range(3):
        exps.append({"key": "e%031d" % i, "name": "run-%d" % i, "start": 1700000000000 + i,
                     "end": 1700000001000 + i, "params": {"lr": 0.001 * (i + 1), "seed": i},
                     "others": {"Name": "run-%d" % i},
                     "metrics": [{"name": "loss", "value": 1.0 / (k + 1), "step": k,
                                  "ts": 1700000000000 + k} for k in range(40)],
                     "output_lines": 12,
                     "assets": [{"fileName": "a.txt", "text": "hello %d\n" % i},
                                {"fileName": "w.bin",
                                 "b64": base64.b64encode(gen_bytes(3000 + i, i)).decode()}]})
    emu.ctl("POST", "/__emu/seed", {"workspaces": {"ws": {"projects": {"p": {"experiments": exps},
                                                                       "q": {}}}}})
    return {"COMET_API_KEY": COMET_KEY, "COMET_URL_OVERRIDE": emu.url + "/clientlib/"}


def comet_dups(emu, project):
    d = emu.ctl("GET", "/__emu/dump")
    out = []
    exps = [e for e in d["experiments"] if e["project"] == project]
    names = [e["name"] for e in exps]
    out += ["%s twice" % n for n in set(names) if names.count(n) > 1]
    for e in exps:
        fs = [(a["fileName"], a["type"]) for a in e["assets"]]
        out += ["%s: asset %s twice" % (e["name"], f) for f in set(fs) if fs.count(f) > 1]
    return out


# name, emulator script and args, set-up, source, upload destination project (or None), dups
# A download where every other body the API gives a checksum of has a byte
# flipped (the mixed schedule above lands few of these): each must be caught
# and fetched again. Neptune and Comet give sizes only (their "checksum"
# becomes a cut), so only ml-dash (SHA-256 in its file listings) and W&B
# (X-Goog-Hash / MD5) are here; the run's tuple stays apart from `runs`.
CHECKSUM_PATHS = {"mldash": r"/download$", "wandb": r"^/storage/|^/files/"}
CHECKSUM_RUNS = {v: [(3, 2, None, None)] for v in CHECKSUM_PATHS}

VENDORS = [
    ("mldash", "mldash_emu.py", [], mldash_setup, "mldash:tom/p", "mldash:tom/q",
     mldash_dups),
    ("wandb", "wandb_emu.py", [], wandb_setup, "wandb:b/p", "wandb:b/q", wandb_dups),
    ("neptune", "neptune_emu.py", [], neptune_setup, "neptune:b/p", None, None),
    ("comet", "comet_emu.py", ["--api-key", COMET_KEY], comet_setup, "comet:ws/p",
     "comet:ws/q", comet_dups),
]


# ---- one faulted run and its checks ---------------------------------------------------------

def xport(args, env, timeout=300):
    return subprocess.run([XPORT] + args, env=env, capture_output=True, text=True,
                          timeout=timeout)


def parse_json(out):
    exps, summary = [], None
    for line in out.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if "experiment" in o:
            exps.append(o)
        elif "summary" in o:
            summary = o["summary"]
    return exps, summary


def verify(a, b, env):
    """verify's difference lines ([] when equal) and its exit code."""
    v = xport(["verify", a, b], env)
    lines = [l for l in v.stdout.splitlines() if l and not re.match(r"\d+ difference", l)]
    if v.returncode and not lines:
        lines = ["verify failed (%d): %s" % (v.returncode, v.stderr.strip()[-500:])]
    return v.returncode, lines


def faulted_run(what, emu, env, args, src, dst, dups, seed, every=7, retries=None,
                limit=None, only=None):
    """One run under the schedule (1 request in `every`, `seed`, at most
    `limit` faults), its checks, then the rerun."""
    fails = []
    what = "%s (seed %d, 1 in %d%s%s%s)" % (
        what, seed, every, "" if limit is None else ", %d faults" % limit,
        "" if retries is None else ", --retries %d" % retries,
        "" if only is None else ", checksums only")

    def fail(msg):
        say("FAIL %s: %s" % (what, msg))
        fails.append(msg)
    emu.ctl("DELETE", "/__emu/stats")
    spec = {"every": every, "seed": seed, "limit": limit}
    if only is not None:  # flipped bytes in the bodies the API gives a checksum of
        spec.update({"kinds": ["checksum"], "path": only})
    spec.update(json.loads(os.environ.get("NETFAULT_SPEC") or "{}"))  # for exploring by hand
    emu.schedule(spec)
    t0 = time.time()
    p = xport(args + NET + ([] if retries is None else ["--retries", str(retries)]), env)
    nf, kinds, nreq = emu.faulted()
    emu.schedule(None)
    exps, summary = parse_json(p.stdout)
    if p.returncode < 0 or "AddressSanitizer" in p.stderr or "runtime error" in p.stderr:
        fail("crashed (%d): %s" % (p.returncode, p.stderr[-3000:]))
        return fails
    if summary is None:
        # a run that stops before copying anything (the listing failed)
        # says why, and has copied nothing
        if p.returncode == 0 or "error: " not in p.stderr or exps:
            fail("no summary (exit %d): %s" % (p.returncode, p.stderr[-2000:]))
            return fails
        summary = {"failures": [], "error": p.stderr.strip()}
    copied = ["%s/%s/%s" % (e["experiment"]["workspace"], e["experiment"]["project"],
                            e["experiment"]["name"]) for e in exps if e["outcome"] == "copied"]
    other = [e for e in exps if e["outcome"] not in ("copied", "skipped")]
    rc, diff = verify(src, dst, env)
    if p.returncode == 0:
        if other:
            fail("exit 0 with experiments not copied: %s" % other)
        if rc != 0:
            fail("exit 0 but the destination differs: %s" % diff[:10])
    else:
        named = " ".join(summary.get("failures", [])) + " " + summary.get("error", "")
        if not named.strip():
            fail("exit %d but the summary names nothing: %s" % (p.returncode, summary))
        for e in other:
            n = e["experiment"]["name"]
            if n not in named:
                fail("%s not copied (%s) but not named in the summary" % (n, e["outcome"]))
    # nothing reported copied may be absent or different
    for c in copied:
        name = c.rsplit("/", 1)[1]
        bad = [l for l in diff if re.search(r"(^|/)%s(:|/| )" % re.escape(name), l)]
        if bad:
            fail("%s reported copied but: %s" % (c, bad[:5]))
    if dups:
        for d in dups(emu, dst.split("/")[-1]):
            fail("duplicated at the destination: %s" % d)
    say("  %s: exit %d, %d of %d requests faulted %s, %d copied, %.1f s"
        % (what, p.returncode, nf, nreq, json.dumps(kinds, sort_keys=True),
           len(copied), time.time() - t0))
    if p.returncode != 0:
        r = xport(args + NET + ["--resume"], env)
        rc, diff = verify(src, dst, env)
        if r.returncode != 0:
            fail("the rerun without faults failed (%d): %s" % (r.returncode,
                                                               r.stdout[-1500:] + r.stderr[-1500:]))
        elif rc != 0:
            fail("the rerun is not equal to the source: %s" % diff[:10])
        if dups:
            for d in dups(emu, dst.split("/")[-1]):
                fail("duplicated after the rerun: %s" % d)
    return fails


def run_vendor(tmp, name, script, eargs, setup, src, up, dups):
    OUT.lines = []
    try:
        return run_vendor1(tmp, name, script, eargs, setup, src, up, dups), OUT.lines
    except Exception as e:  # a bug in this test: say so, as a failure
        return ["%s: %r" % (name, e)], OUT.lines + ["FAIL %s: test error %r" % (name, e)]


def run_vendor1(tmp, name, script, eargs, setup, src, up, dups):
    fails = []
    emu = Emu(script, eargs)
    try:
        env = dict(os.environ, HOME=tmp, XDG_STATE_HOME=os.path.join(tmp, "state"),
                   XDG_CONFIG_HOME=os.path.join(tmp, "config"))
        env.update(setup(emu))
        # the schedule of issue 16, then faults no retry outlives (two of
        # them): some experiments fail, and the rerun must finish them
        runs = [(seed, 7, None, None) for seed in SEEDS] + [(HARSH_SEED, 5, 0, 2)]
        for seed, every, retries, limit in runs + CHECKSUM_RUNS.get(name, []):
            tag = "%d-%d" % (seed, every)
            dl = os.path.join(tmp, "%s-dl-%s" % (name, tag))
            only = CHECKSUM_PATHS.get(name) if (seed, every, retries, limit) in \
                CHECKSUM_RUNS.get(name, []) else None
            fails += faulted_run(name + " download", emu, env, ["copy", src, dl], src, dl,
                                 None, seed, every, retries, limit, only)
            if only is not None:
                continue  # the uploads' bodies are checked by the server, not xport
            if up is None:
                continue
            # the upload reads a complete layout
            good = os.path.join(tmp, "%s-dl-%d-7" % (name, SEEDS[0]))
            dst = "%s%s" % (up, tag.replace("-", "x"))
            fails += faulted_run(name + " upload", emu, env, ["copy", good, dst], good, dst,
                                 dups, seed, every, retries, limit)
    finally:
        fails += emu.stop()
    return fails


def check_schedule():
    """The schedule itself, on the ml-dash emulator: each kind as the
    client sees it, control calls never counted."""
    import http.client, hashlib
    emu = Emu("mldash_emu.py", ["--api-key", "k"])
    fails = []
    try:
        r = emu.ctl("POST", "/__emu/seed", {"namespace": "tom", "experiments": [
            {"project": "p", "name": "e", "files": [{"filename": "w.bin", "size": 64, "seed": 1}]}]})
        f = r["experiments"][0]["files"][0]
        url = "/experiments/%s/files/%s/download" % (r["experiments"][0]["id"], f["id"])
        emu.schedule({"every": 1, "slow_s": 0.3})  # every request, the kinds in turn

        def get():
            c = http.client.HTTPConnection(emu.url[7:], timeout=10)
            try:
                c.request("GET", url, headers={"Authorization": "Bearer k"})
                resp = c.getresponse()
                return resp.status, resp.getheader("Retry-After"), resp.read()
            except (ConnectionError, http.client.HTTPException) as e:
                return type(e).__name__, None, b""
            finally:
                c.close()
        got = [get() for _ in range(6)]
        emu.ctl("GET", "/__emu/stats")  # not counted
        kinds = [x["kind"] for x in emu.ctl("GET", "/__emu/stats")["schedule"]["log"]]
        emu.schedule(None)
        ok = hashlib.sha256(gen_bytes(64, 1)).hexdigest()
        want = {"503": lambda g: g[0] == 503, "429": lambda g: g[0] == 429 and g[1] == "1",
                "reset": lambda g: g[0] == "ConnectionResetError",
                "cut": lambda g: g[0] == "IncompleteRead",
                "checksum": lambda g: g[0] == 200 and len(g[2]) == 64 and
                hashlib.sha256(g[2]).hexdigest() != ok,
                "slow": lambda g: g[0] == 200 and hashlib.sha256(g[2]).hexdigest() == ok}
        if sorted(kinds) != sorted(want):
            fails.append("schedule: kinds %s, not each once" % kinds)
        for k, g in zip(kinds, got):
            if k in want and not want[k](g):
                fails.append("schedule: %s gave %r" % (k, g[:2]))
    finally:
        fails += emu.stop()
    for f in fails:
        print("FAIL " + f)
    return fails


def main():
    tmp = tempfile.mkdtemp(prefix="xport-netfaults-")
    failures = []
    try:
        failures += check_schedule()
        only = os.environ.get("NETFAULT_ONLY")
        vs = [v for v in VENDORS if not only or v[0] == only]
        with ThreadPoolExecutor(max(1, len(vs))) as pool:
            for f, lines in pool.map(lambda v: run_vendor(tmp, *v), vs):
                print("\n".join(lines), flush=True)
                failures += f
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
