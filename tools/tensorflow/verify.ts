/**
 * Checks that an engine computes what the plain-JS CPU engine computes: a set of forward and
 * gradient ops a convolutional classifier uses, and one training step of a small conv net started
 * from the same weights. The setup runs them on the freshly built native engine in a child process
 * (a crash of the addon then becomes an error message, not a dead setup); test/backend runs them
 * too.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT, SetupError, tail } from './common.js';

export interface OpDiff {
  op: string;
  /** Largest |engine − cpu| over the output(s). */
  maxAbsDiff: number;
  /** Largest |cpu| over the output(s), for scale. */
  maxAbs: number;
  /** Every element within 1e-4 + 1e-3·|cpu|. */
  ok: boolean;
}

export interface TrainParity {
  /** Loss of two SGD steps from the same weights on the same batch, per engine. */
  losses: { engine: number[]; cpu: number[] };
  /** Largest |engine − cpu| over every weight after the two steps. */
  maxWeightDiff: number;
  /** The loss went down and the weights match within 1e-3 + 1e-3·|cpu|. */
  ok: boolean;
}

const ATOL = 1e-4;
const RTOL = 1e-3;

type Inputs = Record<string, { shape: number[]; values: Float32Array }>;

function randomInputs(rng: Rng, shapes: Record<string, number[]>): Inputs {
  const out: Inputs = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-1, 1);
    out[name] = { shape, values };
  }
  return out;
}

interface OpCase {
  op: string;
  shapes: Record<string, number[]>;
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[];
}

const conv = (x: tf.Tensor, k: tf.Tensor, stride = 1, pad: 'same' | 'valid' = 'same') => tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, stride, pad);

/** The ops of a DenseNet / ResNet style classifier, forward and backward. */
export const OP_CASES: OpCase[] = [
  { op: 'matMul', shapes: { a: [16, 32], b: [32, 24] }, fn: ({ a, b }) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) },
  { op: 'conv2d 3x3 same', shapes: { x: [2, 12, 12, 3], k: [3, 3, 3, 8] }, fn: ({ x, k }) => conv(x!, k!) },
  { op: 'conv2d 7x7 stride 2', shapes: { x: [2, 16, 16, 3], k: [7, 7, 3, 8] }, fn: ({ x, k }) => conv(x!, k!, 2) },
  {
    op: 'conv2d gradients (input, filter)',
    shapes: { x: [2, 9, 9, 4], k: [3, 3, 4, 6], w: [2, 5, 5, 6] },
    fn: ({ x, k, w }) => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b, 2), w!)))([x!, k!]),
  },
  {
    op: 'depthwiseConv2d and gradients',
    shapes: { x: [2, 8, 8, 4], k: [3, 3, 4, 2], w: [2, 8, 8, 8] },
    fn: ({ x, k, w }) => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), w!));
      return [tf.depthwiseConv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same'), ...tf.grads(f)([x!, k!])];
    },
  },
  {
    op: 'maxPool 3x3 stride 2 and gradient',
    shapes: { x: [2, 9, 9, 4] },
    fn: ({ x }) => [tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'))))(x!)],
  },
  {
    op: 'avgPool 2x2 and gradient',
    shapes: { x: [2, 8, 8, 4] },
    fn: ({ x }) => [tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid'))))(x!)],
  },
  {
    op: 'batchNorm',
    shapes: { x: [2, 5, 5, 6], m: [6], v: [6], o: [6], s: [6] },
    fn: ({ x, m, v, o, s }) => tf.batchNorm(x!, m!, tf.add(tf.abs(v!), 0.5), o!, s!, 1.001e-5),
  },
  {
    op: 'moments and relu / sigmoid / softmax',
    shapes: { x: [4, 6, 6, 5] },
    fn: ({ x }) => {
      const { mean, variance } = tf.moments(x!, [0, 1, 2]);
      return [mean, variance, tf.relu(x!), tf.sigmoid(x!), tf.softmax(tf.reshape(x!, [4, -1]))];
    },
  },
  {
    op: 'concat, global mean, resizeBilinear',
    shapes: { a: [2, 6, 6, 3], b: [2, 6, 6, 5] },
    fn: ({ a, b }) => [tf.concat([a!, b!], 3), tf.mean(b!, [1, 2]), tf.image.resizeBilinear(a as tf.Tensor4D, [13, 13])],
  },
  {
    op: 'sigmoid cross-entropy and its gradient',
    shapes: { z: [8, 5], y: [8, 5] },
    fn: ({ z, y }) => {
      const labels = tf.cast(tf.greater(y!, 0), 'float32');
      return [tf.losses.sigmoidCrossEntropy(labels, z!), tf.grad((a: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, a))(z!)];
    },
  },
];

async function evaluate(backend: string, inputs: Inputs, fn: OpCase['fn']): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => {
    const t: Record<string, tf.Tensor> = {};
    for (const [name, { shape, values }] of Object.entries(inputs)) t[name] = tf.tensor(values, shape);
    const r = fn(t);
    return Array.isArray(r) ? r : [r];
  });
  const data = await Promise.all(outs.map(async (o) => (await o.data()) as Float32Array));
  tf.dispose(outs);
  return data;
}

function compare(engine: Float32Array[], cpu: Float32Array[], atol: number): { maxAbsDiff: number; maxAbs: number; ok: boolean } {
  let maxAbsDiff = 0;
  let maxAbs = 0;
  let ok = engine.length === cpu.length && cpu.every((b, j) => engine[j]!.length === b.length);
  for (let j = 0; j < cpu.length && ok; j++) {
    const a = engine[j]!;
    const b = cpu[j]!;
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      maxAbsDiff = Math.max(maxAbsDiff, d);
      maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
      // NaN on either side fails too.
      if (!(d <= atol + RTOL * Math.abs(b[i]!))) ok = false;
    }
  }
  return { maxAbsDiff, maxAbs, ok };
}

/** Every op case on `engine` and on the CPU engine, from the same seeded inputs. Leaves `engine` active. */
export async function opParity(engine: string, seed = 7): Promise<OpDiff[]> {
  const rng = new Rng(seed);
  const out: OpDiff[] = [];
  for (const c of OP_CASES) {
    const inputs = randomInputs(rng.fork(c.op), c.shapes);
    const ref = await evaluate('cpu', inputs, c.fn);
    const got = await evaluate(engine, inputs, c.fn);
    out.push({ op: c.op, ...compare(got, ref, ATOL) });
  }
  return out;
}

function smallConvNet(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, padding: 'same', useBias: false }));
  m.add(tf.layers.batchNormalization({ epsilon: 1.001e-5 }));
  m.add(tf.layers.activation({ activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }));
  m.add(tf.layers.conv2d({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: 5, activation: 'sigmoid' }));
  m.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
  return m;
}

async function trainTwoSteps(backend: string, rng: Rng): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await tf.setBackend(backend);
  const model = smallConvNet();
  const weights = model.getWeights().map((w) => {
    const values = new Float32Array(w.size);
    for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-0.3, 0.3);
    return tf.tensor(values, w.shape);
  });
  model.setWeights(weights);
  tf.dispose(weights);
  const xv = new Float32Array(8 * 16 * 16 * 3).map(() => rng.uniform(0, 1));
  const yv = new Float32Array(8 * 5).map(() => (rng.next() < 0.4 ? 1 : 0));
  const x = tf.tensor4d(xv, [8, 16, 16, 3]);
  const y = tf.tensor2d(yv, [8, 5]);
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) losses.push(Number(await model.trainOnBatch(x, y)));
  const trained = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  tf.dispose([x, y]);
  // A model does not dispose an optimizer it was handed as an object (its learning-rate scalar, its step count).
  model.optimizer.dispose();
  model.dispose();
  return { losses, weights: trained };
}

/** Two SGD steps of a small conv net (conv, batch norm, pooling, dense, BCE) on `engine` and on the CPU engine. */
export async function trainParity(engine: string, seed = 11): Promise<TrainParity> {
  const ref = await trainTwoSteps('cpu', new Rng(seed));
  const got = await trainTwoSteps(engine, new Rng(seed));
  const w = compare(got.weights, ref.weights, 1e-3);
  const decreased = got.losses[1]! < got.losses[0]!;
  return { losses: { engine: got.losses, cpu: ref.losses }, maxWeightDiff: w.maxAbsDiff, ok: w.ok && decreased && Math.abs(got.losses[0]! - ref.losses[0]!) <= 1e-4 + RTOL * ref.losses[0]! };
}

export interface VerifyReport {
  engine: string;
  package: string | null;
  device: string;
  gpu: boolean;
  /** TF_Version() of the loaded libtensorflow. */
  libtensorflow: string | null;
  ops: OpDiff[];
  train: TrainParity;
  ok: boolean;
}

/** Start the native engine in this process and run the checks. */
export async function verifyNativeEngine(): Promise<VerifyReport> {
  const info = await initBackend('tensorflow', { quiet: true });
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  const ops = await opParity('tensorflow');
  const train = await trainParity('tensorflow');
  await tf.setBackend('tensorflow');
  return {
    engine: info.engine,
    package: info.package ?? null,
    device: info.device,
    gpu: info.gpu,
    libtensorflow: binding?.TF_Version ?? null,
    ops,
    train,
    ok: ops.every((o) => o.ok) && train.ok,
  };
}

/**
 * Run verifyNativeEngine in a child Node process. A load failure, an unresolved symbol or a crash
 * of the addon (a signal) comes back as a SetupError with the child's output; failed comparisons
 * come back in the report (ok: false).
 */
export function verifyInChild(): VerifyReport {
  const code = `const m = await import(${JSON.stringify(import.meta.url)}); process.stdout.write(JSON.stringify(await m.verifyNativeEngine()) + '\\n'); process.exit(0);`;
  // From the TypeScript sources (the checkout's npm script) the child needs tsx; compiled, plain Node.
  const loader = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const r = spawnSync(process.execPath, [...loader, '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    // TF32 (on by default on recent NVIDIA GPUs) would round convolutions beyond the tolerance.
    env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'warn', TF_CPP_MIN_LOG_LEVEL: '2', NVIDIA_TF32_OVERRIDE: '0' },
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return JSON.parse(last) as VerifyReport;
  const how = r.signal ? `crashed (${r.signal})` : r.error ? `did not run (${r.error.message})` : `failed (exit ${r.status})`;
  throw new SetupError(`the native engine ${how} when started\n${tail(`${r.stdout ?? ''}\n${r.stderr ?? ''}`, 30)}`, {
    hint: 'the addon does not work with this libtensorflow; an older TensorFlow may (--tf-version)',
    fallback: true,
  });
}
