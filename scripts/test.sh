#!/usr/bin/env bash
# Builds xport with AddressSanitizer and UBSan and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --tests
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DXPORT_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
ctest --test-dir build-asan -j2 --output-on-failure "$@"
