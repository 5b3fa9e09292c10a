#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for a run on an accelerator machine that has no registries and no
# Node.js: Node's binary (xz), the WebGPU bench bundled into one file with esbuild, Dawn's dawn.node
# (xz), the PyTorch peer, and the Vulkan loader / GLVND Debian packages to unpack there. About 35 MB.
# Then, on that machine, from the repository root: bash .device/gpu/run-device.sh '<config JSON>'.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device/gpu/node_modules/webgpu/dist/linux-x64 .device/debs
[ -f .device/node.xz ] || xz -T0 -6 -c "$(command -v node)" > .device/node.xz
node_modules/.bin/esbuild bench/gpu/webgpu-train.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=.device/gpu/bench.mjs --log-level=error \
  --external:webgpu --external:h5wasm --external:sharp --external:@julusian/jpeg-turbo \
  --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .device/gpu/node_modules/webgpu/
xz -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > .device/gpu/dawn.node.xz
cp bench/peers/gpu_torch.py bench/gpu/run-device.sh .device/gpu/
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/medtrain-apt-amd64'
mkdir -p /tmp/medtrain-apt-amd64/partial
apt-get $o update -qq
(cd .device/debs && apt-get $o download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2)
du -sh .device/node.xz .device/gpu .device/debs
