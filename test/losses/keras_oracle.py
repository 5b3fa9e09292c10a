"""Oracle for test/losses/losses.oracle.test.ts: the loss formulas in NumPy (float64) and Keras 3's
BinaryCrossentropy / BinaryFocalCrossentropy, for every case on stdin (one JSON round trip)."""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402


def numpy_loss(c):
    """SPEC's masked CWBCE (clip in the inputs' float32, arithmetic in float64), focal as Keras."""
    y = np.asarray(c["yTrue"], dtype=np.float64)
    pred32 = np.asarray(c["yPred"], dtype=np.float32)
    o = c["options"]
    C = y.shape[1]
    wpos = np.asarray(o.get("weights", {}).get("positive", [1.0] * C), dtype=np.float64)
    wneg = np.asarray(o.get("weights", {}).get("negative", [1.0] * C), dtype=np.float64)
    m = (y >= 0).astype(np.float64)
    yy = np.where(m > 0, y, 0.0)
    if o.get("fromLogits"):
        z = pred32.astype(np.float64)
        lpos = np.logaddexp(0.0, -z)  # -log(sigmoid(z))
        lneg = np.logaddexp(0.0, z)  # -log(1 - sigmoid(z))
        prob = 1.0 / (1.0 + np.exp(-z))
    else:
        eps = np.float32(o.get("epsilon", 1e-7))
        p = np.clip(pred32, eps, np.float32(1) - eps).astype(np.float64)
        e = float(eps) if o.get("logEpsilon", True) else 0.0
        lpos = -np.log(p + e)
        lneg = -np.log(1.0 - p + e)
        prob = pred32.astype(np.float64)
    ent = wpos * yy * lpos + wneg * (1 - yy) * lneg
    focal = o.get("focal")
    if focal:
        pt = yy * prob + (1 - yy) * (1 - prob)
        ent = ent * (1 - pt) ** focal["gamma"]
        if focal.get("alpha") is not None:
            a = focal["alpha"]
            ent = ent * (yy * a + (1 - yy) * (1 - a))
    total = m.sum()
    return float((ent * m).sum() / total) if total > 0 else 0.0


def keras_loss(c):
    """Keras 3 on unmasked data: BinaryCrossentropy or BinaryFocalCrossentropy, mean reduction."""
    o = c["options"]
    y = np.asarray(c["yTrue"], dtype=np.float32)
    p = np.asarray(c["yPred"], dtype=np.float32)
    focal = o.get("focal")
    if focal:
        alpha = focal.get("alpha")
        fn = keras.losses.BinaryFocalCrossentropy(
            gamma=focal["gamma"],
            apply_class_balancing=alpha is not None,
            alpha=alpha if alpha is not None else 0.25,
            from_logits=bool(o.get("fromLogits")),
        )
    else:
        fn = keras.losses.BinaryCrossentropy(from_logits=bool(o.get("fromLogits")))
    return float(np.asarray(fn(y, p)))


def main():
    data = json.load(sys.stdin)
    out = {
        "numpy": [numpy_loss(c) for c in data["numpy"]],
        "keras": [keras_loss(c) for c in data["keras"]],
    }
    print(json.dumps(out))


main()
