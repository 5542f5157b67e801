# Shared by the benchmark scripts (sourced, not run): builds Berth in release mode and starts a
# daemon on ephemeral ports with a temp data dir and one key, `bench`.
# Sets: berth, work, daemon, ssh_port, http_port, admin_port, cli (array). The caller's EXIT trap should call
# stop_daemon. With FORMAT (berth|combined), the access log goes to $work/access.log in that
# format; without, to the daemon's log ($work/daemon.log).

bench_setup() {
  local format=${1:-}
  bash scripts/setup-host.sh >/dev/null
  bash scripts/base-images.sh
  cargo build --release --quiet
  local target_dir
  target_dir=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
  berth="$target_dir/release/berth"
  work=$(mktemp -d)
  cat >"$work/berth.toml" <<TOML
data_dir = "$work/data"
global_domain = "bench.test"
[ssh]
listen = "127.0.0.1:0"
[proxy]
http_listen = "127.0.0.1:0"
https_listen = "127.0.0.1:0"
TOML
  if [ -n "$format" ]; then
    printf 'access_log = "%s"\naccess_log_format = "%s"\n' "$work/access.log" "$format" >>"$work/berth.toml"
  fi
  # The admin listener (/metrics) on an ephemeral port; `admin_port` is read from the ready line.
  printf '[admin]\nlisten = "127.0.0.1:0"\n%s\n' "${ADMIN_TOML:-}" >>"$work/berth.toml"
  "$berth" daemon --config "$work/berth.toml" >"$work/ready" 2>"$work/daemon.log" &
  daemon=$!
  for _ in $(seq 1 100); do grep -q ready "$work/ready" 2>/dev/null && break; sleep 0.1; done
  ssh_port=$(grep -o 'ssh=[0-9.:]*' "$work/ready" | cut -d: -f2)
  admin_port=$(grep -o 'admin=[0-9.:]*' "$work/ready" | cut -d: -f2)
  http_port=$(grep -o 'http=[0-9.:]*' "$work/ready" | cut -d: -f2)
  ssh-keygen -q -t ed25519 -N '' -f "$work/key"
  cli=("$berth" --config "$work/berth.toml")
  "${cli[@]}" ssh-keys:add bench <"$work/key.pub" >/dev/null
}

# Removes the containers and images of the Berth app named $1.
remove_app() {
  docker ps -aq --filter "label=berth.app=$1" | xargs -r docker rm -f >/dev/null
  docker images --filter "reference=berth/$1" --format '{{.Repository}}:{{.Tag}}' | xargs -r docker rmi >/dev/null 2>&1 || true
}

stop_daemon() {
  if [ -n "${daemon:-}" ]; then
    kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  fi
  rm -rf "$work"
}
