/**
 * BatchNormalization without scale or offset (InceptionV3's and InceptionResNetV2's) trains: tfjs-layers'
 * own training path throws for it, so applyKerasBatchNormSemantics gives such layers one of ours, which
 * must match tfjs-layers' path for a layer with gamma = 1 and beta = 0 (outputs and moving statistics).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { applyKerasBatchNormSemantics } from '../../src/models/custom-layers.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

function bnModel(args: { scale: boolean; center: boolean }): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 3] });
  const y = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-3, ...args }).apply(input) as tf.SymbolicTensor;
  const m = tf.model({ inputs: input, outputs: y });
  applyKerasBatchNormSemantics(m);
  return m;
}

const movingStats = (m: tf.LayersModel) => m.layers[1]!.getWeights().slice(-2).map((w) => Array.from(w.dataSync()));

describe('BatchNormalization without scale or offset', () => {
  it("trains like tfjs-layers' path with gamma 1 and beta 0: the same outputs and moving statistics", () => {
    const x = tf.randomNormal([5, 4, 4, 3], 2, 3, 'float32', 7);
    const before = tf.memory().numTensors;
    for (const args of [
      { scale: false, center: false },
      { scale: false, center: true },
      { scale: true, center: false },
    ]) {
      const ours = bnModel(args);
      const ref = bnModel({ scale: true, center: true });
      const a = ours.apply(x, { training: true }) as tf.Tensor;
      const b = ref.apply(x, { training: true }) as tf.Tensor;
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBeLessThan(1e-5);
      const [ma, va] = movingStats(ours);
      const [mb, vb] = movingStats(ref);
      ma!.forEach((v, i) => expect(v).toBeCloseTo(mb![i]!, 5));
      va!.forEach((v, i) => expect(v).toBeCloseTo(vb![i]!, 5));
      tf.dispose([a, b]);
      ours.dispose();
      ref.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('passes gradients: a conv below a scale-free BN layer learns', () => {
    const input = tf.input({ shape: [6, 6, 2] });
    let h = tf.layers.conv2d({ filters: 3, kernelSize: 3, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ scale: false }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(h) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: out });
    applyKerasBatchNormSemantics(m);
    const x = tf.randomNormal([4, 6, 6, 2], 0, 1, 'float32', 3);
    const y = tf.tensor2d([[1], [0], [1], [0]]);
    const kernel = m.layers[1]!.getWeights()[0]!;
    const k0 = Array.from(kernel.dataSync());
    const opt = tf.train.sgd(0.5);
    const cost = opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x, { training: true }) as tf.Tensor), true)!;
    expect(Number.isFinite(cost.dataSync()[0])).toBe(true);
    const k1 = Array.from(m.layers[1]!.getWeights()[0]!.dataSync());
    expect(k1.some((v, i) => v !== k0[i])).toBe(true);
    tf.dispose([x, y, cost]);
    opt.dispose();
    m.dispose();
  });
});
