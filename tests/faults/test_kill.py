#!/usr/bin/env python3
"""Kill anywhere (issue 16): every adapter direction killed with SIGKILL at
evenly spread moments, each followed by --resume, must end with a
destination equal to that of a clean run: nothing lost, nothing twice.
The directions: layout->layout; downloads from wandb-offline, cometx, the
neptune-offline, neptune-backup, neptune-export and neptune-scale folders,
and the ml-dash, W&B (runs, and artifacts both ways), Comet and Neptune
servers; uploads to mldash-local, cometx and comet-offline folders and to
the ml-dash, W&B and Comet servers.

The moments are counted, never timed (core/sysio.c, XPORT_FAULT):
  KILL:N       at the Nth file system call (open/write/fsync/rename/mkdir)
  REQ-KILL:N   when the Nth HTTP attempt has its whole answer, before
               xport sees it (the server did the work; xport never learns)
  BODY-KILL:N  when half of the Nth attempt's answer body has arrived
A clean run with XPORT_FAULT=count gives the totals; POINTS moments are
spread evenly over them (half over the calls, half over the requests when
there are requests). With 'full', every call and every request is a point.

After each kill: every experiment the destination shows (a layout's
committed experiment.json) equals the clean run's; then the same command
with --resume (no fault) must exit 0 and the destination must equal the
clean run's: a layout file by file, a folder of zip archives
(comet-offline) member by member (libzip stamps members with the time they
were added), a server by its emulator's /__emu/dump with the server's own
ids and clocks left out (so a point, log line, file or experiment sent
twice is a difference).

An archive destination (layout -> .tar.zst, -j1 and -j2) is rebuilt whole
by each run, so the rerun there is plain (--resume is refused) and must give
the clean run's bytes, with nothing the killed run made left beside it.

SIGTERM and SIGINT: the process signals itself at a counted moment (TERM:N,
INT:N, REQ-TERM:N, REQ-INT:N): it must stop by itself with exit 143 or
130, say it was interrupted, publish no partial experiment, and --resume
must then finish exactly.

usage: test_kill.py XPORT FIXTURES [full | requests | POINTS] [ONLY-SUBSTRING]
  POINTS: moments per direction (default 4, for the suite's time; the
  issue asks for 20); requests: every HTTP request and 20 file calls;
  ONLY-SUBSTRING: the directions whose name has it."""
import base64, hashlib, json, os, re, shutil, signal, subprocess, sys, tempfile, time
import urllib.request

from zipstate import members

XPORT, FIXTURES = (os.path.abspath(a) for a in sys.argv[1:3])
MODE = sys.argv[3] if len(sys.argv) > 3 else ""
FULL = MODE == "full"
EVERY_REQUEST = MODE == "requests"  # every request, 20 file calls
# ctest walks 4 moments per direction (the suite's time under ASan); the
# issue's 20 are `test_kill.py XPORT FIXTURES 20`
POINTS = int(MODE) if MODE.isdigit() else 4
ONLY = sys.argv[4] if len(sys.argv) > 4 else ""
EMUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "emulators")
MLDASH_KEY, COMET_KEY = "kill-test-key", "kill-test-comet-key"
WANDB_KEY = "emu_" + "0" * 36 + "wandb"  # the emulator's default key


class Emu:
    def __init__(self, script, args=()):
        self.p = subprocess.Popen([sys.executable, "-u", os.path.join(EMUS, script)] +
                                  list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.p.stdout.readline().decode()
        m = re.match(r"PORT (\d+)", line)
        if not m:
            sys.exit("%s did not start: %r" % (script, line))
        self.url = "http://127.0.0.1:%s" % m.group(1)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def run(args, cwd, state, fault=None, tmpdir=None):
    env = dict(os.environ)
    if tmpdir:
        env["TMPDIR"] = tmpdir
    for k in ("XPORT_FAULT", "WANDB_API_KEY", "COMET_API_KEY", "MLDASH_API_KEY",
              "NEPTUNE_API_TOKEN", "XPORT_PLUGIN_PATH"):
        env.pop(k, None)
    env["XDG_STATE_HOME"] = state  # remote destinations' journals
    env["HOME"] = state
    if fault:
        env["XPORT_FAULT"] = fault
    return subprocess.run([XPORT] + args, env=env, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def spread(total, n):
    """n points evenly spread over 1..total (fewer when total is small)."""
    if total <= 0 or n <= 0:
        return []
    return sorted({max(1, min(total, round((i + 0.5) * total / n))) for i in range(n)})


# ---- what a destination holds ----------------------------------------------

def tree(root, volatile=()):
    """A layout or store as {relative path: content}, .xport left out; JSON
    files (and JSON lines) with the `volatile` keys dropped."""
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel == "." and ".xport" in dirs:
            dirs.remove(".xport")
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                data = fh.read()
            if volatile and (f.endswith(".json") or f.endswith(".jsonl")):
                try:
                    text = data.decode()
                    if f.endswith(".jsonl"):
                        data = [strip(json.loads(l), volatile) for l in text.splitlines() if l]
                    else:
                        data = strip(json.loads(text), volatile)
                except ValueError:
                    pass
            name = os.path.normpath(os.path.join(rel, f))
            if volatile:  # an ml-dash store's file ids (Snowflake) name folders
                name = re.sub(r"(^|/)\d{13,20}(?=/)", r"\1<id>", name)
            out[name] = data
    return out


def strip(o, volatile):
    if isinstance(o, dict):
        return {k: strip(v, volatile) for k, v in o.items()
                if k not in volatile and not ("*At" in volatile and SERVER_KEY.search(k))}
    if isinstance(o, list):
        return [strip(v, volatile) for v in o]
    return o


def canon(o, volatile):
    """A dump without the server's own ids and clocks; lists in a stable
    order (what the emulator keeps in dicts keyed by its ids becomes a list
    of values)."""
    if isinstance(o, dict):
        if o and all(VOLATILE_KEY.match(k) for k in o):  # keyed by ids
            return canon(sorted(o.values(), key=json.dumps), volatile)
        return {k: canon(v, volatile) for k, v in o.items()
                if k not in volatile and not ("*At" in volatile and SERVER_KEY.search(k))}
    if isinstance(o, list):
        items = [canon(v, volatile) for v in o]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    return o


# with "*At" among the volatile keys: every key naming a server's clock or id
SERVER_KEY = re.compile(r"(At|Id)$")
# W&B keys its runs by id: a W&B run id the upload makes up
VOLATILE_KEY = re.compile(r"^[0-9a-z]{8,12}$|^[0-9a-f]{32}$")


def differences(a, b, path="", out=None, limit=8):
    """Where a and b differ, as short strings."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append("%s/%s: only in %s" % (path, k, "clean run" if k in a else "resumed"))
            else:
                differences(a[k], b[k], "%s/%s" % (path, k), out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) != len(b):
        out.append("%s: %d items in the clean run, %d after the kill and resume%s" %
                   (path, len(a), len(b), " (duplicated)" if len(b) > len(a) else " (lost)"))
    elif isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, "%s[%d]" % (path, i), out, limit)
    elif a != b:
        out.append("%s: %r in the clean run, %r after" % (path, str(a)[:80], str(b)[:80]))
    return out


class LayoutDst:
    """A destination folder (an xport layout or an ml-dash local store)."""
    resume = ["--resume"]

    def __init__(self, volatile=(), prefix=""):
        self.volatile, self.prefix = set(volatile), prefix

    def location(self, d):
        return self.prefix + d

    def prepare(self):
        pass

    def state(self, cwd, d):
        return tree(os.path.join(cwd, d), self.volatile)

    def committed(self, cwd, d, ref):
        """Experiments in d that differ from the clean run's (a layout's
        experiments are published whole, by rename)."""
        root = os.path.join(cwd, d)
        got = tree(root, self.volatile)
        bad = []
        for path in got:
            if os.path.basename(path) != "experiment.json":
                continue
            exp = os.path.dirname(path)
            mine = {k: v for k, v in got.items() if k.startswith(exp + os.sep)}
            theirs = {k: v for k, v in ref.items() if k.startswith(exp + os.sep)}
            if mine != theirs:
                bad.append("%s published partial: %s" %
                           (exp, differences(theirs, mine, limit=3)))
        return bad


class ArchiveDst:
    """An archive (D.tar.zst) written whole by each run, experiment by
    experiment from a staging folder beside it: after a kill there is no
    archive under the name and, with -j1, at most one experiment in that
    staging; --resume is refused for archives, so the rerun is plain and
    must give the clean run's bytes with nothing ".xport-" left beside it
    (the dead run's staging folder and temp archive removed)."""
    resume = []
    EXT = ".tar.zst"

    def __init__(self, jobs=1):
        self.jobs = jobs  # the staging bound is checked with -j1 only

    def prepare(self):
        pass

    def state(self, cwd, d):
        p = os.path.join(cwd, d + self.EXT)
        digest = None
        if os.path.exists(p):
            with open(p, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
        return {"archive sha256": digest, "left beside it": leftovers(cwd, d)}

    def committed(self, cwd, d, ref):
        bad = []
        if os.path.exists(os.path.join(cwd, d + self.EXT)):
            bad.append("a killed run published the archive")
        for n in leftovers(cwd, d):
            stage = os.path.join(cwd, n)
            if not (n.startswith(".") and os.path.isdir(stage)):
                continue
            exps = [r for r, _, fs in os.walk(stage) if "experiment.json" in fs and
                    os.sep + ".xport" + os.sep not in r + os.sep]
            inflight = os.listdir(os.path.join(stage, ".xport", "staging")) \
                if os.path.isdir(os.path.join(stage, ".xport", "staging")) else []
            if self.jobs == 1 and len(exps) + len(inflight) > 1:
                bad.append("%d experiments staged at once with -j1 (the bound is one): %s" %
                           (len(exps) + len(inflight), exps + inflight))
        return bad


def leftovers(cwd, d):
    """Names beside archive d made by a run into it: temp archives and
    staging folders."""
    return sorted(n for n in os.listdir(cwd) if ".xport-" in n and
                  (n.startswith(d + ".") or n.startswith("." + d + ".")))


class ServerDst:
    resume = ["--resume"]

    def __init__(self, emu, volatile, seed=None):
        self.emu, self.volatile, self.seed = emu, set(volatile), seed

    def prepare(self):
        self.emu.call("POST", "/__emu/reset", {})
        if self.seed:
            self.emu.call("POST", "/__emu/seed", self.seed)

    def state(self, cwd, d):
        return canon(self.emu.call("GET", "/__emu/dump"), self.volatile)

    def committed(self, cwd, d, ref):
        return []  # a server shows what it was sent; --resume must finish it


class ZipsDst:
    """A folder of zip archives (comet-offline): each archive by its members'
    names and bytes (libzip stamps members with the time they were added,
    so the archives' own bytes differ between two clean runs); any other
    file (a temporary one left behind) by its bytes."""
    resume = ["--resume"]

    def __init__(self, prefix):
        self.prefix = prefix

    def location(self, d):
        return self.prefix + d

    def prepare(self):
        pass

    def state(self, cwd, d):
        out = {}
        for name, data in tree(os.path.join(cwd, d)).items():
            out[name] = members(data) if name.endswith(".zip") else data
        return out

    def committed(self, cwd, d, ref):
        """Archives under their final names that differ from the clean
        run's (an archive is written whole, then renamed)."""
        got = self.state(cwd, d)
        return ["%s published partial: %s" % (k, differences(ref.get(k), v, limit=3))
                for k, v in got.items() if k.endswith(".zip") and ref.get(k) != v]


# ---- the walk ----------------------------------------------------------------

class Case:
    """argv(d): the command writing destination d; marks: moments where a
    kill found a defect, walked whatever the stride, found again in a clean
    run so that they stay put when the counts change: ("request", REGEX)
    kills after the answer to the first request whose "METHOD path" matches
    (the emulator's log), ("call", REGEX, K) at the Kth file call after the
    first whose XPORT_FAULT=trace line ("open PATH", ...) matches."""
    def __init__(self, name, argv, dst, marks=()):
        self.name, self.argv, self.dst, self.marks = name, argv, dst, marks


def marked_points(case, cwd, state):
    """The kill points case.marks names; the request marks in the order the
    clean run that just ended sent them."""
    pts = []
    for mark in case.marks:
        if mark[0] == "request":
            recent = case.dst.emu.call("GET", "/__emu/stats?recent=5000")["recent"]
            where = ["%s %s" % (r["method"], r["path"]) for r in recent]
        else:
            p = run(case.argv("trace"), cwd, state, "trace")
            shutil.rmtree(os.path.join(cwd, "trace"), ignore_errors=True)
            where = re.findall(r"^xport-fault: call \d+ (.*)$", p.stderr, re.M)
        hit = [i for i, w in enumerate(where) if re.search(mark[1], w)]
        if not hit:
            raise Unusable("nothing matches %r" % (mark,))
        pts.append(("REQ-KILL", hit[0] + 1) if mark[0] == "request" else
                   ("KILL", hit[0] + 1 + mark[2]))
    return pts


def kill_points(calls, requests, body):
    if FULL:
        pts = [("KILL", n) for n in range(1, calls + 1)]
        pts += [("REQ-KILL", n) for n in range(1, requests + 1)]
        if body:
            pts += [("BODY-KILL", n) for n in range(1, requests + 1)]
        return pts
    if EVERY_REQUEST:
        pts = [("KILL", n) for n in spread(calls, 20)]
        pts += [("REQ-KILL", n) for n in range(1, requests + 1)]
        if body:
            pts += [("BODY-KILL", n) for n in range(1, requests + 1)]
        return pts
    if not requests:
        return [("KILL", n) for n in spread(calls, POINTS)]
    half = POINTS // 2
    pts = [("KILL", n) for n in spread(calls, POINTS - half)]
    for i, n in enumerate(spread(requests, half)):
        pts.append(("BODY-KILL" if body and i % 2 else "REQ-KILL", n))
    return pts


class Unusable(Exception):
    pass


def count(case, cwd, state, d="ref"):
    shutil.rmtree(os.path.join(cwd, d), ignore_errors=True)  # what a failed case left
    case.dst.prepare()
    p = run(case.argv(d), cwd, state, "count")
    if p.returncode != 0:
        raise Unusable("clean run failed (%d): %s" % (p.returncode, p.stderr[-3000:]))
    c = re.search(r"xport-fault: calls (\d+)", p.stderr)
    r = re.search(r"xport-fault: requests (\d+)", p.stderr)
    if not c or not r:
        sys.exit("no fault count in stderr (is XPORT_FAULT_INJECTION on?): " + p.stderr)
    return int(c.group(1)), int(r.group(1)), case.dst.state(cwd, d)


def trial(case, cwd, ref, fault, failures, signalled=None):
    """One faulted run and its --resume; returns 1 when the fault fired."""
    what = "%s %s" % (case.name, fault)
    tag = re.sub(r"[^a-zA-Z0-9]", "", fault).lower()
    d, state = "d-" + tag, os.path.join(cwd, "state-" + tag)
    os.makedirs(state, exist_ok=True)
    case.dst.prepare()

    def fail(msg):
        print("FAIL %s: %s" % (what, msg), flush=True)
        failures.append("%s: %s" % (what, msg))
    try:
        # the process's own temporary folders, to count what a kill leaves
        tmpdir = os.path.join(state, "tmp")
        os.makedirs(tmpdir, exist_ok=True)
        p = run(case.argv(d), cwd, state, fault, tmpdir)
        err = p.stderr
        if "AddressSanitizer" in err or "runtime error" in err:
            fail("crashed: " + err[-2000:])
        fired = p.returncode == -signal.SIGKILL
        if signalled:
            fired = p.returncode == signalled
            if p.returncode != signalled:
                fail("exit %d, wanted %d (a clean stop): %s" %
                     (p.returncode, signalled, (p.stdout + err)[-1500:]))
            elif "interrupted" not in p.stdout + err:
                fail("the summary does not say it was interrupted: %s" % (p.stdout + err))
            elif re.search(r"^failed: |[1-9][0-9]* failed", p.stdout + err, re.M):
                # cut short is not failed: --resume finishes those
                fail("experiments cut short by the signal are called failed: %s" %
                     (p.stdout + err)[-1500:])
            staging = os.path.join(cwd, d, ".xport", "staging")
            if os.path.isdir(staging) and os.listdir(staging):
                fail("a clean stop left staged experiments: %s" % os.listdir(staging))
            if isinstance(case.dst, ArchiveDst) and leftovers(cwd, d):
                fail("a clean stop left %s beside the archive" % leftovers(cwd, d))
        elif not fired and p.returncode != 0:
            fail("exit %d without the kill: %s" % (p.returncode, err[-1500:]))
        for b in case.dst.committed(cwd, d, ref):
            fail(b)
        r = run(case.argv(d) + case.dst.resume, cwd, state, tmpdir=tmpdir)
        # the killed run's folders are removed by the next run (core/tmpdir.c)
        left = []
        for d_, dirs, files in os.walk(tmpdir):
            left += [os.path.relpath(os.path.join(d_, x), tmpdir) for x in dirs + files]
        if left:
            fail("temporary files left in $TMPDIR after the rerun: %s" % " ".join(sorted(
                re.sub(r"[A-Za-z0-9]{6}(?=/|$|\.lock)", "*", x) for x in left)[:12]))
        if r.returncode != 0:
            fail("%s failed (%d): %s" % (" ".join(case.dst.resume) or "the rerun",
                                         r.returncode, r.stderr[-2000:]))
        else:
            diff = differences(ref, case.dst.state(cwd, d))
            if diff:
                fail("after --resume the destination differs from a clean run's: " +
                     "; ".join(diff))
        return fired
    finally:
        shutil.rmtree(os.path.join(cwd, d), ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
        for n in os.listdir(cwd):  # an archive d.EXT, and what a run left beside it
            if n.startswith(d + ".") or n.startswith("." + d + "."):
                p = os.path.join(cwd, n)
                shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)


def walk(case, cwd, failures, signals):
    t0 = time.time()
    state = os.path.join(cwd, "state-ref")
    try:
        calls, requests, ref = count(case, cwd, state)
        marked = marked_points(case, cwd, state)
        _, _, ref2 = count(case, cwd, os.path.join(cwd, "state-ref2"), "ref2")
        shutil.rmtree(os.path.join(cwd, "ref2"), ignore_errors=True)
        diff = differences(ref, ref2)
        if diff:  # the comparison itself must be stable
            raise Unusable("two clean runs differ: %s" % "; ".join(diff))
    except Unusable as e:
        print("FAIL %s: %s" % (case.name, e), flush=True)
        failures.append("%s: %s" % (case.name, e))
        return
    body = any(k in case.name for k in ("download", "copy"))
    pts = kill_points(calls, requests, body and requests > 0)
    pts += [p for p in marked if p not in pts]
    before = len(failures)
    fired = 0
    for kind, n in pts:
        fired += trial(case, cwd, ref, "%s:%d" % (kind, n), failures)
    sig = 0
    if signals or FULL or EVERY_REQUEST or POINTS >= 20:  # ctest: a few directions
        stops = [("TERM", max(1, calls // 2), 143)]
        stops.append(("REQ-INT", max(1, requests // 2), 130) if requests else
                     ("INT", max(1, calls // 3), 130))
        if FULL or EVERY_REQUEST or POINTS >= 20:
            stops += [("INT", max(1, calls // 4), 130)] + \
                ([("REQ-TERM", max(1, requests // 3), 143)] if requests else [])
        for kind, n, code in stops:
            sig += trial(case, cwd, ref, "%s:%d" % (kind, n), failures, signalled=code)
    shutil.rmtree(os.path.join(cwd, "ref"), ignore_errors=True)
    print("%s: %d calls, %d requests; %d kill points walked (%d fired), %d signal stops,"
          " %d failures, %.1f s" % (case.name, calls, requests, len(pts), fired, sig,
                                    len(failures) - before, time.time() - t0), flush=True)


def main():
    # the runs fsync a lot: a memory file system when there is one
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="xport-kill-", dir=os.environ.get("TMPDIR") or shm)
    emus = []
    failures = []
    try:
        state = os.path.join(tmp, "state-setup")

        def setup(args):
            p = run(args, tmp, state)
            if p.returncode != 0:
                sys.exit("setup '%s' failed (%d): %s" % (" ".join(args), p.returncode,
                                                          p.stderr[-2000:]))
        # the source: five W&B offline runs, an ml-dash store's experiment
        # (parameters, a log line, a file) and a W&B run with files
        src = os.path.join(tmp, "src")
        setup(["download", "-q", "--from", "wandb-offline",
               os.path.join(FIXTURES, "wandb", "go-core-2026", "workspace-multi"), "-o", src])
        setup(["copy", "-q", os.path.join(FIXTURES, "mldash", "v0.6.27-local-store"), src])
        setup(["download", "-q", "--from", "wandb-offline",
               os.path.join(FIXTURES, "wandb", "offline-run-20210216_154407-g9dvvkua"),
               "-o", src])

        def want(name):
            return ONLY in name

        cases = []
        layout = LayoutDst()
        # a kill while the root's xport.json was written left its temp file
        # there for good
        cases.append((Case("copy layout->layout", lambda d: ["copy", "-q", src, d], layout,
                           marks=[("call", r"^open .*/xport\.json\.xport-tmp-", 1)]), True))
        # an archive is written experiment by experiment: a kill left its
        # staging folder and temp archive beside it for good
        cases.append((Case("copy layout->archive", lambda d: [
            "copy", "-q", "-j", "1", src, d + ArchiveDst.EXT], ArchiveDst(),
            marks=[("call", r"^open .*\.tar\.zst\.xport-tmp-", 1),
                   ("call", r"^mkdir (.*/)?\.[^/]*\.tar\.zst\.xport-tmp-[^/]*$", 1)]), True))
        # with -j2 experiments commit out of order: the rerun's bytes are the same
        cases.append((Case("copy layout->archive -j2", lambda d: [
            "copy", "-q", "-j", "2", src, d + ArchiveDst.EXT], ArchiveDst(jobs=2)), False))
        wm = os.path.join(FIXTURES, "wandb", "go-core-2026", "workspace-multi")
        cases.append((Case("download wandb-offline", lambda d: [
            "download", "-q", "--from", "wandb-offline", wm, "-o", d], layout), False))
        cx = os.path.join(tmp, "cometx-src")
        setup(["copy", "-q", src, "cometx:" + cx])
        cases.append((Case("download cometx (on disk)", lambda d: [
            "download", "-q", "--from", "cometx", cx, "-o", d], layout), False))
        cases.append((Case("upload mldash-local", lambda d: [
            "copy", "-q", src, "mldash-local:" + d, "--ignore", "system"],
            LayoutDst(volatile={"id", "*At"})), False))

        def server_cases(vendor, script, args, loc, key, volatile, seed=None, signals=False,
                         marks=()):
            """Upload src to one emulator (reset for each run), download
            from another that a clean upload filled."""
            up, down = "upload %s server" % vendor, "download %s server" % vendor
            if not (want(up) or want(down)):
                return
            em, em2 = Emu(script, args), Emu(script, args)
            emus.extend((em, em2))
            cases.append((Case(up, lambda d: ["copy", "-q", src, loc, "--remote", em.url,
                                              "--api-key", key],
                               ServerDst(em, volatile, seed), marks), signals))
            if seed:
                em2.call("POST", "/__emu/seed", seed)
            setup(["copy", "-q", src, loc, "--remote", em2.url, "--api-key", key])
            cases.append((Case(down, lambda d: ["copy", "-q", loc, d, "--remote", em2.url,
                                                "--api-key", key], layout), signals))
        # parameters are merged: a resent batch bumps their version
        server_cases("mldash", "mldash_emu.py", ["--api-key", MLDASH_KEY], "mldash:tom",
                     MLDASH_KEY, {"id", "*At", "version"}, signals=True)
        server_cases("wandb", "wandb_emu.py", [], "wandb:emu-user", WANDB_KEY,
                     {"id", "createdAt", "heartbeatAt", "updatedAt", "fileStream",
                      "historyStats", "eventsStats", "logStats"})
        server_cases("comet", "comet_emu.py", ["--api-key", COMET_KEY], "comet:ws", COMET_KEY,
                     {"key", "experimentKey", "projectId", "startTimeMillis", "endTimeMillis",
                      "durationMillis"}, {"workspaces": {"ws": {"projects": {}}}},
                     # a kill between creating an experiment and marking it
                     # with its source made --resume create a second one
                     marks=(("request", r"POST .*/write/experiment/create$"),
                            ("request", r"POST .*/write/experiment/log-other$")))
        if want("download neptune server"):
            nt = Emu("neptune_emu.py")
            emus.append(nt)
            nt.call("POST", "/__emu/seed", {"projects": [{
                "workspace": "ws", "name": "proj", "key": "PR",
                "generate": {"runs": 3, "atoms": 3, "float_series": 2, "points": 40,
                             "files": 1, "file_size": 3000}}]})
            token = nt.call("GET", "/__emu/dump")["token"]
            cases.append((Case("download neptune server", lambda d: [
                "copy", "-q", "neptune:ws/proj", d, "--api-key", token], layout), False))

        # issue 16's weak points: the on-disk Neptune readers, W&B artifacts
        # both ways, and cometx and comet-offline as destinations
        gens = os.path.join(os.path.dirname(FIXTURES), "neptune")
        if want("download neptune-offline") or want("download neptune-backup"):
            ng = os.path.join(tmp, "neptune-gen")
            subprocess.run([sys.executable, os.path.join(gens, "gen_neptune.py"), ng],
                           check=True, capture_output=True)
            # the runs the generator writes broken on purpose (cut off, files
            # gone, a hostile name) fail a clean run: kept out
            npo = os.path.join(tmp, "neptune-offline")
            shutil.copytree(ng, npo, symlinks=True)
            shutil.rmtree(os.path.join(npo, "backup"))
            for d_, dirs, _ in os.walk(os.path.join(npo, ".neptune")):
                for x in list(dirs):
                    if any(k in x for k in ("b0b0b0b0", "c0c0c0c0", "7a6b5c4d", "__..__")) \
                            or x == "..":
                        shutil.rmtree(os.path.join(d_, x))
                        dirs.remove(x)
            cases.append((Case("download neptune-offline", lambda d: [
                "download", "-q", "--from", "neptune-offline", npo, "-o", d,
                "--opt", "project=ws/proj"], layout), False))
            cases.append((Case("download neptune-backup", lambda d: [
                "download", "-q", "--from", "neptune-backup", os.path.join(ng, "backup"),
                "-o", d, "--opt", "tz=Europe/Warsaw"], layout), False))
        # the fixture's RUN-3 is an export that did not finish: kept out
        nx = os.path.join(tmp, "neptune-export")
        shutil.copytree(os.path.join(FIXTURES, "neptune-export"), nx,
                        ignore=lambda d_, names: [x for x in names if x.startswith("RUN-3-")])
        cases.append((Case("download neptune-export", lambda d: [
            "download", "-q", "--from", "neptune-export", nx, "-o", d], layout), False))
        if want("download neptune-scale"):
            nsg = os.path.join(tmp, "neptune-scale-gen")
            subprocess.run([sys.executable, os.path.join(gens, "gen_neptune_scale.py"), "gen",
                            nsg], check=True, capture_output=True)
            cases.append((Case("download neptune-scale", lambda d: [
                "download", "-q", "--from", "neptune-scale", os.path.join(nsg, "good"),
                "-o", d], layout), False))
        if want("download wandb server artifacts") or want("upload wandb server artifacts"):
            wa = Emu("wandb_emu.py")
            emus.append(wa)
            wa.call("POST", "/__emu/seed", {"projects": [{
                "entity": "arts", "name": "p", "runs": [{
                    "name": "r%d" % r,
                    "history": ['{"_step":%d,"_timestamp":1700000000.5,"loss":%d.25}' % (i, i)
                                for i in range(3)],
                    "files": [{"name": "f%d.txt" % f, "content": "file %d\n" % f}
                              for f in range(2)],
                    "artifacts": [{"name": "ds%d-%d" % (r, a), "files": [
                        {"path": "d/f%d.bin" % f, "content": "art %d %d file %d" % (r, a, f)}
                        for f in range(3)]} for a in range(2)]} for r in range(2)]}]})
            cases.append((Case("download wandb server artifacts", lambda d: [
                "copy", "-q", "wandb:arts/p", d, "--remote", wa.url, "--api-key", WANDB_KEY],
                layout), False))
            wsrc = os.path.join(tmp, "wandb-artifacts-src")
            setup(["copy", "-q", "wandb:arts/p", wsrc, "--remote", wa.url,
                   "--api-key", WANDB_KEY])
            wu = Emu("wandb_emu.py")
            emus.append(wu)
            cases.append((Case("upload wandb server artifacts", lambda d: [
                "copy", "-q", wsrc, "wandb:emu-user", "--remote", wu.url,
                "--api-key", WANDB_KEY],
                ServerDst(wu, {"id", "createdAt", "heartbeatAt", "updatedAt", "fileStream",
                               "historyStats", "eventsStats", "logStats",
                               "birthArtifactID"})), False))
        cases.append((Case("upload cometx (on disk)", lambda d: [
            "copy", "-q", src, "cometx:" + d], layout), False))
        cases.append((Case("upload comet-offline", lambda d: [
            "copy", "-q", src, "comet-offline:" + d], ZipsDst("comet-offline:")), False))

        for case, signals in cases:
            if want(case.name):
                walk(case, tmp, failures, signals)
    finally:
        for e in emus:
            e.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
