#!/bin/bash
# Submits a sharded xport migration: an array of N copy tasks, then one
# verification that runs when all of them have succeeded. Prints both job
# ids. Extra arguments go to every `xport copy`.
#
#   N=8 examples/slurm/submit.sh SRC DST [xport copy options...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 2 ]; then
    echo "usage: N=SHARDS $0 SRC DST [xport copy options...]" >&2
    exit 2
fi
n=${N:-4}
array=$(sbatch --parsable --array="1-$n" "$here/migrate.sbatch" "$@")
array=${array%%;*}
check=$(sbatch --parsable --dependency="afterok:$array" "$here/verify.sbatch" "$1" "$2")
echo "array $array"
echo "verify ${check%%;*}"
