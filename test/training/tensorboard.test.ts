import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/backend/index.js';
import { crc32c, EventFileWriter, maskedCrc32c, standardCallbacks, tfRecord, type Callback } from '../../src/training/callbacks/index.js';
import { createOptimizer } from '../../src/training/optimizers.js';
import { RunStore } from '../../src/training/run/store.js';
import { Trainer } from '../../src/training/trainer.js';
import { tensorSource } from '../../src/training/sources.js';
import { Rng } from '../../src/util/rng.js';
import { describeOracle, runPython } from '../helpers/python.js';
import { denseModel, macroAuroc, maskedBce, syntheticTask } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-tb-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every scalar of every run folder under `logdirs`, as TensorBoard's own event reader sees it. */
const READ = `
import json, sys, types
sys.modules['tensorboard.compat.notf'] = types.ModuleType('notf')  # TensorBoard's TF stub: no TensorFlow import
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
out = {}
for d in json.load(sys.stdin):
    ea = EventAccumulator(d, size_guidance={'scalars': 0})
    ea.Reload()
    out[d] = {t: [[e.step, e.value] for e in ea.Scalars(t)] for t in ea.Tags()['scalars']}
print(json.dumps(out))
`;
type Scalars = Record<string, Record<string, [number, number][]>>;

describe('TFRecord framing', () => {
  it('computes CRC32C and its mask as TensorFlow does', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const r = tfRecord(new Uint8Array([1, 2, 3]));
    const dv = new DataView(r.buffer);
    expect(Number(dv.getBigUint64(0, true))).toBe(3);
    expect(dv.getUint32(8, true)).toBe(maskedCrc32c(r.subarray(0, 8)));
    expect(dv.getUint32(15, true)).toBe(maskedCrc32c(new Uint8Array([1, 2, 3])));
  });
});

describeOracle('TensorBoard event files read by the real TensorBoard', ['tensorboard'], () => {
  it('gives back the scalars written, and a resumed file supersedes the cut run from its first step', () => {
    const d = join(dir, 'writer');
    const w = new EventFileWriter(d);
    for (let s = 0; s < 6; s++) w.scalars(s, [{ tag: 'loss', value: 1 / (s + 1) }, { tag: 'auroc/Pleural Effusion', value: s / 10 }, { tag: 'nan', value: NaN }]);
    w.flush(true);
    const w2 = new EventFileWriter(d);
    w2.sessionStart(4);
    for (let s = 4; s < 8; s++) w2.scalars(s, [{ tag: 'loss', value: -s }]);
    w2.scalars(1e12, [{ tag: 'big-step', value: 3.5 }]);
    w2.flush(true);
    expect(readdirSync(d).sort()).toEqual([w.path, w2.path].map((p) => p.slice(d.length + 1)).sort());
    expect(w2.path > w.path).toBe(true);
    const got = runPython<Scalars>(READ, [d])[d]!;
    expect(got.loss).toEqual([...[0, 1, 2, 3].map((s) => [s, Math.fround(1 / (s + 1))]), ...[4, 5, 6, 7].map((s) => [s, -s])]);
    // The restart purged every tag from step 4 on.
    expect(got['auroc/Pleural Effusion']).toEqual([0, 1, 2, 3].map((s) => [s, Math.fround(s / 10)]));
    expect(got.nan).toBeUndefined();
    expect(got['big-step']).toEqual([[1e12, 3.5]]);
  });

  it('a trainer cut mid-epoch and resumed shows the same curves as an uninterrupted one', async () => {
    const t = syntheticTask(64, { seed: 12 });
    const v = syntheticTask(32, { seed: 13 });
    const [x, y, vx, vy] = [tf.tensor2d(t.x, [64, t.features]), tf.tensor2d(t.y, [64, t.classes]), tf.tensor2d(v.x, [32, t.features]), tf.tensor2d(v.y, [32, t.classes])];
    const run = async (name: string, o: { cutAt?: [number, number]; resume?: boolean } = {}) => {
      const store = o.resume ? await RunStore.open(join(dir, name), { writable: true }) : await RunStore.create(join(dir, name), {});
      const cut: Callback = { name: 'cut', onBatchEnd: (_c, l) => { if (o.cutAt && l.epoch === o.cutAt[0] && l.batch === o.cutAt[1]) throw new Error('cut'); } };
      const model = denseModel(t.features, t.classes);
      // Batch scalars flushed at every step, so the cut run leaves orphans for the resume to supersede.
      const callbacks = [...standardCallbacks({ store, progress: false, lrFactor: 0.5, tensorboard: { flushSeconds: 0 } }), cut];
      const trainer = new Trainer({ model, loss: maskedBce, optimizer: createOptimizer('adam', 0.01), evaluate: macroAuroc, classNames: ['a', 'b', 'c'], callbacks });
      if (o.resume) await store.resume(trainer);
      await trainer.fit({ epochs: 4, train: tensorSource(x, y, { batchSize: 16, rng: new Rng(1) }), val: tensorSource(vx, vy, { batchSize: 16 }) }).catch((e: Error) => {
        if (e.message !== 'cut') throw e;
      });
      model.dispose();
      trainer.optimizer.dispose();
      return store.paths.tensorboard;
    };
    const full = await run('full');
    await run('cut', { cutAt: [2, 1] });
    const cut = await run('cut', { resume: true });
    const runs = ['train', 'validation', 'batch'];
    const got = runPython<Scalars>(READ, runs.flatMap((r) => [join(full, r), join(cut, r)]));
    for (const r of runs) {
      const a = got[join(full, r)]!;
      const b = got[join(cut, r)]!;
      const keep = (s: Record<string, [number, number][]>) => Object.fromEntries(Object.entries(s).filter(([k]) => !/seconds|images_per_second/.test(k)));
      expect(keep(b), r).toEqual(keep(a));
    }
    const train = got[join(full, 'train')]!;
    expect(train.epoch_loss!.map((e) => e[0])).toEqual([0, 1, 2, 3]);
    expect(train.epoch_learning_rate!.map((e) => e[1])).toEqual([0.01, 0.005, 0.0025, 0.00125].map(Math.fround));
    const val = got[join(full, 'validation')]!;
    expect(Object.keys(val).sort()).toEqual(['epoch_auroc/a', 'epoch_auroc/b', 'epoch_auroc/c', 'epoch_loss', 'epoch_macro_auroc']);
    const hist = JSON.parse(readFileSync(join(full, '..', 'history.json'), 'utf8')) as Record<string, number>[];
    expect(val.epoch_macro_auroc!.map((e) => e[1])).toEqual(hist.map((h) => Math.fround(h.val_macro_auroc!)));
    expect(got[join(full, 'batch')]!.batch_loss!.map((e) => e[0])).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    tf.dispose([x, y, vx, vy]);
  });
});
