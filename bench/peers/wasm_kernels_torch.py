"""The PyTorch peer of bench/wasm-kernels.ts: convolution kernels on the CPU (the small CNN's peer
is small_cnn_torch.py).

Input: one JSON object on argv[1]:
  {"threads": N, "seconds": S, "layers": [{"name", "kind": "conv"|"depthwise", "input": [N,H,W,C],
   "filter": [fh,fw,C,O or mult], "strides": s, "pad": "same"|"valid"}]}
Output: one JSON line: per layer the GFLOP/s of the forward convolution and of its input and filter
gradients (the same FLOP count as medtrain's harness: 2 * output pixels * taps * in * out).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

args = json.loads(sys.argv[1])
torch.set_num_threads(int(args["threads"]))
torch.manual_seed(0)
budget = float(args.get("seconds", 1.0))


def median_seconds(fn):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 50):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def layer(spec):
    n, h, w, c = spec["input"]
    fh, fw, _, o = spec["filter"]
    s = spec["strides"]
    depthwise = spec["kind"] == "depthwise"
    groups = c if depthwise else 1
    out_c = c * o if depthwise else o
    x = torch.randn(n, c, h, w)
    if spec["pad"] == "same":
        (pt, pb), (pl, pr) = same_pad(h, fh, s), same_pad(w, fw, s)
        x = F.pad(x, (pl, pr, pt, pb))
    weight = torch.randn(out_c, c // groups, fh, fw)
    y = F.conv2d(x, weight, stride=s, groups=groups)
    dy = torch.randn_like(y)
    flops = 2 * y.shape[0] * y.shape[2] * y.shape[3] * fh * fw * c * o
    with torch.no_grad():
        t_fwd = median_seconds(lambda: F.conv2d(x, weight, stride=s, groups=groups))
        t_in = median_seconds(lambda: torch.nn.grad.conv2d_input(x.shape, weight, dy, stride=s, groups=groups))
        t_w = median_seconds(lambda: torch.nn.grad.conv2d_weight(x, weight.shape, dy, stride=s, groups=groups))
    return {
        "name": spec["name"],
        "forward": flops / t_fwd / 1e9,
        "backpropInput": flops / t_in / 1e9,
        "backpropFilter": flops / t_w / 1e9,
    }


print(json.dumps({
    "peer": "pytorch",
    "version": torch.__version__,
    "threads": torch.get_num_threads(),
    "layers": [layer(spec) for spec in args["layers"]],
}))
