"""PyTorch peer of `npm run bench -- training`: whole training epochs over the same JPEG files.

The equivalent of medtrain's pipeline: a Dataset decoding each greyscale JPEG with PIL, resizing it
to dim x dim (bilinear, stretched), repeating it to three channels and normalising with ImageNet's
mean and std ("torch" preprocessing); a DataLoader with the same number of worker processes,
shuffled, batch B, last batch kept; torchvision's DenseNet class with the same growth rate, block
configuration and stem width (bn_size 4, as Keras), its classifier replaced by medtrain's head
(Dense(head units, relu) then Dense(classes)) with a sigmoid; the masked CWBCE loss on
probabilities with medtrain's class weights; Adam (epsilon 1e-7, as Keras).

Protocol (bench/_contender.ts): argv[1] is a JSON file with files, labels (-1 where masked),
weights {positive, negative}, dim, batch, workers, threads, lr, growthRate, blocks, stemFilters,
headUnits. It trains one warm-up epoch and prints {"ready": true, ...}; then for each line on stdin
it trains one epoch and prints {"images", "seconds", "cpuSeconds", "loss"}. CPU seconds count this
process's threads and the DataLoader's worker processes.
"""
import json
import sys
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from data_torch import MEAN, STD, cpu_seconds

EPSILON = 1e-7  # medtrain's (and Keras's) clip and log epsilon


class Files(Dataset):
    def __init__(self, paths, labels, dim):
        self.paths = paths
        self.labels = torch.tensor(labels, dtype=torch.float32)
        self.tf = T.Compose([
            T.Resize((dim, dim), interpolation=T.InterpolationMode.BILINEAR),
            T.ToTensor(),
        ])
        self.norm = T.Normalize(MEAN, STD)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        x = self.tf(Image.open(self.paths[i]).convert('L')).expand(3, -1, -1)
        return self.norm(x), self.labels[i]


def build_model(spec, classes):
    model = torchvision.models.DenseNet(growth_rate=spec['growthRate'], block_config=tuple(spec['blocks']),
                                        num_init_features=spec['stemFilters'], bn_size=4, num_classes=classes)
    features = model.classifier.in_features
    units = spec['headUnits']
    head = [torch.nn.Linear(features, units), torch.nn.ReLU(inplace=True), torch.nn.Linear(units, classes)] if units else [torch.nn.Linear(features, classes)]
    model.classifier = torch.nn.Sequential(*head, torch.nn.Sigmoid())
    return model


def cwbce(positive, negative):
    """medtrain's masked CWBCE on probabilities: sum(m * l) / max(sum(m), 1)."""
    wp = torch.tensor(positive, dtype=torch.float32)
    wn = torch.tensor(negative, dtype=torch.float32)

    def loss(y_true, p):
        mask = (y_true >= 0).float()
        y = y_true * mask
        p = p.clamp(EPSILON, 1 - EPSILON)
        entry = wp * y * -torch.log(p + EPSILON) + wn * (1 - y) * -torch.log(1 - p + EPSILON)
        return (entry * mask).sum() / mask.sum().clamp(min=1)

    return loss


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    classes = len(spec['labels'][0])
    loader = DataLoader(Files(spec['files'], spec['labels'], spec['dim']), batch_size=spec['batch'], shuffle=True,
                        num_workers=spec['workers'], persistent_workers=spec['workers'] > 0, drop_last=False)
    model = build_model(spec, classes)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=spec['lr'], eps=1e-7)
    loss_fn = cwbce(spec['weights']['positive'], spec['weights']['negative'])

    def epoch():
        pids = [w.pid for w in getattr(loader._iterator, '_workers', [])] if loader._iterator else []
        c0 = cpu_seconds(pids)
        t0 = time.perf_counter()
        images, total = 0, 0.0
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(y, model(x))
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
            images += x.shape[0]
        seconds = time.perf_counter() - t0
        # The persistent workers started with the first epoch: count them from the second on.
        pids = pids or [w.pid for w in getattr(loader._iterator, '_workers', [])]
        return {'images': images, 'seconds': seconds, 'cpuSeconds': cpu_seconds(pids) - c0, 'loss': total / max(images, 1)}

    warm = epoch()
    print(json.dumps({
        'ready': True,
        'framework': 'pytorch',
        'version': torch.__version__,
        'torchvision': torchvision.__version__,
        'threads': torch.get_num_threads(),
        'workers': spec['workers'],
        'trainableParams': sum(p.numel() for p in model.parameters() if p.requires_grad),
        'warmup': warm,
    }), flush=True)
    for _line in sys.stdin:
        print(json.dumps(epoch()), flush=True)


if __name__ == '__main__':
    main()
