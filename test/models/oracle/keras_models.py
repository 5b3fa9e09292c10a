"""Keras oracle for medtrain's model tests: builds keras.applications models with seeded random
weights, saves them in Keras's weight-file layouts and records their outputs on a fixed input.

Reads a JSON job list on stdin, writes files under the job's `dir`, prints one JSON line of results.
Jobs:
  {"kind": "parity", "model": "DenseNet121", "size": 64, "seed": 1, "batch": 2,
   "format": "h5" | "model-h5" | "weights-h5" | "keras", "file": "x.h5", "output": "x.bin",
   "head": null | {"units": 1024, "classes": 5, "nested": false}}   # the reference classifier on top
  {"kind": "structure", "model": "DenseNet169", "size": 224}
  {"kind": "keras2", "src": "x.h5", "file": "y.h5"}       # a Keras 2-style copy of a "h5" file
  {"kind": "cam", ...parity's fields with a head..., "layer": "relu", "explain": [0, 3], "maps": "x-cam"}
      # Grad-CAM and Grad-CAM++ of the classes' logits at the layer, by GradientTape: <maps>-<k>-gradcam.bin, ...
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import applications  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402
import h5py  # noqa: E402


def fixed_input(batch, size, model_name):
    """Deterministic input both sides compute: a smooth pattern in [-1, 1] ([0, 255] for EfficientNet)."""
    n = batch * size * size * 3
    x = np.sin(np.arange(n, dtype=np.float64) * 0.37 + 0.5).astype(np.float32).reshape(batch, size, size, 3)
    if model_name.startswith("EfficientNet"):
        x = (x + 1.0) * 127.5
    return x


def build(job):
    keras.backend.clear_session()
    keras.utils.set_random_seed(job.get("seed", 1))
    base = getattr(applications, job["model"])(
        include_top=False, weights=None, input_shape=(job["size"], job["size"], 3)
    )
    head = job.get("head")
    if not head:
        return base
    # The reference Keras codebase's classifier: GAP -> Dense(units, relu) -> Dense(classes, sigmoid),
    # on the backbone's layers (flat) or on the backbone used as one layer (nested).
    if head.get("nested"):
        inp = keras.Input((job["size"], job["size"], 3))
        x = keras.layers.GlobalAveragePooling2D()(base(inp))
    else:
        inp = base.input
        x = keras.layers.GlobalAveragePooling2D()(base.output)
    if head.get("units"):
        x = keras.layers.Dense(head["units"], activation="relu")(x)
    out = keras.layers.Dense(head["classes"], activation="sigmoid")(x)
    return keras.Model(inp, out)


def all_layers(model):
    for l in model.layers:
        if isinstance(l, keras.Model):
            yield from all_layers(l)
        else:
            yield l


# Without a floor on BN variances a random deep net is chaotic: a 1% change of its first layer moves
# the output by its whole size, and Keras's own float32 output is 1e-4 away from its float64 one. With
# the floor a 1% change still moves the output by about 1% while float32 stays within ~3e-6 of float64;
# too high a floor lets the signal die out instead. The multiple that keeps each family in between:
VARIANCE_FLOOR = {"MobileNetV2": 1.2, "EfficientNetB0": 0.5}


def randomise_statistics(model, x, rng, floor=1.5):
    """Make BN parameters and statistics matter without letting activations blow up: random gamma and
    beta, then moving statistics set to the batch statistics (one training-mode pass with momentum 0)
    of the fixed input plus 14 noise images, so inference keeps activations near unit scale.
    EfficientNet's Normalization gets random mean and variance first. The test checks that the
    outputs stay sensitive to the first layer's weights."""
    for l in all_layers(model):
        if isinstance(l, keras.layers.Normalization):
            mean, var, count = l.get_weights()
            l.set_weights([rng.uniform(0.3, 0.7, mean.shape).astype(np.float32), rng.uniform(0.04, 0.09, var.shape).astype(np.float32), count])
            l.finalize_state()  # Normalization computes with copies made here
    bns = [l for l in all_layers(model) if isinstance(l, keras.layers.BatchNormalization)]
    for l in bns:
        w = l.get_weights()
        c = w[-1].shape[0]
        new = []
        if l.scale:
            new.append(rng.uniform(0.5, 1.5, c))
        if l.center:
            new.append(rng.normal(0, 0.2, c))
        l.set_weights([a.astype(np.float32) for a in new] + w[-2:])
    saved = [l.momentum for l in bns]
    for l in bns:
        l.momentum = 0.0
    noise = rng.uniform(x.min(), x.max(), (14,) + x.shape[1:]).astype(np.float32)
    model(np.concatenate([x, noise]), training=True)
    for l, m in zip(bns, saved):
        l.momentum = m
        # Floor each layer's variances at a multiple of their mean (see VARIANCE_FLOOR).
        w = l.get_weights()
        w[-1] = np.maximum(w[-1], floor * float(w[-1].mean())).astype(np.float32)
        l.set_weights(w)


def save(model, fmt, path):
    if fmt == "h5":  # the keras.applications layout: weights only, layer_names at the root
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    elif fmt == "model-h5":  # whole-model save in the legacy format
        model.save(path)
    elif fmt in ("weights-h5", "keras"):  # Keras 3's native layouts
        (model.save_weights if fmt == "weights-h5" else model.save)(path)
    else:
        raise ValueError(fmt)


def keras2_copy(src, dst):
    """Rewrite a legacy weights file the way Keras 2 wrote them: fixed-length byte-string attributes,
    `name:0` weight names, other layer names (with '/', which nests groups, as Keras 2.1's DenseNet
    had), keras_version 2.2.4, and `layer_names` split into chunks (as Keras does past 64 KB)."""

    def rename(n):
        return n.replace("_conv", "/conv").replace("_bn", "/bn")

    def text(v):
        return v.decode() if isinstance(v, bytes) else str(v)

    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        names = [text(n) for n in f.attrs["layer_names"]]
        new = [rename(n) for n in names]
        half = len(new) // 2
        g.attrs["layer_names0"] = np.array([n.encode() for n in new[:half]], dtype="S")
        g.attrs["layer_names1"] = np.array([n.encode() for n in new[half:]], dtype="S")
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.2.4"
        for n, nn in zip(names, new):
            grp = g.require_group(nn)
            wn = [text(w) for w in f[n].attrs["weight_names"]]
            nwn = [f"{nn}/{w.split('/')[-1]}:0" for w in wn]
            grp.attrs["weight_names"] = np.array([w.encode() for w in nwn], dtype="S") if nwn else np.zeros((0,), "S1")
            for w, x in zip(wn, nwn):
                grp.create_dataset(x, data=f[n][w][()])
    return {}


def parity(job):
    model = build(job)
    rng = np.random.default_rng(job.get("seed", 1))
    x = fixed_input(job.get("batch", 2), job["size"], job["model"])
    randomise_statistics(model, x, rng, VARIANCE_FLOOR.get(job["model"], 1.5))
    path = os.path.join(job["dir"], job["file"])
    save(model, job["format"], path)
    y = np.asarray(model(x, training=False), dtype=np.float32)
    y.tofile(os.path.join(job["dir"], job["output"]))
    return {"shape": list(y.shape), "absmax": float(np.abs(y).max()), **describe(model)}


def cams(job):
    """The parity model, then Grad-CAM and Grad-CAM++ maps of each class's logit at a layer (GradientTape)."""
    import tensorflow as tf

    model = build(job)
    rng = np.random.default_rng(job.get("seed", 1))
    x = fixed_input(job.get("batch", 2), job["size"], job["model"])
    randomise_statistics(model, x, rng, VARIANCE_FLOOR.get(job["model"], 1.5))
    save(model, job["format"], os.path.join(job["dir"], job["file"]))
    dense = model.layers[-1]
    grad_model = keras.Model(model.inputs, [model.get_layer(job["layer"]).output, dense.input])
    out = {}
    for k in job["explain"]:
        with tf.GradientTape() as tape:
            a, h = grad_model(x, training=False)
            logits = tf.matmul(h, dense.kernel) + dense.bias  # the sigmoid's input
            score = tf.reduce_sum(logits[:, k])
        g = tape.gradient(score, a).numpy().astype(np.float64)
        a = a.numpy().astype(np.float64)
        cam = np.maximum((a * g.mean(axis=(1, 2), keepdims=True)).sum(-1), 0)
        g2 = g**2
        g3 = g2 * g
        alpha = np.where(g != 0, g2 / (2 * g2 + a.sum(axis=(1, 2), keepdims=True) * g3 + 1e-7), 0)
        campp = np.maximum((a * (alpha * np.maximum(g, 0)).sum(axis=(1, 2), keepdims=True)).sum(-1), 0)
        for name, m in (("gradcam", cam), ("gradcam++", campp)):
            m.astype(np.float32).tofile(os.path.join(job["dir"], f"{job['maps']}-{k}-{name}.bin"))
            out[f"{k}-{name}"] = float(m.max())
        out["shape"] = list(cam.shape)
    return out


def describe(model):
    """Ordered layers: name, class, and each weight's name and shape; the parameter count."""
    layers = [
        [l.name, l.__class__.__name__, [[w.path.split("/")[-1], list(w.shape)] for w in l.weights]]
        for l in model.layers
    ]
    return {"params": int(model.count_params()), "layers": layers}


def structure(job):
    keras.backend.clear_session()
    model = getattr(applications, job["model"])(
        include_top=False, weights=None, input_shape=(job["size"], job["size"], 3)
    )
    return describe(model)


def main():
    jobs = json.load(sys.stdin)
    out = []
    for job in jobs:
        if job["kind"] == "keras2":
            out.append(keras2_copy(os.path.join(job["dir"], job["src"]), os.path.join(job["dir"], job["file"])))
        elif job["kind"] == "cam":
            out.append(cams(job))
        else:
            out.append(parity(job) if job["kind"] == "parity" else structure(job))
    print(json.dumps(out))


main()
