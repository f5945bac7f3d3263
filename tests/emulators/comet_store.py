"""The Comet emulator's store: workspaces, projects and experiments with what the REST v2 and
clientlib write endpoints were given, rendered back in the shapes of the recorded real responses.

Standard library only. Sources of the shapes (facts, no code):
- comet-ml/cometr tests/testthat/www.comet-ml.com/api/rest/v2/experiments-1280bb.json (experiment
  list records and their key order), tests/testthat/www.comet.ml/api/rest/v2/projects-dafb61.json
  (project records, `public` not `isPublic`), workspaces.json ({"workspaceNames": [...]}).
- comet-ml/comet-examples notebooks/Comet-Python-API.ipynb: metric points with metricValue as a
  string and an `offset`; summaries {name, valueMax, valueMin, valueCurrent, ...}.
- comet-ml/comet-java-sdk ExperimentMetadataRest.java, ExperimentAssetLink.java, GitMetadataRest.java,
  SetSystemDetailsRequest.java: field names of metadata, asset records, git metadata, system details.
"""
import hashlib
import itertools
import threading

_ids = itertools.count(1)


def new_id(prefix=""):
    """A 32-hex-digit id, like Comet's keys and project ids."""
    return hashlib.sha256(("%s%d" % (prefix, next(_ids))).encode()).hexdigest()[:32]


def java_double(x):
    """x as Java's Double.toString writes it (what Comet's Java server returns for a double):
    "1.0E-5", "0.1", "1.0E7", "-0.0", "NaN", "Infinity"; shortest round-trip digits."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if (x < 0 or (x == 0 and str(x).startswith("-"))) else ""
    ax = abs(x)
    if ax == 0:
        return sign + "0.0"
    r = repr(ax)
    mant, _, exp = r.partition("e")
    exp = int(exp) if exp else 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    # decimal exponent of the first significant digit
    lead = len(ip.lstrip("0")) - 1 if ip.strip("0") else -(len(fp) - len(fp.lstrip("0")) + 1)
    e10 = lead + exp
    digits = digits.rstrip("0") or "0"
    if 1e-3 <= ax < 1e7:
        if e10 >= 0:
            ipart = digits[:e10 + 1].ljust(e10 + 1, "0")
            fpart = digits[e10 + 1:] or "0"
        else:
            ipart = "0"
            fpart = "0" * (-e10 - 1) + digits
        return sign + ipart + "." + fpart
    return sign + digits[0] + "." + (digits[1:] or "0") + "E" + str(e10)


def server_value(v):
    """A metric value as the server keeps it and gives it back: a string. Integers (JSON integers
    or integer text) keep their digits, other numbers take Java's form, other text stays."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return java_double(v)
    if isinstance(v, str):
        t = v.strip()
        if t and (t.lstrip("-").isdigit()):
            return t
        try:
            return java_double(float(t))
        except ValueError:
            return v
    raise ValueError("metricValue must be a number or a string")


class Experiment:
    def __init__(self, proj, key, name):
        self.proj = proj
        self.key = key
        self.name = name
        self.start = None
        self.end = None
        self.archived = False
        self.running = False
        self.file_name = None
        self.file_path = None
        self.user = proj.ws.name
        # points: [name, value text, timestamp, step, epoch, context, offset]
        self.points = []
        self.offset = 0
        self.params = {}   # name -> [value, ts, step, context]
        self.others = {}   # name -> [value, ts]
        self.tags = []
        self.system = None
        self.html = ""
        self.code = ""
        self.graph = ""
        self.output = []   # [text, stderr, ts, offset]
        self.git = None
        self.patch = None
        self.assets = []   # dict records with "_bytes"

    def metadata(self):
        dur = (self.end - self.start) if (self.end is not None and self.start is not None) else 0
        return {"experimentKey": self.key, "experimentName": self.name,
                "optimizationId": None, "projectId": self.proj.id,
                "projectName": self.proj.name, "workspaceName": self.proj.ws.name,
                "filePath": self.file_path, "fileName": self.file_name,
                "durationMillis": dur, "startTimeMillis": self.start,
                "endTimeMillis": self.end, "archived": self.archived,
                "running": self.running, "throttle": False}

    def listed(self):
        m = self.metadata()
        del m["running"], m["throttle"]
        return m

    def add_point(self, name, value, ts, step, epoch, ctx):
        self.offset += 1
        self.points.append((name, server_value(value), ts, step, epoch, ctx, self.offset))

    @staticmethod
    def point_json(p):
        return {"metricName": p[0], "metricValue": p[1], "timestamp": p[2], "step": p[3],
                "epoch": p[4], "runContext": p[5], "offset": p[6]}


class Project:
    def __init__(self, ws, name, desc="", public=False):
        self.ws = ws
        self.name = name
        self.id = new_id("p")
        self.desc = desc
        self.public = public
        self.notes = ""
        self.updated = 0
        self.exps = []

    def record(self):
        return {"projectId": self.id, "projectName": self.name,
                "ownerUserName": self.ws.name, "projectDescription": self.desc,
                "workspaceName": self.ws.name, "numberOfExperiments": len(self.exps),
                "lastUpdated": self.updated, "public": self.public}


class Workspace:
    def __init__(self, name):
        self.name = name
        self.projects = []


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.workspaces = {}
        self.by_key = {}
        self.projects_by_id = {}

    def workspace(self, name, create=False):
        w = self.workspaces.get(name)
        if w is None and create:
            w = self.workspaces[name] = Workspace(name)
        return w

    def project(self, ws, name, create=False):
        w = self.workspace(ws, create)
        if w is None:
            return None
        for p in w.projects:
            if p.name == name:
                return p
        if not create:
            return None
        p = Project(w, name)
        w.projects.append(p)
        self.projects_by_id[p.id] = p
        return p

    def new_experiment(self, proj, name=None, key=None):
        key = key or new_id("e")
        e = Experiment(proj, key, name or key)
        proj.exps.append(e)
        self.by_key[key] = e
        return e
