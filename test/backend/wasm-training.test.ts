/**
 * Training on the WASM engine: one step of a network made of every layer kind the shipped CNN
 * families use gives the CPU engine's gradients, and a small CNN learns.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../../src/backend/index.js';
import { buildSmallCnn } from '../../src/backend/small-cnn.js';
import { Rng } from '../../src/util/rng.js';

const rng = new Rng('wasm-training');

function randTensor(shape: number[], f: () => number = () => rng.normal()): tf.Tensor {
  const a = new Float32Array(shape.reduce((p, q) => p * q, 1));
  for (let i = 0; i < a.length; i++) a[i] = f();
  return tf.tensor(a, shape);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |a - b| / max(max |b|, floor) */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d / (Math.max(maxAbs(b), floor) || 1);
}

/** Keras' binary cross-entropy on probabilities: log of clipped p. */
function bce(y: tf.Tensor, p: tf.Tensor): tf.Scalar {
  const eps = 1e-7;
  const pc = tf.clipByValue(p, eps, 1 - eps);
  return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(pc)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, pc)))))) as tf.Scalar;
}

/**
 * A network with every layer kind of DenseNet121, ResNet50V2, InceptionV3, InceptionResNetV2,
 * Xception, MobileNetV2 and EfficientNetB0: zero padding, convolutions (1x1, 3x3, 7x7, 1x7, 7x1,
 * strides 1 and 2), depthwise (3x3, 5x5, stride 2) and separable convolutions, batch norm, relu,
 * relu6, swish, sigmoid, max/avg pooling with 'same' padding and stride 2, global average pooling,
 * squeeze-and-excitation multiply, concat, add, dense, dropout.
 */
function allLayersNet(seed: number): tf.LayersModel {
  const init = (() => {
    let s = seed;
    return () => tf.initializers.glorotUniform({ seed: s++ });
  })();
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number | [number, number], strides = 1, padding: 'same' | 'valid' = 'same', useBias = false) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization({ epsilon: 1.001e-5 }).apply(x) as tf.SymbolicTensor;
  const act = (x: tf.SymbolicTensor, activation: 'relu' | 'relu6' | 'swish' | 'sigmoid') => tf.layers.activation({ activation }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [24, 24, 3] });
  // ResNet stem: zero padding, 7x7 stride 2, max pool 'same'-like with explicit padding
  let x = tf.layers.zeroPadding2d({ padding: 3 }).apply(input) as tf.SymbolicTensor;
  x = act(bn(conv(x, 8, 7, 2, "valid")), "relu");
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  // MobileNetV2 inverted residual: expand 1x1, depthwise 3x3, relu6, project, add
  let y = act(bn(conv(x, 16, 1)), 'relu6');
  y = act(bn(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init() }).apply(y) as tf.SymbolicTensor), 'relu6');
  y = bn(conv(y, 8, 1));
  x = tf.layers.add().apply([x, y]) as tf.SymbolicTensor;
  // EfficientNet MBConv: depthwise 5x5 stride 2, swish, squeeze-and-excitation
  y = act(bn(tf.layers.depthwiseConv2d({ kernelSize: 5, strides: 2, padding: 'same', useBias: false, depthwiseInitializer: init() }).apply(x) as tf.SymbolicTensor), 'swish');
  let se = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  se = tf.layers.reshape({ targetShape: [1, 1, 8] }).apply(se) as tf.SymbolicTensor;
  se = act(conv(se, 2, 1, 1, 'same', true), 'swish');
  se = act(conv(se, 8, 1, 1, 'same', true), 'sigmoid');
  x = tf.layers.multiply().apply([y, se]) as tf.SymbolicTensor;
  // Inception: 1x1, 1x7 -> 7x1, 3x3 stride 2 'valid', avg pool 'same', max pool stride 2; concat
  const b1 = act(bn(conv(x, 6, 1)), 'relu');
  const b2 = act(bn(conv(act(bn(conv(x, 4, [1, 7])), 'relu'), 6, [7, 1])), 'relu');
  const b3 = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.concatenate().apply([b1, b2, b3]) as tf.SymbolicTensor;
  const down1 = act(bn(conv(x, 8, 3, 2, 'same')), 'relu');
  const down2 = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const down3 = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.concatenate().apply([down1, down2, down3]) as tf.SymbolicTensor;
  // Xception: separable conv, add with a 1x1 projection
  const sep = bn(tf.layers.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init(), pointwiseInitializer: init() }).apply(act(x, 'relu')) as tf.SymbolicTensor);
  x = tf.layers.add().apply([sep, bn(conv(x, 12, 1))]) as tf.SymbolicTensor;
  // head
  x = tf.layers.globalAveragePooling2d({}).apply(act(x, 'relu')) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, seed: 7 }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, activation: 'sigmoid', kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

beforeAll(async () => {
  await initBackend('wasm', { quiet: true });
});
afterAll(() => shutdownBackend());

describe('training on the WASM engine', () => {
  it.each([true, false])('one step of a network with every layer kind gives the CPU gradients (batch norm training=%s)', async (training) => {
    await tf.setBackend('cpu');
    const model = allLayersNet(11);
    const x = randTensor([4, 24, 24, 3]);
    const y = randTensor([4, 5], () => (rng.next() < 0.4 ? 1 : 0));
    const grads = async (engine: 'cpu' | 'wasm') => {
      await tf.setBackend(engine);
      const before = tf.memory().numTensors;
      const { value, grads: g } = tf.variableGrads(() => bce(y, model.apply(x, { training }) as tf.Tensor));
      const out = { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(g).map(([k, t]) => [k, t.dataSync() as Float32Array])) };
      tf.dispose([value, ...Object.values(g)]);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const ref = await grads('cpu');
    const got = await grads('wasm');
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(ref.grads).sort());
    expect(Object.keys(ref.grads).length).toBeGreaterThanOrEqual(40);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-5);
    // Relative to the gradient's largest value, but never to less than 1/100 of the model's largest
    // gradient: a gradient that sums to almost zero (a batch-norm scale followed by another batch
    // norm is nearly scale-free) keeps the float32 rounding of its terms.
    const floor = 1e-2 * Math.max(...Object.values(ref.grads).map(maxAbs));
    const bad = Object.keys(ref.grads)
      .map((k) => [k, relDiff(got.grads[k]!, ref.grads[k]!, floor)] as const)
      .filter(([, d]) => !(d <= 1e-4));
    expect(bad).toEqual([]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('trains the small CNN (3 conv layers, 64 px, batch 8) and its loss falls', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    // Two classes: noise, or noise with a bright square somewhere.
    const n = 8;
    const size = 64;
    const xs = new Float32Array(n * size * size * 3);
    const ys = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      ys[i] = i % 2;
      for (let p = 0; p < size * size * 3; p++) xs[i * size * size * 3 + p] = 0.1 * rng.next();
      const x0 = 8 + 5 * i;
      if (ys[i]) for (let r = 24; r < 40; r++) for (let c = x0; c < x0 + 16; c++) for (let ch = 0; ch < 3; ch++) xs[((i * size + r) * size + c) * 3 + ch] += 1;
    }
    const x = tf.tensor4d(xs, [n, size, size, 3]);
    const y = tf.tensor2d(ys, [n, 1]);
    const model = buildSmallCnn({ size, classes: 1, learningRate: 3e-3, seed: 3 });
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) losses.push((await model.trainOnBatch(x, y)) as number);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    model.optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
