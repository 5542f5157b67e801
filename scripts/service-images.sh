#!/usr/bin/env bash
# Makes the local database images the service tests use, without any registry:
# `berth-test/postgres:15` and `berth-test/redis:7`, from Debian bookworm's postgresql and
# redis-server packages (debootstrap --variant=minbase, imported into Docker), with entrypoints
# that honour the official images' contract (tests/images/services/). Idempotent: existing
# images are kept, so bump the tags when the package list or the entrypoints change.
set -euo pipefail
cd "$(dirname "$0")/.."

base=berth-test/services-base:bookworm
postgres=berth-test/postgres:15
redis=berth-test/redis:7
if docker image inspect "$postgres" "$redis" >/dev/null 2>&1; then
  exit 0
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
  mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  packages=postgresql-15,postgresql-client-15,redis-server,redis-tools
  command -v debootstrap >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null
  root=$(mktemp -d /var/tmp/berth-services.XXXXXX)
  trap 'rm -rf "$root" "$root.log"' EXIT
  echo "-----> Bootstrapping Debian bookworm with postgresql and redis-server (a minute or two)"
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    echo " !     debootstrap failed" >&2
    exit 1
  }
  # The packages' own clusters and caches are not part of the image.
  rm -rf "$root"/var/lib/postgresql/* "$root"/etc/postgresql/* "$root"/var/lib/redis/*
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  echo "-----> Importing $base"
  tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    - "$base" >/dev/null
fi
for image in "$postgres" "$redis"; do
  name=${image#berth-test/}
  name=${name%%:*}
  echo "-----> Building $image"
  docker build -q -t "$image" -f "tests/images/services/$name.Dockerfile" \
    tests/images/services >/dev/null
done
