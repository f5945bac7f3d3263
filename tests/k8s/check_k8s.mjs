// Issue 17 §4: examples/k8s checked two ways. (1) Schema: each file parses as
// YAML (the `yaml` package, strict) and each document validates as a
// batch/v1 Job against the Kubernetes OpenAPI schema compiled into the
// `kubernetes-models` package (types, enums, required fields), and no field
// the schema lacks (`kubectl apply --validate=strict` refuses those; the
// compiled validators allow them, so the fields are read from the package's
// type declarations, interface by interface). (2) Behaviour:
// the Indexed Job's container command is run here once per completion index
// with the Job's own environment (JOB_COMPLETION_INDEX as Kubernetes sets it,
// SRC/DST pointed at a test layout, the Secret's value a dummy, `xport` on
// PATH the build under test), then the verification Job's command; every
// pod must exit 0 and the verification must find the copy equal.
//   node check_k8s.mjs NODE_DIR EXAMPLES_K8S XPORT XPORT_TEST_GEN
// NODE_DIR holds node_modules (scripts/deps.sh --tests installs it); exit 77
// when it is missing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeDir, exDir, xport, gen] = process.argv.slice(2).map((p) => resolve(p));
const mod = (p) => join(nodeDir, "node_modules", p);
if (!existsSync(mod("yaml/package.json")) || !existsSync(mod("kubernetes-models/package.json"))) {
  console.error(`check_k8s: skipped: no yaml or kubernetes-models under ${nodeDir} (run scripts/deps.sh --tests)`);
  process.exit(77);
}
const YAML = await import(pathToFileURL(mod("yaml/dist/index.js")));
// the package's ES module: Job.mjs in 4.x (which still runs on Debian 12's
// Node 18), Job.js from 5.0
const jobModule = ["Job.mjs", "Job.js"].map((f) => mod("kubernetes-models/batch/v1/" + f)).find(existsSync);
const { Job } = await import(pathToFileURL(jobModule));

let failed = 0;
const fail = (msg) => { console.error("FAIL: " + msg); failed++; };

function load(file) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"), { strict: true, uniqueKeys: true });
  const out = [];
  for (const d of docs) {
    for (const e of [...d.errors, ...d.warnings]) fail(`${file}: ${e.message}`);
    out.push(d.toJS());
  }
  return out;
}

function validate(file, obj) {
  if (obj.apiVersion !== "batch/v1" || obj.kind !== "Job") return fail(`${file}: not a batch/v1 Job`);
  try {
    new Job(obj).validate();
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  strict(file, obj, interfaceOf(mod("kubernetes-models/batch/v1/Job.d.ts")), "");
}

// The fields each interface declares, from its .d.ts: name -> type text.
const declCache = new Map();
function interfaceOf(file) {
  if (declCache.has(file)) return declCache.get(file);
  const text = readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) imports.set(m[1], m[2]);
  const body = text.match(/export interface \w+(?: extends [\w, ]+)? \{([\s\S]*?)\n\}/);
  const fields = new Map();
  if (body) {
    // top-level members only: a nested { [key: string]: T } is one type
    let depth = 0, cur = "";
    for (const ch of body[1]) {
      if (ch === "{" ) depth++;
      if (ch === "}") depth--;
      if (ch === ";" && depth === 0) {
        const m = cur.trim().match(/^"([^"]+)"\??: ([\s\S]+)$/);
        if (m) fields.set(m[1], m[2].trim());
        cur = "";
      } else cur += ch;
    }
  }
  const r = { fields, imports, dir: file.replace(/\/[^/]*$/, "") };
  declCache.set(file, r);
  return r;
}
function resolveImport(fromDir, spec) {
  const bare = spec.replace(/\.m?js$/, "") + ".d.ts";
  return spec.startsWith(".") ? resolve(fromDir, bare) : mod(bare);
}
function strict(file, obj, decl, path) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return;
  for (const [k, v] of Object.entries(obj)) {
    const t = decl.fields.get(k);
    if (t === undefined) { fail(`${file}: ${path}.${k}: no such field`); continue; }
    const ty = t.replace(/^Array<(.*)>$/, "$1");
    const spec = decl.imports.get(ty);
    if (!spec) continue; // a scalar, a map or a type of the base package
    const sub = resolveImport(decl.dir, spec);
    if (!existsSync(sub)) continue;
    const d = interfaceOf(sub);
    for (const item of Array.isArray(v) ? v : [v]) strict(file, item, d, path + "." + k);
  }
}

// the pod's shell command with the Job's environment, SRC/DST replaced
function runPod(file, job, extraEnv) {
  const c = job.spec.template.spec.containers[0];
  const env = { PATH: `${xport.replace(/\/[^/]*$/, "")}:/usr/bin:/bin` };
  for (const e of c.env || []) env[e.name] = e.value ?? (e.valueFrom ? "dummy-secret-value" : "");
  Object.assign(env, extraEnv);
  for (const k of ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "XPORT_PLUGIN_PATH"])
    if (process.env[k]) env[k] = process.env[k];
  const r = spawnSync(c.command[0], [...c.command.slice(1), ...c.args], { env, encoding: "utf8" });
  if (r.status !== 0) fail(`${file}: pod ${JSON.stringify(extraEnv)} exited ${r.status}: ${r.stderr}`);
  return r;
}

const files = readdirSync(exDir).filter((f) => f.endsWith(".yaml")).sort();
if (!files.includes("migrate-job.yaml") || !files.includes("verify-job.yaml")) fail("examples/k8s lacks migrate-job.yaml or verify-job.yaml");
const jobs = {};
for (const f of files) {
  const docs = load(join(exDir, f));
  if (docs.length !== 1) fail(`${f}: ${docs.length} documents, want 1`);
  for (const d of docs) validate(f, d);
  jobs[f] = docs[0];
}
if (!failed) console.log(`schema: ${files.join(", ")} valid batch/v1 Jobs, no unknown field`);

const m = jobs["migrate-job.yaml"], v = jobs["verify-job.yaml"];
const shards = Number((m.spec.template.spec.containers[0].env || []).find((e) => e.name === "SHARDS")?.value);
if (m.spec.completionMode !== "Indexed") fail("migrate-job.yaml: completionMode is not Indexed");
if (!(shards >= 1) || m.spec.completions !== shards || m.spec.parallelism !== shards)
  fail(`migrate-job.yaml: completions ${m.spec.completions}, parallelism ${m.spec.parallelism} and SHARDS ${shards} differ`);

if (!failed) {
  const work = mkdtempSync(join(tmpdir(), "xport-k8s-"));
  try {
    const src = join(work, "src"), dst = join(work, "dst"), state = join(work, "state");
    const g = spawnSync(gen, [src, "40"], { encoding: "utf8" });
    if (g.status !== 0) fail(`xport-test-gen: ${g.stderr}`);
    const env = { SRC: src, DST: dst, XDG_STATE_HOME: state };
    for (let i = 0; i < shards; i++) runPod("migrate-job.yaml", m, { ...env, JOB_COMPLETION_INDEX: String(i) });
    runPod("verify-job.yaml", v, env);
    if (!failed) console.log(`run: ${shards} indexed pods copied 40 experiments; the verification Job passed`);
    // the verification must be able to fail: drop one shard's experiments
    const again = join(work, "dst2");
    for (let i = 1; i < shards; i++)
      runPod("migrate-job.yaml", m, { ...env, DST: again, JOB_COMPLETION_INDEX: String(i) });
    const c = v.spec.template.spec.containers[0];
    const envv = { PATH: `${xport.replace(/\/[^/]*$/, "")}:/usr/bin:/bin`, SRC: src, DST: again, XDG_STATE_HOME: state };
    for (const k of ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"]) if (process.env[k]) envv[k] = process.env[k];
    const bad = spawnSync(c.command[0], [...c.command.slice(1), ...c.args], { env: envv, encoding: "utf8" });
    if (bad.status === 0) fail("verify-job.yaml: the verification passed with index 0 never run");
    else console.log(`run: without index 0 the verification Job fails (exit ${bad.status})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
