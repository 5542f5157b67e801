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

echo "-----> cargo fmt --check"
cargo fmt --all -- --check
echo "-----> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "-----> cargo test"
cargo test --quiet 2>&1
