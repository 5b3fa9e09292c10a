"""Training throughput of keras.applications.DenseNet121 on the CPU (TensorFlow backend), the Keras
peer of bench/native-tf.ts: the same libtensorflow that setup:tensorflow builds tfjs-node against,
driven by Keras's compiled train step instead of tfjs-node's op-by-op eager calls.

Protocol (shared with the harness's other contenders): argv[1] is a JSON object with size, batch,
warmup, classes; after building and `warmup` steps it prints one JSON line {"ready": true, ...};
then for each line N on stdin it trains N steps and prints {"stepSeconds": [...], "cpuSeconds": [...]}.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import numpy as np
import keras
import tensorflow as tf

args = json.loads(sys.argv[1])
keras.utils.set_random_seed(0)
b, s, c = args["batch"], args["size"], args["classes"]
model = keras.applications.DenseNet121(weights=None, input_shape=(s, s, 3), classes=c, classifier_activation="sigmoid")
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
rng = np.random.default_rng(0)
x = rng.random((b, s, s, 3), dtype=np.float32)
y = (rng.random((b, c)) < 0.3).astype(np.float32)


def steps(n):
    times, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # CPU time of all the process's threads
    return {"stepSeconds": times, "cpuSeconds": cpu}


steps(max(args["warmup"], 1))  # the first step traces and compiles the train function
print(json.dumps({
    "ready": True,
    "framework": "keras",
    "version": keras.__version__,
    "tensorflow": tf.__version__,
    "params": model.count_params(),
}), flush=True)
for line in sys.stdin:
    print(json.dumps(steps(int(line))), flush=True)
