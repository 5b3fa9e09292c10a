#!/usr/bin/env bash
# Sets medtrain up on a fresh Debian 12 machine (Node >= 20, Python 3 with pip):
#   - g++ and make, when missing (apt), to build the native TensorFlow engine's addon;
#   - the npm packages (npm ci);
#   - the native TensorFlow engine (npm run setup:tensorflow: tfjs-node built against libtensorflow
#     from the TensorFlow CPU wheel on PyPI), the fastest engine on a CPU. If it cannot be built,
#     medtrain still works: `auto` then trains on WASM, about 3 times slower.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq g++ make >/dev/null
  fi
fi

npm ci --no-fund --no-audit
if ! npm run -s setup:tensorflow; then
  echo "medtrain: the native TensorFlow engine was not built (see above); training will run on WASM, which is slower" >&2
  if [ "${MEDTRAIN_REQUIRE_TENSORFLOW:-0}" = 1 ]; then exit 1; fi
fi
exit 0
