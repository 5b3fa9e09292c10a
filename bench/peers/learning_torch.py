"""PyTorch peer of `npm run bench -- learning`: the same training recipe on the same split, to compare
how well (not how fast) the two stacks learn.

argv[1] is a JSON file: train/val {files, labels (-1 where masked)}, weights {positive, negative},
dim, batch, workers, threads, lr, epochs, growthRate, blocks, stemFilters, headUnits, seed. The model,
data loading, loss and optimizer are those of training_torch.py (torchvision's DenseNet of medtrain's
layout and head, PIL decoding with "torch" preprocessing, the masked CWBCE, Adam). After each epoch it
prints one JSON line: {"epoch", "seconds", "val": [[probabilities per class] per val case]}, in the
order of the val files; the harness scores them with medtrain's own metrics.
"""
import json
import sys
import time

import torch
from torch.utils.data import DataLoader

from training_torch import Files, build_model, cwbce


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(spec['seed'])
    classes = len(spec['train']['labels'][0])
    train = DataLoader(Files(spec['train']['files'], spec['train']['labels'], spec['dim']), batch_size=spec['batch'], shuffle=True,
                       num_workers=spec['workers'], persistent_workers=spec['workers'] > 0)
    val = DataLoader(Files(spec['val']['files'], spec['val']['labels'], spec['dim']), batch_size=64, shuffle=False, num_workers=spec['workers'])
    model = build_model(spec, classes)
    opt = torch.optim.Adam(model.parameters(), lr=spec['lr'], eps=1e-7)
    loss_fn = cwbce(spec['weights']['positive'], spec['weights']['negative'])
    t0 = time.perf_counter()
    for epoch in range(1, spec['epochs'] + 1):
        model.train()
        for x, y in train:
            opt.zero_grad(set_to_none=True)
            loss_fn(y, model(x)).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            probs = torch.cat([model(x) for x, _ in val]).tolist()
        print(json.dumps({'epoch': epoch, 'seconds': time.perf_counter() - t0, 'val': probs}), flush=True)


if __name__ == '__main__':
    main()
