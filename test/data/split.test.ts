import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupedKFold, readSplitCsv, splitByPatient, writeSplitCsv, type Split } from '../../src/data/split.js';
import type { CaseRecord } from '../../src/core/types.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from './fixtures.js';

const tmp = tempDir('split');
afterAll(tmp.cleanup);

const C = 5;
/** 10,000 rows from patients with 1 to 12 images each; 5 classes with prevalences from 2% to 40%. */
function table(): { records: CaseRecord[]; labels: Float32Array } {
  const rng = new Rng('leakage');
  const records: CaseRecord[] = [];
  const prevalence = [0.02, 0.05, 0.1, 0.2, 0.4];
  const labels = new Float32Array(10_000 * C);
  let p = 0;
  while (records.length < 10_000) {
    const n = Math.min(1 + rng.int(12), 10_000 - records.length);
    const sick = prevalence.map((q) => rng.bernoulli(q * 1.5));
    for (let k = 0; k < n; k++) {
      const i = records.length;
      records.push({ id: `patient${p}/img${k}.jpg`, path: `/d/patient${p}/img${k}.jpg`, patientId: `patient${p}`, raw: new Float32Array(C), source: { file: 't.csv', line: i + 2 } });
      for (let c = 0; c < C; c++) labels[i * C + c] = sick[c] && rng.bernoulli(0.7) ? 1 : 0;
    }
    p++;
  }
  return { records, labels };
}
const { records, labels } = table();

function expectNoLeak(split: Split, n: number): void {
  const side = new Map<string, string>();
  const seen = new Uint8Array(n);
  for (const name of ['train', 'val', 'test'] as const) {
    for (const i of split[name] ?? []) {
      if (seen[i]) throw new Error(`row ${i} is on two sides`);
      seen[i] = 1;
      const pid = records[i]!.patientId;
      const before = side.get(pid);
      if (before !== undefined && before !== name) throw new Error(`patient ${pid} is in ${before} and ${name}`);
      side.set(pid, name);
    }
  }
  expect(seen.indexOf(0)).toBe(-1);
}

describe('patient-grouped splits', () => {
  it('never puts a patient on two sides (10k rows), and the val share is close to the ratio', () => {
    for (const val of [0.05, 0.2]) {
      const s = splitByPatient(records, { val, seed: 6122156 });
      expectNoLeak(s, records.length);
      expect(Math.abs(s.val.length / records.length - val)).toBeLessThan(0.005);
      expect([...s.train].sort((a, b) => a - b)).toEqual(s.train);
    }
  });

  it('depends only on the seed', () => {
    const a = splitByPatient(records, { val: 0.05, seed: 1 });
    expect(splitByPatient(records, { val: 0.05, seed: 1 })).toEqual(a);
    expect(splitByPatient(records, { val: 0.05, seed: 2 }).val).not.toEqual(a.val);
  });

  it('stratified: no leak, and each class keeps its prevalence on both sides', () => {
    const s = splitByPatient(records, { val: 0.2, seed: 3, stratify: { labels, numClasses: C } });
    expectNoLeak(s, records.length);
    const rate = (idx: number[], c: number) => idx.reduce((acc, i) => acc + labels[i * C + c]!, 0) / idx.length;
    for (let c = 0; c < C; c++) {
      const all = rate(records.map((_, i) => i), c);
      expect(Math.abs(rate(s.val, c) - all)).toBeLessThan(Math.max(0.2 * all, 0.004));
    }
    expect(Math.abs(s.val.length / records.length - 0.2)).toBeLessThan(0.01);
  });

  it('grouped k-fold: every fold leak-free, the val sets partition the rows', () => {
    for (const stratify of [undefined, { labels, numClasses: C }]) {
      const folds = groupedKFold(records, { k: 5, seed: 9, ...(stratify && { stratify }) });
      expect(folds).toHaveLength(5);
      const inVal = new Uint8Array(records.length);
      for (const f of folds) {
        expectNoLeak(f, records.length);
        for (const i of f.val) inVal[i]!++;
        expect(Math.abs(f.val.length - 2000)).toBeLessThan(100);
      }
      expect(inVal.every((v) => v === 1)).toBe(true);
    }
  });

  it('stratified k-fold: each fold keeps every class within 10% (relative) of its prevalence in the whole set; the same seed, the same folds', () => {
    const rate = (idx: readonly number[], c: number) => idx.reduce((acc, i) => acc + labels[i * C + c]!, 0) / idx.length;
    const all = Array.from({ length: C }, (_, c) => rate(records.map((_, i) => i), c));
    const worst = (folds: Split[]) => Math.max(...folds.flatMap((f) => all.map((p, c) => Math.abs(rate(f.val, c) - p) / p)));
    const folds = groupedKFold(records, { k: 5, seed: 9, stratify: { labels, numClasses: C } });
    expect(worst(folds)).toBeLessThan(0.1);
    // Unstratified folds of the same table drift further on the rare classes.
    expect(worst(groupedKFold(records, { k: 5, seed: 9 }))).toBeGreaterThan(worst(folds));
    expect(groupedKFold(records, { k: 5, seed: 9, stratify: { labels, numClasses: C } })).toEqual(folds);
  });

  it('says what is wrong with impossible splits', () => {
    expect(() => splitByPatient(records, { val: 1, seed: 1 })).toThrow(MedtrainError);
    expect(() => splitByPatient(records.slice(0, 1), { val: 0.2, seed: 1 })).toThrow(/one patient/);
    expect(() => groupedKFold(records.slice(0, 3), { k: 5, seed: 1 })).toThrow(/at least 5 patients/);
    expect(splitByPatient(records.slice(0, 10), { val: 0, seed: 1 })).toEqual({ train: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], val: [] });
  });
});

describe('split files', () => {
  it('round-trips the exact cases through the run folder CSV', async () => {
    const split = { ...splitByPatient(records, { val: 0.05, seed: 4 }), test: [] as number[] };
    const file = join(tmp.dir, 'run', 'split.csv');
    await writeSplitCsv(file, records, split);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('id,patient,split');
    expect(text.trim().split('\n')).toHaveLength(records.length + 1);
    // Read against the table in a different order: the same cases come back.
    const shuffled = new Rng(1).shuffle([...records]);
    const back = await readSplitCsv(file, shuffled);
    expect(back.val.map((i) => shuffled[i]!.id).sort()).toEqual(split.val.map((i) => records[i]!.id).sort());
    expect(back.train).toHaveLength(split.train.length);
  });

  it('quotes awkward ids and names an unknown case by line and value', async () => {
    const odd = [
      { id: 'a,b.jpg', patientId: 'p"1' },
      { id: 'c.jpg', patientId: 'p2' },
    ];
    const file = join(tmp.dir, 'odd.csv');
    await writeSplitCsv(file, odd, { train: [0], val: [1] });
    expect(await readSplitCsv(file, odd)).toEqual({ train: [0], val: [1] });
    writeFileSync(file, 'id,patient,split\nc.jpg,p2,train\nzzz.jpg,p9,val\n');
    await expect(readSplitCsv(file, odd)).rejects.toMatchObject({ line: 3, column: 'id', value: 'zzz.jpg' });
    writeFileSync(file, 'id,patient,split\nc.jpg,p2,holdout\n');
    await expect(readSplitCsv(file, odd)).rejects.toMatchObject({ line: 2, column: 'split', value: 'holdout' });
  });
});
