#!/usr/bin/env python3
"""Live progress (issue 18), driven through the fake plugin's gate: its reader
stops after its points until a file exists, so the test sees a run in flight
without depending on timing.

- under a pseudo-terminal the counts rise before the experiment ends, and
  the redraw uses cursor movement;
- TERM=dumb: one line rewritten with \\r, no escape sequences;
- --json with stdout a pipe: progress objects, every line valid JSON.

usage: test_progress.py XPORT PLUGIN_DIR"""
import json, os, pty, re, select, subprocess, sys, tempfile, time

XPORT, PLUGINS = sys.argv[1], sys.argv[2]
TIMEOUT = 60.0


def env(term):
    e = dict(os.environ, XPORT_PLUGIN_PATH=PLUGINS, TERM=term)
    e.pop("NO_COLOR", None)
    return e


def run_pty(tmp, term, tag):
    gate = os.path.join(tmp, "gate-" + tag)
    dst = os.path.join(tmp, "dst-" + tag)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(XPORT, [XPORT, "copy", "--opt", "fake:gate=" + gate, "fake:fakews", dst],
                  env(term))
    out = b""
    seen_live = False
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        text = out.decode("utf-8", "replace")
        if not seen_live and re.search(r"copied 0/1 experiments, 3 points", text):
            seen_live = True  # counted while the experiment is still open
            open(gate, "w").close()
    _, status = os.waitpid(pid, 0)
    text = out.decode("utf-8", "replace")
    assert seen_live, "%s: no live count before the experiment ended:\n%r" % (tag, text)
    assert os.waitstatus_to_exitcode(status) == 0, (tag, text)
    assert "summary:" in text, text
    assert "fakews/fakeproj/fake-run" in text and "copied 1/1 experiments" in text, text
    return text


def test_json(tmp):
    gate = os.path.join(tmp, "gate-json")
    p = subprocess.Popen([XPORT, "copy", "--json", "--opt", "fake:gate=" + gate,
                          "fake:fakews", os.path.join(tmp, "dst-json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env("xterm"))
    lines = []
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if b'"progress"' in line and not os.path.exists(gate):
            open(gate, "w").close()
    err = p.stderr.read()
    assert p.wait() == 0, err
    objs = [json.loads(l) for l in lines]  # every line is JSON
    prog = [o["progress"] for o in objs if "progress" in o]
    assert prog, lines
    assert prog[0]["points"] == 3 and prog[0]["done"] == 0, prog[0]
    assert prog[0]["active"][0]["name"] == "fake-run", prog[0]
    assert "summary" in objs[-1] and objs[-1]["summary"]["points"] == 3, objs[-1]
    assert b"\x1b[" not in err, err


def main():
    with tempfile.TemporaryDirectory() as tmp:
        text = run_pty(tmp, "xterm", "tty")
        assert "\x1b[J" in text, "no in-place redraw on a terminal: %r" % text
        assert re.search(r"fakews/fakeproj/fake-run: 1 series, 3 points", text), text
        dumb = run_pty(tmp, "dumb", "dumb")
        assert "\x1b[" not in dumb, "escape sequences with TERM=dumb: %r" % dumb
        test_json(tmp)
    print("ok")


main()
