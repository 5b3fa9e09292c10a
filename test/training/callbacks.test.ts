import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { initBackend } from '../../src/backend/index.js';
import { EarlyStopping, History, LrFactorSchedule, ModelCheckpoint, ProgressBar, ReduceLROnPlateau, formatDuration, type BestMark, type CheckpointData, type StopReason, type TrainContext } from '../../src/training/callbacks/index.js';
import { Trainer } from '../../src/training/trainer.js';
import { tensorSource } from '../../src/training/sources.js';
import { createOptimizer } from '../../src/training/optimizers.js';
import { createLogger, getConsoleSink, setConsoleSink, setLogLevel } from '../../src/util/logger.js';
import { denseModel, maskedBce, syntheticTask } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-callbacks-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the Trainer: a learning rate, a stop flag, an optional model. */
function fakeCtx(o: { lr?: number; model?: tf.LayersModel; completed?: number } = {}) {
  let lr = o.lr ?? 0.1;
  const ctx = {
    model: o.model as tf.LayersModel,
    optimizer: null as unknown as tf.Optimizer,
    epochs: 100,
    initialEpoch: 0,
    completedEpochs: o.completed ?? 0,
    step: 0,
    stepsPerEpoch: 4,
    get learningRate() {
      return lr;
    },
    setLearningRate(v: number) {
      lr = v;
    },
    stopReason: null as StopReason | null,
    stop(r: StopReason) {
      ctx.stopReason ??= r;
    },
    abort(r: StopReason) {
      ctx.stopReason = r;
    },
    checkpoint: async () => ({ state: { format: 'medtrain-trainer/1' as const, epoch: 0, step: 0, learningRate: lr, rng: null, stopped: null, callbacks: {} }, optimizer: { className: 'x', iterations: 0, weights: [], extras: [] }, model: o.model as tf.LayersModel }),
  };
  return ctx satisfies TrainContext;
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement and remembers the best epoch', () => {
    const es = new EarlyStopping({ patience: 2, restoreBest: false });
    const ctx = fakeCtx();
    const losses = [1.0, 0.8, 0.85, 0.7, 0.71, 0.72, 0.5];
    let stoppedAt = -1;
    for (let e = 0; e < losses.length && !ctx.stopReason; e++) {
      es.onEpochEnd(ctx, e, { val_loss: losses[e]! });
      if (ctx.stopReason) stoppedAt = e;
    }
    expect(stoppedAt).toBe(5);
    expect(ctx.stopReason!.kind).toBe('early-stopping');
    expect(ctx.stopReason!.message).toMatch(/val_loss has not improved for 2 epochs \(best 0\.7 at epoch 4\)/);
    expect([es.best, es.bestEpoch]).toEqual([0.7, 3]);
  });

  it('judges AUROC upwards, honours minDelta, ignores undefined values and carries its state', () => {
    const es = new EarlyStopping({ monitor: 'val_macro_auroc', patience: 1, minDelta: 0.01, restoreBest: false });
    const ctx = fakeCtx();
    es.onEpochEnd(ctx, 0, { val_macro_auroc: 0.7 });
    es.onEpochEnd(ctx, 1, { val_macro_auroc: null });
    expect(ctx.stopReason).not.toBeNull(); // null is not an improvement
    const es2 = new EarlyStopping({ monitor: 'val_macro_auroc', patience: 2, minDelta: 0.01, restoreBest: false });
    const c2 = fakeCtx();
    es2.onEpochEnd(c2, 0, { val_macro_auroc: 0.7 });
    es2.onEpochEnd(c2, 1, { val_macro_auroc: 0.705 }); // within minDelta: no improvement
    const resumed = new EarlyStopping({ monitor: 'val_macro_auroc', patience: 2, minDelta: 0.01, restoreBest: false });
    resumed.loadStateDict(JSON.parse(JSON.stringify(es2.stateDict())));
    resumed.onEpochEnd(c2, 2, { val_macro_auroc: 0.71 }); // not by more than minDelta
    expect(c2.stopReason?.kind).toBe('early-stopping');
    expect(resumed.bestEpoch).toBe(0);
  });

  it('restores the best epoch weights at the end, from memory or from a checkpoint after a resume', async () => {
    const model = denseModel(3, 2);
    const ctx = fakeCtx({ model, completed: 3 });
    const es = new EarlyStopping({ patience: 10 });
    const set = (v: number) => model.setWeights(model.weights.map((w) => tf.fill(w.shape as number[], v)));
    set(1);
    es.onEpochEnd(ctx, 0, { val_loss: 0.5 });
    set(2);
    es.onEpochEnd(ctx, 1, { val_loss: 0.4 });
    set(3);
    es.onEpochEnd(ctx, 2, { val_loss: 0.45 });
    await es.onTrainEnd(ctx);
    expect(model.getWeights().every((w) => w.dataSync().every((v) => v === 2))).toBe(true);
    // After a resume the in-memory copy is gone: the checkpoint of the best epoch is loaded.
    const loads: (number | 'best')[] = [];
    const es2 = new EarlyStopping({ patience: 10, checkpoints: { loadModelWeights: async (e) => void loads.push(e) } });
    es2.loadStateDict(es.stateDict());
    await es2.onTrainEnd(ctx);
    expect(loads).toEqual([2]);
    model.dispose();
  });
});

describe('learning-rate schedules', () => {
  it('LrFactorSchedule gives lr0·f^e over a real fit', async () => {
    const t = syntheticTask(32, { seed: 2 });
    const x = tf.tensor2d(t.x, [32, t.features]);
    const y = tf.tensor2d(t.y, [32, t.classes]);
    const model = denseModel(t.features, t.classes);
    const trainer = new Trainer({ model, loss: maskedBce, optimizer: createOptimizer('sgd', 0.2), callbacks: [new LrFactorSchedule(0.5)] });
    const r = await trainer.fit({ epochs: 4, train: tensorSource(x, y, { batchSize: 16 }) });
    expect(r.history.map((l) => l.lr)).toEqual([0.2, 0.1, 0.05, 0.025]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('ReduceLROnPlateau halves after 2 flat epochs, keeps to minLr, and honours cooldown', () => {
    const p = new ReduceLROnPlateau({ minLr: 0.02 });
    const ctx = fakeCtx({ lr: 0.1 });
    const lrs: number[] = [];
    for (const [e, v] of [1, 0.9, 0.9, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 0.5].entries()) {
      p.onEpochEnd(ctx, e, { val_loss: v });
      lrs.push(ctx.learningRate);
    }
    expect(lrs).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02]);
    const c = new ReduceLROnPlateau({ patience: 1, cooldown: 2 });
    const ctx2 = fakeCtx({ lr: 1 });
    const lrs2: number[] = [];
    for (const [e, v] of [1, 1, 1, 1, 1, 1].entries()) {
      c.onEpochEnd(ctx2, e, { val_loss: v });
      lrs2.push(ctx2.learningRate);
    }
    expect(lrs2).toEqual([1, 0.5, 0.5, 0.5, 0.25, 0.25]);
    // State survives a resume.
    const r = new ReduceLROnPlateau({ patience: 1, cooldown: 2 });
    r.loadStateDict(JSON.parse(JSON.stringify(c.stateDict())));
    expect(r.stateDict()).toEqual(c.stateDict());
  });
});

describe('ModelCheckpoint', () => {
  it('writes every epoch and marks the best by its monitor', async () => {
    const saved: [number, BestMark][] = [];
    const cp = new ModelCheckpoint({ saveCheckpoint: async (d: CheckpointData, m: BestMark) => void saved.push([d.epoch, m]) }, { monitor: 'val_macro_auroc' });
    const ctx = fakeCtx();
    for (const [e, v] of [0.6, 0.7, 0.65, null, 0.8].entries()) await cp.onEpochEnd(ctx, e, { val_macro_auroc: v });
    expect(saved.map(([e, m]) => [e, m.best])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, false],
      [5, true],
    ]);
    expect(cp.stateDict()).toEqual({ best: 0.8 });
  });
});

describe('History', () => {
  it('writes CSV and JSON after every epoch, per-class columns included, and rewrites them after a resume', async () => {
    const csv = join(dir, 'h', 'history.csv');
    const json = join(dir, 'h', 'history.json');
    const h = new History({ csv, json });
    const ctx = fakeCtx();
    await h.onTrainBegin(ctx);
    await h.onEpochEnd(ctx, 0, { epoch: 1, loss: 0.5, val_loss: 0.6, 'val_auroc/Pleural Effusion': 0.7, val_macro_auroc: 0.7 });
    await h.onEpochEnd(ctx, 1, { epoch: 2, loss: 0.4, val_loss: 0.5, 'val_auroc/Pleural Effusion': null, val_macro_auroc: 0.8 });
    expect(readFileSync(csv, 'utf8')).toBe('epoch,loss,val_loss,val_auroc/Pleural Effusion,val_macro_auroc\n1,0.5,0.6,0.7,0.7\n2,0.4,0.5,,0.8\n');
    expect(JSON.parse(readFileSync(json, 'utf8'))).toHaveLength(2);
    // A resume from epoch 1 drops the row of the epoch that is redone.
    const h2 = new History({ csv, json });
    h2.loadStateDict(JSON.parse(JSON.stringify(h.stateDict())));
    await h2.onTrainBegin({ ...fakeCtx({ completed: 1 }), initialEpoch: 1 });
    expect(JSON.parse(readFileSync(json, 'utf8'))).toEqual([{ epoch: 1, loss: 0.5, val_loss: 0.6, 'val_auroc/Pleural Effusion': 0.7, val_macro_auroc: 0.7 }]);
    expect(readFileSync(csv, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('ProgressBar', () => {
  function capture() {
    const s = new PassThrough();
    let out = '';
    s.on('data', (d) => (out += String(d)));
    return { s, text: () => out };
  }

  it('draws a Keras-like bar on a terminal and prints log lines above it', async () => {
    const { s, text } = capture();
    const bar = new ProgressBar({ stream: s, tty: true });
    const ctx = fakeCtx();
    const logged: string[] = [];
    const prev = getConsoleSink();
    const sink = { write: (_l: string, _s: string, m: string) => void logged.push(m) };
    setConsoleSink(sink);
    setLogLevel('info');
    try {
      bar.onTrainBegin();
      bar.onEpochBegin(ctx, 0);
      for (let b = 0; b < 4; b++) {
        await new Promise((r) => setTimeout(r, 110));
        bar.onBatchEnd(ctx, { epoch: 0, batch: b, step: b + 1, size: 8, loss: 0.5 - b * 0.1, lr: 0.1, gradNorm: 1 });
        if (b === 1) createLogger('test').info('a log line');
      }
      bar.onEpochEnd(ctx, 0, { epoch: 1, loss: 0.35, val_loss: 0.3, val_macro_auroc: 0.91, 'val_auroc/x': 0.9 });
      bar.onTrainEnd(ctx, { stopped: null, history: [] });
      expect(getConsoleSink()).toBe(sink); // the terminal is handed back
    } finally {
      setLogLevel('warn');
      setConsoleSink(prev);
    }
    const t = text().replaceAll('\u001b[2K', '<CLR>');
    expect(t).toContain('Epoch 1/100\n');
    expect(t).toMatch(/\r<CLR>2\/4 \[=+>\.+\] - ETA: \d+s - loss: 0\.4500 - [\d.]+ img\/s/);
    // The log line went to the terminal sink between a clear and a redraw of the bar.
    expect(logged).toEqual(['a log line']);
    expect(t).toMatch(/img\/s\r<CLR>2\/4 \[/);
    expect(t).toMatch(/4\/4 \[=+\] - \d+s \d+ms\/step - [\d.]+ img\/s - loss: 0\.3500 - val_loss: 0\.3000 - val_macro_auroc: 0\.9100\n/);
    expect(t).not.toContain('val_auroc/x');
  });

  it('writes plain lines without a terminal, and nothing when silent', () => {
    const { s, text } = capture();
    const bar = new ProgressBar({ stream: s, tty: false, plainEverySeconds: 0 });
    const ctx = fakeCtx();
    bar.onEpochBegin(ctx, 0);
    for (let b = 0; b < 4; b++) bar.onBatchEnd(ctx, { epoch: 0, batch: b, step: b + 1, size: 8, loss: 0.5, lr: 0.1, gradNorm: 1 });
    bar.onEpochEnd(ctx, 0, { epoch: 1, loss: 0.5 });
    expect(text()).not.toContain('\r');
    expect(text()).toMatch(/epoch 1\/100 +\d\/4 \[/);
    expect(text().trim().split('\n').at(-1)).toMatch(/^4\/4 \[=+\] .* loss: 0\.5000$/);
    const quiet = new ProgressBar();
    expect(() => {
      quiet.onEpochBegin(ctx, 0);
      quiet.onEpochEnd(ctx, 0, { loss: 1 });
    }).not.toThrow();
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(125)).toBe('2:05');
    expect(formatDuration(3725)).toBe('1:02:05');
  });
});
