# Shared by scripts/run and scripts/test: the build directory and the system packages.
# shellcheck shell=bash

: "${CARGO_TARGET_DIR:=$HOME/.cache/onegrid-target}"
export CARGO_TARGET_DIR

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# install_debs PACKAGE...: installs Debian packages with apt-get, or says exactly what is
# missing when it cannot.
install_debs() {
  [ $# -eq 0 ] && return 0
  if command -v apt-get >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    say "installing system packages: $*"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null && return 0
  fi
  echo "missing system packages: $* (install them, e.g. apt-get install $*)" >&2
  exit 1
}

# need_packages CMD:PACKAGE ...: installs the packages whose command is missing.
need_packages() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  install_debs "${missing[@]}"
}

# need_debs PACKAGE ...: installs the packages that dpkg does not list as installed
# (libraries and drivers, which have no command to look for).
need_debs() {
  local missing=()
  if ! command -v dpkg-query >/dev/null 2>&1; then
    return 0
  fi
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  install_debs "${missing[@]}"
}

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust 1.95 or newer from https://rustup.rs (then open a new shell)" >&2
    exit 1
  fi
  need_packages cc:build-essential pkg-config:pkg-config
}

# The console's libraries (X11 windowing, input), a Vulkan driver (Mesa's drivers give
# software Vulkan, lavapipe, where there is no GPU), and GStreamer with the elements the
# alert sounds use (appsrc, audioconvert and audioresample in -base; autoaudiosink and
# wavenc in -good).
need_console() {
  need_debs libx11-dev libxkbcommon-dev libxcursor-dev libxrandr-dev libxi-dev libwayland-dev libudev-dev \
    libvulkan1 mesa-vulkan-drivers libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good
}

# What the screenshot tests need to open a real window without a screen, what the wall's
# test needs for a bare X server with two monitors (Xorg's dummy driver, xrandr to lay the
# monitors out, xwininfo, xprop and xwd to see where the windows went and what they show,
# and openbox, a window manager that honours fullscreen requests as desktops do), and
# xdotool, with which the intake's test clicks and types as an operator would; and a
# PulseAudio server with parec, the sound server whose speakers the alert sounds' test
# records.
need_xvfb() {
  need_packages xvfb-run:xvfb xauth:xauth Xorg:xserver-xorg-core xrandr:x11-xserver-utils \
    xwininfo:x11-utils xwd:x11-apps xdotool:xdotool openbox:openbox pulseaudio:pulseaudio parec:pulseaudio-utils
  need_debs xserver-xorg-video-dummy
}
