/**
 * ensembleRuns on member folders made here (the files a finished run leaves: config.json,
 * predictions- and labels-{val,test}.csv, split-val.csv): the mean is the members' mean as float32
 * allows, weighted and stacking never read test labels, members that cannot be combined are clear
 * errors that write nothing, and the folder reads as a run (metrics, thresholds, summary, log line).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensembleRuns } from '../../src/ensembles/ensemble.js';
import { readPredictionFiles } from '../../src/metrics/prediction-files.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const CLASSES = ['Cardiomegaly', 'Edema', 'Pleural Effusion'];
let tmp: string;

/** Labels of a split: ids `<split>-<i>`, patients two cases each, some labels blank. */
function labelsOf(split: string, rows: number, seed: number): { ids: string[]; y: (number | null)[][] } {
  const rng = new Rng(`labels/${split}/${seed}`);
  const ids = Array.from({ length: rows }, (_, i) => `${split}/p${Math.floor(i / 2)}/case${i}.jpg`);
  return { ids, y: ids.map(() => CLASSES.map(() => (rng.next() < 0.1 ? null : rng.next() < 0.35 ? 1 : 0))) };
}

const VAL = labelsOf('val', 80, 1);
const TEST = labelsOf('test', 60, 2);

function csv(header: string[], rows: (string | number | null)[][]): string {
  return `${header.join(',')}\n${rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(',')).join('\n')}\n`;
}

/** A finished member run: scores a noisy view of the labels. */
function member(name: string, noise: number, o: { classes?: string[]; val?: typeof VAL; test?: typeof TEST | null; scores?: string } = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const classes = o.classes ?? CLASSES;
  const rng = new Rng(`scores/${o.scores ?? name}`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ format: 'medtrain-run/1', name: o.scores ?? name, training: { thresholds: 'youden' } }));
  const splits: [string, typeof VAL][] = [['val', o.val ?? VAL]];
  if (o.test !== null) splits.push(['test', o.test ?? TEST]);
  for (const [split, l] of splits) {
    const scores = l.y.map((row) => row.map((y) => Math.fround(1 / (1 + Math.exp(-((y === 1 ? 1 : -1) + noise * rng.normal()))))));
    writeFileSync(join(dir, `predictions-${split}.csv`), csv(['id', ...classes], l.ids.map((id, i) => [id, ...scores[i]!])));
    writeFileSync(join(dir, `labels-${split}.csv`), csv(['id', ...classes], l.ids.map((id, i) => [id, ...l.y[i]!])));
  }
  writeFileSync(join(dir, 'split-val.csv'), csv(['id', 'patient', 'split'], VAL.ids.map((id) => [id, id.split('/')[1]!, 'val'])));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ val: { macro_auroc: 0.8 - noise / 10 }, test: { macro_auroc: 0.7 }, bestEpoch: 1, seconds: 1, engine: 'cpu' }));
  return dir;
}

let A: string;
let B: string;
let Cm: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-ensemble-'));
  A = member('A', 1);
  B = member('B', 2);
  Cm = member('C', 4);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const read = (dir: string, split: string) => readPredictionFiles(join(dir, `predictions-${split}.csv`), join(dir, `labels-${split}.csv`));

describe('ensembleRuns', () => {
  it("mean: each prediction is the members' mean (as float32 allows), in the members' format and ids", async () => {
    const out = join(tmp, 'mean');
    const r = await ensembleRuns({ runs: [A, B, Cm], method: 'mean', out, experimentLog: join(tmp, 'log.jsonl') });
    for (const split of ['val', 'test']) {
      const e = read(out, split);
      const ms = [A, B, Cm].map((d) => read(d, split));
      expect(e.ids).toEqual(ms[0]!.ids);
      expect(e.classes).toEqual(CLASSES);
      e.scores.forEach((v, i) => expect(v).toBe(Math.fround((ms[0]!.scores[i]! + ms[1]!.scores[i]! + ms[2]!.scores[i]!) / 3)));
      expect([...e.labels]).toEqual([...ms[0]!.labels]);
      expect(readFileSync(join(out, `labels-${split}.csv`), 'utf8')).toBe(readFileSync(join(A, `labels-${split}.csv`), 'utf8'));
      expect(existsSync(join(out, `metrics-${split}.csv`))).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ format: 'medtrain-ensemble/1', method: 'mean', members: [{ dir: '../A' }, { dir: '../B' }, { dir: '../C' }], classes: CLASSES, val: 'combined' });
    expect(Object.keys(JSON.parse(readFileSync(join(out, 'thresholds.json'), 'utf8')).thresholds)).toEqual(CLASSES);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.val.macro_auroc).toBe(r.val.macro_auroc);
    expect(summary.bestMember).toBe('A');
    const line = JSON.parse(readFileSync(join(tmp, 'log.jsonl'), 'utf8').trim());
    expect(line).toMatchObject({ status: 'completed', kind: 'ensemble', method: 'mean', run: out });
  });

  for (const method of ['weighted', 'stacking'] as const) {
    it(`${method}: cross-fitted on val, better than the worst member, and blind to test labels`, async () => {
      const out = join(tmp, method);
      const r = await ensembleRuns({ runs: [A, B, Cm], method, out, experimentLog: false });
      expect(r.config.val).toBe('cross-fitted');
      expect(r.config.crossFitting).toEqual({ folds: 5, seed: '0', groups: 'patient' });
      expect(r.val.macro_auroc!).toBeGreaterThan(0.75);
      const before = ['config.json', 'predictions-val.csv', 'predictions-test.csv', 'thresholds.json'].map((f) => readFileSync(join(out, f), 'utf8').replace(/"created": "[^"]+"/, ''));
      // Scramble every member's test labels: the ensemble's outputs do not move.
      const scrambled = join(tmp, `${method}-scrambled`);
      const copies = ['A', 'B', 'C'].map((n, k) => {
        const d = member(`${n}-${method}`, [1, 2, 4][k]!, { scores: n });
        const rng = new Rng('scramble');
        writeFileSync(join(d, 'labels-test.csv'), csv(['id', ...CLASSES], TEST.ids.map((id) => [id, ...CLASSES.map(() => (rng.next() < 0.5 ? 1 : 0))])));
        return d;
      });
      await ensembleRuns({ runs: copies, method, out: scrambled, experimentLog: false });
      const after = ['config.json', 'predictions-val.csv', 'predictions-test.csv', 'thresholds.json'].map((f) => readFileSync(join(scrambled, f), 'utf8').replace(/"created": "[^"]+"/, '').replaceAll(/-(weighted|stacking)"/g, '"'));
      expect(after).toEqual(before);
    });
  }

  describe('members that cannot be combined: a clear error, nothing written', () => {
    const cases: [string, () => string[], RegExp, string][] = [
      ['different classes', () => [A, member('other-classes', 1, { classes: ['Cardiomegaly', 'Edema', 'Pneumonia'] })], /different classes/, 'other-classes'],
      ['a different val split', () => [A, member('other-split', 1, { val: labelsOf('val2', 80, 1) })], /val splits hold different cases/, 'other-split'],
      ['different labels', () => [A, member('other-labels', 1, { val: labelsOf('val', 80, 9) })], /label the val case differently/, 'other-labels'],
      ['no test split where others have one', () => [A, member('no-test', 1, { test: null })], /test split/, 'no-test'],
      ['one member', () => [A], /at least two members/, ''],
      ['the same run twice', () => [A, A], /given twice/, 'A'],
      ['a folder that is not a run', () => [A, join(tmp, 'nowhere')], /not a run folder/, 'nowhere'],
    ];
    for (const [what, runs, message, file] of cases) {
      it(what, async () => {
        const out = join(tmp, `bad-${what.replaceAll(' ', '-')}`);
        const e = await ensembleRuns({ runs: runs(), method: 'mean', out, experimentLog: false }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(MedtrainError);
        expect((e as MedtrainError).message).toMatch(message);
        expect(String((e as MedtrainError).file ?? (e as MedtrainError).column)).toContain(file);
        expect(existsSync(out)).toBe(false);
      });
    }
    it('an unfinished member run says how to finish it', async () => {
      const d = member('unfinished', 1);
      rmSync(join(d, 'predictions-val.csv'));
      const e = (await ensembleRuns({ runs: [A, d], method: 'mean', out: join(tmp, 'bad-unfinished'), experimentLog: false }).catch((x: unknown) => x)) as MedtrainError;
      expect(e.message).toMatch(/no predictions on its val split/);
      expect(e.hint).toMatch(/medtrain train --resume/);
    });
    it('an output folder holding something else is left alone', async () => {
      const out = join(tmp, 'occupied');
      mkdirSync(out);
      writeFileSync(join(out, 'notes.txt'), 'mine');
      await expect(ensembleRuns({ runs: [A, B], method: 'mean', out, experimentLog: false })).rejects.toThrow(/not empty/);
      expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    });
  });

  it('cross-validation folds: disjoint val sets give the pooled out-of-fold val; stacking is refused', async () => {
    const half = (k: number) => ({ ids: VAL.ids.filter((_, i) => i % 2 === k), y: VAL.y.filter((_, i) => i % 2 === k) });
    const f1 = member('fold-1', 1, { val: half(0) });
    const f2 = member('fold-2', 2, { val: half(1) });
    const out = join(tmp, 'cv-ensemble');
    const r = await ensembleRuns({ runs: [f1, f2], method: 'mean', out, outOfFold: true, experimentLog: false });
    expect(r.config.val).toBe('out-of-fold');
    const v = read(out, 'val');
    expect(v.ids).toEqual([...half(0).ids, ...half(1).ids]);
    expect([...v.scores]).toEqual([...read(f1, 'val').scores, ...read(f2, 'val').scores].map(Math.fround));
    await expect(ensembleRuns({ runs: [f1, f2], method: 'stacking', out: join(tmp, 'cv-stacking'), outOfFold: true, experimentLog: false })).rejects.toThrow(/disjoint val sets/);
    await expect(ensembleRuns({ runs: [f1, member('fold-3', 1, { val: half(0) })], method: 'mean', out: join(tmp, 'cv-overlap'), outOfFold: true, experimentLog: false })).rejects.toThrow(/overlap/);
  });
});
