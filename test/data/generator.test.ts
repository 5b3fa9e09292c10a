import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { ImageDataGenerator, type GeneratorOptions } from '../../src/data/generator.js';
import { batchToTensors } from '../../src/training/batch-tensors.js';
import type { DataSource } from '../../src/training/sources.js';
import { MASKED, type Batch, type CaseRecord } from '../../src/core/types.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir, writeGreyJpeg } from './fixtures.js';

const tmp = tempDir('generator');
const N = 30;
const C = 3;
const records: CaseRecord[] = [];
// Class 0 on every third row, class 1 on rows 0 and 1 only, class 2 masked on even rows.
const labels = new Float32Array(N * C);
for (let i = 0; i < N; i++) {
  labels[i * C] = i % 3 === 0 ? 1 : 0;
  labels[i * C + 1] = i < 2 ? 1 : 0;
  labels[i * C + 2] = i % 2 === 0 ? MASKED : 1;
}

beforeAll(async () => {
  const rng = new Rng('images');
  for (let i = 0; i < N; i++) {
    const path = join(tmp.dir, 'img', `patient${i % 10}`, `${i}.jpg`);
    const phase = rng.uniform(0, 6);
    await writeGreyJpeg(path, 48, 56, (x, y) => 128 + 60 * Math.sin(x / 5 + phase) + 40 * Math.cos(y / 7) + rng.normal(0, 8));
    records.push({ id: `img/patient${i % 10}/${i}.jpg`, path, patientId: `patient${i % 10}`, view: 'frontal', raw: new Float32Array(C), source: { file: join(tmp.dir, 'train.csv'), line: i + 2 } });
  }
});
afterAll(tmp.cleanup);

const base: GeneratorOptions = { batchSize: 8, dim: 32, resize: 36, augment: 'affine,color', preprocessing: 'torch', seed: 11, workers: 0 };

async function collect(g: ImageDataGenerator, e: number, fromBatch = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of g.epoch(e, { fromBatch })) out.push({ ...b, x: Float32Array.from(b.x), y: Float32Array.from(b.y) });
  return out;
}
const view = (bs: Batch[]) => bs.map((b) => ({ ids: b.ids, x: Buffer.from(b.x.buffer).toString('base64'), y: Array.from(b.y) }));

describe('ImageDataGenerator', () => {
  it('gives batches of [B, D, D, 3] images in the model preprocessing, labels with MASKED, and ids', async () => {
    const g = new ImageDataGenerator(records, labels, base);
    const bs = await collect(g, 0);
    expect(g.numBatches).toBe(4);
    expect(bs.map((b) => b.size)).toEqual([8, 8, 8, 6]);
    const b = bs[0]!;
    expect([b.dim, b.numClasses, b.x.length, b.y.length, b.epoch, b.index]).toEqual([32, 3, 8 * 32 * 32 * 3, 8 * 3, 0, 0]);
    // torch mode: (x/255 − mean)/std, so values lie in about [−2.2, 2.7]
    expect(Math.min(...b.x)).toBeGreaterThan(-2.2);
    expect(Math.max(...b.x)).toBeLessThan(2.7);
    const byId = new Map(records.map((r, i) => [r.id, i]));
    for (const bb of bs) bb.ids.forEach((id, k) => expect(Array.from(bb.y.subarray(k * C, k * C + C))).toEqual(Array.from(labels.subarray(byId.get(id)! * C, byId.get(id)! * C + C))));
    expect(new Set(bs.flatMap((x) => x.ids)).size).toBe(N);
    expect(g.throughput().lastEpoch).toMatchObject({ images: N, batches: 4 });
    // It is the Trainer's DataSource as it is.
    const source: DataSource = g;
    expect(source.steps).toBe(4);
    expect(view(await collect(g, 0))).toEqual(view(bs));
    expect(g.throughput().lastEpoch.imagesPerSecond).toBeGreaterThan(0);
  });

  it('depends only on (seed, epoch): same seed same batches, resumable mid-epoch', async () => {
    const a = new ImageDataGenerator(records, labels, base);
    const b = new ImageDataGenerator(records, labels, base);
    const a2 = await collect(a, 2);
    // b goes straight to epoch 2, as a resumed run would
    expect(view(await collect(b, 2))).toEqual(view(a2));
    expect(view(await collect(b, 2, 2))).toEqual(view(a2.slice(2)));
    const a1 = await collect(a, 1);
    expect(a1[0]!.ids).not.toEqual(a2[0]!.ids);
    const other = await collect(new ImageDataGenerator(records, labels, { ...base, seed: 12 }), 2);
    expect(view(other)).not.toEqual(view(a2));
  });

  it('the worker pool yields exactly the batches of the single-threaded path', async () => {
    const single = new ImageDataGenerator(records, labels, base);
    const pool = new ImageDataGenerator(records, labels, { ...base, workers: 2, prefetch: 3 });
    try {
      for (const e of [0, 1]) expect(view(await collect(pool, e))).toEqual(view(await collect(single, e)));
      const evalSingle = new ImageDataGenerator(records, labels, { ...base, mode: 'eval' });
      const evalPool = new ImageDataGenerator(records, labels, { ...base, mode: 'eval', workers: 2 });
      expect(view(await collect(evalPool, 0))).toEqual(view(await collect(evalSingle, 0)));
      await evalPool.close();
    } finally {
      await pool.close();
    }
  });

  it('evaluation: every row once, in order, unaugmented, last batch kept', async () => {
    const g = new ImageDataGenerator(records, labels, { ...base, mode: 'eval', shuffle: true, dropLast: true, upsample: [5, 5, 5], balanced: true });
    expect([g.shuffle, g.dropLast, g.balanced, g.settings.augment]).toEqual([false, false, false, null]);
    const bs = await collect(g, 0);
    expect(bs.flatMap((b) => b.ids)).toEqual(records.map((r) => r.id));
    expect(view(await collect(g, 7))).toEqual(view(bs));
  });

  it('drop-last, per-class upsampling and balanced sampling', async () => {
    expect(new ImageDataGenerator(records, labels, { ...base, dropLast: true }).numBatches).toBe(3);
    const up = new ImageDataGenerator(records, labels, { ...base, upsample: { B: 3, A: 1.5 }, classNames: ['A', 'B', 'C'] });
    // B: 2 positives × 2 extra copies; A: 10 positives, half again = 5 more.
    expect(up.size).toBe(N + 4 + 5);
    const ep = up.epochLabels();
    const order0 = Array.from(up.epochOrder(0));
    expect(order0).toHaveLength(N + 9);
    // Each class-1 positive three times, plus once more if the class-0 extras drew row 0.
    const bCopies = order0.filter((r) => r < 2).length;
    expect(bCopies === 6 || bCopies === 7).toBe(true);
    expect(ep.filter((v, i) => i % C === 1 && v === 1).length).toBe(bCopies);
    // Class-0 rows: 10, half again (5), and the two class-1 copies of row 0.
    expect(order0.filter((r) => r % 3 === 0).length).toBe(10 + 5 + 2);
    expect(() => new ImageDataGenerator(records, labels, { ...base, upsample: { D: 2 }, classNames: ['A', 'B', 'C'] })).toThrow(MedtrainError);
    const bal = new ImageDataGenerator(records, labels, { ...base, balanced: true });
    const order = Array.from(bal.epochOrder(0));
    expect(order).toHaveLength(N);
    expect(Array.from(bal.epochOrder(0))).toEqual(order);
    // Rows 0 and 1 (the only class-1 positives) are drawn far more often than 2 in 30.
    const counts = [0, 1].map((r) => order.filter((x) => x === r).length);
    expect(counts[0]! + counts[1]!).toBeGreaterThan(4);
  });

  it('skips missing, truncated and corrupt images, naming each once with its table row', async () => {
    const broken = join(tmp.dir, 'img', 'broken.jpg');
    const jpg = readFileSync(records[0]!.path);
    writeFileSync(broken, jpg.subarray(0, jpg.length >> 1));
    const garbage = join(tmp.dir, 'img', 'garbage.jpg');
    writeFileSync(garbage, 'not a jpeg');
    const extra: CaseRecord[] = [
      { ...records[0]!, id: 'img/missing.jpg', path: join(tmp.dir, 'img', 'missing.jpg'), source: { file: records[0]!.source.file, line: 40 } },
      { ...records[0]!, id: 'img/broken.jpg', path: broken, source: { file: records[0]!.source.file, line: 41 } },
      { ...records[0]!, id: 'img/garbage.jpg', path: garbage, source: { file: records[0]!.source.file, line: 42 } },
    ];
    const all = [...records.slice(0, 5), ...extra];
    const y = new Float32Array(all.length * C);
    const g = new ImageDataGenerator(all, y, { ...base, batchSize: 4 });
    for (const e of [0, 1]) {
      const bs = await collect(g, e);
      expect(bs.flatMap((b) => b.ids).sort()).toEqual(records.slice(0, 5).map((r) => r.id).sort());
      for (const b of bs) expect(b.x.length).toBe(b.size * 32 * 32 * 3);
    }
    expect(g.skipped.map((s) => [s.value, s.source!.line]).sort()).toEqual([
      ['img/broken.jpg', 41],
      ['img/garbage.jpg', 42],
      ['img/missing.jpg', 40],
    ]);
    expect(g.skipped.find((s) => s.value === 'img/missing.jpg')!.reason).toBe('missing file');
    expect(g.skipped.find((s) => s.value === 'img/broken.jpg')!.reason).toMatch(/premature end|truncat|cannot decode/i);
    expect(g.skipped.find((s) => s.value === 'img/garbage.jpg')!.reason).toMatch(/not an image/);

    const strict = new ImageDataGenerator([records[0]!, extra[1]!], new Float32Array(2 * C), { ...base, policy: 'fail' });
    const err = await collect(strict, 0).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MedtrainError);
    expect(err).toMatchObject({ file: records[0]!.source.file, line: 41, column: 'Path', value: 'img/broken.jpg' });
    await expect(collect(new ImageDataGenerator([extra[0]!], new Float32Array(C), { ...base, policy: 'fail' }), 0)).rejects.toThrow(/train.csv:40.*missing file/s);
  });

  it('caches prepared images on disk, keyed by the settings, with identical batches', async () => {
    const cache = join(tmp.dir, 'cache');
    const opts = { ...base, cache, transforms: 'sharp21', crop: 'centre' as const };
    const cold = new ImageDataGenerator(records, labels, opts);
    const first = await collect(cold, 3);
    expect(cold.throughput().lastEpoch.cacheHits).toBe(0);
    const warm = new ImageDataGenerator(records, labels, opts);
    expect(view(await collect(warm, 3))).toEqual(view(first));
    expect(warm.throughput().lastEpoch.cacheHits).toBe(N);
    expect(view(await collect(new ImageDataGenerator(records, labels, { ...opts, cache: null }), 3))).toEqual(view(first));
    // Other settings, another folder.
    await collect(new ImageDataGenerator(records, labels, { ...opts, transforms: 'hist' }), 0);
    expect(readdirSync(cache)).toHaveLength(2);
  });

  it('turns batches into tensors without leaking any across an epoch', async () => {
    await initBackend('cpu', { quiet: true });
    const g = new ImageDataGenerator(records, labels, base);
    const before = tf.memory().numTensors;
    let seen = 0;
    for await (const b of g.epoch(0)) {
      const t = batchToTensors(b, { mask: true });
      expect(t.x.shape).toEqual([b.size, 32, 32, 3]);
      expect(t.y.shape).toEqual([b.size, C]);
      const masked = tf.tidy(() => tf.sum(tf.sub(1, t.mask!)).dataSync()[0]);
      expect(masked).toBe(Array.from(b.y).filter((v) => v === MASKED).length);
      seen += b.size;
      tf.dispose([t.x, t.y, t.mask!]);
    }
    expect(seen).toBe(N);
    expect(tf.memory().numTensors).toBe(before);
  });
});
