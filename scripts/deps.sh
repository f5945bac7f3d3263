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
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "xport: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "xport: missing packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
