/**
 * Small things the training tests share: a seeded synthetic multi-label task, tiny dense and conv
 * models with seeded initialisers and fixed layer names, a masked BCE, and a plain macro AUROC.
 * (The real losses and metrics are src/losses and src/metrics; these only drive the loop.)
 */
import * as tf from '@tensorflow/tfjs';
import { MASKED, type Batch } from '../../src/core/types.js';
import { Rng } from '../../src/util/rng.js';
import type { DataSource, EvaluateFn } from '../../src/training/sources.js';

/** n rows of `features` standard-normal features; C labels from fixed linear rules; ~10% masked. */
export function syntheticTask(n: number, o: { features?: number; classes?: number; seed?: number; maskRate?: number } = {}): { x: Float32Array; y: Float32Array; features: number; classes: number } {
  const features = o.features ?? 6;
  const classes = o.classes ?? 3;
  const rng = new Rng(o.seed ?? 1);
  const rules = new Rng('rules');
  const w = Array.from({ length: classes }, () => Array.from({ length: features }, () => rules.normal()));
  const x = new Float32Array(n * features);
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < features; f++) x[i * features + f] = rng.normal();
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let f = 0; f < features; f++) s += w[c]![f]! * x[i * features + f]!;
      y[i * classes + c] = rng.bernoulli(o.maskRate ?? 0.1) ? MASKED : s + 0.3 * rng.normal() > 0 ? 1 : 0;
    }
  }
  return { x, y, features, classes };
}

export function denseModel(features: number, classes: number, seed = 7): tf.LayersModel {
  const m = tf.sequential({ name: 'tiny' });
  m.add(tf.layers.dense({ inputShape: [features], units: 16, activation: 'relu', name: 'hidden', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  m.add(tf.layers.dense({ units: classes, activation: 'sigmoid', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return m;
}

/** A conv net on [dim, dim, 3] images with BatchNorm (non-trainable moving statistics too). */
export function convModel(dim: number, classes: number, seed = 11): tf.LayersModel {
  const input = tf.input({ shape: [dim, dim, 3], name: 'image' });
  let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization({ name: 'bn' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.activation({ activation: 'relu', name: 'relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'sigmoid', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'tinyconv' });
}

/** A dense net on [dim, dim, 3] images, with BatchNorm: for engines without convolution gradients. */
export function denseBnModel(dim: number, classes: number, seed = 13): tf.LayersModel {
  const m = tf.sequential({ name: 'tinydense' });
  m.add(tf.layers.flatten({ inputShape: [dim, dim, 3], name: 'flat' }));
  m.add(tf.layers.dense({ units: 8, name: 'hidden', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  m.add(tf.layers.batchNormalization({ name: 'bn' }));
  m.add(tf.layers.activation({ activation: 'relu', name: 'relu' }));
  m.add(tf.layers.dense({ units: classes, activation: 'sigmoid', name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return m;
}

/** Masked binary cross-entropy on probabilities: mean over labelled entries. */
export function maskedBce(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const m = tf.cast(tf.notEqual(yTrue, MASKED), 'float32');
    const y = tf.mul(yTrue, m);
    const p = tf.clipByValue(yPred, 1e-7, 1 - 1e-7);
    const l = tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))));
    return tf.div(tf.sum(tf.mul(l, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}

/** AUROC per class by the rank-sum, masked entries left out; null for a single-valued class. */
export const macroAuroc: EvaluateFn = (yTrue, yScore, { rows, numClasses, classNames }) => {
  const out: Record<string, number | null> = {};
  const vals: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const pts: [number, number][] = [];
    for (let i = 0; i < rows; i++) {
      const t = yTrue[i * numClasses + c]!;
      if (t !== MASKED) pts.push([yScore[i * numClasses + c]!, t]);
    }
    pts.sort((a, b) => a[0] - b[0]);
    let pos = 0;
    let rankSum = 0;
    for (let i = 0; i < pts.length; ) {
      let j = i;
      while (j < pts.length && pts[j]![0] === pts[i]![0]) j++;
      const r = (i + j + 1) / 2;
      for (let k = i; k < j; k++) {
        if (pts[k]![1] !== 1) continue;
        pos++;
        rankSum += r;
      }
      i = j;
    }
    const neg = pts.length - pos;
    const auc = pos && neg ? (rankSum - (pos * (pos + 1)) / 2) / (pos * neg) : null;
    out[`auroc/${classNames?.[c] ?? c}`] = auc;
    if (auc !== null) vals.push(auc);
  }
  out.macro_auroc = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  return out;
};

/** A DataSource of typed-array Batches over image-shaped data, shuffled per epoch from the seed. */
export function batchSource(x: Float32Array, y: Float32Array, o: { rows: number; dim: number; classes: number; batchSize: number; seed?: string }): DataSource {
  const per = o.dim * o.dim * 3;
  const steps = Math.ceil(o.rows / o.batchSize);
  return {
    steps,
    *batches(epoch: number): Iterable<Batch> {
      const order = o.seed ? new Rng(o.seed).fork(`epoch-${epoch}`).permutation(o.rows) : Int32Array.from({ length: o.rows }, (_, i) => i);
      for (let s = 0; s < steps; s++) {
        const idx = order.slice(s * o.batchSize, Math.min(o.rows, (s + 1) * o.batchSize));
        const bx = new Float32Array(idx.length * per);
        const by = new Float32Array(idx.length * o.classes);
        idx.forEach((r, k) => {
          bx.set(x.subarray(r * per, (r + 1) * per), k * per);
          by.set(y.subarray(r * o.classes, (r + 1) * o.classes), k * o.classes);
        });
        yield { x: bx, y: by, ids: Array.from(idx, (r) => `case-${r}`), size: idx.length, dim: o.dim, numClasses: o.classes };
      }
    },
  };
}

/** Images whose channel means carry the syntheticTask features (so the conv net can learn them). */
export function syntheticImages(n: number, dim: number, classes: number, seed = 3): { x: Float32Array; y: Float32Array } {
  const t = syntheticTask(n, { features: 3, classes, seed });
  const rng = new Rng(`noise-${seed}`);
  const x = new Float32Array(n * dim * dim * 3);
  for (let i = 0; i < n; i++) for (let p = 0; p < dim * dim; p++) for (let ch = 0; ch < 3; ch++) x[(i * dim * dim + p) * 3 + ch] = t.x[i * 3 + ch]! + 0.5 * rng.normal();
  return { x, y: t.y };
}
