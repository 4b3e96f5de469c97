#!/usr/bin/env bash
# Installs nvcc 11.8 and the CUDA driver headers and stubs (Debian's
# nvidia-cuda-toolkit and nvidia-cuda-dev, non-free) when they are missing.
# Used by test.sh; safe to run again. Needs root (or sudo) and apt.
set -euo pipefail

if command -v nvcc >/dev/null 2>&1 && [ -f /usr/include/cuda.h ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-nvcc: nvcc is missing and this system has no apt-get; install CUDA 11.8 by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-nvcc: nvcc is missing and installing it needs root" >&2; exit 1
  fi
fi

# nvidia-cuda-toolkit lives in Debian's non-free component (Ubuntu's
# multiverse): enable it on every Components: line of the deb822 sources,
# or on the classic list.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  $SUDO sed -i -E '/^Components:/{/ non-free( |$)/!s/$/ contrib non-free/}' /etc/apt/sources.list.d/debian.sources
elif [ -f /etc/apt/sources.list.d/ubuntu.sources ]; then
  $SUDO sed -i -E '/^Components:/{/ multiverse( |$)/!s/$/ multiverse/}' /etc/apt/sources.list.d/ubuntu.sources
elif [ -f /etc/apt/sources.list ]; then
  $SUDO sed -i -E '/^deb .*debian/{/ non-free( |$)/!s/$/ contrib non-free/}' /etc/apt/sources.list
  $SUDO sed -i -E '/^deb .*ubuntu/{/ multiverse( |$)/!s/$/ multiverse/}' /etc/apt/sources.list
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit nvidia-cuda-dev
command -v nvcc >/dev/null
test -f /usr/include/cuda.h
