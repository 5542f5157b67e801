#!/usr/bin/env bash
# Deploy benchmark: push-to-live time of a cached Dockerfile build, and the time from "checks
# passed" to "proxy switched", through the real daemon, Docker, git and ssh on this machine.
# Prints a Markdown table; docs/benchmarks.md records the figures.
#
#   bash bench/deploy.sh [RUNS]        (default 5 runs; needs Docker: scripts/setup-host.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}

source bench/lib.sh
app="bench-$$"
cleanup() {
  remove_app "$app"
  stop_daemon
}
trap cleanup EXIT
bench_setup

mkdir "$work/app" && cp -r tests/apps/hello/. "$work/app/"
cd "$work/app"
git init -q -b main
export GIT_SSH_COMMAND="ssh -i $work/key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
remote="ssh://berth@127.0.0.1:$ssh_port/$app"
commit() { git add -A && git -c user.name=bench -c user.email=bench@berth.invalid commit -q -m "$1"; }
commit "first"
git push -q "$remote" main 2>/dev/null   # the cold build, not measured

# Times one push of a one-line change.
push_time() {
  echo "run $1" >index.html
  commit "run $1"
  start=$(date +%s.%N)
  git push -q "$remote" main 2>/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {print b - a}'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# Pushes alternate between the bundled plugins disabled and enabled as they ship (notify's
# post-deploy trigger forks on every deploy), so drift over the run falls on both alike.
bundled() { for plugin in notify postgres redis; do "${cli[@]}" "plugin:$1" "$plugin" >/dev/null; done; }
times=() bare=()
for i in $(seq 1 "$runs"); do
  bundled disable
  bare+=("$(push_time "bare $i")")
  bundled enable
  times+=("$(push_time "bundled $i")")
done
bare_median=$(median "${bare[@]}")
push_median=$(median "${times[@]}")
switch_us=$(grep -o 'checks_to_switch_us=[0-9]*' "$work/daemon.log" | tail -n "$((2 * runs))" | cut -d= -f2)
switch_median_ms=$(median $(for us in $switch_us; do awk -v us="$us" 'BEGIN {print us / 1000}'; done))
check_wait=2
dokku_wait=10
dokku_floor=$(awk -v p="$push_median" -v c="$check_wait" -v d="$dokku_wait" 'BEGIN {print p - c + d}')
ratio=$(awk -v p="$push_median" -v d="$dokku_floor" 'BEGIN {print d / p}')

printf '\n| measure (median of %s runs) | Berth | Dokku defaults | ratio |\n|---|---|---|---|\n' "$runs"
printf '| push to live, cached Dockerfile build | %.2f s | ≥ %.2f s (same build, %s s default check wait instead of %s s) | %.2fx faster |\n' \
  "$push_median" "$dokku_floor" "$dokku_wait" "$check_wait" "$ratio"
printf '| push to live, the bundled plugins disabled | %.2f s | | |\n' "$bare_median"
printf '| checks passed → proxy switched | %.3f ms | an nginx config rebuild, `nginx -t` and reload per deploy | n/a |\n' "$switch_median_ms"
