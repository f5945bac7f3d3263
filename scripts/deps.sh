#!/usr/bin/env bash
# Installs the Debian packages xport needs when they are missing (as root),
# or says exactly what to install. Usage: scripts/deps.sh [--tests]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libjson-c-dev libzip-dev libarchive-dev
      libsnappy-dev libzstd-dev zlib1g-dev # Parquet pages (core/parquet_codec.c)
      libsqlite3-dev) # libsqlite3: neptune-scale's run_operations.sqlite3
if [ "${1:-}" = "--tests" ]; then
  # cmocka for the C tests; python3 runs the loopback vendor emulators
  pkgs+=(libcmocka-dev python3 curl)
  # the pkg tests render the man pages (man -l) and check the zsh completion's syntax
  pkgs+=(man-db zsh)
  # a one-node Slurm cluster runs examples/slurm (tests/slurm)
  pkgs+=(slurmctld slurmd slurm-client munge)
  # the s3 tests and bench/shard_bench.sh run s3rver (npm) on loopback
  # (NodeSource's nodejs carries its own npm, which Debian's npm conflicts with)
  pkgs+=(nodejs)
  command -v npm >/dev/null || pkgs+=(npm)
fi
# tests/node's packages into tests/node/node_modules at the locked versions,
# once node is there (tests/s3 and tests/k8s skip with a message while they
# are missing)
install_node_tools() {
  [ "${1:-}" = "--tests" ] || return 0
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
  # every package of tests/node/package.json (s3rver for tests/s3; yaml and
  # kubernetes-models for tests/k8s)
  local p ok=1
  for p in s3rver yaml kubernetes-models; do
    [ -f "$dir/node_modules/$p/package.json" ] || ok=0
  done
  [ $ok = 1 ] && return 0
  if ! command -v npm >/dev/null; then
    echo "xport: npm is missing; the s3 and k8s tests will be skipped" >&2
    return 1
  fi
  echo "xport: installing the test tools of $dir/package.json" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then install_node_tools "${1:-}"; exit; fi
if [ "$(id -u)" -eq 0 ]; then
  echo "xport: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  install_node_tools "${1:-}"
else
  echo "xport: missing packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
