import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { OPTIMIZERS, createOptimizer, decodeSnapshot, encodeSnapshot, getLearningRate, restoreOptimizer, setLearningRate, snapshotOptimizer } from '../../src/training/optimizers.js';
import { Trainer } from '../../src/training/trainer.js';
import { tensorSource } from '../../src/training/sources.js';
import { MedtrainError } from '../../src/util/errors.js';
import { denseModel, maskedBce, syntheticTask } from './helpers.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

const t = syntheticTask(96, { seed: 9 });
const bits = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(new Uint32Array(Float32Array.from(w.dataSync()).buffer)));

describe('optimizer state', () => {
  it.each(OPTIMIZERS)('%s: snapshot → encode → decode → restore continues bit for bit', async (name) => {
    const x = tf.tensor2d(t.x, [96, t.features]);
    const y = tf.tensor2d(t.y, [96, t.classes]);
    const source = tensorSource(x, y, { batchSize: 16 });
    // Uninterrupted: 4 epochs. (Cut after 18 steps, where Adam's running beta powers differ
    // from the pow() tfjs would recompute them with: the snapshot must carry them.)
    const a = denseModel(t.features, t.classes);
    const ta = new Trainer({ model: a, loss: maskedBce, optimizer: createOptimizer(name, 0.01) });
    await ta.fit({ epochs: 4, train: source });
    // Interrupted after 3 epochs, state through bytes, continued in a fresh model and optimizer.
    const b = denseModel(t.features, t.classes);
    const tb = new Trainer({ model: b, loss: maskedBce, optimizer: createOptimizer(name, 0.01) });
    await tb.fit({ epochs: 3, train: source });
    const cp = await tb.checkpoint();
    const { manifest, data } = encodeSnapshot(cp.optimizer);
    const snap = decodeSnapshot(JSON.parse(JSON.stringify(manifest)), data.slice());
    expect(snap.iterations).toBe(18);
    const c = denseModel(t.features, t.classes, 99);
    c.setWeights(b.getWeights());
    const tc = new Trainer({ model: c, loss: maskedBce, optimizer: createOptimizer(name, 0.01) });
    await tc.restore(JSON.parse(JSON.stringify(cp.state)), snap);
    const before = tf.memory().numTensors;
    await tc.fit({ epochs: 4, train: source });
    expect(bits(c)).toEqual(bits(a));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    for (const m of [a, b, c]) m.dispose();
    for (const tr of [ta, tb, tc]) tr.optimizer.dispose();
  });

  it('reads and sets the learning rate of every optimizer', () => {
    for (const name of OPTIMIZERS) {
      const o = createOptimizer(name, 0.1);
      expect(getLearningRate(o)).toBe(0.1);
      setLearningRate(o, 0.025);
      expect(getLearningRate(o)).toBe(0.025);
      o.dispose();
    }
  });

  it('refuses a snapshot of another optimizer class', async () => {
    const snap = await snapshotOptimizer(createOptimizer('adam', 0.1));
    await expect(restoreOptimizer(createOptimizer('sgd', 0.1), snap)).rejects.toThrow(MedtrainError);
  });
});
