#!/usr/bin/env bash
# Builds the images docker-compose.yml runs, offline, from what is on this machine:
#   kubemu/kubemu:dev — every component (images/kubemu/Dockerfile): the component bundles (esbuild), package.json,
#                       proto/ and the host's node_modules (production dependencies only), on BASE
#                       (default kubemu/node-base:20, built by build-node-base.sh; KUBEMU_BASE=node:20-bookworm-slim
#                       to use the ordinary node image where a registry is reachable);
#   kubemu/etcd:3.4   — this machine's etcd binary (Debian's etcd-server) and its libraries, FROM scratch.
# Both get the host's static busybox (healthchecks on plain loopback ports); kubemu/kubemu:dev also `ip` and
# `curl` (the apiservers' and kubelets' healthchecks over HTTPS, verifying with the cluster CA). Idempotent like build-images.sh: an image whose
# inputs did not change is left alone (label kubemu.inputs holds a hash of them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
self="$root/scripts/$(basename "$0")"
command -v docker >/dev/null || { echo "build-compose-images: docker missing (apt-get install docker.io)" >&2; exit 1; }
base="${KUBEMU_BASE:-kubemu/node-base:20}"
if [ "$base" = kubemu/node-base:20 ]; then bash "$root/scripts/build-node-base.sh" >/dev/null; fi
docker image inspect "$base" >/dev/null 2>&1 || { echo "build-compose-images: base image $base missing (docker pull it, or unset KUBEMU_BASE)" >&2; exit 1; }
busybox="${BUSYBOX:-/bin/busybox}"
[ -x "$busybox" ] || { echo "build-compose-images: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
etcd_bin="$(readlink -f "$(command -v etcd 2>/dev/null || echo /usr/bin/etcd)")"
[ -x "$etcd_bin" ] || { echo "build-compose-images: etcd missing (apt-get install etcd-server)" >&2; exit 1; }
ip_bin="$(readlink -f "$(command -v ip 2>/dev/null || echo /usr/sbin/ip)")"
[ -x "$ip_bin" ] || { echo "build-compose-images: ip missing (apt-get install iproute2)" >&2; exit 1; }
curl_bin="$(readlink -f "$(command -v curl 2>/dev/null || echo /usr/bin/curl)")"
[ -x "$curl_bin" ] || { echo "build-compose-images: curl missing (apt-get install curl)" >&2; exit 1; }

ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT

# The libraries ldd lists for a binary ("libx.so => /path (addr)") and its loader ("/lib64/ld-linux….so.2 (addr)").
libs_of() { ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u || true; }
# Copy a binary to <rootfs>/usr/local/bin and its libraries except libc and the loader (every base image has them)
# to <rootfs>/usr/local/lib/kubemu-tools (the image's LD_LIBRARY_PATH), or with `all`, every library at its own path.
put_binary() { # rootfs binary [all]
  local rootfs="$1" bin="$2" l
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/kubemu-tools"
  cp -L "$bin" "$rootfs/usr/local/bin/"
  while read -r l; do
    [ -n "$l" ] || continue
    if [ "${3:-}" = all ]; then mkdir -p "$rootfs$(dirname "$l")"; cp -L "$l" "$rootfs$l"
    else case "$(basename "$l")" in libc.so.*|ld-linux*|libm.so.*|libdl.so.*|libpthread.so.*) ;; *) cp -L "$l" "$rootfs/usr/local/lib/kubemu-tools/" ;; esac; fi
  done < <(libs_of "$bin")
}

build() { # name context-dir [build args…]
  local name="$1" dir="$2" hash have; shift 2
  hash="$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; find . -type l -printf '%p -> %l\n' | sort; echo "$*"
    sha256sum "$self" | cut -d" " -f1) | sha256sum | cut -c1-16)"
  have="$(docker image inspect -f '{{ index .Config.Labels "kubemu.inputs" }}' "$name" 2>/dev/null || true)"
  if [ "$have" = "$hash" ]; then echo "build-compose-images: $name up to date"; return; fi
  docker build -q --pull=false --label "kubemu.inputs=$hash" "$@" -t "$name" "$dir" >/dev/null
  echo "build-compose-images: built $name"
}

# --- kubemu/kubemu:dev -------------------------------------------------------------------------------------
k="$ctx/kubemu"
mkdir -p "$k/app" "$k/tools/usr/local/bin"
cp "$root/images/kubemu/Dockerfile" "$k/Dockerfile"
put_binary "$k/tools" "$ip_bin"
put_binary "$k/tools" "$curl_bin"
cp "$busybox" "$k/tools/usr/local/bin/busybox"
# The bundles, as launcher/bundle.ts builds them for `kubemu up` (same options), plus the compose steps.
node -e '
  const esbuild = require(process.argv[1] + "/node_modules/esbuild");
  const entries = ["apiserver/main.ts", "scheduler/main.ts", "controller-manager/main.ts", "kubelet/main.ts", "kube-proxy/main.ts", "dns/main.ts", "launcher/compose.ts"];
  esbuild.buildSync({ entryPoints: entries.map((e) => process.argv[1] + "/" + e), outbase: process.argv[1], outdir: process.argv[2],
    bundle: true, platform: "node", format: "esm", target: "node20", packages: "external", logLevel: "error" });
' "$root" "$k/app"
cp "$root/package.json" "$root/package-lock.json" "$k/app/"
cp -a "$root/proto" "$k/app/proto"
# Production dependencies only, from the host's node_modules (same platform: esbuild's and grpc's binaries fit).
# (resolved first: in a git worktree node_modules may be a symlink to the main checkout's)
cp -a "$(readlink -f "$root/node_modules")" "$k/app/node_modules"
(cd "$k/app" && npm prune --omit=dev --offline --no-audit --no-fund >/dev/null 2>&1) \
  || echo "build-compose-images: warning: npm prune failed, the image keeps the dev dependencies too" >&2
# The base image's id is an input too (not copied into the image).
docker image inspect -f '{{.Id}}' "$base" >"$k/base-id"
build kubemu/kubemu:dev "$k" --build-arg "BASE=$base"

# --- kubemu/etcd:3.4 ---------------------------------------------------------------------------------------
e="$ctx/etcd"
mkdir -p "$e/rootfs/tmp" "$e/rootfs/var/lib/etcd" "$e/rootfs/etc"
chmod 1777 "$e/rootfs/tmp"
cp "$root/images/etcd/Dockerfile" "$e/Dockerfile"
put_binary "$e/rootfs" "$etcd_bin" all
put_binary "$e/rootfs" "$busybox" all
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$e/rootfs/etc/passwd"
build kubemu/etcd:3.4 "$e"
