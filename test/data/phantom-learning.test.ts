/**
 * The phantom set is learnable: the small CNN trained for four epochs on 400 cases of 64 px (on
 * the WASM engine, the fastest one present on this project's machines; uncertain labels masked)
 * predicts held-out cases far better than the label-entropy baseline, and ranks the five
 * competition findings well.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../../src/backend/index.js';
import { buildSmallCnn } from '../../src/backend/small-cnn.js';
import { N5 } from '../../src/data/labels/classes.js';
import { renderPhantomCases, type RenderedCase } from '../../src/data/phantom/render.js';
import { CHEXPERT_CLASSES, type ChexpertLabel } from '../../src/data/tables/chexpert.js';
import { Rng } from '../../src/util/rng.js';

const SIZE = 64;
const CLASSES = N5.map((c) => CHEXPERT_CLASSES.indexOf(c as ChexpertLabel));

/** Pixels normalised to about zero mean, unit spread; one channel. */
function images(cases: RenderedCase[]): Float32Array {
  const x = new Float32Array(cases.length * SIZE * SIZE);
  cases.forEach((c, i) => {
    for (let j = 0; j < SIZE * SIZE; j++) x[i * SIZE * SIZE + j] = (c.pixels[j]! / 255 - 0.5) / 0.25;
  });
  return x;
}

/** Labels of the five findings: 1 positive, 0 negative or blank, -1 uncertain. */
function labels(cases: RenderedCase[]): Float32Array {
  const y = new Float32Array(cases.length * CLASSES.length);
  cases.forEach((c, i) => CLASSES.forEach((k, j) => (y[i * CLASSES.length + j] = Number.isNaN(c.labels[k]!) ? 0 : c.labels[k]!)));
  return y;
}

/** Mann–Whitney AUROC; ties count half. */
function auroc(score: number[], pos: boolean[]): number {
  let n1 = 0;
  let wins = 0;
  for (let i = 0; i < score.length; i++) {
    if (!pos[i]) continue;
    n1++;
    for (let j = 0; j < score.length; j++) {
      if (pos[j]) continue;
      wins += score[i]! > score[j]! ? 1 : score[i] === score[j] ? 0.5 : 0;
    }
  }
  return wins / (n1 * (score.length - n1));
}

describe('a small CNN learns the phantom set', () => {
  beforeAll(async () => {
    await initBackend('wasm', { quiet: true });
  });
  afterAll(() => shutdownBackend());

  it('beats the label-entropy baseline on held-out cases and ranks the competition findings', async () => {
    const before = tf.memory().numTensors;
    const train = renderPhantomCases({ count: 400, seed: 'learn-train', width: SIZE, height: SIZE });
    const held = renderPhantomCases({ count: 160, seed: 'learn-held-out', width: SIZE, height: SIZE });
    const xTrain = images(train);
    const yTrain = labels(train);
    const yHeld = labels(held);
    const C = CLASSES.length;
    // Uncertain labels are masked out of the loss (U-Ignore).
    const eps = 1e-7;
    const maskedBce = (y: tf.Tensor, p: tf.Tensor): tf.Scalar => {
      const q = tf.clipByValue(p, eps, 1 - eps);
      const known = tf.cast(tf.greaterEqual(y, 0), 'float32');
      const t = tf.relu(y);
      const l = tf.neg(tf.add(tf.mul(t, tf.log(q)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, q)))));
      return tf.div(tf.sum(tf.mul(l, known)), tf.maximum(tf.sum(known), 1));
    };
    const model = buildSmallCnn({ size: SIZE, channels: 1, classes: C, filters: [8, 16, 32], learningRate: 3e-3, seed: 7 });
    const rng = new Rng('phantom-learning');
    const batch = 8;
    const px = SIZE * SIZE;
    for (let epoch = 0; epoch < 4; epoch++) {
      const order = rng.permutation(train.length);
      for (let b = 0; b < order.length; b += batch) {
        const idx = order.slice(b, b + batch);
        const xb = new Float32Array(idx.length * px);
        const yb = new Float32Array(idx.length * C);
        idx.forEach((k, i) => {
          xb.set(xTrain.subarray(k * px, (k + 1) * px), i * px);
          yb.set(yTrain.subarray(k * C, (k + 1) * C), i * C);
        });
        const xt = tf.tensor4d(xb, [idx.length, SIZE, SIZE, 1]);
        const yt = tf.tensor2d(yb, [idx.length, C]);
        const cost = model.optimizer!.minimize(() => maskedBce(yt, model.apply(xt, { training: true }) as tf.Tensor), true)!;
        await cost.data();
        tf.dispose([cost, xt, yt]);
      }
    }
    const p = tf.tidy(() => model.predict(tf.tensor4d(images(held), [held.length, SIZE, SIZE, 1])) as tf.Tensor);
    const prob = await p.data();
    p.dispose();
    model.optimizer!.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // Held-out loss over certain labels (uncertain ones masked) against predicting each class's
    // training prevalence (the label-entropy baseline).
    const bce = (y: number, q: number) => -(y * Math.log(Math.max(q, eps)) + (1 - y) * Math.log(Math.max(1 - q, eps)));
    const prevalence = CLASSES.map((_, j) => {
      let pos = 0;
      let n = 0;
      for (let i = 0; i < train.length; i++) {
        const v = yTrain[i * C + j]!;
        if (v >= 0) {
          pos += v;
          n++;
        }
      }
      return pos / n;
    });
    let loss = 0;
    let base = 0;
    let n = 0;
    for (let i = 0; i < held.length; i++) {
      for (let j = 0; j < C; j++) {
        const y = yHeld[i * C + j]!;
        if (y < 0) continue;
        loss += bce(y, prob[i * C + j]!);
        base += bce(y, prevalence[j]!);
        n++;
      }
    }
    loss /= n;
    base /= n;
    const aurocs = CLASSES.map((_, j) => {
      const rows = held.map((_, i) => i).filter((i) => yHeld[i * C + j]! >= 0);
      return auroc(rows.map((i) => prob[i * C + j]!), rows.map((i) => yHeld[i * C + j] === 1));
    });
    const summary = Object.fromEntries(N5.map((c, j) => [c, Math.round(aurocs[j]! * 1000) / 1000]));
    const what = `held-out loss ${loss.toFixed(3)} vs baseline ${base.toFixed(3)}; AUROC ${JSON.stringify(summary)}`;
    expect(loss, what).toBeLessThan(0.6 * base);
    for (const [j, c] of N5.entries()) expect(aurocs[j], `${c}: ${what}`).toBeGreaterThan(0.7);
    expect(aurocs.reduce((a, b) => a + b, 0) / C, what).toBeGreaterThan(0.85);
  });
});
