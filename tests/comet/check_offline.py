#!/usr/bin/env python3
"""Check Comet offline archives against what comet_ml's OfflineSender accepts
(Python 3, standard library): experiment.json per
schemas/offline-experiment.schema.json, each messages.json line a
{"type", "payload"} object of a type offline.py knows, payload members as
messages.py writes them and as the schemas allow (strict where schemas.py
validates with allow_additional_properties=False: log_other,
standard_output, html, graph, installed_packages, git_metadata,
system_details, ...; the "metric" and "param" objects never take extra
members), and every uploaded file_path present in the archive.

  check_offline.py ARCHIVE_OR_FOLDER...
"""
import json
import os
import sys
import zipfile

STRICT = {
    "log_other": {"key", "value"},
    "standard_output": {"output", "stderr", "context", "local_timestamp"},
    "html": {"html"}, "htmlOverride": {"htmlOverride"}, "graph": {"graph"},
    "installed_packages": {"installed_packages"}, "os_packages": {"os_packages"},
    "git_metadata": {"git_metadata"}, "file_name": {"file_name"},
    "gpu_static_info": {"gpu_static_info"}, "system_info": {"system_info"},
    "system_details": {"command", "env", "hostname", "ip", "machine", "os",
                       "os_release", "os_type", "pid", "processor", "python_exe",
                       "python_version", "python_version_verbose", "user"},
}
OPEN = {"metric_msg", "parameter_msg", "file_upload", "remote_file", "ws_msg"}


def fail(where, what):
    sys.exit("%s: %s" % (where, what))


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(path):
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        exp = json.loads(z.read("experiment.json"))
        for k in ("project_name", "start_time", "stop_time", "tags", "workspace"):
            if k not in exp:
                fail(path, "experiment.json lacks %s" % k)
        if not isinstance(exp["start_time"], int) or not isinstance(exp["stop_time"], int):
            fail(path, "experiment.json times are not integers")
        if not all(isinstance(t, str) for t in exp["tags"]):
            fail(path, "experiment.json tags are not strings")
        key = exp.get("offline_id", "")
        if not (key.isalnum() and 32 <= len(key) <= 50):
            fail(path, "offline_id %r is not 32-50 letters and digits" % key)
        for n, line in enumerate(z.read("messages.json").decode("utf-8").splitlines(), 1):
            where = "%s line %d" % (path, n)
            m = json.loads(line)
            if set(m) != {"type", "payload"}:
                fail(where, "not {type, payload}")
            t, p = m["type"], m["payload"]
            if t in STRICT:
                extra = set(p) - STRICT[t]
                if extra:
                    fail(where, "%s takes no %s" % (t, sorted(extra)))
            elif t not in OPEN:
                fail(where, "unknown type %r" % t)
            if t == "metric_msg":
                if not isinstance(p.get("local_timestamp"), int):
                    fail(where, "local_timestamp is not an integer")
                met = p["metric"]
                if set(met) - {"metricName", "metricValue", "step", "epoch"}:
                    fail(where, "metric takes no %s" % sorted(set(met)))
                for k in ("metricName", "metricValue", "step"):
                    if k not in met:
                        fail(where, "metric lacks %s" % k)
                v = met["metricValue"]
                if not (number(v) or isinstance(v, str)):
                    fail(where, "metricValue %r is not a number or a string" % (v,))
                for k in ("step", "epoch"):
                    if met.get(k) is not None and not number(met[k]):
                        fail(where, "%s is not a number" % k)
            if t == "parameter_msg":
                par = p.get("param") or p.get("params")
                if set(par) - {"paramName", "paramValue", "step", "source"}:
                    fail(where, "param takes no %s" % sorted(set(par)))
                v = par["paramValue"]
                ok = (lambda x: x is None or isinstance(x, (bool, str)) or number(x))
                if "params" in p and p["params"] is not None:
                    if not isinstance(v, list) or not all(ok(x) for x in v):
                        fail(where, "params value is not a list of scalars")
                elif not ok(v):
                    fail(where, "param value %r is not a scalar" % (v,))
            if t == "file_upload":
                for k in ("additional_params", "file_path", "local_timestamp", "upload_type"):
                    if k not in p:
                        fail(where, "file_upload lacks %s" % k)
                ap = p["additional_params"]
                if ap is not None and ("context" not in ap or "step" not in ap):
                    fail(where, "additional_params lacks context or step")
                if p["file_path"] not in names:
                    fail(where, "%s is not in the archive" % p["file_path"])


def main():
    for arg in sys.argv[1:]:
        paths = [arg] if not os.path.isdir(arg) else [
            os.path.join(arg, n) for n in sorted(os.listdir(arg)) if n.endswith(".zip")]
        if not paths:
            fail(arg, "no archives")
        for p in paths:
            check(p)
    print("ok")


if __name__ == "__main__":
    main()
