#!/usr/bin/env bash
# Submits a `cargo xtask repro … --plan PLAN` plan as one Slurm job array: task i runs line i
# of the plan (from the folder the plan was written in). Every line is one idempotent run
# folder, so a task Slurm retries, or the whole array submitted again, resumes or skips.
#
#   bash scripts/slurm-repro.sh PLAN [--cpus-per-task N] [--gres G] [--partition P]
#                                    [--time T] [--max-parallel M] [--wait] [-- SBATCH_ARGS...]
#
# e.g. on a GPU cluster: make the plan with `--device tch-cuda`, then
#   bash scripts/slurm-repro.sh plan.txt --gres gpu:1 --cpus-per-task 8 --partition gpu
# and afterwards `cargo xtask repro <target> --scale S --seeds N --collect`.
set -euo pipefail
plan=${1:?usage: slurm-repro.sh PLAN [--cpus-per-task N] [--gres G] [--partition P] [--time T] [--max-parallel M] [--wait] [-- SBATCH_ARGS...]}
shift
[ -f "$plan" ] || { echo "slurm-repro.sh: no plan file $plan" >&2; exit 1; }
command -v sbatch >/dev/null || { echo "slurm-repro.sh: sbatch not found: run on a Slurm login node (or start one here: bash scripts/slurm-local.sh)" >&2; exit 1; }
args=(--cpus-per-task 1)
max=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpus-per-task|--gres|--partition|--time) args+=("$1" "$2"); shift 2 ;;
    --max-parallel) max="%$2"; shift 2 ;;
    --wait) args+=(--wait); shift ;;
    --) shift; args+=("$@"); break ;;
    *) echo "slurm-repro.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
n=$(grep -c -v '^[[:space:]]*$' "$plan")
[ "$n" -gt 0 ] || { echo "slurm-repro.sh: $plan has no lines" >&2; exit 1; }
plan_abs=$(cd "$(dirname "$plan")" && pwd)/$(basename "$plan")
logs=${SWAST_SLURM_LOGS:-slurm-logs}
mkdir -p "$logs"
# the task's line: the i-th non-empty line of the plan
sbatch --job-name=swast-repro --array="1-$n$max" --chdir="$PWD" \
  --output="$logs/%A_%a.out" "${args[@]}" <<JOB
#!/usr/bin/env bash
set -euo pipefail
line=\$(grep -v '^[[:space:]]*$' "$plan_abs" | sed -n "\${SLURM_ARRAY_TASK_ID}p")
echo "task \$SLURM_ARRAY_TASK_ID: \$line"
exec bash -c "\$line"
JOB
