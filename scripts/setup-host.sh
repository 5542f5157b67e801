#!/usr/bin/env bash
# Makes this machine ready to run Berth and its tests: installs what is missing from Debian's
# packages (docker.io, busybox-static, git, the OpenSSH client and server (the forced-command
# test runs Debian's sshd on a loopback port), curl, openssl, debootstrap,
# pebble, zip, prometheus for promtool, docker-registry and apache2-utils (htpasswd) for a
# registry on loopback),
# starts dockerd in the background when `docker info` does not answer, and waits for it.
# Idempotent: what is already there is left alone.
set -euo pipefail

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need_pkgs+=(busybox-static)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
[ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v pebble >/dev/null 2>&1 || need_pkgs+=(pebble)
command -v zip >/dev/null 2>&1 || need_pkgs+=(zip)
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v docker-registry >/dev/null 2>&1 || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need_pkgs+=(apache2-utils)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "-----> Installing ${need_pkgs[*]}"
  apt-get update -qq
  # docker.io's postinst tries to start the service; "policy-rc.d denied execution of start" is expected.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null 2>&1 || \
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  echo "-----> Starting dockerd"
  log=/var/log/berth-dockerd.log
  nohup dockerd >"$log" 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { echo " !     dockerd did not start; see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
fi
echo "-----> Docker engine $(docker version --format '{{.Server.Version}}') is running"
