#!/usr/bin/env bash
# Builds kubemu's workload images offline from images/ with Debian's static busybox. Idempotent: an image whose
# inputs did not change is left alone (label kubemu.inputs holds a hash of them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
busybox="${BUSYBOX:-/bin/busybox}"
[ -x "$busybox" ] || { echo "build-images: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }

build() { # name dir [base image whose id is an input]
  local name="$1" dir="$root/images/$2" base="${3:-}" ctx hash have
  hash="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum "$busybox" | cut -d' ' -f1
    [ -z "$base" ] || docker image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-16)"
  have="$(docker image inspect -f '{{ index .Config.Labels "kubemu.inputs" }}' "$name" 2>/dev/null || true)"
  if [ "$have" = "$hash" ]; then echo "build-images: $name up to date"; return; fi
  ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' RETURN
  cp -a "$dir/." "$ctx/"
  cp "$busybox" "$ctx/busybox"
  docker build -q --pull=false --label "kubemu.inputs=$hash" -t "$name" "$ctx" >/dev/null
  echo "build-images: built $name"
}

build kubemu/busybox:1 busybox
# curl and what it links, from this machine (no registry): `ldd` names the libraries and the loader.
if [ -x /usr/bin/curl ]; then
  curlroot="$root/images/curl/root"
  rm -rf "$curlroot"; mkdir -p "$curlroot/usr/bin"
  cp /usr/bin/curl "$curlroot/usr/bin/curl"
  for lib in $(ldd /usr/bin/curl | grep -o '/[^ ]*'); do mkdir -p "$curlroot$(dirname "$lib")"; cp -L "$lib" "$curlroot$lib"; done
  build kubemu/curl:1 curl kubemu/busybox:1
  rm -rf "$curlroot"
else
  echo "build-images: /usr/bin/curl missing (apt-get install curl): kubemu/curl:1 not built" >&2
fi
build kubemu/hello:1 hello kubemu/busybox:1
# A second tag of the same image, so a rollout can "change the image" (kubectl set image … kubemu/hello:2).
docker tag kubemu/hello:1 kubemu/hello:2
