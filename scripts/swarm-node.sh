#!/usr/bin/env bash
# A second Docker engine on this machine, to join a test swarm as a worker node: tests of
# Swarm apps across nodes need one, and this machine cannot run privileged containers
# (docker-in-docker fails to apply capabilities). It is Debian's dockerd again, with its own
# data root, exec root, socket and bridge; it publishes ports through docker-proxy (no
# iptables of its own), so a task published in host mode answers at this machine's address.
# It gets a bridge of its own (-b): an engine started with --bridge=none deletes docker0, the
# host engine's default bridge, and every build on the host fails until that engine restarts.
#
#   scripts/swarm-node.sh up N     start engine N (1-9) if it is not running; prints its socket
#   scripts/swarm-node.sh down N   leave any swarm, stop it, remove its bridge and files
#
# Joining is the caller's: docker -H unix://SOCKET swarm join --listen-addr ADDR:237N
# --advertise-addr ADDR:237N --token TOKEN ADDR:2377 (a port apart from the manager's 2377).
set -euo pipefail

action=${1:?usage: swarm-node.sh up|down N}
n=${2:?usage: swarm-node.sh up|down N}
[[ $n =~ ^[1-9]$ ]] || { echo "N is 1 to 9" >&2; exit 2; }
dir=/var/tmp/berth-node$n
bridge=bnode$n
socket=$dir/docker.sock
client() { docker -H "unix://$socket" "$@"; }

case $action in
up)
    mkdir -p "$dir/data" "$dir/exec"
    if ! ip link show "$bridge" >/dev/null 2>&1; then
        ip link add "$bridge" type bridge
        ip addr add "10.250.$n.1/24" dev "$bridge"
    fi
    ip link set "$bridge" up
    if ! client info >/dev/null 2>&1; then
        setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" \
            --pidfile "$dir/docker.pid" -H "unix://$socket" -b "$bridge" \
            --iptables=false --ip-masq=false >"$dir/dockerd.log" 2>&1 </dev/null &
        for _ in $(seq 1 60); do
            client info >/dev/null 2>&1 && break
            sleep 0.5
        done
        client info >/dev/null 2>&1 || { echo "engine $n did not start: $dir/dockerd.log" >&2; exit 1; }
    fi
    echo "$socket"
    ;;
down)
    if client info >/dev/null 2>&1; then
        client swarm leave --force >/dev/null 2>&1 || true
    fi
    if [[ -f $dir/docker.pid ]]; then
        pid=$(cat "$dir/docker.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
    fi
    ip link del "$bridge" 2>/dev/null || true
    ip link del "bswarm$n" 2>/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: swarm-node.sh up|down N" >&2
    exit 2
    ;;
esac
