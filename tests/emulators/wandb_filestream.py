"""The W&B emulator's run writes: UpsertBucket and the file_stream endpoint."""

import json
import re

from wandb_common import (EVENTS_FILE, HISTORY_FILE, HTTPErr, OUTPUT_FILE, RUN_STATES,
    SUMMARY_FILE, bad, now_iso, rand_name)
from wandb_history import Lines, parse_row
from wandb_store import Run


# --------------------------------------------------------------------------
# Upsert (UpsertBucket) and file_stream semantics
# --------------------------------------------------------------------------

def parse_json_string(v, what):
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        return v
    try:
        return json.loads(v)
    except (ValueError, TypeError):
        raise bad("%s must be a JSON string" % what)


def upsert_bucket(emu, inp):
    """wandb.md 2.1.  Fields given (not null) overwrite; config and
    summaryMetrics replace the stored value wholesale (guess)."""
    run = None
    inserted = False
    if inp.get("id"):
        run = emu.run_by_id(inp["id"])
        if run is None:
            raise HTTPErr(404, "run %s not found" % inp["id"])
    else:
        ename = inp.get("entityName") or emu.viewer["entity"]
        pname = inp.get("modelName") or "uncategorized"   # guess: SDK default project
        name = inp.get("name") or rand_name()
        if not re.match(r"^[A-Za-z0-9_.\-]+$", name):
            raise bad("invalid run name %r" % name)
        p = emu.project(ename, pname, create=True)
        run = p.runs.get(name)
        if run is None:
            run = p.runs[name] = Run(emu, p, name, emu.viewer["username"])
            inserted = True
    m = {"displayName": "display_name", "description": "description", "notes": "notes",
         "groupName": "group", "jobType": "job_type", "commit": "commit", "host": "host",
         "sweep": "sweep", "jobProgram": "program", "jobRepo": "repo"}
    for k, attr in m.items():
        if inp.get(k) is not None:
            setattr(run, attr, inp[k])
    if inp.get("state") is not None:
        if inp["state"] not in RUN_STATES:
            raise bad("invalid state %r" % inp["state"])
        run.state = inp["state"]
    if inp.get("tags") is not None:
        if not isinstance(inp["tags"], list) or not all(isinstance(t, str) for t in inp["tags"]):
            raise bad("tags must be a list of strings")
        run.tags = list(inp["tags"])
    if inp.get("config") is not None:
        c = parse_json_string(inp["config"], "config")
        if not isinstance(c, dict):
            raise bad("config must be a JSON object")
        run.config = c
    if inp.get("summaryMetrics") is not None:
        s = parse_json_string(inp["summaryMetrics"], "summaryMetrics")
        if not isinstance(s, dict):
            raise bad("summaryMetrics must be a JSON object")
        run.summary = s
    run.heartbeat = now_iso()
    return run, inserted


def file_stream(emu, run, body):
    """wandb.md 2.2."""
    if not isinstance(body, dict):
        raise bad("file_stream body must be a JSON object")
    files = body.get("files") or {}
    if not isinstance(files, dict):
        raise bad("files must be an object")
    # validate everything before changing anything
    plan = []
    for fname, spec in files.items():
        if not isinstance(spec, dict):
            raise bad("files[%s] must be an object" % fname)
        off = spec.get("offset", 0)
        content = spec.get("content", [])
        if isinstance(off, bool) or not isinstance(off, int) or off < 0:
            raise bad("files[%s].offset must be a non-negative integer" % fname)
        if not isinstance(content, list) or not all(isinstance(c, str) for c in content):
            raise bad("files[%s].content must be a list of strings" % fname)
        if fname in (HISTORY_FILE, EVENTS_FILE):
            for c in content:
                parse_row(c)
        if fname == SUMMARY_FILE and content:
            s = parse_json_string(content[-1], "summary line")
            if not isinstance(s, dict):
                raise bad("summary line must be a JSON object")
        plan.append((fname, off, content))
    if "exitcode" in body and body["exitcode"] is not None and \
            (isinstance(body["exitcode"], bool) or not isinstance(body["exitcode"], int)):
        raise bad("exitcode must be an integer")
    run.fs["posts"] += 1
    for fname, off, content in plan:
        if fname == HISTORY_FILE:
            run.history.put(off, content)
        elif fname == EVENTS_FILE:
            run.events.put(off, content)
            for c in content:
                row = parse_row(c)
                sm = {k: v for k, v in row.items() if not k.startswith("_")}
                run.system_metrics.update(sm)      # guess: systemMetrics = latest values
        elif fname == SUMMARY_FILE:
            if content:
                run.summary = parse_json_string(content[-1], "summary line")
        elif fname == OUTPUT_FILE:
            run.logs.put(off, content)
        else:
            run.other.setdefault(fname, Lines()).put(off, content)
    for p in body.get("uploaded") or []:
        run.fs["uploaded"].append(p)
    if body.get("preempting"):
        run.fs["preempting"] += 1
        run.state = "preempting"
    if body.get("complete"):
        run.fs["completes"] += 1
        run.complete = True
        code = body.get("exitcode")
        run.exitcode = code
        run.state = "finished" if not code else "failed"
    elif plan and run.state in ("finished", "failed", "crashed", "killed", "preempted"):
        run.state = "running"       # guess: streaming into a finished run resumes it
    run.heartbeat = now_iso()
    out = {"exitcode": None,
           "limits": {"name": "default", "rate_limit": "400/s", "system_metrics": "2/m"}}
    if emu.cfg["stopped"]:
        out["stopped"] = True
    return out
