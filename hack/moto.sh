#!/usr/bin/env bash
# Provides moto (getmoto/moto), the AWS emulator the AWS provider's tests talk to, in a Python
# virtualenv inside the tool cache, and reuses it when it is already there:
#   <cache>/moto-<version>/bin/moto_server
# The virtualenv is built with python3 -m venv from the system's Python (not pyenv's or any
# moto_server already on PATH: a fresh machine has neither), then `pip install moto[server,ec2]==<version>`
# from PyPI. A stamp file records the version; a version bump builds a new virtualenv beside it.
#
# Usage: hack/moto.sh [install|path|clean]
#   install (default)  builds the virtualenv unless a complete one is there
#   path               prints the moto_server path (installs first when missing)
#   clean              removes this version's virtualenv
#
# Environment: HOSTNET_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller),
#              HOSTNET_PYTHON (the interpreter for the virtualenv; default /usr/bin/python3 when
#              present, else python3 on PATH).
set -euo pipefail

MOTO_VERSION=5.2.5

cache=${HOSTNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hostnet-controller}
venv=$cache/moto-$MOTO_VERSION
server=$venv/bin/moto_server
stampfile=$venv/.installed

log() { printf '[moto] %s\n' "$*" >&2; }

fresh() { [ -x "$server" ] && [ "$(cat "$stampfile" 2>/dev/null)" = "moto[server,ec2]==$MOTO_VERSION" ]; }

pick_python() {
  if [ -n "${HOSTNET_PYTHON:-}" ]; then echo "$HOSTNET_PYTHON"; return; fi
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; return; fi
  command -v python3 || { log "python3 is needed for moto (Debian: apt-get install python3 python3-venv)"; exit 1; }
}

# Debian splits venv/ensurepip into python3-venv; install it when we are root and it is missing.
ensure_venv_module() {
  local py=$1 probe
  probe=$(mktemp -d)
  if "$py" -m venv "$probe/v" >/dev/null 2>&1; then rm -rf "$probe"; return; fi
  rm -rf "$probe"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    local pkg
    pkg="python$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
    log "$py cannot create a virtualenv: installing $pkg (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    log "$py cannot create a virtualenv (Debian: apt-get install python3-venv as root, then retry)"; exit 1
  fi
}

install() {
  if fresh; then return; fi
  local py start=$SECONDS
  py=$(pick_python)
  ensure_venv_module "$py"
  log "installing moto[server,ec2]==$MOTO_VERSION into $venv (first run only: a minute or two)"
  # Built in place (a virtualenv's scripts carry its absolute path); the stamp is written last,
  # so an interrupted install is not mistaken for a complete one and is rebuilt next time.
  rm -rf "$venv"
  "$py" -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server,ec2]==$MOTO_VERSION" >&2; then
    rm -rf "$venv"
    log "pip could not install moto[server,ec2]==$MOTO_VERSION (is PyPI reachable? see pip's message above)"; exit 1
  fi
  "$server" --help >/dev/null 2>&1 || { rm -rf "$venv"; log "moto_server does not start after the install"; exit 1; }
  printf '%s' "moto[server,ec2]==$MOTO_VERSION" >"$stampfile"
  log "installed moto $MOTO_VERSION in $((SECONDS - start))s"
}

case "${1:-install}" in
  install) install ;;
  path) install; echo "$server" ;;
  clean) log "removing $venv"; rm -rf "$venv" ;;
  *) echo "usage: $0 [install|path|clean]" >&2; exit 2 ;;
esac
