/**
 * Integration: temperature scaling of a tiny run trained here on a phantom set (one epoch of
 * DenseNetMini): `calibrateRun` and `medtrain evaluate --run DIR --calibrate` write calibration.json
 * and the calibrated predictions, fit on val alone (scrambled test labels give the same temperatures),
 * map the thresholds so that no case changes label, and name what to run for a run that did not
 * finish its evaluation.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEngine } from '../../../src/backend/index.js';
import { makePhantom } from '../../../src/data/phantom/write.js';
import { temperatureScale } from '../../../src/metrics/temperature.js';
import { calibrateRun, type CalibrateRunResult } from '../../../src/training/run/calibrate.js';
import { readCsvFile } from '../../../src/util/csv.js';
import { MedtrainError } from '../../../src/util/errors.js';
import { Rng } from '../../../src/util/rng.js';
import { runCli, testEnv, type CliResult } from '../../helpers/cli.js';

const NAME = 'DenseNetMini_chexpert_BCE_E1_B8_N5_D32';

let tmp: string;
let run: string;
let engine: string;
const cli = (script: string, args: string[]): Promise<CliResult> => runCli(script, [...args, ...(script === 'train' ? ['--engine', engine] : [])], { env: testEnv({ MEDTRAIN_CACHE_DIR: join(tmp, 'cache') }) });
const ok = (r: CliResult) => expect(r.code, `${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`).toBe(0);
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as any;
/** A CSV as {id: {column: number}} and its header. */
function matrix(file: string): { header: string[]; rows: Map<string, number[]> } {
  const t = readCsvFile(file);
  return { header: t.header, rows: new Map(t.rows.map((r) => [r[0]!, r.slice(1).map((v) => (v === '' ? NaN : Number(v)))])) };
}
const copyRun = (name: string) => {
  const dir = join(tmp, name);
  cpSync(run, dir, { recursive: true });
  return dir;
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-calibrate-'));
  const data = join(tmp, 'phantom');
  run = join(tmp, 'run');
  engine = (await probeEngine('tensorflow')).present ? 'tensorflow' : 'wasm';
  await makePhantom({ out: data, patients: 40, size: 64, seed: 1 });
  ok(await cli('train', ['--benchmark', NAME, '--data', data, '--out', run, '--weights', 'random', '--no-early-stopping', '--no-tensorboard', '--experiment-log', join(tmp, 'log.jsonl'), '--json']));
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('temperature scaling of a trained run', () => {
  let r: CalibrateRunResult;
  beforeAll(async () => {
    r = await calibrateRun(copyRun('lib'));
  });

  it('writes calibration.json (method, fitted on val, a temperature per class, ECE and Brier before and after per split) and the calibrated predictions', () => {
    const dir = join(tmp, 'lib');
    const saved = readJson(join(dir, 'calibration.json'));
    const { run: _run, path, ...record } = r;
    expect(path).toBe(join(dir, 'calibration.json'));
    expect(saved).toEqual(JSON.parse(JSON.stringify(record)));
    expect(saved).toMatchObject({ format: 'medtrain-calibration/1', method: 'temperature', fittedOn: 'val', bins: 15 });
    const classes = readCsvFile(join(dir, 'predictions-val.csv')).header.slice(1);
    expect(saved.classes).toEqual(classes);
    // Classes without positives on val keep T = 1; the phantom's val has positives of some classes.
    expect(Object.keys(saved.unfitted).length).toBeLessThan(classes.length);
    for (const c of classes) {
      const T = saved.temperatures[c];
      expect(T).toBeGreaterThan(0);
      if (saved.unfitted[c]) expect(T).toBe(1);
      else expect(saved.fit[c].nllAfter).toBeLessThanOrEqual(saved.fit[c].nllBefore);
      for (const s of ['val', 'test']) {
        expect(Object.keys(saved.splits[s].classes[c].before)).toEqual(['ece', 'brier']);
        expect(Object.keys(saved.splits[s].classes[c].after)).toEqual(['ece', 'brier']);
      }
    }
    expect(saved.splits.val.macro.after.ece).not.toBeNull();
    expect(saved.files).toEqual({ val: 'predictions-val-calibrated.csv', test: 'predictions-test-calibrated.csv' });
    for (const s of ['val', 'test']) {
      const before = matrix(join(dir, `predictions-${s}.csv`));
      const after = matrix(join(dir, `predictions-${s}-calibrated.csv`));
      expect(after.header).toEqual(before.header);
      expect([...after.rows.keys()]).toEqual([...before.rows.keys()]);
      for (const [id, p] of before.rows) {
        p.forEach((v, c) => expect(after.rows.get(id)![c]!).toBeCloseTo(temperatureScale(v, saved.temperatures[classes[c]!]), 12));
      }
    }
  });

  it("maps the run's thresholds through each temperature, and every case keeps its label", () => {
    const dir = join(tmp, 'lib');
    const th = readJson(join(dir, 'thresholds.json')).thresholds as Record<string, number>;
    const classes = r.classes;
    for (const c of classes) {
      expect(r.thresholds.before[c]).toBe(th[c]);
      expect(r.thresholds.after[c]).toBe(temperatureScale(th[c]!, r.temperatures[c]!));
    }
    let compared = 0;
    for (const s of ['val', 'test'] as const) {
      expect(r.splits[s]!.labelChanges).toBe(0);
      const before = matrix(join(dir, `predictions-${s}.csv`));
      const after = matrix(join(dir, `predictions-${s}-calibrated.csv`));
      for (const [id, p] of before.rows) {
        p.forEach((v, c) => {
          const name = classes[c]!;
          expect(after.rows.get(id)![c]! >= r.thresholds.after[name]!, `${s} ${id} ${name}`).toBe(v >= th[name]!);
          compared++;
        });
      }
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('never fits on test labels: scrambled test labels give the same temperatures and val figures, other test figures', async () => {
    const dir = copyRun('scrambled');
    const file = join(dir, 'labels-test.csv');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const rng = new Rng('scramble');
    // Flip every labelled cell (1 <-> 0), keep masked cells blank.
    const flipped = lines.slice(1).map((l) => l.split(',').map((v, i) => (i === 0 || v === '' ? v : String(1 - Number(v)))).join(','));
    rng.shuffle(flipped);
    writeFileSync(file, `${[lines[0], ...flipped].join('\n')}\n`);
    const s = await calibrateRun(dir);
    expect(s.temperatures).toEqual(r.temperatures);
    expect(s.fit).toEqual(r.fit);
    expect(s.splits.val).toEqual(r.splits.val);
    expect(s.thresholds).toEqual(r.thresholds);
    expect(s.splits.test!.macro.before.brier).not.toBe(r.splits.test!.macro.before.brier);
    expect(readFileSync(join(dir, 'predictions-test-calibrated.csv'), 'utf8')).toBe(readFileSync(join(tmp, 'lib', 'predictions-test-calibrated.csv'), 'utf8'));
  });

  it('a run without predictions-val.csv: says the run did not finish its evaluation and what to run', async () => {
    const dir = copyRun('unfinished');
    rmSync(join(dir, 'predictions-val.csv'));
    const e = await calibrateRun(dir).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MedtrainError);
    expect(e).toMatchObject({ code: 'run-not-finished', file: join(dir, 'predictions-val.csv') });
    expect((e as MedtrainError).message).toMatch(/did not finish its end-of-training evaluation/);
    expect((e as MedtrainError).hint).toContain(`medtrain train --resume ${dir}`);
    await expect(calibrateRun(join(tmp, 'nowhere'))).rejects.toMatchObject({ code: 'not-a-run' });
  });
});

describe('medtrain evaluate --run DIR --calibrate', () => {
  it('--json prints what calibrateRun returns; the text is a before/after table; flags that do not apply are refused', async () => {
    const dir = copyRun('cli');
    const j = await cli('evaluate', ['--run', dir, '--calibrate', '--json']);
    ok(j);
    expect(j.json).toMatchObject({ method: 'temperature', fittedOn: 'val', bins: 15, run: dir });
    expect(j.json!.temperatures).toEqual(readJson(join(dir, 'calibration.json')).temperatures);
    expect(existsSync(join(dir, 'predictions-test-calibrated.csv'))).toBe(true);

    const t = await cli('evaluate', ['--run', dir, '--calibrate', '--bins', '10']);
    ok(t);
    expect(t.stdout).toMatch(/^temperature scaling of .*, fitted on val .*ECE over 10 equal-width bins/);
    expect(t.stdout).toMatch(/class\s+T\s+threshold\s+after\s+val ECE\s+after\s+val Brier\s+after\s+test ECE\s+after\s+test Brier\s+after/);
    expect(t.stdout).toMatch(/^macro\s/m);
    expect(t.stdout).toContain('wrote calibration.json, predictions-val-calibrated.csv, predictions-test-calibrated.csv');
    expect(readJson(join(dir, 'calibration.json')).bins).toBe(10);

    const split = await cli('evaluate', ['--run', dir, '--calibrate', '--split', 'val']);
    expect(split.code).toBe(2);
    expect(split.stderr).toMatch(/--split does not apply/);
    const noRun = await cli('evaluate', ['--calibrate']);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toMatch(/--calibrate needs --run DIR/);
    const unfinished = copyRun('cli-unfinished');
    rmSync(join(unfinished, 'predictions-val.csv'));
    const e = await cli('evaluate', ['--run', unfinished, '--calibrate', '--json']);
    expect(e.code).toBe(2);
    expect(e.json).toMatchObject({ error: 'run-not-finished' });
    expect(e.stderr).toContain(`medtrain train --resume ${unfinished}`);
  });
});
