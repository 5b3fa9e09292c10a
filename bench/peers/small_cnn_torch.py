"""PyTorch peer of medtrain's small CNN (src/backend/small-cnn.ts): the same network, input, batch,
loss and optimizer, timed the same way (whole train steps, the loss read back each step).

usage: /usr/bin/python3 bench/peers/small_cnn_torch.py '{"size":64,"batch":8,"classes":5,"seconds":5}'
prints one JSON line: {"trainImgPerSec": ..., "steps": ..., "warmup": ..., "threads": ..., ...}
"""
import json
import os
import sys
import time

import torch
from torch import nn


def small_cnn(channels: int, classes: int, size: int, filters=(16, 32, 64)) -> nn.Module:
    f1, f2, f3 = filters
    return nn.Sequential(
        nn.Conv2d(channels, f1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(f1, f2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(f2, f3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(f3 * (size // 8) ** 2, classes), nn.Sigmoid(),
    )


def main() -> None:
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    size = int(cfg.get("size", 64))
    batch = int(cfg.get("batch", 8))
    classes = int(cfg.get("classes", 5))
    channels = int(cfg.get("channels", 3))
    seconds = float(cfg.get("seconds", 5))
    warmup = int(cfg.get("warmup", 3))
    min_steps = int(cfg.get("minSteps", 10))
    threads = int(cfg.get("threads", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = small_cnn(channels, classes, size, tuple(cfg.get("filters", (16, 32, 64))))
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.get("learningRate", 1e-3)))
    loss_fn = nn.BCELoss()
    x = torch.rand(batch, channels, size, size)
    y = (torch.rand(batch, classes) < 0.3).float()

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    steps = 0
    t0 = time.perf_counter()
    while steps < min_steps or time.perf_counter() - t0 < seconds:
        last = step()
        steps += 1
    elapsed = time.perf_counter() - t0
    print(json.dumps({
        "trainImgPerSec": steps * batch / elapsed,
        "steps": steps,
        "warmup": warmup,
        "batch": batch,
        "size": size,
        "threads": threads,
        "seconds": elapsed,
        "lastLoss": last,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
