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
# The packaging test builds the Debian package with cargo-deb (from crates.io, once).
cargo deb --version >/dev/null 2>&1 || cargo install cargo-deb --locked --quiet

echo "-----> cargo fmt --check"
cargo fmt --all -- --check
echo "-----> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
# Containers, images, Swarm services and secrets of Berth apps, service containers and
# networks Berth made: the tests must leave none behind.
berth_objects() {
  {
    docker ps -aq --filter label=berth.app
    docker images -q --filter label=berth.app
    docker ps -aq --filter label=berth.service
    docker network ls -q --filter label=berth.network-name
    # Swarm services of apps (only while the engine is in a swarm; tests/swarm.rs makes one).
    docker service ls -q --filter label=berth.app 2>/dev/null || true
    docker secret ls -q --filter label=berth.app 2>/dev/null || true
  } | sort -u
}
before=$(berth_objects)
echo "-----> cargo test"
cargo test --quiet 2>&1
left=$(comm -13 <(echo "$before") <(berth_objects))
if [ -n "$left" ]; then
  echo " !     The tests left containers, images or networks of Berth behind:" >&2
  for id in $left; do
    echo "       $id $(docker inspect "$id" | grep -m2 -o '"berth\.[a-z.-]*": "[^"]*"' | tr '\n' ' ')" >&2
  done
  exit 1
fi
