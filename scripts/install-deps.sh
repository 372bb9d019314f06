#!/usr/bin/env bash
# Installs the Debian packages Tandem needs to build, run and test (as root; a no-op when present).
set -euo pipefail

packages=(
  # build
  build-essential pkg-config nasm libxcb1-dev libxcb-shm0-dev libxcb-randr0-dev
  # run and test headless: virtual X server, X tools, Mesa's software OpenGL for the egui windows
  xvfb x11-utils xdotool xterm xclip
  # the relay cluster tests start their own Redis (redis-cli comes with it)
  redis-server
  # the bad-link tests make network namespaces, veth pairs and netem qdiscs (ip, tc)
  iproute2
  libgl1 libglx-mesa0 libgl1-mesa-dri libegl1 libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0
)
# Not needed by the tests: `scripts/install-deps.sh --review` adds screenshot tools for looking at the
# windows under Xvfb (xwd, ImageMagick's import/convert) and ffmpeg for the codec's VP9 comparison
# (shared/bench/peers.sh, crates/codec/PERFORMANCE.md), and the VNC peers `tandem bench --session
# --compare vnc` measures Tandem against: TigerVNC's x0vncserver and vncviewer, and x11vnc.
if [[ ${1:-} == --review ]]; then
  packages+=(x11-apps imagemagick ffmpeg tigervnc-scraping-server tigervnc-viewer x11vnc)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing packages: ${missing[*]} — run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust 1.95 or newer (https://rustup.rs)" >&2
  exit 1
fi
