/**
 * `npm run evaluate`: prediction and label CSV files, their errors, and the CLI's JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateMultiLabel, evaluatePredictionFiles, formatEvaluation } from '../../src/metrics/index.js';
import { Rng } from '../../src/util/rng.js';
import { thrownBy } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'medtrain-evaluate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const classes = ['Atelectasis', 'Pleural Effusion', 'Hernia'];

/** A predictions file and a labels file for `rows` cases; labels in every accepted spelling. */
function fixture(name: string, rows: number, seed: string): { pred: string; lab: string; scores: number[]; labels: number[] } {
  const rng = new Rng(seed);
  const scores: number[] = [];
  const labels: number[] = [];
  const predLines = [`id,${classes.map((c) => (c.includes(' ') ? `"${c}"` : c)).join(',')}`];
  const labLines = [`Path,Sex,${[...classes].reverse().join(',')},patient`];
  const spell = { 1: ['1', '1.0'], 0: ['0', '0.0'], [-1]: ['', '-1', '-1.0'] } as Record<number, string[]>;
  const order: number[] = [];
  for (let i = 0; i < rows; i++) order.push(i);
  rng.shuffle(order); // the labels file lists the cases in another order
  const labRows: string[] = [];
  for (let i = 0; i < rows; i++) {
    const ys = classes.map((_, c) => (c === 2 ? 0 : rng.bernoulli(0.1) ? -1 : rng.bernoulli(0.4) ? 1 : 0)); // Hernia: no positives
    const ss = ys.map((y) => Number((0.5 * rng.next() + 0.4 * Math.max(y, 0)).toFixed(6)));
    scores.push(...ss);
    labels.push(...ys);
    predLines.push(`case${i},${ss.join(',')}`);
    labRows[i] = `case${i},F,${[...ys].reverse().map((y) => spell[y]![rng.int(spell[y]!.length)]).join(',')},p${Math.floor(i / 2)}`;
  }
  for (const i of order) labLines.push(labRows[i]!);
  const pred = join(dir, `${name}-pred.csv`);
  const lab = join(dir, `${name}-labels.csv`);
  writeFileSync(pred, `${predLines.join('\n')}\n`);
  writeFileSync(lab, `${labLines.join('\n')}\n`);
  return { pred, lab, scores, labels };
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('evaluatePredictionFiles', () => {
  const test = fixture('test', 120, 'test');
  const val = fixture('val', 80, 'val');

  it('aligns the files by id and equals the in-memory report; masked and extra columns handled', () => {
    const r = evaluatePredictionFiles({ predictions: test.pred, labels: test.lab });
    const mem = evaluateMultiLabel(test.scores, test.labels, 3, { classNames: classes });
    expect(r.classes).toEqual(mem.classes);
    expect(r.macro).toEqual(mem.macro);
    expect(r.excluded).toEqual(['Hernia']);
    expect(r.classes.Hernia!.auroc).toBeNull();
    expect(r.ignoredLabelColumns).toEqual(['Sex', 'patient']);
    expect(r.thresholdSource).toBe('fixed');
    const text = formatEvaluation(r);
    expect(text).toMatch(/Pleural Effusion/);
    expect(text).toMatch(/left out of the macro and weighted averages \(1\): Hernia \(no positive labels\)/);
  });

  it('chooses thresholds on validation files and applies them to the test files', () => {
    const r = evaluatePredictionFiles({ predictions: test.pred, labels: test.lab, thresholds: 'youden', valPredictions: val.pred, valLabels: val.lab });
    expect(r.thresholdSource).toBe('validation');
    expect(r.thresholdFallback).toEqual(['Hernia']);
    const v = evaluatePredictionFiles({ predictions: val.pred, labels: val.lab, thresholds: 'youden' });
    expect(v.thresholdSource).toBe('evaluated data');
    expect(r.classes.Atelectasis!.threshold).toBe(v.classes.Atelectasis!.threshold);
    const fixed = evaluatePredictionFiles({ predictions: test.pred, labels: test.lab, thresholds: '0.3,0.4,0.5' });
    expect(fixed.classes['Pleural Effusion']!.threshold).toBe(0.4);
    expect(() => evaluatePredictionFiles({ predictions: test.pred, labels: test.lab, thresholds: '0.3,0.4' })).toThrow(/2 value\(s\) for 3 classes/);
  });

  it('bootstrap by patient column and a paired DeLong comparison', () => {
    const other = fixture('other', 120, 'other');
    const r = evaluatePredictionFiles({ predictions: test.pred, labels: test.lab, bootstrap: 100, seed: 5, groupColumn: 'patient', compare: other.pred });
    expect(r.bootstrap!.resampling).toBe('group');
    expect(r.bootstrap!.units).toBe(60);
    expect(r.bootstrap!.classes.Atelectasis!.auroc!.low).toBeLessThan(r.classes.Atelectasis!.auroc!);
    const d = r.delong!.classes.Atelectasis!;
    expect(d.a.auc).toBeCloseTo(r.classes.Atelectasis!.auroc!, 12);
    expect(d.p).toBeGreaterThan(0);
    expect(r.delong!.classes.Hernia!.z).toBeNull();
    expect(formatEvaluation(r)).toMatch(/paired DeLong test/);
  });

  it('names the file, line, column and value of every mistake', () => {
    const lab = test.lab;
    const lines = readFileSync(test.pred, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(/,[^,]+,/, ',abc,');
    let e = thrownBy(() => evaluatePredictionFiles({ predictions: write('bad-num.csv', lines.join('\n')), labels: lab }));
    expect([e.code, e.line, e.column, e.value]).toEqual(['bad-number', 3, 'Atelectasis', 'abc']);
    expect(e.message).toMatch(/bad-num\.csv:3, column "Atelectasis": prediction is not a finite number \(value: "abc"\)/);

    e = thrownBy(() => evaluatePredictionFiles({ predictions: write('missing-col.csv', 'id,Atelectasis,Edema\ncase0,0.1,0.2\n'), labels: lab }));
    expect(e.code).toBe('missing-columns');
    expect(e.message).toMatch(/lacks 1 class column\(s\) of the predictions: Edema/);

    e = thrownBy(() => evaluatePredictionFiles({ predictions: write('ids.csv', `id,Atelectasis\ncase0,0.1\nnobody,0.2\n`), labels: lab }));
    expect(e.code).toBe('id-mismatch');
    expect(e.message).toMatch(/1 id\(s\) of .*ids\.csv are not in .*: nobody/);
    expect(e.message).toMatch(/119 id\(s\) of .*test-labels\.csv are not in/);

    e = thrownBy(() => evaluatePredictionFiles({ predictions: write('dup.csv', `id,Atelectasis\ncase0,0.1\ncase0,0.2\n`), labels: lab }));
    expect([e.code, e.line]).toEqual(['duplicate-id', 3]);

    e = thrownBy(() => evaluatePredictionFiles({ predictions: write('p1.csv', 'id,A\nx,0.5\n'), labels: write('l1.csv', 'id,A\nx,0.5\n') }));
    expect([e.code, e.line, e.column, e.value]).toEqual(['bad-label', 2, 'A', '0.5']);

    e = thrownBy(() => evaluatePredictionFiles({ predictions: write('ragged.csv', 'id,A\nx,0.5,0.7\n'), labels: lab }));
    expect(e.code).toBe('bad-csv');
    expect(e.line).toBe(2);

    e = thrownBy(() => evaluatePredictionFiles({ predictions: join(dir, 'absent.csv'), labels: lab }));
    expect(e.code).toBe('missing-file');
    e = thrownBy(() => evaluatePredictionFiles({ predictions: test.pred, labels: lab, groupColumn: 'nope' }));
    expect(e.message).toMatch(/no column "nope"/);
  });
});

describe('npm run evaluate', () => {
  const test = fixture('cli', 60, 'cli');
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/evaluate.ts', ...args], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'error' } });

  it('--json prints exactly one JSON object of the documented shape', () => {
    const r = run(['--predictions', test.pred, '--labels', test.lab, '--json', '--ci', '--bootstrap', '50', '--seed', '1', '--thresholds', 'f1']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!);
    for (const c of classes) {
      for (const k of ['auroc', 'auprc', 'f1', 'f2', 'precision', 'recall', 'specificity', 'accuracy', 'n', 'positives']) expect(j.classes[c], `${c}.${k}`).toHaveProperty(k);
    }
    expect(j.classes.Hernia.auroc).toBeNull();
    expect(j.excluded).toEqual(['Hernia']);
    expect(typeof j.macro.auroc).toBe('number');
    expect(j.bootstrap.replicates).toBe(50);
  });

  it('a user mistake exits 2 with one clear line (and JSON with --json)', () => {
    const r = run(['--predictions', test.pred, '--labels', join(dir, 'nowhere.csv'), '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read the labels file/);
    expect(JSON.parse(r.stdout.trim()).error).toBe('missing-file');
    const r2 = run(['--predictions', test.pred]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/needs --predictions and --labels/);
  });
});
