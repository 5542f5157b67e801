#!/usr/bin/env bash
# Command round-trip benchmark: `apps:list` with 50 apps, over SSH (a fresh ssh connection per
# call, as a user types it) and through the local CLI (control socket), each timed end to end;
# then again with 20 plugins installed, none of which handles the command (Dokku scans its
# plugins and forks for every command). Prints a Markdown table; docs/benchmarks.md records the
# figures.
#
#   bash bench/commands.sh [CALLS]      (default 50 calls each; needs scripts/setup-host.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-50}

source bench/lib.sh
trap stop_daemon EXIT
bench_setup
for i in $(seq 1 50); do "${cli[@]}" apps:create "app-$i" >/dev/null; done
ssh_cmd=(ssh -p "$ssh_port" -i "$work/key" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes berth@127.0.0.1)

time_calls() {
  local out=()
  for _ in $(seq 1 "$calls"); do
    local start end
    start=$(date +%s%N)
    "$@" apps:list >/dev/null
    end=$(date +%s%N)
    out+=("$(( (end - start) / 1000 ))")
  done
  printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f %.2f", a[int((NR+1)/2)]/1000, a[int(NR*0.9)]/1000}'
}
read -r ssh_p50 ssh_p90 <<<"$(time_calls "${ssh_cmd[@]}")"
mux=(-o ControlMaster=auto -o "ControlPath=$work/mux-%p" -o ControlPersist=60)
"${ssh_cmd[@]:0:1}" "${mux[@]}" "${ssh_cmd[@]:1}" version >/dev/null
read -r mux_p50 mux_p90 <<<"$(time_calls "${ssh_cmd[@]:0:1}" "${mux[@]}" "${ssh_cmd[@]:1}")"
read -r cli_p50 cli_p90 <<<"$(time_calls "${cli[@]}")"

for i in $(seq 1 20); do
  dir="$work/plugin-$i"
  mkdir -p "$dir"
  printf 'name = "bench-%s"\nversion = "1"\ndescription = "Handles nothing"\n' "$i" >"$dir/plugin.toml"
  printf '#!/bin/sh\nexit 10\n' >"$dir/commands"
  chmod +x "$dir/commands"
  "${cli[@]}" plugin:install "$dir" >/dev/null
done
read -r pmux_p50 pmux_p90 <<<"$(time_calls "${ssh_cmd[@]:0:1}" "${mux[@]}" "${ssh_cmd[@]:1}")"
read -r pcli_p50 pcli_p90 <<<"$(time_calls "${cli[@]}")"
ssh "${mux[@]}" -O exit -p "$ssh_port" berth@127.0.0.1 2>/dev/null || true

printf '\n| apps:list with 50 apps (%s calls) | p50 | p90 |\n|---|---|---|\n' "$calls"
printf '| over SSH (new connection each call) | %s ms | %s ms |\n' "$ssh_p50" "$ssh_p90"
printf '| over SSH, multiplexed (ControlMaster) | %s ms | %s ms |\n' "$mux_p50" "$mux_p90"
printf '| local CLI (control socket) | %s ms | %s ms |\n' "$cli_p50" "$cli_p90"
printf '| over SSH, multiplexed, 20 plugins installed | %s ms | %s ms |\n' "$pmux_p50" "$pmux_p90"
printf '| local CLI, 20 plugins installed | %s ms | %s ms |\n' "$pcli_p50" "$pcli_p90"
