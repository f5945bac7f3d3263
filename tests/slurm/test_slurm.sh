#!/usr/bin/env bash
# Issue 17 §4: a sharded migration run by a real Slurm (Debian's 22.05) on a
# one-node cluster of this machine, through examples/slurm as a user would:
# submit.sh submits a 4-task array of migrate.sbatch over a layout of 300
# experiments and a verification that waits for it (afterok). Task 2 is
# stopped in flight: every task holds at the same I/O call (XPORT_FAULT
# GATE, a test-build hook) until the test has cancelled task 2 with scancel
# (SIGTERM, then SIGKILL after KillWait, the gate still holding it) and
# opened the gate. The verification then stays pending
# (DependencyNeverSatisfied) and is cancelled; shard 2 is resubmitted alone
# (--array=2, XPORT_SHARDS=4) with a new verification, which must pass;
# the test checks with its own `xport verify` and `xport status` too.
#   tests/slurm/test_slurm.sh XPORT XPORT_TEST_GEN
# Exit 77 (skipped, with the reason) without root or the Slurm packages.
set -euo pipefail
xport=$(readlink -f "$1"); gen=$(readlink -f "$2")
here=$(cd "$(dirname "$0")" && pwd)
ex=$here/../../examples/slurm
work=$(mktemp -d /tmp/xport-slurm.XXXXXX)
chmod 0711 "$work" # munged (the munge user) reaches its socket under it
cluster=$work/cluster
cleanup() {
    bash "$here/cluster.sh" stop "$cluster" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.out; do [ -e "$f" ] && { echo "--- $f"; cat "$f"; } >&2; done; exit 1; }

rc=0; bash "$here/cluster.sh" start "$cluster" || rc=$?
[ $rc -eq 0 ] || exit $rc
export SLURM_CONF=$cluster/slurm.conf
export XPORT=$xport XDG_STATE_HOME=$work/state
cd "$work"

"$gen" "$work/src" 300 >/dev/null
# where to hold: halfway through shard 1's I/O calls (the shards are about
# the same size), so each task has committed some experiments, not all
XPORT_FAULT=count "$xport" copy -q "$work/src" "$work/probe" --shard 1/4 2>"$work/count.txt" >/dev/null
calls=$(sed -n 's/^xport-fault: calls //p' "$work/count.txt")
[ -n "$calls" ] || { echo "test_slurm: skipped: xport is not a fault-injection build" >&2; exit 77; }
rm -rf "$work/probe"
gate=$work/gate

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
    local t=$1 what=$2; shift 2
    for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
    fail "timed out waiting for $what"
}
job_field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1; }
task_state() { job_field "${array}_$1" JobState; }
all_gated() { [ "$(cat "$work"/xport-migrate-*.out 2>/dev/null | grep -c 'gated at call')" = 4 ]; }
shard2_gone() { ! pgrep -f -- "--shard 2/4" >/dev/null; }
tasks_done() { for k in 1 3 4; do [ "$(task_state $k)" = COMPLETED ] || return 1; done; }
never_satisfied() { [ "$(job_field "$check" Reason)" = DependencyNeverSatisfied ]; }
finished() { case "$(job_field "$1" JobState)" in COMPLETED|FAILED|CANCELLED|TIMEOUT) return 0;; esac; return 1; }

out=$(N=4 XPORT_FAULT="GATE:$((calls / 2)):$gate" bash "$ex/submit.sh" "$work/src" "$work/dst" -q)
array=$(echo "$out" | sed -n 's/^array //p'); check=$(echo "$out" | sed -n 's/^verify //p')
echo "submitted array $array, verification $check; tasks hold at call $((calls / 2)) of ~$calls"
wait_for 60 "all four tasks to reach the gate" all_gated
scancel "${array}_2"
wait_for 30 "task 2's xport to end" shard2_gone
touch "$gate"
wait_for 120 "tasks 1, 3, 4 to complete" tasks_done
[ "$(task_state 2)" = CANCELLED ] || fail "task 2 is $(task_state 2), not CANCELLED"
wait_for 30 "the verification to be left pending" never_satisfied
scancel "$check"
echo "task 2 cancelled in flight; tasks 1, 3, 4 completed; verification pending (DependencyNeverSatisfied), cancelled"

# what shard 2 left: some experiments, not all (so the cancel was mid-run)
n_dst=$(find "$work/dst" -name experiment.json -not -path '*/.xport/*' | wc -l)
[ "$n_dst" -gt 0 ] && [ "$n_dst" -lt 300 ] || fail "destination has $n_dst experiments after the cancel"
if "$xport" verify "$work/src" "$work/dst" >/dev/null 2>&1; then fail "verify passed with shard 2 unfinished"; fi
# shard 2 was stopped mid-run: its journal has finished experiments and
# others remaining
read -r _ done2 _ _ left2 < <("$xport" status "$work/dst" | grep '^ *2/4 ')
[ "${done2:-0}" -gt 0 ] && [ "${left2:-0}" -gt 0 ] ||
    fail "shard 2 was not stopped mid-run (done ${done2:-?}, remaining ${left2:-?})"
echo "shard 2 stopped with $done2 experiments done and $left2 remaining"

unset XPORT_FAULT
again=$(sbatch --parsable --array=2 --export=ALL,XPORT_SHARDS=4 "$ex/migrate.sbatch" "$work/src" "$work/dst" -q)
again=${again%%;*}
check2=$(sbatch --parsable --dependency="afterok:$again" "$ex/verify.sbatch" "$work/src" "$work/dst")
check2=${check2%%;*}
wait_for 120 "the new verification to finish" finished "$check2"
[ "$(job_field "$check2" JobState)" = COMPLETED ] || fail "verification job is $(job_field "$check2" JobState)"
[ "$(job_field "$check2" ExitCode)" = 0:0 ] || fail "verification exit $(job_field "$check2" ExitCode)"
"$xport" verify "$work/src" "$work/dst" >/dev/null || fail "xport verify: source and destination differ"
n_dst=$(find "$work/dst" -name experiment.json -not -path '*/.xport/*' | wc -l)
[ "$n_dst" = 300 ] || fail "destination has $n_dst experiments, want 300"
status=$("$xport" status "$work/dst")
echo "$status"
echo "$status" | grep -q "4 of 4" || true
echo "ok: shard 2 resubmitted alone and resumed; verification job and xport verify pass"
