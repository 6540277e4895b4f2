#!/usr/bin/env bash
# Make sure what kubemu needs is on this machine: npm packages, etcd, the Python client, Docker (engine running).
# As root on Debian/Ubuntu it installs what is missing from apt; elsewhere it says what to install.
# Usage: scripts/ensure-deps.sh [--no-docker]
set -euo pipefail
cd "$(dirname "$0")/.."
want_docker=1
[[ "${1:-}" == "--no-docker" ]] && want_docker=0

say() { echo "[kubemu setup] $*" >&2; }

apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    say "missing: $*. Install it yourself (Debian/Ubuntu: sudo apt-get install -y $*)."
    exit 1
  fi
  if [[ -z "${KUBEMU_APT_UPDATED:-}" ]]; then
    say "apt-get update"
    apt-get update -qq >/dev/null
    export KUBEMU_APT_UPDATED=1
  fi
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [[ ! -d node_modules/tsx ]]; then
  say "npm install"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

command -v etcd >/dev/null || apt_install etcd-server
# etcdctl: the encryption-at-rest tests read what etcd really holds.
command -v etcdctl >/dev/null || apt_install etcd-client
# test/e2e/python-client.test.ts drives the official Python client, as Debian packages it for /usr/bin/python3.
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || apt_install python3-kubernetes

if [[ $want_docker -eq 1 ]]; then
  command -v dockerd >/dev/null || apt_install docker.io
  [[ -x /bin/busybox ]] || apt_install busybox-static
  # kubemu/curl:1 (scripts/build-images.sh) copies the host's curl: pods that call the API over TLS.
  command -v curl >/dev/null || apt_install curl
  # The compose e2e (and `docker compose up` for users): v1 `docker-compose` is what Debian ships.
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || apt_install docker-compose
  if ! docker info >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
      say "the Docker engine is not running and we are not root: start it (sudo systemctl start docker)."
      exit 1
    fi
    say "starting dockerd (log: /var/log/kubemu-dockerd.log)"
    nohup dockerd >/var/log/kubemu-dockerd.log 2>&1 &
    for _ in $(seq 1 120); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 || { say "dockerd did not start; see /var/log/kubemu-dockerd.log"; exit 1; }
  fi
fi
