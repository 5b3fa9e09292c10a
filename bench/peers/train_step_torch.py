"""Training throughput of torchvision's DenseNet121 on the CPU, the PyTorch peer of bench/native-tf.ts.

Multi-label setup as medtrain trains it: sigmoid outputs (BCE with logits), Adam 1e-4, random data.
Protocol (shared with the harness's other contenders): argv[1] is a JSON object with size, batch,
warmup, classes (and optionally threads); after building and `warmup` steps it prints one JSON line
{"ready": true, ...}; then for each line N on stdin it trains N steps and prints {"stepSeconds": [...], "cpuSeconds": [...]}.
"""
import json
import os
import sys
import time

import torch
import torchvision

args = json.loads(sys.argv[1])
torch.set_num_threads(int(args.get("threads") or os.cpu_count()))
torch.manual_seed(0)

model = torchvision.models.densenet121(num_classes=args["classes"])
model.train()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
loss_fn = torch.nn.BCEWithLogitsLoss()
b, s = args["batch"], args["size"]
x = torch.rand(b, 3, s, s)
y = (torch.rand(b, args["classes"]) < 0.3).float()


def steps(n):
    times, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # CPU time of all the process's threads
    return {"stepSeconds": times, "cpuSeconds": cpu}


steps(args["warmup"])
print(json.dumps({
    "ready": True,
    "framework": "pytorch",
    "version": torch.__version__,
    "torchvision": torchvision.__version__,
    "threads": torch.get_num_threads(),
    "params": sum(p.numel() for p in model.parameters()),
}), flush=True)
for line in sys.stdin:
    print(json.dumps(steps(int(line))), flush=True)
