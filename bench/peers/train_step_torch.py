"""Training throughput of torchvision's DenseNet121 on the CPU, the PyTorch peer of bench/native-tf.ts.

Input: one JSON object on argv[1] with size, batch, steps, warmup, classes, threads.
Output: one JSON line: per-step seconds, images per second (median step), versions.
Multi-label setup as medtrain trains it: sigmoid outputs, binary cross-entropy, Adam.
"""
import json
import os
import sys
import time

import torch
import torchvision

args = json.loads(sys.argv[1])
threads = int(args.get("threads") or os.cpu_count())
torch.set_num_threads(threads)
torch.manual_seed(0)

model = torchvision.models.densenet121(num_classes=args["classes"])
model.train()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
loss_fn = torch.nn.BCEWithLogitsLoss()
b, s = args["batch"], args["size"]
x = torch.rand(b, 3, s, s)
y = (torch.rand(b, args["classes"]) < 0.3).float()

times = []
for step in range(args["warmup"] + args["steps"]):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    loss.item()
    if step >= args["warmup"]:
        times.append(time.perf_counter() - t0)

med = sorted(times)[len(times) // 2]
print(json.dumps({
    "framework": "pytorch",
    "version": torch.__version__,
    "torchvision": torchvision.__version__,
    "threads": torch.get_num_threads(),
    "stepSeconds": times,
    "imgPerSec": b / med,
    "bestImgPerSec": b / min(times),
}))
