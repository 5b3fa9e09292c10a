/**
 * The losses in use: gradients against float64 finite differences of the formulas, masked entries
 * (no loss, no gradient, not counted), a tfjs-layers model compiled with them, a custom loop with
 * tf.variableGrads, no leaked tensors, and clear errors.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, probeEngines, shutdownBackend } from '../../src/backend/index.js';
import { bce, createLoss, cwbce, focalLoss, maskedBinaryCrossentropy, wbce, type LossOptions } from '../../src/losses/index.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});
afterAll(() => shutdownBackend());

/** The loss formula in float64 (the reference for finite differences). */
function reference(y: number[], p: number[], C: number, o: LossOptions): number {
  const eps = o.epsilon ?? 1e-7;
  const logEps = o.logEpsilon ?? true;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < y.length; i++) {
    if (!(y[i]! >= 0)) continue;
    const c = i % C;
    const yy = y[i]!;
    let lpos: number;
    let lneg: number;
    let prob: number;
    if (o.fromLogits) {
      const z = p[i]!;
      lpos = Math.log1p(Math.exp(-Math.abs(z))) + Math.max(-z, 0);
      lneg = Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0);
      prob = 1 / (1 + Math.exp(-z));
    } else {
      const q = Math.min(1 - eps, Math.max(eps, p[i]!));
      lpos = -Math.log(q + (logEps ? eps : 0));
      lneg = -Math.log(1 - q + (logEps ? eps : 0));
      prob = p[i]!;
    }
    let e = (o.weights?.positive[c] ?? 1) * yy * lpos + (o.weights?.negative[c] ?? 1) * (1 - yy) * lneg;
    if (o.focal) {
      const pt = yy * prob + (1 - yy) * (1 - prob);
      e *= (1 - pt) ** o.focal.gamma;
      if (o.focal.alpha !== undefined && o.focal.alpha !== null) e *= yy * o.focal.alpha + (1 - yy) * (1 - o.focal.alpha);
    }
    sum += e;
    count++;
  }
  return count ? sum / count : 0;
}

function gradOf(loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.Scalar, y: number[], p: number[], shape: [number, number]): Float32Array {
  const yt = tf.tensor2d(y, shape);
  const yp = tf.tensor2d(p, shape);
  const g = tf.grad((x: tf.Tensor) => loss(yt, x))(yp);
  const out = g.dataSync() as Float32Array;
  tf.dispose([yt, yp, g]);
  return out;
}

describe('losses', () => {
  const rng = new Rng('losses-unit');
  const B = 6;
  const C = 4;
  const yTrue = Array.from({ length: B * C }, (_, i) => (i % 7 === 3 ? -1 : i % 5 === 0 ? 0.7 : rng.bernoulli(0.4) ? 1 : 0));
  // Probabilities away from the clip bounds (finite differences must not cross them) and logits.
  const probs = Array.from({ length: B * C }, () => Math.fround(rng.uniform(0.02, 0.98)));
  const logits = Array.from({ length: B * C }, (_, i) => (i === 5 ? 0 : Math.fround(rng.normal(0, 3))));
  const w = { positive: [3, 0.5, 1, 2], negative: [0.25, 1, 4, 1] };

  const variants: [string, LossOptions][] = [
    ['BCE', {}],
    ['CWBCE', { weights: w }],
    ['CWBCE Keras-3 logs', { weights: w, logEpsilon: false }],
    ['BCE logits', { fromLogits: true }],
    ['CWBCE logits', { fromLogits: true, weights: w }],
    ['focal', { focal: { gamma: 2, alpha: 0.25 } }],
    ['focal logits weighted', { fromLogits: true, focal: { gamma: 2 }, weights: w }],
  ];

  it.each(variants)('%s: gradient equals float64 central differences of the formula; masked entries get none', (_name, opts) => {
    const p = opts.fromLogits ? logits : probs;
    const g = gradOf(maskedBinaryCrossentropy(opts), yTrue, p, [B, C]);
    for (let i = 0; i < p.length; i++) {
      if (yTrue[i] === -1) {
        expect(g[i], `masked entry ${i}`).toBe(0);
        continue;
      }
      const h = 1e-6 * Math.max(1, Math.abs(p[i]!));
      const up = [...p];
      const down = [...p];
      up[i] = p[i]! + h;
      down[i] = p[i]! - h;
      const fd = (reference(yTrue, up, C, opts) - reference(yTrue, down, C, opts)) / (2 * h);
      expect(Math.abs(g[i]! - fd), `entry ${i}: ${g[i]} vs ${fd}`).toBeLessThanOrEqual(2e-4 * Math.max(1, Math.abs(fd)));
    }
  });

  it('from logits: the gradient is w·(σ(z) − y)/count, exact also at z = 0 and for large |z|', () => {
    const y = [1, 0, 1, 0, 1, 0];
    const z = [0, 0, 60, -60, -60, 60];
    const g = gradOf(bce({ fromLogits: true }), y, z, [1, 6]);
    const expected = z.map((zi, i) => (1 / (1 + Math.exp(-zi)) - y[i]!) / 6);
    expected.forEach((e, i) => expect(g[i]).toBeCloseTo(e, 6));
    const loss = tf.tidy(() => bce({ fromLogits: true })(tf.tensor2d(y, [1, 6]), tf.tensor2d(z, [1, 6])).dataSync()[0]!);
    expect(loss).toBeCloseTo((Math.LN2 * 2 + 60 * 2) / 6, 4);
  });

  it('clipped probabilities have no gradient, as in Keras', () => {
    const g = gradOf(bce(), [1, 0], [0, 1], [1, 2]);
    expect(Array.from(g)).toEqual([0, 0]);
  });

  it('masked entries add nothing and are not counted; an all-masked batch gives 0 with zero gradient', () => {
    const full = tf.tidy(() => bce()(tf.tensor2d([[1, 0]]), tf.tensor2d([[0.8, 0.3]])).dataSync()[0]!);
    const masked = tf.tidy(() => bce()(tf.tensor2d([[1, 0, -1, -1]]), tf.tensor2d([[0.8, 0.3, 0.01, 0.99]])).dataSync()[0]!);
    expect(masked).toBeCloseTo(full, 6);
    expect(full).toBeCloseTo((-Math.log(0.8 + 1e-7) - Math.log(0.7 + 1e-7)) / 2, 6);
    const none = tf.tidy(() => bce()(tf.tensor2d([[-1, -1]]), tf.tensor2d([[0.2, 0.9]])).dataSync()[0]!);
    expect(none).toBe(0);
    expect(Array.from(gradOf(bce(), [-1, -1], [0.2, 0.9], [1, 2]))).toEqual([0, 0]);
  });

  it('WBCE is CWBCE with equal weights, and weights scale the class terms', () => {
    const y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const p = tf.tensor2d([
      [0.6, 0.2],
      [0.3, 0.9],
    ]);
    const a = wbce([2, 3])(y, p);
    const b = cwbce({ positive: [2, 3], negative: [2, 3] })(y, p);
    const plain = bce()(y, p);
    const pos = cwbce({ positive: [5, 5], negative: [1, 1] })(y, p);
    const [va, vb, vp, vpos] = [a, b, plain, pos].map((t) => t.dataSync()[0]!);
    expect(va).toBeCloseTo(vb!, 7);
    const l = (q: number) => -Math.log(q + 1e-7);
    expect(vp).toBeCloseTo((l(0.6) + l(0.8) + l(0.7) + l(0.9)) / 4, 6);
    expect(va).toBeCloseTo((2 * l(0.6) + 3 * l(0.8) + 2 * l(0.7) + 3 * l(0.9)) / 4, 6);
    expect(vpos).toBeCloseTo((5 * l(0.6) + l(0.8) + l(0.7) + 5 * l(0.9)) / 4, 6);
    tf.dispose([y, p, a, b, plain, pos]);
  });

  it('createLoss builds the named losses from class statistics', () => {
    const stats = [
      { positive: 10, negative: 90, uncertain: 0, blank: 0, masked: 0 },
      { positive: 50, negative: 50, uncertain: 0, blank: 0, masked: 0 },
    ];
    const y = tf.tensor2d([[1, 0]]);
    const p = tf.tensor2d([[0.4, 0.4]]);
    const l = (q: number) => -Math.log(q + 1e-7);
    // CWBCE L1Normed: r+ = [10, 2] → w+ = [8.333, 1.667]; r- = [100/90, 2] → w- = [3.571, 6.429].
    const cw = createLoss('cwbce', { stats })(y, p).dataSync()[0]!;
    expect(cw).toBeCloseTo(((10 * 10) / 12 * l(0.4) + ((10 * 2) / (2 + 10 / 9)) * l(0.6)) / 2, 5);
    // WBCE NoNorm: w = n/pos = [10, 2].
    const wb = createLoss('WBCE', { stats, normalization: 'none' })(y, p).dataSync()[0]!;
    expect(wb).toBeCloseTo((10 * l(0.4) + 2 * l(0.6)) / 2, 5);
    const f = createLoss('Focal', {})(y, p).dataSync()[0]!;
    expect(f).toBeCloseTo((0.6 ** 2 * l(0.4) + 0.4 ** 2 * l(0.6)) / 2, 5);
    const ie = createLoss('BCE', { stats, scheme: { kind: 'pos-weight' } })(y, p).dataSync()[0]!;
    expect(ie).toBeCloseTo((9 * l(0.4) + l(0.6)) / 2, 5);
    tf.dispose([y, p]);
    expect(() => createLoss('CWBCE')).toThrow(/class statistics/);
    expect(() => createLoss('hinge')).toThrow(MedtrainError);
  });

  it('refuses bad options and mismatched shapes with MedtrainError', () => {
    expect(() => maskedBinaryCrossentropy({ epsilon: 0 })).toThrow(MedtrainError);
    expect(() => cwbce({ positive: [1, Infinity], negative: [1, 1] })).toThrow(/finite/);
    expect(() => focalLoss({ gamma: -1 })).toThrow(MedtrainError);
    const before = tf.memory().numTensors;
    const y = tf.zeros([2, 3]);
    const p = tf.zeros([2, 4]);
    expect(() => bce()(y, p)).toThrow(/differ in shape/);
    const q = tf.fill([2, 3], 0.5);
    expect(() => wbce([1, 2])(y, q)).toThrow(/2 class weights for 3 outputs/);
    tf.dispose([y, p, q]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the CPU engine’s values and gradients on every other present engine', async () => {
    // WebGPU reads back asynchronously only: data(), not dataSync().
    const run = async () => {
      const out: number[][] = [];
      for (const [, opts] of variants) {
        const loss = maskedBinaryCrossentropy(opts);
        const yt = tf.tensor2d(yTrue, [B, C]);
        const yp = tf.tensor2d(opts.fromLogits ? logits : probs, [B, C]);
        const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => loss(yt, x))(yp);
        out.push([...(await value.data()), ...(await grad.data())]);
        tf.dispose([yt, yp, value, grad]);
      }
      return out;
    };
    const reference = await run();
    const probes = await probeEngines();
    const others = probes.filter((e) => e.present && e.name !== 'cpu' && e.name !== 'tensorflow').map((e) => e.name);
    try {
      for (const engine of others) {
        await initBackend(engine, { quiet: true });
        const got = await run();
        got.forEach((values, i) => values.forEach((x, k) => expect(Math.abs(x - reference[i]![k]!), `${engine} ${variants[i]![0]} [${k}]`).toBeLessThan(1e-5 * Math.max(1, Math.abs(reference[i]![k]!)))));
      }
    } finally {
      await initBackend('cpu', { quiet: true });
    }
    expect(others.length).toBeGreaterThan(0);
  });

  it('trains a tfjs-layers model as a custom loss (model.compile) and in a tf.variableGrads loop, leaking no tensors', async () => {
    const data = new Rng('fit');
    const n = 64;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = data.normal();
      const b = data.normal();
      xs.push(a, b);
      // Class 0 follows a, class 1 follows b, a quarter of class 1 unlabelled.
      ys.push(a > 0 ? 1 : 0, i % 4 === 0 ? -1 : b > 0 ? 1 : 0);
    }
    const x = tf.tensor2d(xs, [n, 2]);
    const y = tf.tensor2d(ys, [n, 2]);
    const loss = cwbce({ positive: [2, 1], negative: [1, 1] });
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
    model.compile({ optimizer: tf.train.adam(0.1), loss });
    // The first epoch creates the optimizer's state; every later one must leave the count alone.
    const h0 = await model.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0, shuffle: false });
    const before = tf.memory().numTensors;
    const h = await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
    const losses = h.history.loss as number[];
    expect(losses[losses.length - 1]!).toBeLessThan((h0.history.loss[0] as number) * 0.7);
    expect(tf.memory().numTensors).toBe(before);

    // Custom loop on logits.
    const W = tf.variable(tf.randomNormal([2, 2], 0, 0.1, 'float32', 2));
    const bias = tf.variable(tf.zeros([2]));
    const opt = tf.train.sgd(0.5);
    const logitLoss = createLoss('BCE', { fromLogits: true });
    const start = tf.memory().numTensors;
    let first = 0;
    let last = 0;
    for (let step = 0; step < 30; step++) {
      const { value, grads } = tf.variableGrads(() => logitLoss(y, tf.add(tf.matMul(x, W), bias)));
      opt.applyGradients(grads);
      const v = value.dataSync()[0]!;
      if (step === 0) first = v;
      last = v;
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(last).toBeLessThan(first * 0.7);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, y]);
    model.dispose();
    tf.dispose([W, bias]);
    opt.dispose();
  });
});
