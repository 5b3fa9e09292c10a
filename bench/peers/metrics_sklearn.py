"""Peer for bench/metrics.ts: scikit-learn's time for the same AUROC + AUPRC work on the same data.

argv: scores.f32 labels.u8 rows classes reps. Prints one JSON object: per-repetition times in ms of
roc_auc_score + average_precision_score per class (AUROC and sklearn's AUPRC), the trapezoidal
auc(precision_recall_curve) on top, and the values (to check agreement)."""
import json
import sys
import time

import numpy as np
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score


def main():
    scores_path, labels_path, rows, classes, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    S = np.fromfile(scores_path, dtype=np.float32).reshape(rows, classes)
    Y = np.fromfile(labels_path, dtype=np.uint8).reshape(rows, classes)
    cols = [(np.ascontiguousarray(Y[:, c]), np.ascontiguousarray(S[:, c])) for c in range(classes)]
    times, times_trapz = [], []
    values = None
    for _ in range(reps):
        t0 = time.perf_counter()
        aurocs = [roc_auc_score(y, s) for y, s in cols]
        aps = [average_precision_score(y, s) for y, s in cols]
        t1 = time.perf_counter()
        trapz = []
        for y, s in cols:
            p, r, _ = precision_recall_curve(y, s)
            trapz.append(auc(r, p))
        t2 = time.perf_counter()
        times.append((t1 - t0) * 1e3)
        times_trapz.append((t2 - t1) * 1e3)
        values = {"auroc": aurocs, "ap": aps, "auprc": trapz}
    print(json.dumps({"ms": times, "trapz_ms": times_trapz, "values": values, "sklearn": __import__("sklearn").__version__}))


main()
