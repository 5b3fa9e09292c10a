/**
 * Integration: `medtrain explain` on a tiny run trained here on a phantom set: the files it writes
 * (overlay PNGs, .npy maps that read back as explain.json says, explain.json), the class choices,
 * clear errors for bad input with nothing written, and the model-randomisation sanity check (Adebayo
 * et al. 2018): the maps of the trained network and of the same network re-initialised do not agree
 * (rank correlation below 0.3).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, probeEngine } from '../../src/backend/index.js';
import { makePhantom } from '../../src/data/phantom/write.js';
import { classMaps } from '../../src/explain/maps.js';
import { splitAt } from '../../src/explain/split.js';
import { createModel, loadClassifier } from '../../src/models/classifier.js';
import { ImageDataGenerator } from '../../src/data/generator.js';
import { MASKED } from '../../src/core/types.js';
import { runCli, testEnv, type CliResult } from '../helpers/cli.js';

const NAME = 'DenseNetMini_chexpert_BCE_E3_B16_N5_D64';
let tmp: string;
let data: string;
let run: string;
let engine: string;
const cli = (script: string, args: string[]): Promise<CliResult> => runCli(script, [...args, '--engine', engine], { env: testEnv({ MEDTRAIN_CACHE_DIR: join(tmp, 'cache') }) });
const ok = (r: CliResult) => expect(r.code, `${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`).toBe(0);
const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as any;
/** The k-th frontal image of the phantom set's valid table. */
const image = (k: number) => {
  const dir = join(data, 'CheXpert-v1.0-small', 'valid');
  return join(dir, readdirSync(dir).sort()[k]!, 'study1', 'view1_frontal.jpg');
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-explain-'));
  data = join(tmp, 'phantom');
  run = join(tmp, 'run');
  engine = (await probeEngine('tensorflow')).present ? 'tensorflow' : 'wasm';
  await makePhantom({ out: data, patients: 60, size: 64, seed: 1 });
  ok(await cli('train', ['--benchmark', NAME, '--data', data, '--out', run, '--weights', 'random', '--no-early-stopping', '--no-tensorboard', '--experiment-log', join(tmp, 'log.jsonl'), '--json']));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A .npy file's shape and float32 data. */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const b = readFileSync(file);
  const len = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + len).toString('latin1');
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const body = b.subarray(10 + len);
  return { shape, data: new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4) };
}

describe('medtrain explain', () => {
  it('writes an overlay and a raw map per image and class, and explain.json with the peaks', async () => {
    const out = join(tmp, 'x1');
    const r = await cli('explain', ['--run', run, image(0), image(1), '--class', 'Cardiomegaly,Edema', '--method', 'gradcam++', '--out', out, '--json']);
    ok(r);
    const e = json(r);
    expect(e.method).toBe('gradcam++');
    expect(e.layer).toBe('relu');
    expect(e.images).toHaveLength(2);
    const saved = JSON.parse(readFileSync(join(out, 'explain.json'), 'utf8'));
    expect(saved.images).toEqual(e.images);
    for (const im of e.images) {
      expect(im.maps.map((m: { class: string }) => m.class)).toEqual(['Cardiomegaly', 'Edema']);
      for (const m of im.maps) {
        expect(existsSync(m.png)).toBe(true);
        const raw = readNpy(m.npy);
        expect(raw.shape).toEqual(m.shape);
        expect(Math.max(...raw.data)).toBeCloseTo(m.max, 6);
        expect(m.peak.x).toBeGreaterThan(0);
        expect(m.peak.x).toBeLessThan(im.width);
        expect(m.probability).toBeCloseTo(im.probabilities[m.class], 7);
      }
    }
  });

  it('--top K explains the K most probable classes; crm at another layer', async () => {
    const r = await cli('explain', ['--run', run, image(2), '--top', '2', '--method', 'crm', '--layer', 'pool4_conv', '--out', join(tmp, 'x2'), '--json']);
    ok(r);
    const im = json(r).images[0];
    const sorted = Object.entries(im.probabilities as Record<string, number>).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([n]) => n);
    expect(im.maps.map((m: { class: string }) => m.class)).toEqual(sorted);
    expect(im.maps[0].shape).toEqual([4, 4]);
  });

  describe('bad input: a clear error, nothing written', () => {
    const cases: [string, string[], RegExp][] = [
      ['a class the run does not have', ['--class', 'Hernia'], /the run has no class 'Hernia'/],
      ['a layer the model does not have', ['--layer', 'conv9'], /no layer named 'conv9'/],
      ['an unknown method', ['--method', 'lime'], /unknown heatmap method 'lime'/],
      ['--top beyond the classes', ['--top', '9'], /--top takes 1 to 5/],
    ];
    for (const [what, flags, message] of cases) {
      it(what, async () => {
        const out = join(tmp, `bad-${flags[0]!.slice(2)}`);
        const r = await cli('explain', ['--run', run, image(0), ...flags, '--out', out]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(existsSync(out)).toBe(false);
      });
    }
    it('an image that cannot be read', async () => {
      const bad = join(tmp, 'broken.jpg');
      writeFileSync(bad, 'not a jpeg');
      const out = join(tmp, 'bad-image');
      const r = await cli('explain', ['--run', run, bad, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/could not be read/);
      expect(r.stderr).toContain('broken.jpg');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(tmp).filter((f) => f.startsWith('.bad-image'))).toEqual([]);
    });
  });
});

/** Spearman's rank correlation (average ranks for ties). */
function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const rank = (v: ArrayLike<number>) => {
    const idx = Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[i]! - v[j]!);
    const r = new Float64Array(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
      for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const m = (ra.length - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - m) * (rb[i]! - m);
    da += (ra[i]! - m) ** 2;
    db += (rb[i]! - m) ** 2;
  }
  return num / Math.sqrt(da * db);
}

describe('the model-randomisation sanity check', () => {
  it('maps of the trained network and of it re-initialised have rank correlation below 0.3', async () => {
    await initBackend(engine, { quiet: true });
    const { classifier: trained } = await loadClassifier(join(run, 'best'));
    const fresh = await createModel(trained.config.model, { numClasses: trained.config.numClasses, inputSize: trained.config.inputSize, headUnits: trained.config.headUnits, seed: 12345 });
    const records = [0, 1, 2, 3, 4, 5].map((p) => ({ id: String(p), path: image(p), patientId: String(p), raw: new Float32Array(0), source: { file: image(p), line: 0 } }));
    const gen = await ImageDataGenerator.create(records, new Float32Array(records.length * 5).fill(MASKED), { batchSize: 6, dim: 64, preprocessing: trained.preprocessing, mode: 'eval' });
    let batch;
    for await (const b of gen.batches(0)) batch = b;
    await gen.close();
    const x = tf.tensor4d(batch!.x, [6, 64, 64, 3]);
    const layer = 'pool4_conv'; // 4×4 cells at 64 px: enough cells to rank
    const rhos: number[] = [];
    for (const c of [1, 4]) {
      const a = await classMaps(splitAt(trained.logitsModel, layer), x, c, 'gradcam');
      const b = await classMaps(splitAt(fresh.logitsModel, layer), x, c, 'gradcam');
      rhos.push(spearman(a.maps, b.maps));
    }
    x.dispose();
    trained.dispose();
    fresh.dispose();
    for (const rho of rhos) expect(Number.isNaN(rho) ? 0 : rho).toBeLessThan(0.3);
  });
});
