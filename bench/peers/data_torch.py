"""Peer for `npm run bench -- data`: torchvision's DataLoader on the same JPEG files.

Decode (PIL) -> resize 256 -> RandomAffine (rotation 15, translation 5%, scale 0.95-1.05, fill 128)
-> centre crop 224 -> tensor -> ImageNet normalisation, batches of B, num_workers workers.
Mode 'rgb' converts to RGB on load (as CheXpert pipelines written for ImageNet models do); mode
'grey' keeps one channel through the transforms and repeats it to three at the end (the fastest
honest PIL pipeline). Prints one JSON line.

Usage: python3 data_torch.py --files LIST --batch 32 --workers 2 --epochs 2 --mode rgb
"""
import argparse
import json
import os
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class Files(Dataset):
    def __init__(self, paths, mode, resize, dim):
        self.paths = paths
        self.mode = mode
        self.tf = T.Compose([
            T.Resize((resize, resize), interpolation=T.InterpolationMode.BILINEAR),
            T.RandomAffine(degrees=15, translate=(0.05, 0.05), scale=(0.95, 1.05), fill=128,
                           interpolation=T.InterpolationMode.BILINEAR),
            T.CenterCrop(dim),
            T.ToTensor(),
        ])
        self.norm = T.Normalize(MEAN, STD)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img = Image.open(self.paths[i])
        img = img.convert('RGB') if self.mode == 'rgb' else img.convert('L')
        x = self.tf(img)
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        return self.norm(x), torch.zeros(5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--files', required=True)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--resize', type=int, default=256)
    ap.add_argument('--dim', type=int, default=224)
    ap.add_argument('--mode', choices=['rgb', 'grey'], default='rgb')
    a = ap.parse_args()
    paths = [p for p in open(a.files).read().split('\n') if p]
    torch.manual_seed(0)
    loader = DataLoader(Files(paths, a.mode, a.resize, a.dim), batch_size=a.batch, shuffle=True,
                        num_workers=a.workers, persistent_workers=a.workers > 0, drop_last=False)
    # Warm-up: start the workers and take one batch, outside the timing (as for medtrain).
    it = iter(loader)
    next(it)
    pids = [w.pid for w in getattr(it, '_workers', [])]
    del it
    images = 0
    c0 = cpu_seconds(pids)
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        for x, _y in loader:
            images += x.shape[0]
    secs = time.perf_counter() - t0
    cpu = cpu_seconds(pids) - c0
    print(json.dumps({'images': images, 'seconds': secs, 'imagesPerSecond': images / secs,
                      'cpuSeconds': cpu, 'imagesPerCpuSecond': images / cpu if cpu > 0 else None,
                      'torch': torch.__version__, 'mode': a.mode, 'workers': a.workers}))


def cpu_seconds(pids):
    """CPU time of this process and of the DataLoader's worker processes (Linux /proc)."""
    total = time.process_time()
    tick = os.sysconf('SC_CLK_TCK')
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


if __name__ == '__main__':
    main()
