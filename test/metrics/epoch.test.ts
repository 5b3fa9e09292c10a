/**
 * The losses and the epoch evaluator inside the project's Trainer: a small multi-label model
 * trained with CWBCE from class statistics, validation metrics in the history every epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, shutdownBackend } from '../../src/backend/index.js';
import { computeClassWeights, createLoss } from '../../src/losses/index.js';
import { epochEvaluator } from '../../src/metrics/index.js';
import { createOptimizer } from '../../src/training/optimizers.js';
import { Trainer } from '../../src/training/trainer.js';
import { tensorSource } from '../../src/training/sources.js';
import type { Callback } from '../../src/training/callbacks/index.js';
import type { ClassStats } from '../../src/core/types.js';
import { Rng } from '../../src/util/rng.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});
afterAll(() => shutdownBackend());

/** Features → 3 classes: two learnable, a rare one, and in validation a class never positive. */
function task(n: number, seed: string, rareNeverPositive: boolean) {
  const rng = new Rng(seed);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = [rng.normal(), rng.normal(), rng.normal()];
    x.push(...f);
    y.push(f[0]! > 0 ? 1 : 0, i % 5 === 0 ? -1 : f[1]! > 0.5 ? 1 : 0, !rareNeverPositive && f[2]! > 1.2 ? 1 : 0);
  }
  return { x, y };
}

function stats(y: number[], C: number): ClassStats[] {
  return Array.from({ length: C }, (_, c) => {
    const col = y.filter((_, i) => i % C === c);
    return { positive: col.filter((v) => v === 1).length, negative: col.filter((v) => v === 0).length, masked: col.filter((v) => v < 0).length, uncertain: 0, blank: 0 };
  });
}

describe('losses and metrics in the Trainer', () => {
  it('trains with CWBCE from class statistics and logs validation metrics each epoch, leaking nothing', async () => {
    const tr = task(384, 'train', false);
    const va = task(192, 'val', true);
    const xt = tf.tensor2d(tr.x, [384, 3]);
    const yt = tf.tensor2d(tr.y, [384, 3]);
    const xv = tf.tensor2d(va.x, [192, 3]);
    const yv = tf.tensor2d(va.y, [192, 3]);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
    const st = stats(tr.y, 3);
    expect(computeClassWeights(st, { kind: 'pos-neg', normalization: 'l1' }).positive[2]).toBeGreaterThan(5); // the rare class weighs most
    const counts: number[] = [];
    const probe: Callback = { name: 'probe', order: 1000, onEpochEnd: () => void counts.push(tf.memory().numTensors) };
    const trainer = new Trainer({
      model,
      callbacks: [probe],
      loss: createLoss('CWBCE', { stats: st }),
      optimizer: createOptimizer('adam', 0.05),
      evaluate: epochEvaluator(),
      classNames: ['first', 'second', 'rare'],
      rng: new Rng(1),
    });
    const r = await trainer.fit({ epochs: 5, train: tensorSource(xt, yt, { batchSize: 32, rng: new Rng(2) }), val: tensorSource(xv, yv, { batchSize: 64 }) });
    const last = r.history[r.history.length - 1]!;
    expect(last.val_macro_auroc!).toBeGreaterThan(0.85);
    expect(last['val_auroc/first']!).toBeGreaterThan(0.85);
    expect(last['val_auroc/rare']).toBeNull(); // never positive in validation: undefined, not 0
    expect(last.val_auroc_excluded).toBe(1);
    expect(typeof last.val_binary_accuracy).toBe('number');
    expect(r.history[0]!.loss!).toBeGreaterThan(last.loss!);
    expect(counts).toHaveLength(5);
    expect(counts[4]).toBe(counts[1]);
    tf.dispose([xt, yt, xv, yv]);
    model.dispose();
    trainer.optimizer.dispose();
  });
});
