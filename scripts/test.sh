#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: sets up Docker and the other real peers,
# makes the local base images, then runs formatting, lint, unit and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null 2>&1 || {
  echo " !     cargo is needed: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
}
bash scripts/setup-host.sh
bash scripts/base-images.sh
bash scripts/stack-image.sh
bash scripts/service-images.sh

echo "-----> cargo fmt --check"
cargo fmt --all -- --check
echo "-----> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
# Containers and images of Berth apps: the tests must leave none behind.
berth_objects() {
  { docker ps -aq --filter label=berth.app; docker images -q --filter label=berth.app; } | sort -u
}
before=$(berth_objects)
echo "-----> cargo test"
cargo test --quiet 2>&1
left=$(comm -13 <(echo "$before") <(berth_objects))
if [ -n "$left" ]; then
  echo " !     The tests left containers or images of Berth apps behind:" >&2
  for id in $left; do
    docker inspect -f '       {{.Id}} {{json .Config.Labels}}' "$id" >&2 || true
  done
  exit 1
fi
