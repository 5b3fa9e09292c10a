#!/usr/bin/env bash
# Runs on the accelerator machine (no registries, no Node.js): unpacks the carried Vulkan loader,
# Node and Dawn, then times WebGPU training (bench/gpu/webgpu-train.ts, bundled) and PyTorch on the
# same GPU. See bench/gpu/README.md for how .device/ is prepared.
set -uo pipefail
CFG=${1:-'{"seconds":8}'}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for f in .device/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
mkdir -p /tmp/node && xz -dc .device/node.xz > /tmp/node/node && chmod +x /tmp/node/node
xz -dc .device/gpu/dawn.node.xz > .device/gpu/node_modules/webgpu/dist/linux-x64/dawn.node
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
(cd .device/gpu && /tmp/node/node bench.mjs "$CFG" > "$OUT/webgpu.json" 2> "$OUT/webgpu.log"); echo "webgpu rc=$?"
tail -5 "$OUT/webgpu.log"
python3 .device/gpu/gpu_torch.py "$CFG" > "$OUT/torch.json" 2> "$OUT/torch.log"; echo "torch rc=$?"
python3 .device/gpu/gpu_torch.py "$(echo "$CFG" | sed 's/^{/{"tf32":true,/')" > "$OUT/torch-tf32.json" 2>> "$OUT/torch.log"; echo "torch tf32 rc=$?"
cat "$OUT/webgpu.json" "$OUT/torch.json" "$OUT/torch-tf32.json"
