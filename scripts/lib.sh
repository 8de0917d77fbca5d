# Shared by scripts/run and scripts/test: the build directory and the system packages.
# shellcheck shell=bash

: "${CARGO_TARGET_DIR:=$HOME/.cache/onegrid-target}"
export CARGO_TARGET_DIR

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# need_packages CMD:PACKAGE ...: installs the Debian packages whose command is missing, or
# says exactly what is missing when it cannot install.
need_packages() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null && return 0
  fi
  echo "missing system packages: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
  exit 1
}

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust 1.95 or newer from https://rustup.rs (then open a new shell)" >&2
    exit 1
  fi
  need_packages cc:build-essential pkg-config:pkg-config
}
