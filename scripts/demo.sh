#!/usr/bin/env bash
# Builds xport and runs the main job on the bundled samples: real files
# written by the ml-dash and W&B SDKs become one xport layout, which is
# then listed and verified against its sources. No network, no account.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DXPORT_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target xport >/dev/null
x=build/cmd/xport
out=${1:-out/demo}
rm -rf "$out"
echo "== ml-dash v0.6 local store -> $out"
$x copy tests/fixtures/mldash/v0.6.27-local-store "$out"
echo "== ml-dash v0.5 local store -> $out"
$x copy tests/fixtures/mldash/v0.5.9-local-store "$out"
if $x adapters | grep -q '^wandb-offline  read'; then
  echo "== W&B offline runs -> $out"
  $x download --from wandb-offline tests/fixtures/wandb/go-core-2026/workspace-multi/wandb -o "$out"
fi
echo "== what the layout holds"
$x list "$out"
echo "== verify: the layout against the ml-dash store it came from"
$x verify tests/fixtures/mldash/v0.6.27-local-store "$out/tom"
echo "== one metric, as stored"
head -n 3 "$out/tom/my-project/exp1/metrics/loss/data.jsonl"
