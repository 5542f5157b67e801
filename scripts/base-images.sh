#!/usr/bin/env bash
# Makes the local base image the sample app and the tests build FROM, without any registry:
# `berth-base/busybox:latest`, a root filesystem holding only busybox-static and its applets.
# Idempotent: an existing image is kept.
set -euo pipefail

image=berth-base/busybox:latest
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || busybox=/bin/busybox
if ldd "$busybox" >/dev/null 2>&1; then
  echo " !     $busybox is dynamically linked; busybox-static is needed: apt-get install busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo "-----> Importing $image"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - "$image" >/dev/null
