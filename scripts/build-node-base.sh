#!/usr/bin/env bash
# Builds offline, from what is on this machine:
#   kubemu/node-base:20 — FROM scratch: this machine's node binary, the shared libraries ldd lists for it (with the
#                         dynamic loader), a minimal /etc/passwd and /etc/group, and /tmp;
#   kubemu/echo:1       — images/echo (a keep-alive HTTP server) on top of it (its Dockerfile defaults to node:20-slim
#                         elsewhere; here it gets --build-arg BASE=kubemu/node-base:20).
# Idempotent like build-images.sh: an image whose inputs did not change is left alone (label kubemu.inputs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v docker >/dev/null || { echo "build-node-base: docker missing (apt-get install docker.io)" >&2; exit 1; }
node_bin="$(readlink -f "$(command -v node 2>/dev/null || true)")"
[ -x "$node_bin" ] || { echo "build-node-base: node missing (install Node.js 20)" >&2; exit 1; }
major="$("$node_bin" -p 'process.versions.node.split(".")[0]')"
[ "$major" = 20 ] || echo "build-node-base: warning: node on this machine is v$major, the image is still tagged :20" >&2

# The libraries as ldd resolves them ("libx.so => /path (addr)") and the loader ("/lib64/ld-linux-x86-64.so.2 (addr)").
mapfile -t libs < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[ "${#libs[@]}" -gt 0 ] || { echo "build-node-base: ldd listed no libraries for $node_bin (a static node? then copy it alone)" >&2; exit 1; }

base=kubemu/node-base:20
hash="$( (sha256sum "$node_bin" | cut -d' ' -f1; for l in "${libs[@]}"; do echo "$l $(sha256sum "$(readlink -f "$l")" | cut -d' ' -f1)"; done
  sha256sum "$0" | cut -d' ' -f1) | sha256sum | cut -c1-16)"
have="$(docker image inspect -f '{{ index .Config.Labels "kubemu.inputs" }}' "$base" 2>/dev/null || true)"
if [ "$have" = "$hash" ]; then
  echo "build-node-base: $base up to date"
else
  ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp"
  cp -L "$node_bin" "$ctx/rootfs/usr/local/bin/node"
  for l in "${libs[@]}"; do mkdir -p "$ctx/rootfs$(dirname "$l")"; cp -L "$l" "$ctx/rootfs$l"; done
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$ctx/rootfs/etc/group"
  chmod 1777 "$ctx/rootfs/tmp"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_VERSION=20
CMD ["node"]
EOF
  docker build -q --pull=false --label "kubemu.inputs=$hash" -t "$base" "$ctx" >/dev/null
  rm -rf "$ctx"; trap - EXIT
  echo "build-node-base: built $base ($node_bin, ${#libs[@]} libraries)"
fi

# Images on top of it: name, folder under images/.
build_on_base() {
  local name="$1" dir="$root/images/$2" h have
  h="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; docker image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-16)"
  have="$(docker image inspect -f '{{ index .Config.Labels "kubemu.inputs" }}' "$name" 2>/dev/null || true)"
  if [ "$have" = "$h" ]; then echo "build-node-base: $name up to date"; return; fi
  docker build -q --pull=false --build-arg "BASE=$base" --label "kubemu.inputs=$h" -t "$name" "$dir" >/dev/null
  echo "build-node-base: built $name"
}
build_on_base kubemu/echo:1 echo
