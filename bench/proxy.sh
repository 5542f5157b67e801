#!/usr/bin/env bash
# Proxy benchmark: wrk against one app container through Berth's proxy, through nginx set up
# the way Dokku sets it up (upstream block, proxy headers, no upstream keep-alive), through
# nginx with upstream keep-alive, and directly, all in one run on this machine. Then Berth
# again with 10,000 domains configured, TIME_WAIT sockets after each run, and the idle
# daemon's memory. Prints Markdown tables; docs/benchmarks.md records the figures.
#
#   bash bench/proxy.sh [SECONDS] [CONNECTIONS] [ROUNDS] [FORMAT]   (defaults: 10 s, 64, 3, combined)
#
# Both proxies write an access log file in nginx's combined format, as Dokku's nginx does
# (FORMAT berth: Berth's structured lines instead; stderr: those, to the daemon's log).
# The proxies take turns, ROUNDS times, and each figure is the median of its rounds, so a
# passing disturbance on the machine does not decide the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
rounds=${3:-3}
format=${4:-combined}

if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null
fi
source bench/lib.sh
app="proxybench-$$"
nginx_pids=()
cleanup() {
  for pid in "${nginx_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  remove_app "$app"
  stop_daemon
}
trap cleanup EXIT
bench_setup "${format#stderr}"
http_port=$(grep -o 'http=[0-9.:]*' "$work/ready" | cut -d: -f2)

# The app: a static, dependency-free keep-alive server FROM scratch.
mkdir "$work/app"
rustc -O -C target-feature=+crt-static bench/server.rs -o "$work/app/server"
printf 'FROM scratch\nCOPY server /server\nEXPOSE 5000\nCMD ["/server"]\n' >"$work/app/Dockerfile"
(
  cd "$work/app"
  git init -q -b main
  git add -A
  git -c user.name=bench -c user.email=bench@berth.invalid commit -q -m bench
  GIT_SSH_COMMAND="ssh -i $work/key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" \
    git push -q "ssh://berth@127.0.0.1:$ssh_port/$app" main 2>/dev/null
)
host="$app.bench.test"
container=$(docker ps -q --filter "label=berth.app=$app" | head -1)
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$container")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx as Dokku's nginx-vhosts plugin writes it (plugins/nginx-vhosts/templates/nginx.conf.sigil):
# one upstream per app, proxy_http_version 1.1, the client's Connection header passed on, and
# no keepalive directive, so every proxied request opens a new upstream connection.
# With BUFFER (default Dokku's 4k), the size of nginx's proxy buffers.
start_nginx() {
  local name=$1 port=$2 keepalive=$3 buffer=${4:-4k}
  local dir="$work/nginx-$name"
  mkdir -p "$dir"
  local upstream_extra="" connection='$http_connection'
  if [ "$keepalive" = yes ]; then
    upstream_extra="keepalive 64;"
    connection='""'
  fi
  cat >"$dir/nginx.conf" <<NGINX
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log $dir/access.log;
  upstream $app-5000 { server $ip:5000; $upstream_extra }
  server {
    listen 127.0.0.1:$port;
    server_name $host;
    client_max_body_size 1m;
    location / {
      proxy_pass http://$app-5000;
      proxy_http_version 1.1;
      proxy_read_timeout 60s;
      proxy_buffer_size $buffer;
      proxy_buffering on;
      proxy_buffers 8 $buffer;
      proxy_busy_buffers_size $((2 * ${buffer%k}))k;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection $connection;
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Port \$server_port;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Request-Start \$msec;
      gzip on;
      gzip_min_length 1100;
      gzip_buffers 4 32k;
      gzip_types text/css text/javascript text/xml text/plain text/x-component application/javascript application/x-javascript application/json application/xml application/rss+xml font/truetype application/x-font-ttf font/opentype application/vnd.ms-fontobject image/svg+xml;
      gzip_vary on;
      gzip_comp_level 6;
    }
  }
}
NGINX
  nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' 2>>"$dir/error.log" &
  nginx_pids+=($!)
  for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" -H "Host: $host" && return; sleep 0.1; done
  echo " !     nginx ($name) did not start: $(cat "$dir/error.log")" >&2
  exit 1
}
dokku_port=$(free_port)
start_nginx dokku "$dokku_port" no
keepalive_port=$(free_port)
start_nginx keepalive "$keepalive_port" yes
# Tuned beyond Dokku's template for large responses: 64k buffers, so a 64 KiB body fits one.
buffers_port=$(free_port)
start_nginx buffers "$buffers_port" yes 64k

# "1.23ms" → milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
time_wait() { ss -Htan state time-wait | wc -l; }

declare -A rps p50 p99 tw cpu
# CPU time (user + system, clock ticks) of the given processes and all their threads.
ticks() {
  local total=0 task fields
  for pid in "$@"; do
    for task in /proc/"$pid"/task/*; do
      read -r -a fields <"$task/stat"
      total=$((total + fields[13] + fields[14]))
    done
  done
  echo "$total"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# One wrk run; appends its figures to the target's lists. TIME_WAIT counts sockets the run
# left behind (after minus before), on this machine as a whole. With PIDS, also the CPU time
# those processes spent per request: steadier than requests/s when the machine is shared.
run() {
  local name=$1 url=$2 hostname=$3
  shift 3
  local before out cpu_before
  before=$(time_wait)
  cpu_before=$(ticks "$@")
  local accept=()
  [[ $name != *gzip ]] || accept=(-H "Accept-Encoding: gzip")
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -H "Host: $hostname" "${accept[@]}" "$url")
  if [ $# -gt 0 ]; then
    local requests
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu[$name]+=" $(awk -v t=$(($(ticks "$@") - cpu_before)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t * 1e6 / hz / r }')"
  fi
  rps[$name]+=" $(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
  p50[$name]+=" $(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  p99[$name]+=" $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  local left=$(($(time_wait) - before))
  tw[$name]+=" $((left > 0 ? left : 0))"
  local errors
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  [ -z "$errors" ] || echo "$name: $errors" >&2
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status"; }
idle_rss=$(rss_kb)
run direct "http://$ip:5000/" "$host"
for _ in $(seq 1 "$rounds"); do
  run berth "http://127.0.0.1:$http_port/" "$host" "$daemon"
  # shellcheck disable=SC2046 # one pid per word
  run nginx-keepalive "http://127.0.0.1:$keepalive_port/" "$host" $(pgrep -P "${nginx_pids[1]}")
done
# The same pair on larger responses: 8 KiB (past nginx's 4k proxy_buffer_size) and 64 KiB
# (past all of Dokku's 8 × 4k proxy buffers).
for size in 8k 64k; do
  for _ in $(seq 1 "$rounds"); do
    run "berth-$size" "http://127.0.0.1:$http_port/$size" "$host" "$daemon"
    # shellcheck disable=SC2046
    run "nginx-keepalive-$size" "http://127.0.0.1:$keepalive_port/$size" "$host" $(pgrep -P "${nginx_pids[1]}")
    if [ "$size" = 64k ]; then
      # shellcheck disable=SC2046
      run "nginx-64k-buffers-64k" "http://127.0.0.1:$buffers_port/$size" "$host" $(pgrep -P "${nginx_pids[2]}")
    fi
  done
done
# 8 KiB pages gzip-compressed, by both as Dokku's template sets nginx up (level 6); names
# ending in "gzip" ask for it.
for port in "$http_port" "$keepalive_port"; do
  curl -s -D - -o /dev/null -H "Host: $host" -H "Accept-Encoding: gzip" "http://127.0.0.1:$port/8k" |
    grep -qi '^content-encoding: gzip' || { echo " !     no gzip from port $port" >&2; exit 1; }
done
for _ in $(seq 1 "$rounds"); do
  run "berth-8kgzip" "http://127.0.0.1:$http_port/8k" "$host" "$daemon"
  # shellcheck disable=SC2046
  run "nginx-keepalive-8kgzip" "http://127.0.0.1:$keepalive_port/8k" "$host" $(pgrep -P "${nginx_pids[1]}")
done
loaded_rss=$(rss_kb)

# 10,000 domains on the app, then the same load on one of them, taking turns with one domain.
domains=()
for i in $(seq 1 10000); do domains+=("d$i.$host"); done
"${cli[@]}" domains:add "$app" "${domains[@]}" >/dev/null
for _ in $(seq 1 "$rounds"); do
  run berth-10k-domains "http://127.0.0.1:$http_port/" "d5000.$host" "$daemon"
done
domains_rss=$(rss_kb)
# Last, once: without upstream keep-alive every request leaves a socket in TIME_WAIT, and the
# pile-up (minutes to drain) would slow whatever ran after it.
# shellcheck disable=SC2046
run nginx-dokku "http://127.0.0.1:$dokku_port/" "$host" $(pgrep -P "${nginx_pids[0]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# shellcheck disable=SC2086 # the lists are space-separated numbers
base=$(median ${rps[nginx-keepalive]})
echo "| target | requests/s | vs nginx keep-alive | p50 ms | p99 ms | proxy CPU µs/request | TIME_WAIT left | runs (req/s) |"
echo "|---|---|---|---|---|---|---|---|"
for name in direct berth nginx-keepalive nginx-dokku berth-10k-domains berth-8k nginx-keepalive-8k berth-64k nginx-keepalive-64k nginx-64k-buffers-64k berth-8kgzip nginx-keepalive-8kgzip; do
  # shellcheck disable=SC2086
  r=$(median ${rps[$name]})
  # Sized runs compare with nginx on the same size.
  # shellcheck disable=SC2086
  [[ $name != *-*k && $name != *-*kgzip ]] || base=$(median ${rps[nginx-keepalive-${name##*-}]})
  c="-"
  # shellcheck disable=SC2086
  [ -z "${cpu[$name]:-}" ] || c=$(median ${cpu[$name]})
  # shellcheck disable=SC2086
  echo "| $name | $r | $(ratio "$r" "$base") | $(median ${p50[$name]}) | $(median ${p99[$name]}) | $c | $(median ${tw[$name]}) |${rps[$name]} |"
done
echo
echo "| Berth daemon memory | RSS |"
echo "|---|---|"
echo "| idle, one app | $((idle_rss / 1024)) MiB |"
echo "| after the load runs | $((loaded_rss / 1024)) MiB |"
echo "| with 10,000 domains | $((domains_rss / 1024)) MiB |"
echo
berth_lines=$(grep -c 'berth::access' "$work/daemon.log" || true)
[ "$format" = stderr ] || berth_lines=$(wc -l <"$work/access.log")
echo "Access log lines written: Berth $berth_lines ($format), nginx $(cat "$work"/nginx-*/access.log | wc -l) (combined)."
echo "wrk -t2 -c$connections -d${duration}s, median of $rounds rounds, on $(nproc) cores; the app is bench/server.rs FROM scratch."
