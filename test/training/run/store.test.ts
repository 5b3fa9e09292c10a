import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/backend/index.js';
import { RunStore } from '../../../src/training/run/store.js';
import { Trainer } from '../../../src/training/trainer.js';
import { tensorSource } from '../../../src/training/sources.js';
import { createOptimizer } from '../../../src/training/optimizers.js';
import { loadModel } from '../../../src/models/weights/tfjs-io.js';
import { MedtrainError } from '../../../src/util/errors.js';
import { Rng } from '../../../src/util/rng.js';
import { denseModel, maskedBce, syntheticTask } from '../helpers.js';

let dir: string;
beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-runstore-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function trainedCheckpoint(rng: Rng) {
  const t = syntheticTask(48, { seed: 4 });
  const x = tf.tensor2d(t.x, [48, t.features]);
  const y = tf.tensor2d(t.y, [48, t.classes]);
  const model = denseModel(t.features, t.classes);
  const trainer = new Trainer({ model, loss: maskedBce, optimizer: createOptimizer('adam', 0.01), rng });
  await trainer.fit({ epochs: 1, train: tensorSource(x, y, { batchSize: 16 }) });
  rng.normal(); // leave a Box–Muller spare in the state
  tf.dispose([x, y]);
  return { trainer, model, rng, cp: await trainer.checkpoint(), features: t.features, classes: t.classes };
}

describe('RunStore', () => {
  it('refuses to start a run where one is, and to open a folder that holds none', async () => {
    await RunStore.create(join(dir, 'a'), { name: 'x' });
    await expect(RunStore.create(join(dir, 'a'), {})).rejects.toThrow(/a run is already in this folder[\s\S]*--resume/);
    await expect(RunStore.open(join(dir, 'nothing'))).rejects.toMatchObject({ code: 'not-a-run' });
    writeFileSync(join(dir, 'afile'), 'x');
    const e = await RunStore.create(join(dir, 'afile', 'run'), {}).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MedtrainError);
    expect((e as MedtrainError).code).toBe('unwritable');
    await expect((await RunStore.open(join(dir, 'a'))).readConfig()).resolves.toEqual({ name: 'x' });
  });

  it("never writes into a folder it did not make: a user's folder is refused untouched; an empty one is taken", async () => {
    const mine = join(dir, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep me');
    const e = await RunStore.create(mine, {}).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'folder-not-empty', file: mine });
    expect((e as MedtrainError).message).toMatch(/not a run folder \(it holds 'notes.txt'\)/);
    expect(readdirSync(mine)).toEqual(['notes.txt']);
    expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('keep me');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, `.config.json.tmp-999999999-abcd`), 'left by a killed writer');
    await RunStore.create(empty, { ok: 1 });
    expect(readdirSync(empty)).toEqual(['config.json']);
  });

  it('of runs started into one folder at once, exactly one gets it', async () => {
    const target = join(dir, 'race');
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => RunStore.create(target, { i })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) expect(r.reason).toMatchObject({ code: 'run-exists' });
  });

  it('saves and loads a checkpoint: weights, optimizer state, trainer state, best/', async () => {
    const s = await RunStore.create(join(dir, 'b'), {});
    const { model, cp, features, classes, trainer, rng } = await trainedCheckpoint(new Rng(3));
    await s.saveCheckpoint({ ...cp, epoch: 1, logs: { epoch: 1, loss: 0.5 } }, { best: true, monitor: 'val_loss', value: 0.4 });
    await s.saveCheckpoint({ ...cp, epoch: 2, logs: { epoch: 2, loss: 0.4 } }, { best: false, monitor: 'val_loss', value: 0.45 });
    expect(await s.listCheckpoints()).toEqual([1, 2]);
    expect(readdirSync(s.checkpointDir(1)).sort()).toEqual(['checkpoint.json', 'group1-shard1of1.bin', 'model.json', 'optimizer.bin', 'optimizer.json']);
    const fresh = denseModel(features, classes, 1234);
    const loaded = await s.loadCheckpoint('last', fresh);
    expect(loaded!.epoch).toBe(2);
    expect(loaded!.state).toEqual(cp.state);
    expect(loaded!.state.rng?.spare).toBeTypeOf('number');
    // The generator continues exactly, the pending Box–Muller value included.
    const again = new Rng(3);
    again.setState(loaded!.state.rng!);
    expect([again.normal(), again.normal(), again.next()]).toEqual([rng.normal(), rng.normal(), rng.next()]);
    expect(() => new Rng(4).setState(loaded!.state.rng!)).toThrow(/seed/);
    expect(loaded!.optimizer.weights.map((w) => Array.from(w.data))).toEqual(cp.optimizer.weights.map((w) => Array.from(w.data)));
    expect(fresh.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(model.getWeights().map((w) => Array.from(w.dataSync())));
    const best = await s.loadCheckpoint('best');
    expect([best!.epoch, best!.best.best, best!.best.value]).toEqual([1, true, 0.4]);
    // The saved model is a tfjs layers model tf.loadLayersModel reads.
    const { model: whole } = await loadModel(s.checkpointDir(2));
    expect(whole.predict(tf.ones([1, features])).toString()).toBe((model.predict(tf.ones([1, features])) as tf.Tensor).toString());
    // resume() puts it all into a trainer.
    const t2 = new Trainer({ model: denseModel(features, classes, 77), loss: maskedBce, optimizer: createOptimizer('adam', 0.5), rng: new Rng(3) });
    expect(await s.resume(t2)).toBe(2);
    expect([t2.completedEpochs, t2.step, t2.learningRate]).toEqual([trainer.completedEpochs, trainer.step, trainer.learningRate]);
    await expect(s.loadCheckpoint(7)).rejects.toThrow(/no complete checkpoint for epoch 7[\s\S]*saved epochs: 1, 2/);
    for (const m of [model, fresh, whole]) m.dispose();
  });

  it('never shows half a checkpoint: a failed write leaves the epoch absent and its leftovers are removed', async () => {
    const s = await RunStore.create(join(dir, 'c'), {});
    const { cp } = await trainedCheckpoint(new Rng(1));
    const broken = { save: async () => { throw new Error('disk full'); } } as unknown as tf.LayersModel;
    await expect(s.saveCheckpoint({ ...cp, model: broken, epoch: 1, logs: {} }, { best: false, monitor: 'val_loss', value: null })).rejects.toThrow('disk full');
    expect(existsSync(s.checkpointDir(1))).toBe(false);
    expect(await s.listCheckpoints()).toEqual([]);
    expect(await s.lastCheckpoint()).toBeNull();
    // What a killed process leaves: a temporary folder of a dead pid, and a folder without checkpoint.json.
    mkdirSync(join(s.paths.checkpoints, '.epoch-002.tmp-999999999-abcd'), { recursive: true });
    mkdirSync(join(s.paths.checkpoints, 'epoch-003'));
    mkdirSync(join(s.paths.checkpoints, `.epoch-004.tmp-${process.pid}-beef`));
    expect(await s.listCheckpoints()).toEqual([]);
    const reopened = await RunStore.open(s.dir, { writable: true });
    expect(readdirSync(reopened.paths.checkpoints).sort()).toEqual([`.epoch-004.tmp-${process.pid}-beef`, 'epoch-003']);
  });
});
