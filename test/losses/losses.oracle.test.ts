/**
 * The losses against the SPEC's formulas in NumPy (float64, masks, weights, smoothed labels,
 * extreme probabilities and logits) and against Keras 3's BinaryCrossentropy and
 * BinaryFocalCrossentropy: within 1e-6. One Python round trip for the suite.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOracle, runPython } from '../helpers/python.js';
import { initBackend, shutdownBackend } from '../../src/backend/index.js';
import { maskedBinaryCrossentropy, type LossOptions } from '../../src/losses/index.js';
import { Rng } from '../../src/util/rng.js';

const oracleSource = readFileSync(new URL('./keras_oracle.py', import.meta.url), 'utf8');

interface LossCase {
  yTrue: number[][];
  yPred: number[][];
  options: LossOptions;
  label: string;
}

function labels(rng: Rng, B: number, C: number, opts: { mask: number; smooth: boolean }): number[][] {
  return Array.from({ length: B }, () =>
    Array.from({ length: C }, () => {
      if (rng.bernoulli(opts.mask)) return -1;
      const y = rng.bernoulli(0.3) ? 1 : 0;
      if (opts.smooth && rng.bernoulli(0.3)) return Math.fround(y ? rng.uniform(0.55, 0.85) : rng.uniform(0, 0.3));
      return y;
    }),
  );
}

function probabilities(rng: Rng, B: number, C: number, extreme: boolean): number[][] {
  const special = [0, 1, 1e-9, 1 - 1e-9, 1e-7, 1 - 1e-7, 0.5];
  return Array.from({ length: B }, () => Array.from({ length: C }, () => Math.fround(extreme && rng.bernoulli(0.2) ? special[rng.int(special.length)]! : rng.next())));
}

function logits(rng: Rng, B: number, C: number): number[][] {
  const special = [0, 40, -40, 90, -90, 1e-6];
  return Array.from({ length: B }, () => Array.from({ length: C }, () => Math.fround(rng.bernoulli(0.15) ? special[rng.int(special.length)]! : rng.normal(0, 5))));
}

function weights(rng: Rng, C: number): { positive: number[]; negative: number[] } {
  return { positive: Array.from({ length: C }, () => rng.uniform(0.1, 5)), negative: Array.from({ length: C }, () => rng.uniform(0.1, 2)) };
}

function numpyCases(rng: Rng): LossCase[] {
  const out: LossCase[] = [];
  const shapes: [number, number][] = [
    [1, 1],
    [4, 5],
    [17, 14],
    [64, 14],
    [32, 3],
  ];
  const variants: [string, (C: number) => LossOptions][] = [
    ['BCE', () => ({})],
    ['BCE Keras-3 logs', () => ({ logEpsilon: false })],
    ['BCE epsilon 1e-4', () => ({ epsilon: 1e-4 })],
    ['WBCE', (C) => {
      const w = weights(rng, C).positive;
      return { weights: { positive: w, negative: w } };
    }],
    ['CWBCE', (C) => ({ weights: weights(rng, C) })],
    ['BCE logits', () => ({ fromLogits: true })],
    ['CWBCE logits', (C) => ({ fromLogits: true, weights: weights(rng, C) })],
    ['focal', () => ({ focal: { gamma: 2 } })],
    ['focal alpha', () => ({ focal: { gamma: 2, alpha: 0.25 } })],
    ['focal gamma 0.5 weighted', (C) => ({ focal: { gamma: 0.5 }, weights: weights(rng, C) })],
    ['focal logits alpha', () => ({ fromLogits: true, focal: { gamma: 1.5, alpha: 0.6 } })],
  ];
  for (const [B, C] of shapes) {
    for (const [name, make] of variants) {
      const options = make(C);
      const yTrue = labels(rng, B, C, { mask: 0.2, smooth: true });
      const yPred = options.fromLogits ? logits(rng, B, C) : probabilities(rng, B, C, true);
      out.push({ yTrue, yPred, options, label: `${name} [${B}, ${C}]` });
    }
  }
  // Every entry masked: the loss is 0.
  out.push({ yTrue: [[-1, -1]], yPred: [[0.3, 0.9]], options: {}, label: 'all masked' });
  return out;
}

function kerasCases(rng: Rng): LossCase[] {
  const out: LossCase[] = [];
  const variants: [string, LossOptions][] = [
    ['BinaryCrossentropy', { logEpsilon: false }],
    ['BinaryCrossentropy(from_logits)', { fromLogits: true }],
    ['BinaryFocalCrossentropy', { logEpsilon: false, focal: { gamma: 2 } }],
    ['BinaryFocalCrossentropy(balanced)', { logEpsilon: false, focal: { gamma: 2, alpha: 0.25 } }],
    ['BinaryFocalCrossentropy(from_logits, balanced)', { fromLogits: true, focal: { gamma: 3, alpha: 0.7 } }],
  ];
  for (const [B, C] of [
    [8, 14],
    [33, 5],
  ] as [number, number][]) {
    for (const [name, options] of variants) {
      const yTrue = labels(rng, B, C, { mask: 0, smooth: true });
      const yPred = options.fromLogits ? logits(rng, B, C) : probabilities(rng, B, C, true);
      out.push({ yTrue, yPred, options, label: `${name} [${B}, ${C}]` });
    }
  }
  return out;
}

function ours(c: LossCase): number {
  const before = tf.memory().numTensors;
  const yt = tf.tensor2d(c.yTrue);
  const yp = tf.tensor2d(c.yPred);
  const loss = maskedBinaryCrossentropy(c.options)(yt, yp);
  const v = loss.dataSync()[0]!;
  tf.dispose([yt, yp, loss]);
  expect(tf.memory().numTensors).toBe(before);
  return v;
}

describeOracle('losses against NumPy and Keras', ['numpy', 'keras'], () => {
  const rng = new Rng('loss-oracle');
  const np = numpyCases(rng);
  const keras = kerasCases(rng);
  let py: { numpy: number[]; keras: number[] };

  beforeAll(async () => {
    await initBackend('cpu', { quiet: true });
    py = runPython(oracleSource, { numpy: np, keras });
  });
  afterAll(() => shutdownBackend());

  it('BCE, WBCE, CWBCE and focal (masked, smoothed labels, extremes, logits) equal the NumPy formulas within 1e-6', () => {
    np.forEach((c, i) => {
      const v = ours(c);
      expect(Number.isFinite(v), c.label).toBe(true);
      expect(Math.abs(v - py.numpy[i]!), `${c.label}: ${v} vs ${py.numpy[i]}`).toBeLessThanOrEqual(1e-6);
    });
    expect(py.numpy[np.length - 1]).toBe(0);
  });

  it("equal Keras 3's BinaryCrossentropy and BinaryFocalCrossentropy within 1e-6", () => {
    keras.forEach((c, i) => {
      const v = ours(c);
      expect(Math.abs(v - py.keras[i]!), `${c.label}: ${v} vs ${py.keras[i]}`).toBeLessThanOrEqual(1e-6);
    });
  });
});
