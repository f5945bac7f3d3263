"""The W&B emulator's basics: constants, HTTP errors, times, hashes and JSON text."""

import base64
import hashlib
import json
import random
import time
from datetime import datetime, timezone


DEFAULT_API_KEY = "emu_" + "0" * 36 + "wandb"       # 45 chars of [A-Za-z0-9_] (wandb.md 1.1)
RUN_STATES = ("running", "finished", "crashed", "failed", "killed",
              "preempting", "preempted", "pending")   # wandb.md 1.5
HISTORY_FILE = "wandb-history.jsonl"
EVENTS_FILE = "wandb-events.jsonl"
SUMMARY_FILE = "wandb-summary.json"
OUTPUT_FILE = "output.log"
class HTTPErr(Exception):
    def __init__(self, status, message, headers=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad(msg):
    return HTTPErr(400, msg)


def now_iso(t=None):
    # wandb.md 1.5: createdAt/heartbeatAt are ISO-8601; both "...Z" and zone-less occur.
    # The emulator prints the zone-less form (guess: what api.wandb.ai prints).
    return datetime.fromtimestamp(time.time() if t is None else t,
                                  timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def b64(s):
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def jdumps(obj):
    # extended JSON: NaN/Infinity stay bare tokens (wandb.md 1.6)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def rand_name(n=8):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))
