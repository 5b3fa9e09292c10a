"""Keras peer of `npm run bench -- models` (run with python3, which has tensorflow / Keras 3).

Same protocol as models_torch.py: {"cases": [{"model", "size", "mode"}], "batch", "classes",
"seconds"} on stdin, one JSON line out. Each case builds keras.applications.<model> (random weights,
no top) plus medtrain's default head (GlobalAveragePooling2D -> Dense(1024, relu) -> Dense(classes)),
and times `predict_on_batch` or `train_on_batch` (BCE from logits, Adam 1e-4) on random NHWC input,
as Keras compiles them by default (jit_compile='auto').
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from peer_timing import timed  # noqa: E402


def classifier(name, size, classes):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    base = getattr(keras.applications, name)(include_top=False, weights=None, input_shape=(size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    x = keras.layers.Dense(1024, activation="relu")(x)
    return keras.Model(base.input, keras.layers.Dense(classes)(x))


def run(case, batch, classes, seconds):
    model = classifier(case["model"], case["size"], classes)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, case["size"], case["size"], 3)).astype(np.float32)
    y = (rng.random((batch, classes)) > 0.5).astype(np.float32)
    if case["mode"] == "forward":
        step = lambda: model.predict_on_batch(x)  # noqa: E731
    else:
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=keras.losses.BinaryCrossentropy(from_logits=True))
        step = lambda: model.train_on_batch(x, y)  # noqa: E731
    median, n = timed(step, seconds)
    return {"model": case["model"], "imgPerSec": batch / median, "msPerBatch": median * 1000, "iterations": n}


def main():
    job = json.load(sys.stdin)
    results = [run(c, job["batch"], job["classes"], job["seconds"]) for c in job["cases"]]
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    print(json.dumps({"framework": "keras", "version": keras.__version__, "tensorflow": tf.__version__, "threads": threads, "results": results}))


main()
