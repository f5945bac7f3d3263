#!/usr/bin/env python3
"""Write Comet test data the way Comet's own tools write it (Python 3,
standard library only; provenance in tests/comet/README.md).

  make_fixtures.py cometx DIR     a folder as `cometx download` writes it
  make_fixtures.py offline DIR    <experiment_key>.zip as comet_ml's
                                  OfflineExperiment writes it
  make_fixtures.py hostile DIR    a cometx folder whose asset names escape

Every JSON file is written with json.dumps and default separators, as
comet-ml/cometx:cometx/framework/comet/download_manager.py does.
"""
import json
import os
import sys
import zipfile

KEY1 = "0123456789abcdef0123456789abcdef"
KEY2 = "fedcba9876543210fedcba9876543210"
WS = "ws-one"
PROJ = "proj-\u03b1"

# Metric values as Comet's server returns them: strings, in Java's
# Double.toString form, in Python's repr form, and as integers.
LOSS = [
    ("1.0E-300", 0), ("1e-300", 1), ("-0.0", 2), ("4.9E-324", 3), ("5e-324", 4),
    ("1.7976931348623157E308", 5), ("1.7976931348623157e+308", 6),
    ("0.30000000000000004", 7), ("9007199254740994.0", 8),
    ("9.007199254740994E15", 9), ("1.0E-5", 10), ("NaN", 11), ("Infinity", 12),
    ("-Infinity", 13), ("42", 14), ("0.5003255009651184", None),
]
OUTPUT_LINES = 546


def dumps(o):
    return json.dumps(o)


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


def summary(name, value):
    # get_parameters_summary / get_others_summary shape
    # (comet_ml/api.py docstrings; comet-examples Comet-Python-API.ipynb)
    return {"name": name, "valueMax": value, "valueMin": value,
            "valueCurrent": value, "timestampMax": 1700000000000,
            "timestampMin": 1700000000000, "timestampCurrent": 1700000000000,
            "editable": False}


def asset(file_name, kind, asset_id, step=None, extra=None, size=0):
    # experiment/asset/list record (Java ExperimentAssetLink.java; comet_ml api.py)
    rec = {"fileName": file_name, "fileSize": size, "runContext": None,
           "step": step, "remote": False,
           "link": "https://www.comet.com/api/asset/download?assetId=%s" % asset_id,
           "compressedAssetLink": "", "createdAt": 1700000000123, "dir": "assets",
           "canView": False, "audio": kind == "audio", "video": False,
           "histogram": False, "image": kind == "image", "type": kind,
           "metadata": None, "assetId": asset_id, "tags": []}
    rec.update(extra or {})
    return rec


def experiment1(root):
    d = os.path.join(root, WS, PROJ, KEY1)
    meta = {"experimentKey": KEY1, "experimentName": "run-\u00e9",
            "optimizationId": None, "projectId": "p123", "projectName": PROJ,
            "workspaceName": WS, "filePath": "/srv/job/train.py",
            "fileName": "train.py", "durationMillis": 60000,
            "startTimeMillis": 1700000000000, "endTimeMillis": 1700000060000,
            "archived": False, "running": False, "throttle": False,
            "tags": ["a", "\u00fcml"], "cometDownloadVersion": "3.6.9"}
    write(os.path.join(d, "metadata.json"), dumps(meta))
    lines = []
    for i, (v, step) in enumerate(LOSS):
        lines.append({"metricName": "loss", "metricValue": v,
                      "timestamp": 1700000000000 + i, "step": step,
                      "epoch": None if i % 2 else i // 2,
                      "runContext": "train" if i == 1 else None, "offset": i})
        if i % 5 == 0:
            lines.append({"metricName": "sys.cpu.percent.01",
                          "metricValue": str(10 + i), "timestamp": 1700000000500 + i,
                          "step": None, "epoch": None, "runContext": None,
                          "offset": 100 + i})
    lines.append({"metricName": "\u635f\u5931/\u03bb", "metricValue": "1.5",
                  "timestamp": 1700000000999, "step": 3, "epoch": 1,
                  "runContext": None, "offset": 200})
    write(os.path.join(d, "metrics.jsonl"),
          "".join(dumps(x) + "\n" for x in lines))
    params = [summary("optimizer|lr", "0.001"), summary("optimizer|name", "adam"),
              summary("epochs", "10"), summary("layers", "[64, 32]")]
    write(os.path.join(d, "parameters.json"), dumps(params))
    others = [summary("Name", "run-\u00e9"), summary("note", "hello \u2603")]
    write(os.path.join(d, "others.jsonl"), "".join(dumps(x) + "\n" for x in others))
    system = {"experimentKey": KEY1, "user": "u", "pythonVersion": "3.11.4",
              "pythonVersionVerbose": "3.11.4 (main)", "pid": 4242,
              "osType": "Linux", "os": "Linux-6.1", "osRelease": "6.1.0",
              "ip": "10.0.0.1", "hostname": "box", "machine": "x86_64",
              "processor": "x86_64", "gpuStaticInfoList": [],
              "logAdditionalSystemInfoList": [], "systemMetricNames": [],
              "maxTotalMemory": None, "networkInterfaceIps": [],
              "command": ["train.py", "--lr", "0.001"], "executable": "/usr/bin/python3",
              "env": None, "totalRam": 16.0}
    write(os.path.join(d, "system_details.json"), dumps(system))
    # assets: NUL bytes, an image, a model element in a sub-folder, two
    # assets sharing a name (diskFileName), audio with a step (renamed)
    blob = b"\x00\x01\x00weights\x00\xff" * 37
    assets = [
        (asset("weights.bin", "asset", "a0000000000000000000000000000001",
               size=len(blob)), blob),
        (asset("sample.png", "image", "a0000000000000000000000000000002", step=3,
               extra={"metadata": dumps({"caption": "x"})}), b"\x89PNG\r\n\x1a\nfake"),
        (asset("model/keras_module.txt", "model-element",
               "a0000000000000000000000000000003",
               extra={"dir": "models/mymodel"}), b"keras module\n"),
        (asset("dup.txt", "asset", "a0000000000000000000000000000004"), b"first\n"),
        (asset("dup.txt", "asset", "a0000000000000000000000000000005",
               extra={"diskFileName": "dup_1.txt"}), b"second\n"),
        (asset("beep-7.wav", "audio", "a0000000000000000000000000000006", step=7,
               extra={"logAsFileName": "beep.wav"}), b"RIFF....WAVE"),
    ]
    write(os.path.join(d, "assets", "assets_metadata.jsonl"),
          "".join(dumps(a) + "\n" for a, _ in assets))
    for a, data in assets:
        name = a.get("diskFileName", a["fileName"])
        write(os.path.join(d, "assets", a["type"], name), data, "wb")
    write(os.path.join(d, "assets", "html", "experiment.html"), "<p>hi</p>")
    out = "".join("line %d of output\n" % i for i in range(OUTPUT_LINES - 1))
    out += "last line without a newline"
    write(os.path.join(d, "run", "output.txt"), out)
    write(os.path.join(d, "run", "requirements.txt"), "numpy==1.26.0\ncomet_ml==3.49.1")
    write(os.path.join(d, "run", "script.py"), "print('hi')\n")
    write(os.path.join(d, "run", "graph_definition.txt"), "Sequential()\n")
    write(os.path.join(d, "run", "git_metadata.json"),
          dumps({"user": "u", "root": "/src", "branch": "main",
                 "parent": "abc123", "origin": "git@example.com:u/r.git"}))
    write(os.path.join(d, "run", "git_diff.patch"), "diff --git a/x b/x\n", "w")


def experiment2(root):
    # a minimal folder: what cometx writes for an experiment with nothing
    d = os.path.join(root, WS, PROJ, KEY2)
    meta = {"experimentKey": KEY2, "experimentName": None, "optimizationId": None,
            "projectId": "p123", "projectName": PROJ, "workspaceName": WS,
            "filePath": None, "fileName": None, "durationMillis": 0,
            "startTimeMillis": 1700000100000, "endTimeMillis": None,
            "archived": False, "running": True, "throttle": False, "tags": [],
            "cometDownloadVersion": "3.6.9"}
    write(os.path.join(d, "metadata.json"), dumps(meta))
    write(os.path.join(d, "parameters.json"), dumps([]))
    write(os.path.join(d, "others.jsonl"), "")
    write(os.path.join(d, "system_details.json"), dumps({"experimentKey": KEY2}))


def cometx(root):
    experiment1(root)
    experiment2(root)
    proj = {"projectId": "p123", "projectName": PROJ, "ownerUserName": "u",
            "projectDescription": "a project", "workspaceName": WS,
            "numberOfExperiments": 2, "lastUpdated": 1700000200000,
            "public": False, "cometDownloadVersion": "3.6.9"}
    write(os.path.join(root, WS, PROJ, "project_metadata.json"), dumps(proj))


def hostile(root):
    d = os.path.join(root, WS, PROJ, KEY1)
    write(os.path.join(d, "metadata.json"),
          dumps({"experimentKey": KEY1, "projectName": PROJ, "workspaceName": WS}))
    name = sys.argv[3] if len(sys.argv) > 3 else "a/../../x"
    rec = asset(name, "asset", "a0000000000000000000000000000009")
    write(os.path.join(d, "assets", "assets_metadata.jsonl"), dumps(rec) + "\n")
    write(os.path.join(root, "x"), "outside")


# ---- offline archives ------------------------------------------------------
# messages.json lines are {"type": T, "payload": P}: P is the message's
# non-null fields (comet_ml comet.py OfflineStreamer._process_message,
# messages.py); NaN and infinities arrive as the strings "NaN", "Infinity",
# "-Infinity" (convert_utils.fix_special_floats). Uploaded files sit at the
# archive's top level under temporary names (file_path).
OFFLINE_KEY = "0fedcba98765432100fedcba98765432"
OFFLINE_VALUES = [1e-300, -0.0, 5e-324, 1.7976931348623157e+308,
                  0.30000000000000004, 9007199254740994.0, 1e-05, "NaN",
                  "Infinity", "-Infinity", 42]


def msg(kind, payload):
    return json.dumps({"type": kind, "payload": payload}) + "\n"


def ws(ts, **fields):
    # the legacy form, every member present (comet-for-mlflow file_writer.py)
    payload = {k: None for k in (
        "code", "context", "env_details", "fileName", "git_meta",
        "gpu_static_info", "graph", "html", "htmlOverride", "installed_packages",
        "log_dependency", "log_other", "log_system_info", "metric",
        "os_packages", "param", "params", "stderr", "stdout")}
    payload["local_timestamp"] = ts
    payload.update(fields)
    return msg("ws_msg", payload)


def offline(root):
    os.makedirs(root, exist_ok=True)
    ts = 1700000000000
    lines = []
    lines.append(msg("log_other", {"key": "Name", "value": "offline-\u00e9"}))
    lines.append(msg("parameter_msg", {"context": None, "local_timestamp": ts,
                 "param": {"paramName": "optimizer|lr", "paramValue": 0.001,
                           "step": None, "source": "manual"}}))
    lines.append(msg("parameter_msg", {"local_timestamp": ts,
                 "params": {"paramName": "layers", "paramValue": [64, 32],
                            "step": None, "source": "manual"}}))
    for i, v in enumerate(OFFLINE_VALUES):
        payload = {"local_timestamp": ts + i,
                   "metric": {"metricName": "loss", "metricValue": v,
                              "step": i if i != 3 else None,
                              "epoch": None if i % 2 else i}}
        if i == 1:
            payload["context"] = "train"
        lines.append(msg("metric_msg", payload))
    lines.append(ws(ts + 50, metric={"epoch": 0, "metricName": "legacy",
                                     "metricValue": 2.5, "step": 7}))
    lines.append(ws(ts + 51, param={"paramName": "legacy_param",
                                    "paramValue": "x", "step": None}))
    lines.append(ws(ts + 52, log_other={"key": "legacy_other", "val": "y"}))
    lines.append(ws(ts + 53, stdout="legacy out\n", stderr=False))
    lines.append(ws(ts + 54, fileName="train.py"))
    lines.append(msg("log_other", {"key": "note", "value": "\u2603"}))
    for i in range(OUTPUT_LINES - 1):
        lines.append(msg("standard_output", {"output": "line %d\n" % i,
                     "stderr": i == 5, "context": None, "local_timestamp": ts + 100 + i}))
    lines.append(msg("standard_output", {"output": "last line without a newline",
                 "stderr": False, "local_timestamp": ts + 999}))
    lines.append(msg("html", {"html": "<b>hi</b>"}))
    lines.append(msg("graph", {"graph": "Sequential()"}))
    lines.append(msg("installed_packages", {"installed_packages": ["numpy==1.26.0"]}))
    lines.append(msg("git_metadata", {"git_metadata": {
        "parent": "abc", "repo_name": None, "status": None, "user": "u",
        "root": "/src", "branch": "main", "origin": "git@x:y.git"}}))
    lines.append(msg("system_details", {
        "command": ["train.py"], "env": None, "hostname": "box", "ip": "10.0.0.1",
        "machine": "x86_64", "os": "Linux", "os_release": "6.1", "os_type": "Linux",
        "pid": 7, "processor": "x86_64", "python_exe": "/usr/bin/python3",
        "python_version": "3.11.4", "python_version_verbose": "3.11.4 (main)",
        "user": "u"}))
    lines.append(msg("gpu_static_info", {"gpu_static_info": []}))
    blob = b"\x00\x01\x00weights\x00\xff" * 37
    uploads = [("tmpa1b2c3", "asset", {"fileName": "weights.bin", "step": None,
                                       "context": None, "overwrite": False,
                                       "assetId": "b1"}, blob),
               ("tmpd4e5f6", "image", {"fileName": "sample.png", "step": 3,
                                       "context": "train", "overwrite": False,
                                       "assetId": "b2"}, b"\x89PNG fake")]
    for fp, kind, params, _ in uploads:
        lines.append(msg("file_upload", {"local_timestamp": ts, "file_path": fp,
                     "upload_type": kind, "additional_params": params,
                     "metadata": {"k": 1}, "clean": True}))
    exp = {"offline_id": OFFLINE_KEY, "project_name": PROJ, "workspace": WS,
           "start_time": ts, "stop_time": ts + 60000, "tags": ["t1"],
           "resume_strategy": "create", "customer_error_reported": False,
           "customer_error_message": None}
    path = os.path.join(root, OFFLINE_KEY + ".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        z.writestr("experiment.json", json.dumps(exp))
        z.writestr("messages.json", "".join(lines))
        for fp, _, _, data in uploads:
            z.writestr(fp, data)


def offline_hostile(root):
    # an archive whose upload names escape, and one with a zip-slip entry
    os.makedirs(root, exist_ok=True)
    what = sys.argv[3] if len(sys.argv) > 3 else "name"
    exp = {"offline_id": OFFLINE_KEY, "project_name": PROJ, "workspace": WS,
           "start_time": 1, "stop_time": 2, "tags": []}
    with zipfile.ZipFile(os.path.join(root, OFFLINE_KEY + ".zip"), "w") as z:
        z.writestr("experiment.json", json.dumps(exp))
        if what == "slip":
            z.writestr("messages.json", "")
            z.writestr("../../evil.txt", "x")
        else:
            z.writestr("messages.json", msg("file_upload", {
                "local_timestamp": 1, "file_path": "tmpx", "upload_type": "asset",
                "additional_params": {"fileName": "../../evil.txt", "step": None,
                                      "context": None}}))
            z.writestr("tmpx", "x")


if __name__ == "__main__":
    what, root = sys.argv[1], sys.argv[2]
    {"cometx": cometx, "hostile": hostile, "offline": offline,
     "offline-hostile": offline_hostile}[what](root)
