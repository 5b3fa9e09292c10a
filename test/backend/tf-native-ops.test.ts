/**
 * The native engine's fused training ops (src/backend/tf-native.ts: FusedBatchNormV3 / its gradient,
 * ReluGrad) give what tfjs's own compositions give on the cpu engine: the same outputs, loss,
 * gradients of every weight and moving statistics, for batch-norm layers with and without scale and
 * offset. Skips when the native engine is absent, unless MEDTRAIN_TEST_ENGINE names it (as CI does).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, probeEngine, shutdownBackend } from '../../src/backend/index.js';
import { applyKerasBatchNormSemantics } from '../../src/models/custom-layers.js';
import { Rng } from '../../src/util/rng.js';
import { testEngines } from '../helpers/engines.js';

const required = testEngines().includes('tensorflow');
const probe = await probeEngine('tensorflow');
const suite = probe.present || required ? describe : describe.skip;

afterAll(() => shutdownBackend());

/** conv → BN → relu → conv → BN (no scale) → relu → conv → BN (no offset) → GAP → dense. */
function build(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3] });
  let h: tf.SymbolicTensor = input;
  for (const bn of [{}, { scale: false }, { center: false }]) {
    h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3, ...bn }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: 'relu' }).apply(h) as tf.SymbolicTensor;
  }
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: out });
  applyKerasBatchNormSemantics(m);
  return m;
}

interface Step {
  out: number[];
  loss: number;
  grads: number[][];
  weights: number[][];
}

/** One training forward and backward pass from the given weights (both engines start from the same numbers). */
function step(weights: number[][] | null): Step {
  const m = build();
  if (weights) m.setWeights(m.getWeights().map((w, i) => tf.tensor(weights[i]!, w.shape)));
  const rng = new Rng('tf-native-ops');
  const x = tf.tensor4d(Array.from({ length: 5 * 6 * 6 * 3 }, () => rng.normal(0.5, 2)), [5, 6, 6, 3]);
  const y = tf.tensor2d(Array.from({ length: 10 }, () => (rng.next() < 0.5 ? 1 : 0)), [5, 2]);
  let out: number[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const p = m.apply(x, { training: true }) as tf.Tensor;
    out = Array.from(p.dataSync());
    return tf.losses.sigmoidCrossEntropy(y, p) as tf.Scalar;
  });
  const r = {
    out,
    loss: value.dataSync()[0]!,
    grads: m.trainableWeights.map((w) => Array.from(grads[(w.read() as tf.Variable).name]!.dataSync())),
    weights: m.getWeights().map((w) => Array.from(w.dataSync())), // moving statistics updated by the pass
  };
  tf.dispose([x, y, value, ...Object.values(grads)]);
  m.dispose();
  return r;
}

function expectClose(a: number[], b: number[], what: string): void {
  expect(a.length, what).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  a.forEach((v, i) => expect(Math.abs(v - b[i]!), `${what}[${i}]`).toBeLessThan(2e-4 * scale));
}

suite('native training ops on the tensorflow engine', () => {
  it("equal tfjs's compositions on the cpu engine: outputs, loss, gradients, moving statistics", async () => {
    await initBackend('cpu', { quiet: true });
    const start = build().getWeights().map((w) => Array.from(w.dataSync()));
    let before = tf.memory().numTensors;
    const ref = step(start);
    // Building and disposing a tfjs-layers model leaves a few tensors on any engine: no more here.
    const leftOnCpu = tf.memory().numTensors - before;
    await initBackend('tensorflow', { quiet: true });
    before = tf.memory().numTensors;
    const got = step(start);
    expect(tf.memory().numTensors - before).toBe(leftOnCpu);
    expectClose(got.out, ref.out, 'output');
    expect(got.loss).toBeCloseTo(ref.loss, 5);
    ref.grads.forEach((g, i) => expectClose(got.grads[i]!, g, `gradient ${i}`));
    ref.weights.forEach((w, i) => expectClose(got.weights[i]!, w, `weight ${i} after the pass`));
  });

  it('ReLU gradient: ReluGrad on the native engine, dy · step(x) elsewhere', async () => {
    const x = [-2, -0.5, 0, 1e-30, 0.5, 3];
    const dy = [1, 2, 3, 4, 5, 6];
    const grad = () => tf.tidy(() => Array.from(tf.grad((t: tf.Tensor) => tf.relu(t))(tf.tensor1d(x), tf.tensor1d(dy)).dataSync()));
    await initBackend('tensorflow', { quiet: true });
    const native = grad();
    await initBackend('cpu', { quiet: true });
    expect(native).toEqual(grad());
    expect(native).toEqual([0, 0, 0, 4, 5, 6]);
  });
});
