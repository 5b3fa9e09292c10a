/**
 * The small conv net that measures an engine: `medtrain doctor`, `medtrain bench engines` (beside
 * the same network in PyTorch, bench/peers/small_cnn_torch.py) and the tests all train this one
 * network, so their figures compare.
 *
 * Three 3×3 'same' conv layers (16, 32, 64 filters, ReLU), each followed by 2×2 max pooling, then
 * flatten and a dense sigmoid head (flatten rather than global pooling keeps where a sign is, which
 * chest findings need); binary cross-entropy, Adam (lr 1e-3). Input 64×64×3, batch 8, 5 classes
 * unless told otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';

export interface SmallCnnOptions {
  /** Input side in pixels (default 64). */
  size?: number;
  /** Input channels (default 3). */
  channels?: number;
  /** Output classes, each a sigmoid (default 5). */
  classes?: number;
  /** Filters of the three conv layers (default [16, 32, 64]). */
  filters?: readonly [number, number, number];
  /** Adam learning rate (default 1e-3). */
  learningRate?: number;
  /** Seed of the weight initialisation (default 1). */
  seed?: number | string;
}

/** The network as measured by doctor and the engines bench; the PyTorch peer mirrors it. */
export const SMALL_CNN = {
  size: 64,
  channels: 3,
  classes: 5,
  batch: 8,
  filters: [16, 32, 64] as const,
  kernel: 3,
  optimizer: 'adam',
  learningRate: 1e-3,
  loss: 'binary cross-entropy',
} as const;

/** Build and compile the small CNN (Adam, binary cross-entropy). The caller disposes it. */
export function buildSmallCnn(opts: SmallCnnOptions = {}): tf.LayersModel {
  const size = opts.size ?? SMALL_CNN.size;
  const channels = opts.channels ?? SMALL_CNN.channels;
  const classes = opts.classes ?? SMALL_CNN.classes;
  const [f1, f2, f3] = opts.filters ?? SMALL_CNN.filters;
  const rng = new Rng(opts.seed ?? 1);
  const init = () => tf.initializers.glorotUniform({ seed: rng.int32() });
  const conv = (filters: number) =>
    tf.layers.conv2d({ filters, kernelSize: SMALL_CNN.kernel, padding: 'same', activation: 'relu', kernelInitializer: init() });
  const model = tf.sequential({
    layers: [
      tf.layers.inputLayer({ inputShape: [size, size, channels] }),
      conv(f1),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(f2),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(f3),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: classes, activation: 'sigmoid', kernelInitializer: init() }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(opts.learningRate ?? SMALL_CNN.learningRate), loss: 'binaryCrossentropy' });
  return model;
}

export interface ThroughputOptions extends SmallCnnOptions {
  /** Images per step (default 8). */
  batch?: number;
  /** Untimed steps first (shader compilation, allocation; default 2). */
  warmup?: number;
  /** Timed steps: at least minSteps, then more until `seconds` have passed, at most maxSteps. */
  minSteps?: number;
  maxSteps?: number;
  /** Time to aim for in the timed phase (default 2 s). */
  seconds?: number;
}

export interface Throughput {
  /** Training images per second over the timed steps. */
  imgPerSec: number;
  steps: number;
  warmup: number;
  batch: number;
  size: number;
  /** Wall seconds of the timed steps. */
  seconds: number;
  /** Loss of the last step (a sanity check: finite). */
  lastLoss: number;
}

/**
 * Train the small CNN on one fixed synthetic batch on the current engine and time whole train
 * steps (forward, loss, backward, Adam update, loss read back to the host, as `fit` does).
 */
export async function measureSmallCnnThroughput(opts: ThroughputOptions = {}): Promise<Throughput> {
  const size = opts.size ?? SMALL_CNN.size;
  const channels = opts.channels ?? SMALL_CNN.channels;
  const classes = opts.classes ?? SMALL_CNN.classes;
  const batch = opts.batch ?? SMALL_CNN.batch;
  const warmup = opts.warmup ?? 2;
  const minSteps = Math.max(1, opts.minSteps ?? 3);
  const maxSteps = Math.max(minSteps, opts.maxSteps ?? 50);
  const budget = opts.seconds ?? 2;
  const rng = new Rng(`${opts.seed ?? 1}/data`);
  const xs = new Float32Array(batch * size * size * channels);
  for (let i = 0; i < xs.length; i++) xs[i] = rng.next();
  const ys = new Float32Array(batch * classes);
  for (let i = 0; i < ys.length; i++) ys[i] = rng.bernoulli(0.3) ? 1 : 0;
  const x = tf.tensor4d(xs, [batch, size, size, channels]);
  const y = tf.tensor2d(ys, [batch, classes]);
  const model = buildSmallCnn(opts);
  try {
    let loss = NaN;
    const step = async () => {
      loss = (await model.trainOnBatch(x, y)) as number;
    };
    for (let i = 0; i < warmup; i++) await step();
    let steps = 0;
    const t0 = performance.now();
    while (steps < maxSteps && (steps < minSteps || performance.now() - t0 < budget * 1000)) {
      await step();
      steps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { imgPerSec: (steps * batch) / seconds, steps, warmup, batch, size, seconds, lastLoss: loss };
  } finally {
    model.optimizer?.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  }
}
