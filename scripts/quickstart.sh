#!/usr/bin/env bash
# From a fresh Debian machine to an app served by Berth: builds and installs Berth, makes sure a
# Docker engine runs, starts the daemon, and deploys the bundled sample app with a real
# `git push` over SSH. Run it as root. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd)

command -v cargo >/dev/null 2>&1 || {
  echo " !     cargo is needed: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
}
bash scripts/setup-host.sh

echo "-----> Building Berth"
cargo build --release --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
install -m 0755 "$target_dir/release/berth" /usr/local/bin/berth

bash scripts/base-images.sh

config=/etc/berth/berth.toml
if [ ! -f "$config" ]; then
  mkdir -p /etc/berth
  cat >"$config" <<'TOML'
# Berth's configuration; every key has a default (see docs/configuration.md).
data_dir = "/var/lib/berth"
global_domain = "berth.localhost"

[ssh]
listen = "0.0.0.0:2222"

[proxy]
http_listen = "0.0.0.0:80"
TOML
fi

if ! berth --config "$config" version >/dev/null 2>&1; then
  echo "-----> Starting berth daemon (log: /var/log/berth.log)"
  nohup berth daemon --config "$config" >>/var/log/berth.log 2>&1 &
  for _ in $(seq 1 100); do
    berth --config "$config" version >/dev/null 2>&1 && break
    sleep 0.2
  done
  berth --config "$config" version >/dev/null 2>&1 || {
    echo " !     berth daemon did not start; see /var/log/berth.log" >&2
    tail -n 20 /var/log/berth.log >&2
    exit 1
  }
fi

key="$HOME/.ssh/berth_quickstart"
if [ ! -f "$key" ]; then
  mkdir -p "$HOME/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C berth-quickstart -f "$key"
fi
if ! berth --config "$config" ssh-keys:list 2>/dev/null | grep -q 'NAME="quickstart"'; then
  berth --config "$config" ssh-keys:add quickstart <"$key.pub"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$project/tests/apps/hello/." "$work/"
cd "$work"
git init -q -b main
git add -A
git -c user.name="Berth Quickstart" -c user.email=quickstart@berth.invalid commit -q -m "Sample app"
export GIT_SSH_COMMAND="ssh -i $key -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$HOME/.ssh/berth_known_hosts"
echo "-----> git push berth main"
git push --force ssh://berth@127.0.0.1:2222/hello main

echo
echo "=====> hello is live. Reach it with:"
echo "       curl -H 'Host: hello.berth.localhost' http://127.0.0.1/"
curl -s -H 'Host: hello.berth.localhost' http://127.0.0.1/
