#!/usr/bin/env python3
"""Disk faults (issue 16): walks XPORT_FAULT=ENOSPC:N / EIO:N (core/sysio.c)
over the file system calls of a copy, of a W&B offline conversion and of a
copy to comet-offline archives (walk_zips: the archive's own writes too).

For each fault point N the faulted run must exit non-zero with a message
naming the file and the system's reason; every experiment the destination
then holds must be complete ('xport verify' may only report experiments
that are missing, "only in A"); and a rerun with --resume and no fault must
give a destination equal to the source. A fault in a journal append is one
of the points walked, so --resume skipping unfinished work fails the last
check. The one fault a run may survive (exit 0, with a warning naming the
file) is in compacting the journal as it closes, when every experiment is
already in place.

usage: test_disk_faults.py XPORT GEN FIXTURES [full]
  GEN: xport-test-gen (writes the edge-case layout). Without 'full' (as in
  ctest), each case walks every n-th point (the strides below) to keep
  the suite short under ASan, plus the REGRESSIONS; 'full' walks them all."""
import os, re, shutil, subprocess, sys, tempfile, time

from zipstate import members

XPORT, GEN, FIXTURES = (os.path.abspath(a) for a in sys.argv[1:4])
FULL = len(sys.argv) > 4 and sys.argv[4] == "full"
REASONS = ("No space left on device", "Input/output error")


def run(args, fault=None, cwd=None):
    env = dict(os.environ)
    env.pop("XPORT_FAULT", None)
    if fault:
        env["XPORT_FAULT"] = fault
    return subprocess.run([XPORT] + args, env=env, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def count(args, cwd):
    p = run(args, "count", cwd)
    if p.returncode != 0:
        sys.exit("clean run failed (%d): %s" % (p.returncode, p.stderr))
    m = re.search(r"xport-fault: calls (\d+)", p.stderr)
    if not m:
        sys.exit("no fault count in stderr (is XPORT_FAULT_INJECTION on?): " + p.stderr)
    return int(m.group(1))


def partial_experiments(src, dst, cwd):
    """verify's lines about experiments that are in dst but differ."""
    root = os.path.join(cwd, dst)
    committed = any("experiment.json" in files for d, dirs, files in os.walk(root)
                    if ".xport" not in os.path.relpath(d, root).split(os.sep))
    if not committed: # nothing there to be partial: spare a verify
        return []
    p = run(["verify", src, dst], cwd=cwd)
    if p.returncode == 0:
        return []
    bad = [l for l in p.stdout.splitlines()
           if l and not l.endswith(": only in A") and not re.match(r"\d+ difference", l)]
    if not p.stdout.strip():
        bad.append("verify failed: " + p.stderr.strip())
    return bad


# Fault points that found defects, walked whatever the stride (the numbers
# are those of the fixtures at the time; a change of the calls moves them).
REGRESSIONS = [
    # verify of a destination with no experiment yet: qsort of a NULL array
    # (UBSan) in core/verify.c
    ("copy mldash fixture", 5),
]


def verify_empty(src, tmp):
    """The verify defect directly: an empty B is all 'only in A', no crash."""
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty, exist_ok=True)
    p = run(["verify", src, empty])
    if p.returncode != 1 or "only in A" not in p.stdout or "runtime error" in p.stderr:
        return ["verify against an empty destination: exit %d: %s" %
                (p.returncode, p.stdout + p.stderr)]
    return []


def walk(name, src, copy_args, points):
    """copy_args(dst) -> argv of the run; points: the N to fault."""
    failures = []

    def fail(msg):
        print("FAIL " + msg, flush=True)
        failures.append(msg)
    tmp = tempfile.mkdtemp(prefix="xport-faults-")
    try:
        for i, n in enumerate(points):
            # relative, so that the calls do not depend on tmp's depth
            dst = "d%d" % n
            kind = "ENOSPC" if n % 2 == 0 else "EIO"
            p = run(copy_args(dst), "%s:%d" % (kind, n), tmp)
            what = "%s %s:%d" % (name, kind, n)
            closing = "(the journal is whole as it was)" in p.stderr
            if p.returncode == 0 and not closing:
                fail("%s: exit 0 despite the fault" % what)
            elif p.returncode == 0:
                # the one fault a run may survive: compacting the journal at
                # the end (the old journal stays, a rerun redoes at most what
                # it lacks); everything must then be there already
                v = run(["verify", src, dst], cwd=tmp)
                if v.returncode != 0:
                    fail("%s: exit 0 but not equal: %s" % (what, v.stdout[-2000:]))
            elif "AddressSanitizer" in p.stderr or "runtime error" in p.stderr or \
                    p.returncode < 0:
                fail("%s: crashed (%d): %s" % (what, p.returncode, p.stderr[-2000:]))
            elif not any(r in p.stderr for r in REASONS) or \
                    not re.search(r"'[^'\n]+'[^\n]*: (%s)" % "|".join(REASONS), p.stderr):
                fail("%s: message names no file or reason: %r" % (what, p.stderr))
            bad = partial_experiments(src, dst, tmp)
            if bad:
                fail("%s: partial experiment committed: %s" % (what, bad[:5]))
            r = run(copy_args(dst) + ["--resume"], cwd=tmp)
            if r.returncode != 0:
                fail("%s: rerun failed (%d): %s" % (what, r.returncode, r.stderr))
            else:
                v = run(["verify", src, dst], cwd=tmp)
                if v.returncode != 0:
                    fail("%s: rerun not equal to the source: %s" %
                                    (what, v.stdout[-2000:] + v.stderr[-500:]))
            shutil.rmtree(os.path.join(tmp, dst), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return failures


def zips(root):
    """A comet-offline folder as {name: {member: bytes}} (a zip's members,
    not its bytes: libzip stamps members with the time they were added);
    any other file as its bytes."""
    out = {}
    for d, dirs, files in os.walk(root):
        if ".xport" in dirs:
            dirs.remove(".xport")
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                data = fh.read()
            out[os.path.relpath(p, root)] = members(data) if f.endswith(".zip") else data
    return out


def walk_zips(name, args, points, ref, tmp):
    """The comet-offline writer under faults: exit non-zero naming the file
    and the reason (or exit 0 with nothing lost), no archive under its final
    name that is not whole, and --resume gives the clean run's archives (and
    nothing else)."""
    failures = []

    def fail(msg):
        print("FAIL " + msg, flush=True)
        failures.append(msg)
    for n in points:
        dst = "z%d" % n
        kind = "ENOSPC" if n % 2 == 0 else "EIO"
        what = "%s %s:%d" % (name, kind, n)
        p = run(args(dst), "%s:%d" % (kind, n), tmp)
        if "AddressSanitizer" in p.stderr or "runtime error" in p.stderr or p.returncode < 0:
            fail("%s: crashed (%d): %s" % (what, p.returncode, p.stderr[-2000:]))
        elif p.returncode == 0 and zips(os.path.join(tmp, dst)) != ref:
            # a fault a run may survive (compacting the journal as it closes,
            # or its "listed" line, which only `xport status` reads) must
            # lose nothing
            fail("%s: exit 0 despite the fault, and the archives differ" % what)
        elif p.returncode == 0 and "warning: " not in p.stderr:
            fail("%s: exit 0 and no warning: the fault passed unsaid" % what)
        elif p.returncode != 0 and not re.search(
                r"'[^'\n]+'[^\n]*: (%s)" % "|".join(REASONS), p.stderr):
            fail("%s: message names no file or reason: %r" % (what, p.stderr))
        got = zips(os.path.join(tmp, dst))
        bad = [k for k, v in got.items() if k.endswith(".zip") and ref.get(k) != v]
        if bad:
            fail("%s: archives not whole under their final names: %s" % (what, bad))
        r = run(args(dst) + ["--resume"], cwd=tmp)
        if r.returncode != 0:
            fail("%s: rerun failed (%d): %s" % (what, r.returncode, r.stderr))
        else:
            got = zips(os.path.join(tmp, dst))
            if got != ref:
                fail("%s: after the rerun: %s differ, %s left over, %s missing" % (
                    what, sorted(k for k in got if k in ref and got[k] != ref[k]),
                    sorted(set(got) - set(ref)), sorted(set(ref) - set(got))))
        shutil.rmtree(os.path.join(tmp, dst), ignore_errors=True)
    return failures


def comet_offline(tmp, layout):
    """ENOSPC/EIO over the comet-offline writer's calls (the archive's own
    writes included, core/zip.c), every 7th with the stride."""
    t0 = time.time()
    args = lambda d: ["copy", "-q", layout, "comet-offline:" + d]
    total = count(args("probe"), tmp)
    ref = zips(os.path.join(tmp, "probe"))
    shutil.rmtree(os.path.join(tmp, "probe"), ignore_errors=True)
    if not any(k.endswith(".zip") for k in ref):
        return ["comet-offline: the clean run wrote no archive: %s" % sorted(ref)]
    points = list(range(1, total + 1, 1 if FULL else 7))
    f = walk_zips("comet-offline upload", args, points, ref, tmp)
    print("comet-offline upload: %d calls, %d fault points walked, %d failures, %.1f s"
          % (total, len(points), len(f), time.time() - t0), flush=True)
    return f


def main():
    tmp = tempfile.mkdtemp(prefix="xport-faults-src-")
    failures = []
    try:
        cases = []
        # (a) a copy of a small fixture layout (every point with 'full')
        layout = os.path.join(FIXTURES, "mldash", "v0.6.27-local-store")
        cases.append(("copy mldash fixture", layout,
                      lambda d: ["copy", "-q", layout, d], 5))
        # (a') a copy of the edge-case layout (unicode names, every value kind)
        edge = os.path.join(tmp, "edge")
        if subprocess.run([GEN, edge]).returncode != 0:
            sys.exit("xport-test-gen failed")
        cases.append(("copy edge layout", edge, lambda d: ["copy", "-q", edge, d], 29))
        # (b) a W&B offline conversion
        wb = os.path.join(FIXTURES, "wandb", "offline-run-20210216_154407-g9dvvkua")
        cases.append(("wandb-offline download", "wandb-offline:" + wb,
                      lambda d: ["download", "-q", "--from", "wandb-offline", wb, "-o", d], 9))
        # (c) five runs: the journal's records of finished experiments matter
        wm = os.path.join(FIXTURES, "wandb", "go-core-2026", "workspace-multi")
        cases.append(("wandb-offline download of 5 runs", "wandb-offline:" + wm,
                      lambda d: ["download", "-q", "--from", "wandb-offline", wm, "-o", d], 23))
        for f in verify_empty(layout, tmp):
            print("FAIL " + f)
            failures.append(f)
        failures += comet_offline(tmp, layout)
        for name, src, args, stride in cases:
            stride = 1 if FULL else stride
            t0 = time.time()
            probe = "probe"
            shutil.rmtree(os.path.join(tmp, probe), ignore_errors=True)
            total = count(args(probe), tmp)
            v = run(["verify", src, probe], cwd=tmp)
            if v.returncode != 0:
                sys.exit("%s: clean run not equal to its source: %s" % (name, v.stdout + v.stderr))
            shutil.rmtree(os.path.join(tmp, probe), ignore_errors=True)
            points = sorted(set(range(1, total + 1, stride)) |
                            {n for c, n in REGRESSIONS if c == name and n <= total})
            f = walk(name, src, args, points)
            failures += f
            print("%s: %d calls, %d fault points walked (stride %d), %d failures, %.1f s"
                  % (name, total, len(points), stride, len(f), time.time() - t0), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
