#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (controller and compute daemon on localhost), to
# test job arrays end to end without any other machine. Needs root and Debian's slurm-wlm and
# munge (installed here when missing). Idempotent: a running cluster is left as it is.
#
#   bash scripts/slurm-local.sh          # start (prints `sinfo`)
#   bash scripts/slurm-local.sh stop     # stop the daemons it started
set -euo pipefail
if [ "${1:-start}" = stop ]; then
  scontrol shutdown 2>/dev/null || true
  pkill -x munged 2>/dev/null || true
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "slurm-local.sh: run as root (it installs packages and starts daemons)" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
fi
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
munge -n | unmunge >/dev/null
host=$(hostname -s)
cpus=$(nproc)
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
up=""
for _ in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE 'idle|mix|alloc'; then up=1; break; fi
  sleep 1
done
sinfo
[ -n "$up" ] || { echo "slurm-local.sh: the node did not come up within 60 s (see /var/log/slurm/)" >&2; exit 1; }
