"""PyTorch peer of `npm run bench -- models` (run with Debian's /usr/bin/python3, which has torch).

Reads {"cases": [{"model", "size", "mode"}], "batch", "classes", "seconds"} as JSON on stdin and
prints one JSON line: {"framework", "version", "threads", "results": [...]}. Each case builds the
torchvision backbone named in TORCHVISION (random weights), adds medtrain's default head (global
average pooling -> Linear(1024) -> ReLU -> Linear(classes)), and times forward passes (eval, no_grad)
or training steps (BCE-with-logits, Adam 1e-4) on random NCHW input: one warm-up, then iterations
until `seconds` have passed (at least one); img/s from the median iteration.
"""
import json
import os
import sys

import torch
import torchvision

from peer_timing import timed

# medtrain name -> (torchvision constructor, note). torchvision has ResNet v1 only and no Xception or
# Inception-ResNet-v2.
TORCHVISION = {
    "DenseNet121": ("densenet121", None),
    "DenseNet169": ("densenet169", None),
    "DenseNet201": ("densenet201", None),
    "ResNet50": ("resnet50", None),
    "ResNet50V2": ("resnet50", "torchvision has ResNet v1 only: resnet50 (v1)"),
    "ResNet101V2": ("resnet101", "torchvision has ResNet v1 only: resnet101 (v1)"),
    "ResNet152V2": ("resnet152", "torchvision has ResNet v1 only: resnet152 (v1)"),
    "InceptionV3": ("inception_v3", None),
    "MobileNetV2": ("mobilenet_v2", None),
    "EfficientNetB0": ("efficientnet_b0", None),
}


def backbone(name):
    ctor = getattr(torchvision.models, name)
    if name == "inception_v3":
        m = ctor(weights=None, aux_logits=False, init_weights=False)
    else:
        m = ctor(weights=None)
    if name.startswith("densenet"):
        return torch.nn.Sequential(m.features, torch.nn.ReLU()), m.classifier.in_features
    if name.startswith("resnet") or name == "inception_v3":
        features = m.fc.in_features
        m.fc = torch.nn.Identity()
        m.avgpool = torch.nn.Identity()
        if name == "inception_v3":
            m.dropout = torch.nn.Identity()
        return _Unflatten(m, features), features
    # mobilenet_v2, efficientnet_b0: .features gives the last feature map
    return m.features, m.classifier[-1].in_features


class _Unflatten(torch.nn.Module):
    """ResNet / Inception3 without pooling and fc return a flattened map: give it its shape back."""

    def __init__(self, m, channels):
        super().__init__()
        self.m = m
        self.channels = channels

    def forward(self, x):
        y = self.m(x)
        return y.reshape(x.shape[0], self.channels, -1)[..., None]


def classifier(name, classes):
    body, features = backbone(name)
    return torch.nn.Sequential(
        body,
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(features, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, classes),
    )


def run(case, batch, classes, seconds):
    entry = TORCHVISION.get(case["model"])
    if entry is None:
        return {"imgPerSec": None, "note": f"torchvision has no {case['model']}"}
    name, note = entry
    torch.manual_seed(0)
    model = classifier(name, classes)
    x = torch.randn(batch, 3, case["size"], case["size"])
    y = (torch.rand(batch, classes) > 0.5).float()
    if case["mode"] == "forward":
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    else:
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        loss_fn = torch.nn.BCEWithLogitsLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    median, n = timed(step, seconds)
    out = {"model": name, "imgPerSec": batch / median, "msPerBatch": median * 1000, "iterations": n}
    if note:
        out["note"] = note
    return out


def main():
    job = json.load(sys.stdin)
    threads = job.get("threads") or os.cpu_count()
    torch.set_num_threads(threads)
    results = [run(c, job["batch"], job["classes"], job["seconds"]) for c in job["cases"]]
    print(json.dumps({"framework": "pytorch", "version": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(), "results": results}))


main()
