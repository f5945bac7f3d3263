#!/usr/bin/env bash
# A one-node Slurm cluster for tests (issue 17 §4), private to one folder:
#   tests/slurm/cluster.sh start DIR   writes DIR/slurm.conf, starts munged
#                                      (as the munge user), slurmctld and
#                                      slurmd (as root), waits for the node
#   tests/slurm/cluster.sh stop DIR    stops all three
# Clients use it with SLURM_CONF=DIR/slurm.conf. Ports are free loopback
# ports picked at start, so two clusters can run side by side. Needs root and
# Debian's slurmctld, slurmd, slurm-client and munge (Slurm 22.05). Exit 77
# when they are missing.
#
# The settings that matter on a machine without systemd or cgroups
# (https://slurm.schedmd.com/slurm.conf.html): proctrack/linuxproc and
# task/none need no cgroup; accounting none needs no slurmdbd;
# AuthInfo cred_expire=10 lets a requeued or resubmitted task start
# without the default two-minute wait; batch_sched_delay=0 and
# sched_min_interval=0 schedule at once; KillWait=2 turns a cancelled task
# that ignores SIGTERM into a SIGKILL after 2 s instead of 30.
# The node claims 8 CPUs (config_overrides) so that four tasks of two CPUs
# each run at once on this 2-core machine.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop() {
    # jobs first, so that their processes end with them
    if [ -s "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
        SLURM_CONF=$dir/slurm.conf scancel --quiet --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 50); do
            [ -z "$(SLURM_CONF=$dir/slurm.conf squeue -h 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for f in slurmd slurmctld; do
        [ -s "$dir/$f.pid" ] && kill "$(cat "$dir/$f.pid")" 2>/dev/null || true
    done
    for i in $(seq 50); do
        alive=0
        for f in slurmd slurmctld; do
            [ -s "$dir/$f.pid" ] && kill -0 "$(cat "$dir/$f.pid")" 2>/dev/null && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for f in slurmd slurmctld; do
        [ -s "$dir/$f.pid" ] && kill -9 "$(cat "$dir/$f.pid")" 2>/dev/null || true
    done
    # a step daemon that outlived slurmd: this cluster's by its SLURM_CONF
    for p in $(pgrep -x slurmstepd 2>/dev/null); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_CONF=$dir/slurm.conf"; then
            pkill -9 -P "$p" 2>/dev/null || true
            kill -9 "$p" 2>/dev/null || true
        fi
    done
    [ -S "$dir/munge/munge.sock" ] &&
        runuser -u munge -- munged --stop --socket="$dir/munge/munge.sock" >/dev/null 2>&1 || true
    [ -s "$dir/munge/munged.pid" ] && kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
    return 0
}

if [ "$cmd" = stop ]; then
    [ -d "$dir" ] && dir=$(cd "$dir" && pwd) && stop
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

if [ "$(id -u)" -ne 0 ]; then echo "slurm cluster: skipped: needs root" >&2; exit 77; fi
for t in munged slurmctld slurmd sbatch scontrol runuser; do
    command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$t" >/dev/null 2>&1 || {
        echo "slurm cluster: skipped: '$t' is missing (apt-get install slurmctld slurmd slurm-client munge)" >&2
        exit 77
    }
done
id munge >/dev/null 2>&1 || { echo "slurm cluster: skipped: no munge user" >&2; exit 77; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 0711 "$dir" # the munge user walks through it to its socket
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chown munge:munge "$dir/munge"; chmod 0755 "$dir/munge" # munged: the socket folder must be searchable by all
# a private key: the cluster never talks to the machine's own munged
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chown munge:munge "$dir/munge/munge.key"; chmod 0400 "$dir/munge/munge.key"
runuser -u munge -- munged --socket="$dir/munge/munge.sock" \
    --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r pctl pd <<<"$ports"
host=$(hostname -s)
cat > "$dir/slurm.conf" <<CONF
ClusterName=xporttest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$pctl
SlurmdPort=$pd
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=2
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$dir/slurm.conf" || { cat "$dir/slurmctld.log" >&2; stop; exit 1; }
slurmd -f "$dir/slurm.conf" -N "$host" || { cat "$dir/slurmd.log" >&2; stop; exit 1; }
for i in $(seq 100); do
    st=$(sinfo -h -N -o %t 2>/dev/null | head -n1 || true)
    case "$st" in idle*|mix*|alloc*) echo "slurm cluster: up ($dir/slurm.conf, node $host $st)"; exit 0;; esac
    sleep 0.1
done
echo "slurm cluster: node did not come up (state '${st:-none}')" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
