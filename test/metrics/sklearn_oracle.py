"""Oracle for test/metrics/sklearn.oracle.test.ts: scikit-learn's numbers for the cases on stdin (one JSON round trip)."""
import json
import math
import sys
import warnings

import numpy as np
import sklearn
import sklearn.utils.validation
from scipy import sparse, special, stats
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
    roc_curve,
)

warnings.filterwarnings("ignore")
# Speed only, never the arithmetic: the suite makes thousands of small calls, and most of their time
# goes to argument validation and to asking whether each NumPy array is a data frame.
sklearn.set_config(skip_parameter_validation=True, assume_finite=True)
_is_frame = sklearn.utils.validation._nw_into_df_or_series
sklearn.utils.validation._nw_into_df_or_series = lambda x: False if isinstance(x, np.ndarray) else _is_frame(x)


def clean(x):
    """JSON without NaN/Infinity: NaN -> None, +-inf -> 'inf' / '-inf'."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(x, np.integer):
        return int(x)
    return x


def best_thresholds(y, fpr, tpr, thr):
    """Exact integer search over sklearn's curve points; argmax takes the first (highest) threshold on ties."""
    thr = thr[1:]
    P = int(y.sum())
    N = int(len(y) - P)
    tps = np.rint(tpr[1:] * P).astype(np.int64) if P else np.zeros(len(thr), np.int64)
    fps = np.rint(fpr[1:] * N).astype(np.int64) if N else np.zeros(len(thr), np.int64)
    out = {"youden": None, "balanced": None, "f1": None, "f2": None}
    if P and N:
        out["youden"] = float(thr[np.argmax(tps * N - fps * P)])
        out["balanced"] = float(thr[np.argmax(-np.abs(tps * N + fps * P - P * N))])
    if P:
        for name, b2 in (("f1", 1), ("f2", 4)):
            num, den = (1 + b2) * tps, b2 * P + tps + fps
            # F = num / den: compare exactly via the rational values (Fraction-free: den > 0 here).
            best = 0
            for k in range(1, len(thr)):
                if num[k] * den[best] > num[best] * den[k]:
                    best = k
            out[name] = float(thr[best])
    return out


def binary_case(c):
    s = np.asarray(c["scores"], dtype=np.float64)
    y = np.asarray(c["labels"], dtype=np.float64)
    w = np.asarray(c["weights"], dtype=np.float64)
    keep = y >= 0
    s, y, w = s[keep], (y[keep] >= 0.5).astype(int), w[keep]
    out = {"n": int(len(y)), "positives": int(y.sum())}
    both = len(y) > 0 and 0 < y.sum() < len(y)
    out["auroc"] = roc_auc_score(y, s) if both else None
    if y.sum() > 0:
        out["ap"] = average_precision_score(y, s)
        p, r, t = precision_recall_curve(y, s)
        out["auprc"] = auc(r, p)
        out["pr"] = {"precision": p, "recall": r, "thresholds": t}
    else:
        out["ap"] = out["auprc"] = None
    if both:
        fpr, tpr, thr = roc_curve(y, s)
        out["roc"] = {"fpr": fpr, "tpr": tpr, "thresholds": thr}
    if len(y):
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
        if both:
            out["roc_full"] = {"fpr": fpr, "tpr": tpr, "thresholds": thr}
        out["thresholds"] = best_thresholds(y, fpr, tpr, thr)
        out["accuracy"] = float(np.mean(y == (s >= c["threshold"])))
    # Sample weights (bootstrap multiplicities): sklearn drops zero-weight samples.
    nz = w > 0
    if c["checkWeights"] and nz.any() and 0 < y[nz].sum() < nz.sum():
        out["w_auroc"] = roc_auc_score(y, s, sample_weight=w)
        out["w_ap"] = average_precision_score(y, s, sample_weight=w)
        p, r, _ = precision_recall_curve(y, s, sample_weight=w)
        out["w_auprc"] = auc(r, p)
    return out


def scores_at_thresholds(cases):
    """precision_recall_fscore_support for every case in one call per setting: the cases sit block-
    diagonally in one multi-label matrix (entries outside a case's block are 0 in both the truth and
    the prediction, i.e. true negatives, which precision, recall and F-beta never count).
    Specificity is the recall of the complementary block."""
    keep = [np.asarray(c["labels"]) >= 0 for c in cases]
    ys = [(np.asarray(c["labels"])[k] >= 0.5).astype(np.int8) for c, k in zip(cases, keep)]
    hs = [(np.asarray(c["scores"], dtype=np.float64)[k] >= c["threshold"]).astype(np.int8) for c, k in zip(cases, keep)]
    rows = sum(len(y) for y in ys)
    row = np.arange(rows)
    col = np.concatenate([np.full(len(y), j) for j, y in enumerate(ys)])
    y, h = np.concatenate(ys), np.concatenate(hs)
    def block(v):
        m = sparse.csr_matrix((v, (row, col)), shape=(rows, len(cases)), dtype=np.int8)
        m.eliminate_zeros()  # sklearn counts stored entries as non-zero
        return m

    Y, H, Yn, Hn = block(y), block(h), block(1 - y), block(1 - h)
    out = {}
    for name, zd in (("nan", np.nan), ("zero", 0.0), ("one", 1.0)):
        p, rc, f1, _ = precision_recall_fscore_support(Y, H, beta=1.0, average=None, zero_division=zd)
        f2 = precision_recall_fscore_support(Y, H, beta=2.0, average=None, zero_division=zd)[2]
        spec = recall_score(Yn, Hn, average=None, zero_division=zd)
        out[name] = [{"precision": p[j], "recall": rc[j], "f1": f1[j], "f2": f2[j], "specificity": spec[j]} for j in range(len(cases))]
    return out


def multilabel_case(m):
    C = m["classes"]
    S = np.asarray(m["scores"], dtype=np.float64).reshape(-1, C)
    Y = np.asarray(m["labels"], dtype=np.float64).reshape(-1, C)
    T = np.asarray(m["thresholds"], dtype=np.float64)
    out = {}
    mask = Y >= 0
    ys, ss = Y[mask].astype(int), S[mask]
    yh = (S >= T[None, :]).astype(int)[mask]
    out["micro_auroc"] = roc_auc_score(ys, ss)
    out["micro_ap"] = average_precision_score(ys, ss)
    p, r, _ = precision_recall_curve(ys, ss)
    out["micro_auprc"] = auc(r, p)
    mp, mr, mf, _ = precision_recall_fscore_support(ys, yh, average="binary", zero_division=np.nan)
    out["micro_prf"] = [mp, mr, mf]
    out["micro_accuracy"] = accuracy_score(ys, yh)
    if mask.all():
        Yi = Y.astype(int)
        Yh = (S >= T[None, :]).astype(int)
        for avg in ("macro", "weighted", "micro"):
            out[avg + "_auroc_sk"] = roc_auc_score(Yi, S, average=avg)
            out[avg + "_ap_sk"] = average_precision_score(Yi, S, average=avg)
            pr = precision_recall_fscore_support(Yi, Yh, average=avg, zero_division=np.nan)
            f2 = precision_recall_fscore_support(Yi, Yh, beta=2.0, average=avg, zero_division=np.nan)[2]
            out[avg + "_prf_sk"] = [pr[0], pr[1], pr[2], f2]
    return out


def delong_reference(a, b, y):
    """Textbook DeLong (1988): the O(P*N) kernel psi(X, Y) = 1, 1/2, 0; covariance of the components."""
    a, b, y = map(np.asarray, (a, b, y))
    keep = y >= 0
    a, b, y = a[keep], b[keep], (y[keep] >= 0.5)
    res = {}
    V10, V01, aucs = [], [], []
    for s in (a, b):
        X, Yn = s[y], s[~y]
        psi = (X[:, None] > Yn[None, :]).astype(float) + 0.5 * (X[:, None] == Yn[None, :])
        V10.append(psi.mean(axis=1))
        V01.append(psi.mean(axis=0))
        aucs.append(psi.mean())
    m, n = len(V10[0]), len(V01[0])
    S10 = np.cov(np.vstack(V10))
    S01 = np.cov(np.vstack(V01))
    S = S10 / m + S01 / n
    var = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    z = (aucs[0] - aucs[1]) / np.sqrt(var)
    res.update(aucA=aucs[0], aucB=aucs[1], varA=S[0, 0], varB=S[1, 1], cov=S[0, 1], var=var, z=z, p=2 * stats.norm.sf(abs(z)))
    return res


def main():
    data = json.load(sys.stdin)
    out = {
        "binary": [binary_case(c) for c in data["binary"]],
        "atThreshold": scores_at_thresholds(data["binary"]),
        "multilabel": [multilabel_case(m) for m in data["multilabel"]],
        "delong": [delong_reference(d["a"], d["b"], d["labels"]) for d in data["delong"]],
        "erfc": [special.erfc(x) for x in data["erfc"]],
        "ppf": [stats.norm.ppf(p) for p in data["ppf"]],
    }
    print(json.dumps(clean(out)))


main()
