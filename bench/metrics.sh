#!/usr/bin/env bash
# /metrics benchmark: with APPS apps (default 500) holding proxy counters, time a scrape of the
# admin listener (curl, end to end), and show that scraping does not hold up the proxy: wrk
# against one deployed app, alone and while another client scrapes /metrics back to back.
# Prints a Markdown table; docs/benchmarks.md records the figures.
#
#   bash bench/metrics.sh [APPS]      (needs scripts/setup-host.sh; installs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
apps=${1:-500}
if ! command -v wrk >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

source bench/lib.sh
trap 'kill "${scraper:-}" 2>/dev/null || true; remove_app served; stop_daemon' EXIT
bench_setup
for i in $(seq 1 "$apps"); do "${cli[@]}" apps:create "app-$i" >/dev/null; done
# Every app's counters get something to count (502s: none is deployed).
for i in $(seq 1 "$apps"); do
  curl -s -o /dev/null -H "Host: app-$i.bench.test" "http://127.0.0.1:$http_port/" || true
done
site=$(mktemp -d)
printf 'FROM berth-base/busybox:latest\nCOPY index.html /www/index.html\nCMD ["/bin/sh", "-c", "exec httpd -f -p \\"$PORT\\" -h /www"]\n' >"$site/Dockerfile"
echo served >"$site/index.html"
"${cli[@]}" apps:create served >/dev/null
tar -C "$site" -c . | "${cli[@]}" git:from-archive served -- >/dev/null
rm -rf "$site"

metrics="http://127.0.0.1:$admin_port/metrics"
size=$(curl -s "$metrics" | wc -c)
series=$(curl -s "$metrics" | grep -vc '^#')
times=()
for _ in $(seq 1 50); do
  times+=("$(curl -s -o /dev/null -w '%{time_total}' "$metrics")")
done
read -r p50 p90 max <<<"$(printf '%s\n' "${times[@]}" | sort -n |
  awk '{a[NR]=$1*1000} END {printf "%.1f %.1f %.1f", a[int((NR+1)/2)], a[int(NR*0.9)], a[NR]}')"

load() {
  wrk -t2 -c32 -d10s --latency -H "Host: served.bench.test" "http://127.0.0.1:$http_port/" |
    awk '/Requests\/sec/ {rps=$2} $1=="99%" {p99=$2} END {print rps, p99}'
}
read -r alone_rps alone_p99 <<<"$(load)"
(while true; do curl -s -o /dev/null "$metrics"; done) &
scraper=$!
read -r scraped_rps scraped_p99 <<<"$(load)"
kill "$scraper" 2>/dev/null || true

printf '\n| /metrics with %s apps (%s series, %s KiB) | p50 | p90 | max |\n|---|---|---|---|\n' \
  "$apps" "$series" "$((size / 1024))"
printf '| scrape, end to end (50 scrapes) | %s ms | %s ms | %s ms |\n' "$p50" "$p90" "$max"
printf '\n| wrk -t2 -c32 -d10s on one app | requests/s | p99 |\n|---|---|---|\n'
printf '| alone | %s | %s |\n' "$alone_rps" "$alone_p99"
printf '| while /metrics is scraped back to back | %s | %s |\n' "$scraped_rps" "$scraped_p99"
echo "On $(nproc) cores."
