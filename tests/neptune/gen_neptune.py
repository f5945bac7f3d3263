#!/usr/bin/env python3
"""Write Neptune on-disk test data the way neptune-client 1.x writes it.

    gen_neptune.py OUTDIR

OUTDIR/.neptune/ gets the offline and async container folders of the 1.x
client's disk queue; see README.md in this folder for what follows which
client code path and which values are hand-made on purpose. Python 3
standard library only; every value is fixed, so two runs write the same
bytes (but for absolute paths under OUTDIR).
"""
import base64
import json
import os
import sys
from datetime import datetime, timezone

# Fixed values that the tests check.
RUN_FULL = "3f1c2a9e-5b7d-4e21-9c33-0a1b2c3d4e5f"
RUN_ASYNC = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
RUN_TORN = "b0b0b0b0-1111-4222-8333-944445555666"
RUN_GONE = "c0c0c0c0-1111-4222-8333-944445555666"
RUN_HOSTILE = ".."
RUN_WINDOWS = "f0f0f0f0-1111-4222-8333-944445555666"
RUN_LEGACY = "d0d0d0d0-1111-4222-8333-944445555666"
RUN_RESUMED = "e0e0e0e0-1111-4222-8333-944445555666"
MON = "monitoring/0a1b2c3d"
AT0 = 1767323045.25  # `at` of the first operation (time.time())
TS0 = 1767323045.123456  # `ts` of the first series value
LONG = "".join(chr(0x61 + i % 26) for i in range(100000))
# the smallest PNG: 1x1, one grey pixel
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")


class Queue:
    """DiskQueue.put + LogFile (src/neptune/core/components/queue/
    disk_queue.py, log_file.py): one json.dumps line per operation,
    {"obj", "version", "at"}, a new data-<version>.log when the next line
    would pass max_file_size (64 MiB in the client; smaller here so that
    rolling is exercised), last_put_version rewritten after each put."""

    def __init__(self, path, max_file_size=64 * 1024**2):
        self.path = path
        self.max = max_file_size
        self.version = 0
        self.first = 1
        self.size = 0
        self.at = AT0
        os.makedirs(os.path.join(path, "upload_path"), exist_ok=True)

    def put(self, op):
        self.version += 1
        line = json.dumps({"obj": op, "version": self.version, "at": self.at})
        self.at += 0.5
        if self.size + len(line) > self.max:
            self.first = self.version
            self.size = 0
        with open(os.path.join(self.path, f"data-{self.first}.log"), "a") as f:
            f.write(line + "\n")
        self.size += len(line) + 1
        with open(os.path.join(self.path, "last_put_version"), "w") as f:
            f.write(str(self.version))

    def ack(self, version):
        with open(os.path.join(self.path, "last_ack_version"), "w") as f:
            f.write(str(version))


def metadata(path, mode, container_id):
    """utils.py common_metadata, written by MetadataFile (indent=2)."""
    with open(os.path.join(path, "metadata.json"), "w") as f:
        json.dump({"mode": mode, "containerId": container_id,
                   "containerType": "run", "structureVersion": 3,
                   "os": "Linux-6.1.0-x86_64-with-glibc2.36",
                   "pythonVersion": "3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]",
                   "neptuneClientVersion": "1.14.0",
                   "createdAt": "2026-01-02T03:04:05.250000+00:00"}, f, indent=2)


# Operation.to_dict of each class (src/neptune/internal/operation.py).
def op(type_, path, **fields):
    d = {"type": type_, "path": path.split("/") if isinstance(path, str) else path}
    d.update(fields)
    return d


def values(vals, steps, ts):
    """LogSeriesValue.to_dict: {"value", "step", "ts"}."""
    return [{"value": v, "step": s, "ts": t} for v, s, t in zip(vals, steps, ts)]


def log_floats(q, path, vals, steps, ts):
    """FloatSeries: values through float(), batches of 100."""
    vals = [float(v) for v in vals]
    for i in range(0, len(vals), 100):
        q.put(op("LogFloats", path, values=values(vals[i:i + 100], steps[i:i + 100], ts[i:i + 100])))


def log_strings(q, path, vals, steps, ts):
    """StringSeries: batches of 10."""
    for i in range(0, len(vals), 10):
        q.put(op("LogStrings", path, values=values(vals[i:i + 10], steps[i:i + 10], ts[i:i + 10])))


def initial(q, name, out):
    """Run._write_initial_attributes of an offline run
    (src/neptune/metadata_containers/run.py) and upload_source_code."""
    q.put(op("AssignString", "sys/name", value=name))
    q.put(op("AssignString", "sys/description", value="edge values"))
    q.put(op("AssignString", f"{MON}/hostname", value="node-17"))
    q.put(op("AssignString", "sys/hostname", value="node-17"))
    q.put(op("AssignString", f"{MON}/pid", value="4242"))
    q.put(op("AssignString", f"{MON}/tid", value="140000"))
    q.put(op("AddStrings", "sys/tags", values=["slurm", "ünïcode"]))
    q.put(op("AssignBool", "sys/failed", value=False))
    q.put(op("ClearStringLog", f"{MON}/stdout"))
    q.put(op("ClearStringLog", f"{MON}/stderr"))
    src = os.path.join(out, "src")
    os.makedirs(os.path.join(src, "pkg"), exist_ok=True)
    with open(os.path.join(src, "train.py"), "w") as f:
        f.write("print('hello')\n")
    with open(os.path.join(src, "pkg", "util.py"), "w") as f:
        f.write("X = 1\n")
    q.put(op("AssignString", "source_code/entrypoint", value="train.py"))
    # FileSet.upload_files: os.path.abspath of each glob, reset as str()
    q.put(op("UploadFileSet", "source_code/files",
             file_globs=[os.path.abspath(os.path.join(src, "train.py")),
                         os.path.abspath(os.path.join(src, "pkg"))],
             reset="True"))


def full_run(out):
    d = os.path.join(out, ".neptune", "offline", f"run__{RUN_FULL}__4242__k3j5x9q2")
    os.makedirs(d)
    metadata(d, "offline", RUN_FULL)
    q = Queue(d, max_file_size=4096)
    initial(q, "edge-run", out)
    q.put(op("AssignFloat", "parameters/x", value=2.0))
    q.put(op("AssignInt", "parameters/n", value=2))
    q.put(op("AssignBool", "parameters/flag", value=True))
    q.put(op("AssignString", ["parameters", "ünï", "κλειδί"], value="välue ✓"))
    dt = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=timezone.utc)
    q.put(op("AssignDatetime", "parameters/when", value=int(1000 * dt.timestamp())))
    q.put(op("AssignFloat", "parameters/lr", value=0.1))
    q.put(op("AssignFloat", "parameters/tiny", value=1e-06))
    q.put(op("AssignString", "parameters/gone", value="deleted below"))
    q.put(op("DeleteAttribute", "parameters/gone"))
    # hand-made: the 1.x client cuts strings at 16384 characters
    # (attributes/atoms/string.py); older clients did not
    q.put(op("AssignString", "parameters/long", value=LONG))
    # run["parameters/x_copy"] = run["parameters/x"]
    q.put(op("CopyAttribute", "parameters/x_copy", container_id=RUN_FULL,
             container_type="run", source_path=["parameters", "x"], source_attr_name="Float"))
    q.put(op("AddStrings", "data/labels", values=["a", "b", "c"]))
    q.put(op("RemoveStrings", "data/labels", values=["b"]))
    # float series: decimal steps, int values through float(), one value
    # without a step, a series cleared and logged again, an empty series
    log_floats(q, "train/loss", [2, 1.5, 0.25], [0.1, 0.2, 0.30000000000000004],
               [TS0, TS0 + 1, TS0 + 2])
    log_floats(q, "train/fine", [1.0, 2.0], [1e-06, 2e-06], [TS0, TS0])
    log_floats(q, "train/nostep", [7.0], [None], [TS0])
    q.put(op("ConfigFloatSeries", "train/acc", min=0.0, max=1.0, unit="%"))
    log_floats(q, "train/acc", [0.5], [0], [TS0])
    q.put(op("ClearFloatLog", "train/acc"))
    log_floats(q, "train/acc", [0.75], [1], [TS0 + 3])
    q.put(op("ClearFloatLog", "train/empty"))
    # hand-made: the 1.x client drops NaN and ±Inf before queueing
    # (types/series/float_series.py); json.dumps writes them as tokens
    log_floats(q, "edge/nonfinite", [float("nan"), float("inf"), float("-inf")],
               [0, 1, 2], [TS0, TS0, TS0])
    log_floats(q, f"{MON}/cpu", [12.5, 13.0], [None, None], [TS0, TS0 + 5])
    log_floats(q, "many/points", list(range(250)), list(range(250)),
               [TS0 + i for i in range(250)])
    log_strings(q, "notes", ["first", "second ✓"], [None, None], [TS0, TS0 + 1])
    log_strings(q, f"{MON}/stdout", ["hello\n", "world\n"], [None, None], [TS0, TS0 + 1])
    log_strings(q, f"{MON}/stderr", ["warning: x\n"], [None], [TS0 + 2])
    # File.as_image of a PNG: LogImages, one value per operation
    q.put(op("LogImages", "images/sample", values=[
        {"value": {"data": base64.b64encode(PNG).decode(), "name": "grey",
                   "description": "one pixel"}, "step": 3, "ts": TS0}]))
    # an in-memory File: saved under upload_path/, tmp_file_name
    tmp = "artifacts_model-1767323045.25-2026-01-02_03.04.05.250000.bin"
    with open(os.path.join(d, "upload_path", tmp), "wb") as f:
        f.write(b"\x00\x01model-bytes\xff")
    q.put(op("UploadFile", "artifacts/model", ext="bin", file_path=None,
             tmp_file_name=tmp, clean_after_upload=False))
    # a File of a local path: file_path absolute
    local = os.path.join(out, "results.csv")
    with open(local, "w") as f:
        f.write("a,b\n1,2\n")
    q.put(op("UploadFile", "results", ext="csv", file_path=os.path.abspath(local),
             tmp_file_name=None, clean_after_upload=False))
    # UploadFileContent (older clients): base64 content inside the line
    q.put(op("UploadFileContent", "docs/readme", ext="txt",
             file_content=base64.b64encode(b"read me\n").decode()))
    # hostile attribute path: stays inside the output root
    q.put(op("UploadFileContent", ["..", "..", "escape"], ext="txt",
             file_content=base64.b64encode(b"nope\n").decode()))
    q.put(op("AssignString", ["..", "..", "escape_param"], value="kept"))
    q.put(op("AssignArtifact", "datasets/train", hash="a" * 64))
    q.put(op("TrackFilesToArtifact", "datasets/train", project_id="proj-uuid",
             entries=[["s3://bucket/train.csv", None]]))
    q.put(op("AssignBool", "sys/failed", value=True))


def async_run(out):
    """Structure 2: run__<id>/exec-<...>/, the first operations acknowledged
    and their file removed (DiskQueue._clean_log_files_up_to)."""
    d = os.path.join(out, ".neptune", "async", f"run__{RUN_ASYNC}",
                     "exec-1767323045.25-2026-01-02_03.04.05.250000-4243")
    os.makedirs(d)
    q = Queue(d, max_file_size=300)
    q.put(op("AssignString", "sys/name", value="async-run"))
    q.put(op("AssignFloat", "parameters/a", value=1.0))
    q.put(op("AssignFloat", "parameters/b", value=2.0))
    log_floats(q, "m", [1.0, 2.0], [0, 1], [TS0, TS0 + 1])
    q.ack(2)
    os.remove(os.path.join(d, "data-1.log"))


def legacy_run(out):
    """Structure 1: <id>/exec-<...>/ (metadata_containers/structure_version.py
    LEGACY), and a run resumed in async mode twice (structure 3: two folders
    of one id, replayed in the order of their metadata.json createdAt)."""
    d = os.path.join(out, ".neptune", "async", RUN_LEGACY, "exec-0-2022-01-01_00.00.00.000000-11")
    os.makedirs(d)
    q = Queue(d)
    q.put(op("AssignInt", "parameters/legacy", value=1))
    for i, (pid, when) in enumerate([("31", "2026-01-02T03:00:00.000000+00:00"),
                                     ("30", "2026-01-02T04:00:00.000000+00:00")]):
        d = os.path.join(out, ".neptune", "async", f"run__{RUN_RESUMED}__{pid}__zzzz000{i}")
        os.makedirs(d)
        metadata(d, "async", RUN_RESUMED)
        meta = json.load(open(os.path.join(d, "metadata.json")))
        meta["createdAt"] = when
        with open(os.path.join(d, "metadata.json"), "w") as f:
            json.dump(meta, f, indent=2)
        q = Queue(d)
        q.put(op("AssignInt", "parameters/attempt", value=i + 1))
        log_floats(q, "m", [float(i)], [i], [TS0 + i])


def windows_run(out):
    """A queue written on Windows: LogFile opens data-N.log in text mode,
    so each line ends in \\r\\n."""
    d = os.path.join(out, ".neptune", "offline", f"run__{RUN_WINDOWS}__12__dddddddd")
    os.makedirs(d)
    metadata(d, "offline", RUN_WINDOWS)
    q = Queue(d)
    q.put(op("AssignInt", "parameters/win", value=1))
    q.put(op("UploadFileContent", "notes/win", ext="txt",
             file_content=base64.b64encode(b"crlf\n").decode()))
    p = os.path.join(d, "data-1.log")
    data = open(p, "rb").read().replace(b"\n", b"\r\n")
    with open(p, "wb") as f:
        f.write(data)


def torn_run(out):
    d = os.path.join(out, ".neptune", "offline", f"run__{RUN_TORN}__7__aaaaaaaa")
    os.makedirs(d)
    metadata(d, "offline", RUN_TORN)
    q = Queue(d)
    q.put(op("AssignInt", "parameters/kept", value=1))
    log_floats(q, "m", [1.0], [0], [TS0])
    q.put(op("AssignInt", "parameters/torn", value=2))
    # a job killed while writing: the last line is cut
    p = os.path.join(d, "data-1.log")
    data = open(p, "rb").read()
    with open(p, "wb") as f:
        f.write(data[:-20])


def gone_run(out):
    d = os.path.join(out, ".neptune", "offline", f"run__{RUN_GONE}__8__bbbbbbbb")
    os.makedirs(d)
    metadata(d, "offline", RUN_GONE)
    q = Queue(d)
    q.put(op("AssignInt", "parameters/kept", value=1))
    q.put(op("UploadFile", "data/raw", ext="npy", file_path="/nonexistent/job/raw.npy",
             tmp_file_name=None, clean_after_upload=False))


def hostile_run(out):
    d = os.path.join(out, ".neptune", "offline", f"run__{RUN_HOSTILE}__9__cccccccc")
    os.makedirs(d)
    metadata(d, "offline", RUN_HOSTILE)
    q = Queue(d)
    q.put(op("AssignInt", "parameters/x", value=1))
    log_floats(q, "../../../m", [1.0], [0], [TS0])


# ---- the backup script's folders ------------------------------------------
# neptune-ai/examples utils/migration_tools/backup_neptune/
# bulk_download_metadata.py (VERSION 0.1.1): per run, single values into
# simple_metadata.json (json.dumps(indent=4, sort_keys=True, default=str)),
# series through fetch_values().to_csv(index=False), files as
# <path>.<ext>, file series as folders, file sets as <path>.zip.

BACKUP_TZ = "Europe/Warsaw"
BACKUP_RUN = "CLS-123"


def csv_float(x):
    """pandas writes floats as str(), NaN as an empty cell."""
    if x != x:
        return ""
    return str(x)


def series_csv(path, rows, strings=False):
    """fetch_values(): step, value, timestamp=datetime.fromtimestamp(ms/1000)
    (naive local time); to_csv(index=False): csv module quoting, "\n" line
    ends, a frame without rows has no columns at all."""
    import csv
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        if not rows:
            f.write("\n")
            return
        stamps = [datetime.fromtimestamp(ms / 1000) for _, _, ms in rows]
        frac = any(t.microsecond for t in stamps)
        fmt = "%Y-%m-%d %H:%M:%S.%f" if frac else "%Y-%m-%d %H:%M:%S"
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["step", "value", "timestamp"])
        for (step, value, _), t in zip(rows, stamps):
            w.writerow([csv_float(step), value if strings else csv_float(value),
                        t.strftime(fmt)])


def backup(out):
    import time
    import zipfile
    os.environ["TZ"] = BACKUP_TZ
    time.tzset()
    run = os.path.join(out, "backup", "team", "proj", BACKUP_RUN)
    os.makedirs(run)
    created = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=timezone.utc)
    single = {
        "sys/id": BACKUP_RUN, "sys/name": "backup-run", "sys/owner": "alice",
        "sys/creation_time": created, "sys/failed": False, "sys/trashed": False,
        "sys/size": 1234.0, "sys/running_time": 12.5, "sys/monitoring_time": 7,
        "sys/tags": {"a", "b'q", "ü"}, "sys/description": "",
        "parameters/x": 2.0, "parameters/n": 2, "parameters/flag": True,
        "parameters/ünï/κλειδί": "välue ✓", "parameters/when": created,
        "parameters/long": LONG, "parameters/lr": 0.1, "parameters/tiny": 1e-06,
        "parameters/empty_set": set(), "parameters/looks_like_text": "{not a set",
    }
    with open(os.path.join(run, "simple_metadata.json"), "w+") as f:
        f.write(json.dumps(single, indent=4, sort_keys=True, default=str))
    ms0 = 1767323045123
    series_csv(os.path.join(run, "train", "loss.csv"),
               [(0.1, 2.0, ms0), (0.2, 1.5, ms0 + 1000), (0.30000000000000004, 0.25, ms0 + 2000)])
    series_csv(os.path.join(run, "train", "fine.csv"), [(1e-06, 1.0, ms0), (2e-06, 2.0, ms0)])
    series_csv(os.path.join(run, "edge", "nonfinite.csv"),
               [(0.0, float("nan"), ms0), (1.0, float("inf"), ms0), (2.0, float("-inf"), ms0)])
    series_csv(os.path.join(run, "train", "whole.csv"), [(0.0, 1.0, 1767323045000)])
    series_csv(os.path.join(run, "train", "empty.csv"), [])
    # summer time (UTC+2), the first 02:30 of the night clocks went back
    # (2025-10-26, 00:30 UTC), winter time (UTC+1)
    series_csv(os.path.join(run, "train", "dst.csv"),
               [(0.0, 1.0, 1751371200000), (1.0, 2.0, 1761438600000),
                (2.0, 3.0, 1767225600000)])
    series_csv(os.path.join(run, "monitoring", "0a1b2c3d", "cpu.csv"), [(0.0, 12.5, ms0)])
    series_csv(os.path.join(run, "monitoring", "0a1b2c3d", "stdout.csv"),
               [(0.0, "hello", ms0), (1.0, "with, comma \"and\" quote\nand newline", ms0 + 1)],
               strings=True)
    series_csv(os.path.join(run, "notes.csv"), [(0.0, "first", ms0), (1.0, "", ms0 + 1)],
               strings=True)
    with open(os.path.join(run, "results.csv"), "w") as f:  # a File of ext csv
        f.write("a,b\n1,2\n")
    with open(os.path.join(run, "model.bin"), "wb") as f:
        f.write(b"\x00\x01model-bytes\xff")
    os.makedirs(os.path.join(run, "images", "sample"))
    with open(os.path.join(run, "images", "sample", "0.png"), "wb") as f:
        f.write(PNG)
    os.makedirs(os.path.join(run, "source_code"))
    with zipfile.ZipFile(os.path.join(run, "source_code", "files.zip"), "w") as z:
        z.writestr("train.py", "print('hello')\n")
    # a run the script left before its first attribute
    os.makedirs(os.path.join(out, "backup", "team", "proj", "CLS-124"))
    # a run it stopped at a failing attribute, and the script's log
    # (logging.basicConfig format "%(asctime)s %(name)s %(levelname)s
    # %(message)s"), written where it ran: here the download folder
    run2 = os.path.join(out, "backup", "team", "proj", "CLS-125")
    os.makedirs(run2)
    with open(os.path.join(run2, "simple_metadata.json"), "w+") as f:
        f.write(json.dumps({"sys/id": "CLS-125"}, indent=4, sort_keys=True, default=str))
    with open(os.path.join(out, "backup", "neptune_backup_20260102030405.log"), "w") as f:
        f.write("2026-01-02 03:04:05 root INFO Backup process started\n"
                f"2026-01-02 03:04:06 root INFO Downloading team/proj/{BACKUP_RUN} to "
                f"{os.path.join(out, 'backup', 'team', 'proj', BACKUP_RUN)}\n"
                "2026-01-02 03:04:07 root INFO Downloading team/proj/CLS-125 to "
                f"{run2}\n"
                "2026-01-02 03:04:08 root ERROR Error while downloading train/loss\n"
                "HTTPSConnectionPool: Read timed out.\n"
                "2026-01-02 03:04:09 root INFO Backup complete!\n")


def main():
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    full_run(out)
    async_run(out)
    legacy_run(out)
    windows_run(out)
    torn_run(out)
    gone_run(out)
    hostile_run(out)
    backup(out)


if __name__ == "__main__":
    main()
