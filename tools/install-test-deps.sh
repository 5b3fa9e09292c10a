#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine (as CI does):
#   - Mesa's lavapipe Vulkan driver from bookworm-backports, for the WebGPU engine without a GPU
#     (bookworm's own Mesa 22 is refused by Dawn);
#   - the Python packages the oracle tests compare with (test/oracle/requirements.txt);
#   - then tools/install.sh: g++ and make, the npm packages (npm ci) and the native
#     TensorFlow engine (tfjs-node built against the tensorflow-cpu wheel requirements.txt installs).
# Run as root (or with sudo available). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    if grep -qs "bookworm" /etc/os-release; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        | $SUDO tee /etc/apt/sources.list.d/medtrain-backports.sources >/dev/null
    fi
  fi
  $SUDO apt-get update -qq
  if grep -qs "bookworm" /etc/os-release; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
fi

if [ -f test/oracle/requirements.txt ]; then
  python3 -m pip install -q --disable-pip-version-check -r test/oracle/requirements.txt
fi

# npm ci and the native TensorFlow engine, which the tests need (CI runs suites on it).
MEDTRAIN_REQUIRE_TENSORFLOW=1 bash tools/install.sh
