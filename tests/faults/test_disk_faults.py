#!/usr/bin/env python3
"""Disk faults (issue 16): walks XPORT_FAULT=ENOSPC:N / EIO:N (core/sysio.c)
over the file system calls of a copy and of a W&B offline conversion.

For each fault point N the faulted run must exit non-zero with a message
naming the file and the system's reason; every experiment the destination
then holds must be complete ('xport verify' may only report experiments
that are missing, "only in A"); and a rerun with --resume and no fault must
give a destination equal to the source. A fault in a journal append is one
of the points walked, so --resume skipping unfinished work fails the last
check.

usage: test_disk_faults.py XPORT GEN FIXTURES [STRIDE]
  GEN: xport-test-gen (writes the edge-case layout); STRIDE: walk every
  STRIDE-th point of the bigger cases (default 1: all of them)."""
import os, re, shutil, subprocess, sys, tempfile, time

XPORT, GEN, FIXTURES = sys.argv[1], sys.argv[2], sys.argv[3]
STRIDE = int(sys.argv[4]) if len(sys.argv) > 4 else 1
REASONS = ("No space left on device", "Input/output error")


def run(args, fault=None):
    env = dict(os.environ)
    env.pop("XPORT_FAULT", None)
    if fault:
        env["XPORT_FAULT"] = fault
    return subprocess.run([XPORT] + args, env=env, capture_output=True, text=True,
                          timeout=300)


def count(args):
    p = run(args, "count")
    if p.returncode != 0:
        sys.exit("clean run failed (%d): %s" % (p.returncode, p.stderr))
    m = re.search(r"xport-fault: calls (\d+)", p.stderr)
    if not m:
        sys.exit("no fault count in stderr (is XPORT_FAULT_INJECTION on?): " + p.stderr)
    return int(m.group(1))


def partial_experiments(src, dst):
    """verify's lines about experiments that are in dst but differ."""
    if not os.path.isdir(dst):
        return []
    p = run(["verify", src, dst])
    if p.returncode == 0:
        return []
    bad = [l for l in p.stdout.splitlines()
           if l and not l.endswith(": only in A") and not re.match(r"\d+ difference", l)]
    if not p.stdout.strip():
        bad.append("verify failed: " + p.stderr.strip())
    return bad


def walk(name, src, copy_args, points):
    """copy_args(dst) -> argv of the run; points: the N to fault."""
    failures = []
    tmp = tempfile.mkdtemp(prefix="xport-faults-")
    try:
        for i, n in enumerate(points):
            dst = os.path.join(tmp, "d%d" % n)
            kind = "ENOSPC" if i % 2 == 0 else "EIO"
            p = run(copy_args(dst), "%s:%d" % (kind, n))
            what = "%s %s:%d" % (name, kind, n)
            if p.returncode == 0:
                failures.append("%s: exit 0 despite the fault" % what)
            elif "AddressSanitizer" in p.stderr or "runtime error" in p.stderr or \
                    p.returncode < 0:
                failures.append("%s: crashed (%d): %s" % (what, p.returncode, p.stderr[-2000:]))
            elif not any(r in p.stderr for r in REASONS) or "'" + tmp not in p.stderr:
                failures.append("%s: message names no file or reason: %r" % (what, p.stderr))
            bad = partial_experiments(src, dst)
            if bad:
                failures.append("%s: partial experiment committed: %s" % (what, bad[:5]))
            r = run(copy_args(dst) + ["--resume"])
            if r.returncode != 0:
                failures.append("%s: rerun failed (%d): %s" % (what, r.returncode, r.stderr))
            else:
                v = run(["verify", src, dst])
                if v.returncode != 0:
                    failures.append("%s: rerun not equal to the source: %s" %
                                    (what, v.stdout[-2000:] + v.stderr[-500:]))
            shutil.rmtree(dst, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return failures


def main():
    tmp = tempfile.mkdtemp(prefix="xport-faults-src-")
    failures = []
    try:
        cases = []
        # (a) a copy of a small fixture layout, every point
        layout = os.path.join(FIXTURES, "mldash", "v0.6.27-local-store")
        cases.append(("copy mldash fixture", layout,
                      lambda d: ["copy", "-q", layout, d], 1))
        # (a') a copy of the edge-case layout (unicode names, every value kind)
        edge = os.path.join(tmp, "edge")
        if subprocess.run([GEN, edge]).returncode != 0:
            sys.exit("xport-test-gen failed")
        cases.append(("copy edge layout", edge, lambda d: ["copy", "-q", edge, d], STRIDE))
        # (b) a W&B offline conversion
        wb = os.path.join(FIXTURES, "wandb", "offline-run-20210216_154407-g9dvvkua")
        cases.append(("wandb-offline download", "wandb-offline:" + wb,
                      lambda d: ["download", "-q", "--from", "wandb-offline", wb, "-o", d], 1))
        for name, src, args, stride in cases:
            t0 = time.time()
            probe = os.path.join(tmp, "probe")
            shutil.rmtree(probe, ignore_errors=True)
            total = count(args(probe))
            v = run(["verify", src, probe])
            if v.returncode != 0:
                sys.exit("%s: clean run not equal to its source: %s" % (name, v.stdout + v.stderr))
            shutil.rmtree(probe, ignore_errors=True)
            points = list(range(1, total + 1, stride))
            f = walk(name, src, args, points)
            failures += f
            print("%s: %d calls, %d fault points walked (stride %d), %d failures, %.1f s"
                  % (name, total, len(points), stride, len(f), time.time() - t0), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
