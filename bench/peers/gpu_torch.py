"""PyTorch peer of bench/gpu/webgpu-train.ts: the same small CNN and torchvision's DenseNet121 (14
sigmoid outputs), whole train steps (forward, BCE, backward, Adam, loss read back), synthetic data,
on CUDA when present. float32; TF32 off unless {"tf32": true}. Prints one JSON line.
"""
import json
import sys
import time

import torch
from torch import nn
import torchvision


def small_cnn(classes, size):
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * (size // 8) ** 2, classes), nn.Sigmoid())


def densenet121(classes):
    m = torchvision.models.densenet121(weights=None)
    m.classifier = nn.Sequential(nn.Linear(m.classifier.in_features, classes), nn.Sigmoid())
    return m


def time_train(model, size, batch, classes, seconds, dev):
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.BCELoss()
    x = torch.rand(batch, 3, size, size, device=dev) * 2 - 1
    y = (torch.rand(batch, classes, device=dev) < 0.3).float()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    steps, t0 = 0, time.perf_counter()
    while steps < 5 or time.perf_counter() - t0 < seconds:
        last = step()
        steps += 1
    s = time.perf_counter() - t0
    return {"imgPerSec": steps * batch / s, "steps": steps, "seconds": s, "lastLoss": last, "size": size, "batch": batch}


def main():
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    seconds = float(cfg.get("seconds", 10))
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tf32 = bool(cfg.get("tf32", False))
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    out = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "torch": torch.__version__, "tf32": tf32,
           "small": [], "densenet121": []}
    for c in cfg.get("small", [{"size": 64, "batch": 8}, {"size": 64, "batch": 64}]):
        out["small"].append(time_train(small_cnn(5, c["size"]), c["size"], c["batch"], 5, seconds, dev))
    for c in cfg.get("densenet", [{"size": 128, "batch": 8}, {"size": 224, "batch": 8}, {"size": 224, "batch": 32}]):
        out["densenet121"].append(time_train(densenet121(14), c["size"], c["batch"], 14, seconds, dev))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
