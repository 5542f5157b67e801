#!/bin/sh
# Berth's buildpack runner, run inside the build container (never on the host).
#
# /tmp/berth/order     one line per buildpack: "<dir><TAB><name>", in order
# /tmp/berth/env/KEY   one file per config var (ENV_DIR)
# /cache               the app's build cache, kept between builds (CACHE_DIR)
# /app                 the source, compiled in place (BUILD_DIR)
# BERTH_DETECT         "first": the first buildpack that detects is the only one run (auto);
#                      "all": every listed buildpack must detect and runs in order.
# Writes each buildpack's bin/release output to /tmp/berth/release/<n>.yml.
# A line starting with "berth-builder-error: " is the reason a build failed.
set -eu

build=/app
cache=/cache
env_dir=/tmp/berth/env
releases=/tmp/berth/release
mkdir -p "$cache" "$env_dir" "$releases"

fail() {
  echo "berth-builder-error: $*"
  exit 1
}

tried=""
chosen=""
tab=$(printf '\t')
while IFS="$tab" read -r dir name; do
  chmod -f +x "$dir"/bin/* || true
  if [ ! -x "$dir/bin/detect" ] || [ ! -x "$dir/bin/compile" ]; then
    fail "$name is not a buildpack: it needs bin/detect and bin/compile"
  fi
  if detected=$("$dir/bin/detect" "$build" 2>&1); then
    echo "-----> ${detected:-$name} app detected"
    chosen="$chosen$dir$tab$name
"
    [ "$BERTH_DETECT" = first ] && break
  elif [ "$BERTH_DETECT" = all ]; then
    fail "App not compatible with buildpack: $name"
  else
    tried="$tried${tried:+, }$name"
  fi
done </tmp/berth/order

if [ -z "$chosen" ]; then
  fail "No buildpack detected this app (tried: $tried); add a Procfile, or choose one: buildpacks:add"
fi

n=0
printf '%s' "$chosen" | while IFS="$tab" read -r dir name; do
  n=$((n + 1))
  if ! "$dir/bin/compile" "$build" "$cache" "$env_dir"; then
    fail "Buildpack $name failed to compile this app"
  fi
  if [ -f "$dir/export" ]; then
    . "$dir/export"
  fi
  if [ -x "$dir/bin/release" ]; then
    "$dir/bin/release" "$build" >"$releases/$n.yml" || fail "Buildpack $name failed its release step"
  fi
done
