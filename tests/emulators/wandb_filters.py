"""The W&B emulator's run filters and ordering, and GraphQL connection paging."""

import re

from wandb_common import bad, jdumps


# --------------------------------------------------------------------------
# Run filters and ordering (wandb.md 1.4)
# --------------------------------------------------------------------------

_MISSING = object()


def _unwrap(v):
    if isinstance(v, dict) and "value" in v:
        return v["value"]
    return v


def _dig(d, parts):
    for p in parts:
        if isinstance(d, dict) and p in d:
            d = d[p]
        else:
            return _MISSING
    return d


def run_field(run, key):
    k = key
    simple = {"name": run.name, "displayName": run.display_name,
              "display_name": run.display_name, "state": run.state, "tags": run.tags,
              "group": run.group, "jobType": run.job_type, "job_type": run.job_type,
              "notes": run.notes, "description": run.description,
              "createdAt": run.created, "created_at": run.created,
              "heartbeatAt": run.heartbeat, "heartbeat_at": run.heartbeat,
              "sweep": run.sweep, "sweepName": run.sweep, "commit": run.commit,
              "host": run.host, "username": run.user, "id": run.name}
    if k in simple:
        return simple[k]
    if k.startswith("config."):
        parts = k[7:].split(".")
        v = _dig(run.config, parts)
        if v is _MISSING and parts[-1] == "value":
            v = _dig(run.config, parts[:-1])
        if v is _MISSING and len(parts) > 1:    # config.a.b -> config.a.value.b
            v = _dig(_unwrap(run.config.get(parts[0])), parts[1:])
        return None if v is _MISSING else _unwrap(v)
    for pre in ("summary_metrics.", "summaryMetrics.", "summary."):
        if k.startswith(pre):
            v = _dig(run.summary, k[len(pre):].split("."))
            return None if v is _MISSING else v
    return None


def _cmp_ok(a, b, op):
    try:
        if op == "$gt":
            return a > b
        if op == "$gte":
            return a >= b
        if op == "$lt":
            return a < b
        if op == "$lte":
            return a <= b
    except TypeError:
        return False
    return False


def _match_value(val, cond):
    if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
        for op, arg in cond.items():
            if op == "$eq":
                if not _match_value(val, arg):
                    return False
            elif op == "$ne":
                if _match_value(val, arg):
                    return False
            elif op in ("$gt", "$gte", "$lt", "$lte"):
                vals = val if isinstance(val, list) else [val]
                if not any(_cmp_ok(v, arg, op) for v in vals if v is not None):
                    return False
            elif op == "$in":
                if not any(_match_value(val, a) for a in arg):
                    return False
            elif op == "$nin":
                if any(_match_value(val, a) for a in arg):
                    return False
            elif op == "$exists":
                if bool(arg) != (val is not None):
                    return False
            elif op == "$regex":
                vals = val if isinstance(val, list) else [val]
                if not any(isinstance(v, str) and re.search(arg, v) for v in vals):
                    return False
            elif op == "$not":
                if _match_value(val, arg):
                    return False
            elif op == "$size":
                if not isinstance(val, list) or len(val) != arg:
                    return False
            elif op == "$all":
                if not isinstance(val, list) or not all(a in val for a in arg):
                    return False
            else:
                raise bad("unsupported filter operator %s" % op)
        return True
    if isinstance(val, list) and not isinstance(cond, list):
        return cond in val
    return val == cond


def run_matches(run, flt):
    if not flt:
        return True
    for k, cond in flt.items():
        if k == "$and":
            if not all(run_matches(run, f) for f in cond):
                return False
        elif k == "$or":
            if not any(run_matches(run, f) for f in cond):
                return False
        elif k == "$nor":
            if any(run_matches(run, f) for f in cond):
                return False
        elif not _match_value(run_field(run, k), cond):
            return False
    return True


def order_runs(runs, order):
    if not order:
        order = "+created_at"     # wandb.md 1.4: the client default
    desc = order.startswith("-")
    key = order.lstrip("+-")
    if key in ("created_at", "createdAt"):
        kf = (lambda r: (r.created, r.seq))
    else:
        if key.startswith("summary_metrics."):
            key = "summary_metrics." + key[len("summary_metrics."):]
        kf0 = (lambda r: run_field(r, key))

        def kf(r):
            v = kf0(r)
            if v is None:
                return (0, "", 0, r.seq)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return (1, "num", v, r.seq)
            return (1, "str", v if isinstance(v, str) else jdumps(v), r.seq)
    return sorted(runs, key=kf, reverse=desc)
