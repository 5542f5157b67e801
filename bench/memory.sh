#!/usr/bin/env bash
# Memory benchmark: the daemon's resident memory idle, its peak during a large (legal) push and
# build (Dockerfile, or buildpacks: the procfile buildpack's fixture), and what it comes back to
# once the work has ended, through the real daemon, Docker, git and ssh on this machine. Prints
# a Markdown table; docs/benchmarks.md records it. `archive` sends the Dockerfile app with a
# file of zeros as a .tar.gz to git:from-archive instead of pushing it (issue 18's probe: a
# small archive that unpacks large).
#
#   bash bench/memory.sh [MEGABYTES] [PUSHES] [dockerfile|buildpacks|archive]
#   (defaults: a 200 MB file, 3 pushes, Dockerfile builds)
set -euo pipefail
cd "$(dirname "$0")/.."
megabytes=${1:-200}
pushes=${2:-3}
builder=${3:-dockerfile}
case "$builder" in
  dockerfile | archive) sample=tests/apps/hello ;;
  buildpacks) sample=buildpacks/procfile/test/app ;;
  *) echo "builder must be dockerfile, buildpacks or archive, not $builder" >&2; exit 2 ;;
esac

source bench/lib.sh
app="membench-$$"
cleanup() {
  remove_app "$app"
  stop_daemon
}
trap cleanup EXIT
bench_setup

status() { awk -v key="$1:" '$1 == key {print $2}' "/proc/$daemon/status"; }
idle_kb=$(status VmRSS)

mkdir "$work/app" && cp -r "$sample/." "$work/app/"
cd "$work/app"
git init -q -b main
export GIT_SSH_COMMAND="ssh -i $work/key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
remote="ssh://berth@127.0.0.1:$ssh_port/$app"
commit() { git add -A && git -c user.name=bench -c user.email=bench@berth.invalid commit -q -m "$1"; }
# VmHWM counts file pages too (libgit2 maps pack files); sample the heap's share (RssAnon).
(
  peak=0
  while kill -0 "$daemon" 2>/dev/null; do
    anon=$(status RssAnon)
    [ "${anon:-0}" -gt "$peak" ] && peak=$anon && echo "$peak" >"$work/anon-peak"
    sleep 0.1
  done
) &
sampler=$!
if [ "$builder" = archive ]; then
  "${cli[@]}" apps:create "$app" >/dev/null
fi
for i in $(seq 1 "$pushes"); do
  if [ "$builder" = archive ]; then
    head -c "$((megabytes << 20))" /dev/zero >data.bin
    echo "$i" >index.html
    tar czf "$work/app.tgz" --exclude=.git .
    $GIT_SSH_COMMAND -p "$ssh_port" berth@127.0.0.1 git:from-archive "$app" -- <"$work/app.tgz" >/dev/null 2>&1
    continue
  fi
  # Incompressible, so the pack and the build context are both the file's size.
  head -c "$((megabytes << 20))" /dev/urandom >data.bin
  commit "push $i"
  git push -q --force "$remote" main 2>/dev/null
done
peak_kb=$(status VmHWM)
kill "$sampler" 2>/dev/null || true
anon_peak_kb=$(cat "$work/anon-peak")
# The old instances retire after wait-to-retire (60 s by default); the work is over once the
# daemon's threads are idle again: sample until two readings a second apart agree.
previous=0
for _ in $(seq 1 30); do
  now=$(status VmRSS)
  [ "$now" = "$previous" ] && break
  previous=$now
  sleep 1
done
after_kb=$(status VmRSS)

mb() { awk -v kb="$1" 'BEGIN {printf "%.0f MB", kb / 1024}'; }
sent=pushes
[ "$builder" = archive ] && sent="git:from-archive uploads"
printf '\n| daemon memory (%s %s of a %s MB file, %s builds) | RSS |\n|---|---|\n' "$pushes" "$sent" "$megabytes" "$builder"
printf '| idle, after start | %s |\n' "$(mb "$idle_kb")"
printf '| peak during the pushes and builds (VmHWM: heap and mapped files) | %s |\n' "$(mb "$peak_kb")"
printf '| peak of the heap alone (RssAnon, sampled every 0.1 s) | %s |\n' "$(mb "$anon_peak_kb")"
printf '| after the work ended | %s |\n' "$(mb "$after_kb")"
