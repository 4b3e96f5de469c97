#!/usr/bin/env bash
# Installs what the OpenGL viewer's build and tests need when it is
# missing: the X11 and GL headers GLFW compiles against, Mesa's software
# renderer (llvmpipe: OpenGL 4.5 core) and Xvfb, a display server without
# a screen. Used by test.sh; safe to run again. Needs root (or sudo) and apt.
set -euo pipefail

pkgs="xvfb xauth libx11-dev libxrandr-dev libxcursor-dev libxinerama-dev libxi-dev libgl-dev libxxf86vm-dev libgl1-mesa-dri"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-gl: missing$missing, and this system has no apt-get; install them by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-gl: missing$missing, and installing them needs root" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
command -v xvfb-run >/dev/null
