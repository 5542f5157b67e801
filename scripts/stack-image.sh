#!/usr/bin/env bash
# Makes the local buildpack stack image `berth/stack:bookworm` without any registry: a minimal
# Debian bookworm root (debootstrap --variant=minbase) with python3, pip and nodejs/npm, imported
# into Docker. Buildpacks compile inside it and apps run on top of it. Idempotent: an existing
# image with the same tag is kept, so bump the tag when the package list changes.
set -euo pipefail

image=${BERTH_STACK_IMAGE:-berth/stack:bookworm}
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=ca-certificates,python3,python3-pip,python3-venv,nodejs
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null
fi
root=$(mktemp -d /var/tmp/berth-stack.XXXXXX)
cleanup() {
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$root" "$root.log"
}
trap cleanup EXIT
echo "-----> Bootstrapping Debian bookworm for $image (about a minute)"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  echo " !     debootstrap failed" >&2
  exit 1
}
# npm's many postinst scripts fail inside debootstrap's second stage; apt in a chroot installs it.
echo "-----> Installing npm"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
chroot "$root" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends npm >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2
  echo " !     installing npm in the stack failed" >&2
  exit 1
}
umount "$root/proc"
rm -f "$root/etc/resolv.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
mkdir -p "$root/app"
echo "-----> Importing $image"
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  - "$image" >/dev/null
