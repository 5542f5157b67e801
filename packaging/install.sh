#!/bin/sh
# Installs Berth on a host without the Debian package: the binary, the systemd units, the
# default configuration (never overwritten) and the data dir; then enables and starts it when
# systemd runs. Safe to run again (an upgrade: the running daemon hands its listeners to the
# new binary in place). Run as root:
#
#   sh packaging/install.sh [path/to/berth]     (default: target/release/berth)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-$here/../target/release/berth}
prefix=${PREFIX:-}

fail() {
  echo " !     $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || [ -n "$prefix" ] || fail "Run it as root (it installs into /usr/bin, /etc and /lib/systemd)"
[ -x "$binary" ] || fail "No berth binary at $binary: build it (cargo build --release) or name it"
command -v git >/dev/null 2>&1 || fail "git is needed: apt-get install git"
if ! command -v docker >/dev/null 2>&1; then
  fail "Docker is needed: apt-get install docker.io (or Docker's docker-ce)"
fi
docker info >/dev/null 2>&1 || echo " !     Docker does not answer yet; Berth waits for it when it starts" >&2

echo "-----> Installing $("$binary" version) into ${prefix:-/}"
install -d "$prefix/usr/bin" "$prefix/lib/systemd/system" "$prefix/etc/berth"
install -m 0755 "$binary" "$prefix/usr/bin/berth.new"
mv -f "$prefix/usr/bin/berth.new" "$prefix/usr/bin/berth"
for unit in berth.service berth-http.socket berth-https.socket berth-ssh.socket; do
  install -m 0644 "$here/$unit" "$prefix/lib/systemd/system/$unit"
done
if [ -e "$prefix/etc/berth/berth.toml" ]; then
  echo "       /etc/berth/berth.toml kept as it is"
else
  install -m 0644 "$here/berth.toml" "$prefix/etc/berth/berth.toml"
fi
install -d -m 0700 "$prefix/var/lib/berth"

if [ -z "$prefix" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable berth-http.socket berth-https.socket berth-ssh.socket berth.service >/dev/null
  if systemctl is-active --quiet berth.service; then
    echo "-----> Handing over to the new binary (systemctl reload berth)"
    systemctl reload berth.service
  else
    systemctl start berth-http.socket berth-https.socket berth-ssh.socket berth.service
  fi
  echo "=====> Berth runs: berth doctor checks the host; journalctl -u berth shows its log"
else
  echo "=====> Installed. Without systemd, start it with: /usr/bin/berth daemon --config /etc/berth/berth.toml"
fi
