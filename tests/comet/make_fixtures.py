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
            "workspaceName": WS, "filePath": "/home/u/train.py",
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


if __name__ == "__main__":
    what, root = sys.argv[1], sys.argv[2]
    {"cometx": cometx, "hostile": hostile}[what](root)
