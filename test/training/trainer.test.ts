import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/backend/index.js';
import type { LossFn } from '../../src/losses/losses.js';
import { Trainer } from '../../src/training/trainer.js';
import { tensorSource } from '../../src/training/sources.js';
import { createOptimizer } from '../../src/training/optimizers.js';
import { standardCallbacks, type Callback, type BatchLogs } from '../../src/training/callbacks/index.js';
import { RunStore } from '../../src/training/run/store.js';
import { Rng } from '../../src/util/rng.js';
import { getConsoleSink, setConsoleSink } from '../../src/util/logger.js';
import { denseModel, macroAuroc, maskedBce, syntheticTask } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-trainer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function task(n: number, seed: number) {
  const t = syntheticTask(n, { seed });
  return { ...t, x: tf.tensor2d(t.x, [n, t.features]), y: tf.tensor2d(t.y, [n, t.classes]) };
}

describe('Trainer', () => {
  it('trains a small model on synthetic data: the loss falls and validation AUROC rises', async () => {
    const tr = task(512, 1);
    const va = task(256, 2);
    const model = denseModel(tr.features, tr.classes);
    const trainer = new Trainer({ model, loss: maskedBce, optimizer: createOptimizer('adam', 0.01), evaluate: macroAuroc, classNames: ['a', 'b', 'c'], rng: new Rng(5) });
    const r = await trainer.fit({ epochs: 6, train: tensorSource(tr.x, tr.y, { batchSize: 32, rng: new Rng(5) }), val: tensorSource(va.x, va.y, { batchSize: 64 }) });
    expect(r.epochs).toBe(6);
    expect(r.step).toBe(6 * 16);
    expect(r.stopped).toBeNull();
    const h = r.history;
    expect(h.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h[5]!.loss!).toBeLessThan(h[0]!.loss! * 0.7);
    expect(h[5]!.val_loss!).toBeLessThan(h[0]!.val_loss!);
    expect(h[5]!.val_macro_auroc!).toBeGreaterThan(0.9);
    for (const k of ['val_auroc/a', 'val_auroc/b', 'val_auroc/c', 'lr', 'images', 'seconds', 'images_per_second']) expect(h[5]).toHaveProperty(k);
    expect(h[5]!.images).toBe(512);
    tf.dispose([tr.x, tr.y, va.x, va.y]);
    model.dispose();
    trainer.optimizer.dispose();
  });

  it('keeps tf.memory().numTensors flat across epochs with every callback on, and evaluate leaks nothing', async () => {
    const tr = task(256, 3);
    const va = task(128, 4);
    const model = denseModel(tr.features, tr.classes);
    const store = await RunStore.create(join(dir, 'flat'), { test: true });
    const counts: number[] = [];
    const probe: Callback = { name: 'probe', order: 1000, onEpochEnd: () => void counts.push(tf.memory().numTensors) };
    const cbs = [...standardCallbacks({ store, lrFactor: 0.5, earlyStopping: { patience: 100 }, progress: false }), probe];
    const trainer = new Trainer({ model, loss: maskedBce, optimizer: createOptimizer('adam', 0.01), evaluate: macroAuroc, callbacks: cbs });
    const source = tensorSource(tr.x, tr.y, { batchSize: 32, rng: new Rng(1) });
    const val = tensorSource(va.x, va.y, { batchSize: 50 });
    await trainer.fit({ epochs: 5, train: source, val });
    expect(counts).toHaveLength(5);
    expect(new Set(counts.slice(1)).size).toBe(1);
    const before = tf.memory().numTensors;
    const ev = await trainer.evaluate(val);
    expect(tf.memory().numTensors).toBe(before);
    expect(ev.rows).toBe(128);
    expect(ev.ids).toHaveLength(128);
    expect(await store.listCheckpoints()).toEqual([1, 2, 3, 4, 5]);
    tf.dispose([tr.x, tr.y, va.x, va.y]);
    model.dispose();
    trainer.optimizer.dispose();
  });

  it('lets a callback set the learning rate per batch, and the update uses it', async () => {
    const tr = task(64, 5);
    const model = denseModel(tr.features, tr.classes);
    const seen: BatchLogs[] = [];
    const warmup: Callback = {
      name: 'warmup',
      onBatchBegin: (ctx, b) => ctx.setLearningRate(0.01 * (b.batch + 1)),
      onBatchEnd: (_ctx, l) => void seen.push(l),
    };
    const trainer = new Trainer({ model, loss: maskedBce, optimizer: createOptimizer('sgd', 0.5), callbacks: [warmup] });
    await trainer.fit({ epochs: 1, train: tensorSource(tr.x, tr.y, { batchSize: 16 }) });
    expect(seen.map((l) => l.lr)).toEqual([0.01, 0.02, 0.03, 0.04].map((v) => expect.closeTo(v, 12)));
    expect(seen.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(trainer.learningRate).toBeCloseTo(0.04, 12);
    // The rate a callback sets is the rate the update uses: the same as a constant optimizer rate.
    const weightsAfter = async (lrByCallback: number | null, optimizerLr: number) => {
      const m = denseModel(tr.features, tr.classes);
      const cbs: Callback[] = lrByCallback === null ? [] : [{ name: 'lr', onBatchBegin: (ctx) => ctx.setLearningRate(lrByCallback) }];
      const t = new Trainer({ model: m, loss: maskedBce, optimizer: tf.train.sgd(optimizerLr), callbacks: cbs });
      await t.fit({ epochs: 1, train: tensorSource(tr.x, tr.y, { batchSize: 16 }) });
      const w = m.getWeights().map((v) => Array.from(v.dataSync()));
      m.dispose();
      t.optimizer.dispose();
      return w;
    };
    expect(await weightsAfter(0.05, 0.9)).toEqual(await weightsAfter(null, 0.05));
    expect(await weightsAfter(0.1, 0.9)).not.toEqual(await weightsAfter(null, 0.05));
    tf.dispose([tr.x, tr.y]);
    model.dispose();
  });

  it('stops at a non-finite loss before the update, naming epoch and step, and keeps the last good checkpoint', async () => {
    const tr = task(64, 6);
    const va = task(32, 7);
    const model = denseModel(tr.features, tr.classes);
    let calls = 0;
    const poisoned: LossFn = (y, p) => {
      calls++;
      const l = maskedBce(y, p);
      if (calls !== 7) return l;
      const nan = tf.mul(l, NaN) as tf.Scalar;
      l.dispose();
      return nan;
    };
    const store = await RunStore.create(join(dir, 'nan'), {});
    const snapshot: Float32Array[][] = [];
    const spy: Callback = { name: 'spy', onBatchBegin: () => void snapshot.push(model.getWeights().map((w) => w.dataSync().slice() as Float32Array)) };
    // No NanGuard given: the Trainer adds one.
    const trainer = new Trainer({ model, loss: poisoned, optimizer: createOptimizer('adam', 0.01), callbacks: [...standardCallbacks({ store, progress: false }), spy] });
    // The val pass calls the loss too: 4 train steps + 1 val call in epoch 1, so call 7 = epoch 2, batch 2 (step 6).
    const errors: string[] = [];
    const prev = getConsoleSink();
    setConsoleSink({ write: (_l, _s, m) => void errors.push(m) });
    const r = await trainer.fit({ epochs: 3, train: tensorSource(tr.x, tr.y, { batchSize: 16 }), val: tensorSource(va.x, va.y, { batchSize: 32 }) }).finally(() => setConsoleSink(prev));
    expect(errors).toEqual([expect.stringMatching(/^loss NaN at epoch 2, step 6 \(batch 2 of the epoch\); training stopped before the update/)]);
    expect(r.stopped?.kind).toBe('non-finite');
    expect(r.stopped?.epoch).toBe(1);
    expect(r.stopped?.step).toBe(6);
    expect(r.stopped?.message).toMatch(/epoch 2, step 6/);
    expect(r.epochs).toBe(1);
    expect(await store.listCheckpoints()).toEqual([1]);
    // The weights are those from before the poisoned step.
    const now = model.getWeights().map((w) => w.dataSync().slice());
    expect(now).toEqual(snapshot[snapshot.length - 1]);
    expect(existsSync(store.checkpointDir(2))).toBe(false);
    tf.dispose([tr.x, tr.y, va.x, va.y]);
    model.dispose();
  });

  it('clips each gradient to clipNorm (Keras clipnorm)', async () => {
    const tr = task(64, 9);
    const model = denseModel(tr.features, tr.classes);
    const w0 = model.getWeights().map((w) => w.dataSync().slice());
    const trainer = new Trainer({ model, loss: maskedBce, optimizer: tf.train.sgd(1), clipNorm: 1e-3 });
    await trainer.fit({ epochs: 1, train: tensorSource(tr.x, tr.y, { batchSize: 64 }) });
    const moved = model.getWeights().map((w, i) => Math.hypot(...Array.from(w.dataSync(), (v, k) => v - w0[i]![k]!)));
    for (const m of moved) expect(m).toBeLessThanOrEqual(1e-3 * (1 + 1e-4));
    expect(Math.max(...moved)).toBeGreaterThan(0.9e-3);
    tf.dispose([tr.x, tr.y]);
    model.dispose();
  });

  it('applies sigmoid to scores, not to the loss input, for a model that outputs logits', async () => {
    const tr = task(32, 8);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [tr.features], units: tr.classes, name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
    const fromLogits: LossFn = (y, z) => maskedBce(y, tf.sigmoid(z));
    const trainer = new Trainer({ model, loss: fromLogits, optimizer: createOptimizer('adam', 0.01), outputs: 'logits' });
    const src = tensorSource(tr.x, tr.y, { batchSize: 8 });
    // A bare batches function is a source too.
    const p = await trainer.predict((e) => src.batches(e));
    const z = (model.predict(tr.x) as tf.Tensor).dataSync();
    expect(p.yScore[0]).toBeCloseTo(1 / (1 + Math.exp(-z[0]!)), 6);
    expect(p.yScore.every((v) => v > 0 && v < 1)).toBe(true);
    tf.dispose([tr.x, tr.y]);
    model.dispose();
  });
});
