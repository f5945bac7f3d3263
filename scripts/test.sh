#!/usr/bin/env bash
# Builds xport with AddressSanitizer and UBSan and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --tests
# the source's shape: no use cycles, no adapter using another's files, and
# no citation of a machine path
bash scripts/check_includes.sh
bash scripts/check_paths.sh
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DXPORT_SANITIZE=ON \
  -DXPORT_FAULT_INJECTION=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ctest --test-dir build-asan -j2 --output-on-failure "$@"
