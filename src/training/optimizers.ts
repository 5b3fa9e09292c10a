/**
 * Optimizers for the training loop: construction from a Benchmark's name, the learning rate as a
 * setting that may change between any two steps, and the full state (iteration count, moments,
 * Adam's running beta powers) as plain arrays, so a resumed run continues bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { MedtrainError } from '../util/errors.js';

/** sgd is SGD with momentum 0.9; adam and rmsprop use the Keras defaults (beta 0.9/0.999, rho 0.9). */
export const OPTIMIZERS = ['sgd', 'adam', 'rmsprop'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** The optimizer a word names (any case: SGD, Adam, RMSprop), or undefined. */
export function optimizerOf(word: string): OptimizerName | undefined {
  const w = word.trim().toLowerCase();
  return OPTIMIZERS.find((o) => o === w);
}

/** The name token of an optimizer: SGD, Adam, RMSprop. */
export function optimizerToken(name: OptimizerName): string {
  return { sgd: 'SGD', adam: 'Adam', rmsprop: 'RMSprop' }[name];
}

/** SGD with momentum 0.9 (Keras's usual companion setting); Adam and RMSprop with the Keras defaults. */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.momentum(learningRate, 0.9);
    case 'adam':
      return tf.train.adam(learningRate, 0.9, 0.999, 1e-7);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate, 0.9, 0, 1e-7);
  }
}

type WithLr = tf.Optimizer & { learningRate?: number; setLearningRate?: (lr: number) => void };

export function getLearningRate(opt: tf.Optimizer): number {
  const lr = (opt as WithLr).learningRate;
  if (typeof lr !== 'number') throw new Error(`optimizer ${opt.getClassName()} has no learning rate`);
  return lr;
}

/**
 * Set the learning rate for the next step. SGD and Momentum cache it as a tensor (setLearningRate);
 * Adam, RMSprop and the others read the field at every step.
 */
export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  const o = opt as WithLr;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else if (typeof o.learningRate === 'number') o.learningRate = lr;
  else throw new Error(`optimizer ${opt.getClassName()} has no learning rate`);
}

export interface SavedTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/** Everything an optimizer holds, as arrays. */
export interface OptimizerSnapshot {
  className: string;
  iterations: number;
  /** The tensors getWeights() returns, after the iteration count, in order. */
  weights: SavedTensor[];
  /**
   * Running scalars tfjs recomputes on restore with pow() where training multiplied them step by
   * step (Adam's and Adamax's beta powers): kept so a restored optimizer matches to the last bit.
   */
  extras: SavedTensor[];
}

const EXTRA_FIELDS = ['accBeta1', 'accBeta2'] as const;

async function save(name: string, t: tf.Tensor): Promise<SavedTensor> {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
  const raw = await t.data();
  const data = dtype === 'int32' ? Int32Array.from(raw as Int32Array) : Float32Array.from(raw as Float32Array);
  return { name, shape: [...t.shape], dtype, data };
}

export async function snapshotOptimizer(opt: tf.Optimizer): Promise<OptimizerSnapshot> {
  const named = await opt.getWeights();
  const [iter, ...rest] = named;
  if (!iter || iter.name !== 'iter') throw new Error(`optimizer ${opt.getClassName()}: getWeights() did not start with the iteration count`);
  const iterations = (await iter.tensor.data())[0]!;
  iter.tensor.dispose(); // a fresh scalar; the others are the optimizer's own variables
  const weights = await Promise.all(rest.map((w) => save(w.name, w.tensor)));
  const extras: SavedTensor[] = [];
  for (const f of EXTRA_FIELDS) {
    const v = (opt as unknown as Record<string, unknown>)[f];
    if (v instanceof tf.Variable) extras.push(await save(f, v));
  }
  return { className: opt.getClassName(), iterations, weights, extras };
}

/** Restore a snapshot into a fresh optimizer of the same class (one that has not stepped yet). */
export async function restoreOptimizer(opt: tf.Optimizer, snap: OptimizerSnapshot): Promise<void> {
  if (opt.getClassName() !== snap.className) {
    throw new MedtrainError(`the checkpoint's optimizer is ${snap.className}, the run's is ${opt.getClassName()}`, {
      code: 'optimizer-mismatch',
      hint: 'resume with the benchmark the run was started with (its config.json)',
    });
  }
  if (opt.iterations !== 0) throw new Error('restoreOptimizer: the optimizer has already stepped; restore into a fresh one');
  const tensors = [tf.scalar(snap.iterations, 'int32'), ...snap.weights.map((w) => tf.tensor(w.data, w.shape, w.dtype))];
  try {
    await opt.setWeights(tensors.map((tensor, i) => ({ name: i === 0 ? 'iter' : snap.weights[i - 1]!.name, tensor })));
  } finally {
    // setWeights made variables sharing these tensors' data; our handles can go.
    tf.dispose(tensors);
  }
  for (const e of snap.extras) {
    const v = (opt as unknown as Record<string, unknown>)[e.name];
    if (v instanceof tf.Variable) tf.tidy(() => v.assign(tf.tensor(e.data, e.shape, e.dtype)));
  }
}

/** A snapshot as a JSON manifest and one binary blob (little-endian typed arrays, in order). */
export function encodeSnapshot(snap: OptimizerSnapshot): { manifest: OptimizerManifest; data: Uint8Array } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const spec = (t: SavedTensor) => {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    parts.push(bytes);
    const s = { name: t.name, shape: t.shape, dtype: t.dtype, offset, byteLength: bytes.byteLength };
    offset += bytes.byteLength;
    return s;
  };
  const manifest: OptimizerManifest = { format: 'medtrain-optimizer/1', className: snap.className, iterations: snap.iterations, weights: snap.weights.map(spec), extras: snap.extras.map(spec) };
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  return { manifest, data };
}

export interface OptimizerManifest {
  format: 'medtrain-optimizer/1';
  className: string;
  iterations: number;
  weights: TensorSpec[];
  extras: TensorSpec[];
}
interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  byteLength: number;
}

export function decodeSnapshot(manifest: OptimizerManifest, data: Uint8Array, file = 'optimizer.json'): OptimizerSnapshot {
  if (manifest?.format !== 'medtrain-optimizer/1') throw new MedtrainError('not a medtrain optimizer manifest', { code: 'bad-checkpoint', file });
  const read = (s: TensorSpec): SavedTensor => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.offset + s.byteLength > data.byteLength || s.byteLength !== n * 4) {
      throw new MedtrainError(`optimizer tensor ${s.name} lies outside the data file or has the wrong size`, { code: 'bad-checkpoint', file });
    }
    const copy = data.slice(s.offset, s.offset + s.byteLength).buffer;
    return { name: s.name, shape: s.shape, dtype: s.dtype, data: s.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy) };
  };
  return { className: manifest.className, iterations: manifest.iterations, weights: manifest.weights.map(read), extras: manifest.extras.map(read) };
}
