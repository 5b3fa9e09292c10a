/**
 * Cross-validation, batches and sweeps as a user runs them: the `medtrain` commands on a tiny phantom
 * set, really training. Each is killed part-way (SIGKILL) and started again, and must end complete,
 * keeping what had finished and resuming what had not.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePhantom } from '../../src/data/phantom/write.js';
import { parseSpace } from '../../src/sweeps/space.js';
import { sweep } from '../../src/sweeps/study.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'medtrain-runs-'));
const data = join(tmp, 'phantom');

beforeAll(async () => {
  await makePhantom({ out: data, patients: 40, size: 32, seed: 2 });
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Start a command and SIGKILL it once `until` holds (polled); resolves with its result. */
function killWhen(script: string, args: string[], until: () => boolean): Promise<CliResult> {
  return runCli(script, args, {
    onSpawn: (p) => {
      void (async () => {
        while (p.exitCode === null && !until()) await sleep(100);
        p.kill('SIGKILL');
      })();
    },
  });
}

function csvRows(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

describe('medtrain train --folds', () => {
  const cv = join(tmp, 'cv');
  const args = ['--benchmark', 'DenseNetMini_chexpert_BCE_E1_B16_N5_D32', '--data', data, '--folds', '3', '--out', cv, '--no-tensorboard', '--json'];

  it('trains K patient-disjoint folds into one folder, with their mean ± sd and the pooled out-of-fold evaluation', async () => {
    const r = await runCli('train', args);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json!;
    expect(s.results.map((f: { fold: number }) => f.fold)).toEqual([1, 2, 3]);
    const vals = s.results.map((f: { val: { macro_auroc: number } }) => f.val.macro_auroc);
    expect(s.mean.val_macro_auroc).toBeCloseTo(vals.reduce((a: number, b: number) => a + b, 0) / 3, 12);
    expect(s.sd.val_macro_auroc).toBeGreaterThan(0);
    // Each fold's val split is its fold: no patient in two folds' val sets, and together they are the whole training table.
    const patientsOf = (k: number, side: string) => new Set(csvRows(join(cv, `fold-${k}`, `split-${side}.csv`)).map((row) => row.patient));
    const seen = new Map<string, number>();
    let rows = 0;
    for (const k of [1, 2, 3]) {
      for (const p of patientsOf(k, 'val')) {
        expect(seen.has(p), `patient ${p} in the val sets of folds ${seen.get(p)} and ${k}`).toBe(false);
        seen.set(p, k);
        expect(patientsOf(k, 'train').has(p)).toBe(false);
      }
      rows += csvRows(join(cv, `fold-${k}`, 'split-val.csv')).length;
      expect(JSON.parse(readFileSync(join(cv, `fold-${k}`, 'config.json'), 'utf8')).name).toMatch(new RegExp(`_Fold${k}of3$`));
    }
    const trainRows = readFileSync(join(data, 'train.csv'), 'utf8').trim().split('\n').length - 1;
    expect(rows).toBe(trainRows);
    expect(s.pooled.rows).toBe(trainRows);
    expect(csvRows(join(cv, 'oof-predictions.csv'))).toHaveLength(trainRows);
    expect(csvRows(join(cv, 'cv-folds.csv')).map((row) => row.fold)).toEqual(['1', '2', '3', 'mean', 'sd']);
    // The folds' mean ensemble: val is the pooled out-of-fold set, test each case's mean over the folds.
    expect(s.ensemble.dir).toBe(join(cv, 'ensemble'));
    expect(JSON.parse(readFileSync(join(cv, 'ensemble', 'config.json'), 'utf8'))).toMatchObject({ format: 'medtrain-ensemble/1', method: 'mean', val: 'out-of-fold' });
    expect(csvRows(join(cv, 'ensemble', 'predictions-val.csv')).map((r) => r.id).sort()).toEqual(csvRows(join(cv, 'oof-predictions.csv')).map((r) => r.id).sort());
    const folds = [1, 2, 3].map((k) => csvRows(join(cv, `fold-${k}`, 'predictions-test.csv')));
    csvRows(join(cv, 'ensemble', 'predictions-test.csv')).forEach((r, i) => {
      for (const c of Object.keys(r).filter((k) => k !== 'id')) expect(Number(r[c])).toBeCloseTo(folds.reduce((a, f) => a + Number(f[i]![c]), 0) / 3, 6);
    });
  }, 300_000);

  it('run again, it trains nothing and gives the same summary; a fold out of range or more folds than patients are errors', async () => {
    const before = statSync(join(cv, 'fold-2', 'summary.json')).mtimeMs;
    const again = await runCli('train', args);
    expect(again.code, again.stderr).toBe(0);
    expect(statSync(join(cv, 'fold-2', 'summary.json')).mtimeMs).toBe(before);
    expect(again.json!.mean).toEqual(JSON.parse(readFileSync(join(cv, 'cv.json'), 'utf8')).mean);

    const range = await runCli('train', [...args.slice(0, 6), '--out', join(tmp, 'cv-bad'), '--fold', '4']);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/--fold[\s\S]*is one of the 3 folds[\s\S]*from 1 to 3/);
    const many = await runCli('train', ['--benchmark', 'DenseNetMini_chexpert_BCE_E1_B16_N5_D32', '--data', data, '--folds', '50', '--out', join(tmp, 'cv-many')]);
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/train\.csv[\s\S]*50 folds need at least 50 patients; the table has \d+[\s\S]*fix: use fewer folds/);
    expect(existsSync(join(tmp, 'cv-many'))).toBe(false);
    const other = await runCli('train', [...args.slice(0, 4), '--folds', '4', '--out', cv]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/holds the cross-validation of DenseNetMini_chexpert_BCE_E1_B16_N5_D32 in 3 folds/);
  }, 300_000);
});

describe('medtrain batch', () => {
  it('runs a product of fields and a list of names; killed and run again, it keeps what finished and resumes the rest', async () => {
    const file = join(tmp, 'batch.yaml');
    writeFileSync(file, ['base: DenseNetMini_chexpert_BCE_E2_B16_N5_D32', 'product:', '  learningRate: [0.001, 0.0001]', 'benchmarks:', '  - DenseNetMini_chexpert_Focal_E1_B16_N5_D32', 'train:', '  no-tensorboard: true', ''].join('\n'));
    const out = join(tmp, 'batch');
    const names = ['DenseNetMini_chexpert_Focal_E1_B16_N5_D32', 'DenseNetMini_chexpert_BCE_E2_B16_N5_D32', 'DenseNetMini_chexpert_BCE_E2_B16_N5_D32_1LR4'];
    // Killed while the third run trains its first epoch.
    const killed = await killWhen('batch', [file, '--data', data, '--out', out], () => existsSync(join(out, names[2]!, 'config.json')));
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, names[0]!, 'summary.json'))).toBe(true);
    expect(existsSync(join(out, names[2]!, 'summary.json'))).toBe(false);
    const r = await runCli('batch', [file, '--data', data, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.json!.rows as { name: string; status: string; valMacroAuroc: number | null }[];
    expect(rows.map((x) => x.name)).toEqual(names);
    expect(rows.map((x) => x.status)).toEqual(['finished', 'finished', 'completed']);
    expect(rows.every((x) => typeof x.valMacroAuroc === 'number')).toBe(true);
    expect(readFileSync(join(out, names[2]!, 'run.log'), 'utf8')).toMatch(/resum/i);
    expect(csvRows(join(out, 'results.csv')).map((x) => x.status)).toEqual(['finished', 'finished', 'completed']);
  }, 600_000);

  it('names what is wrong in a batch file before anything runs', async () => {
    const file = join(tmp, 'bad-batch.json');
    writeFileSync(file, JSON.stringify({ base: 'DenseNetMini_chexpert_BCE_E1_B16_N5_D32', product: { learningRat: [1e-3] } }));
    const r = await runCli('batch', [file, '--data', data, '--out', join(tmp, 'bad-batch')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-batch\.json[\s\S]*product\.learningRat[\s\S]*'learningRat' is not a benchmark field[\s\S]*learningRate/);
    writeFileSync(file, '{"benchmarks": ["chexpert_BCE_E1"]\n');
    const broken = await runCli('batch', [file, '--out', join(tmp, 'bad-batch')]);
    expect(broken.stderr).toMatch(/bad-batch\.json:2, column \d+: not valid JSON/);
    expect(existsSync(join(tmp, 'bad-batch', 'results.json'))).toBe(false);
  }, 120_000);
});

describe('medtrain sweep', () => {
  const spec = {
    base: 'DenseNetMini_chexpert_BCE_E2_B16_N5_D32',
    sampler: 'random',
    trials: 4,
    seed: 5,
    metric: 'val_macro_auroc',
    pruner: { asha: { reductionFactor: 2 } },
    space: { learningRate: { loguniform: [0.0001, 0.01] }, batchSize: { choice: [8, 16] } },
    train: { 'no-tensorboard': true },
  };

  it('runs its trials as runs, prunes on the epoch metric, and killed and started again ends complete with the trials the seed proposes', async () => {
    const file = join(tmp, 'sweep.json');
    writeFileSync(file, JSON.stringify(spec));
    const out = join(tmp, 'sweep');
    // Killed during trial 2's first epoch (its run folder made, no checkpoint yet) or later.
    const killed = await killWhen('sweep', [file, '--data', data, '--out', out], () => existsSync(join(out, 'trial-002', 'config.json')));
    expect(killed.signal).toBe('SIGKILL');
    const mid = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(mid.trials.filter((t: { state: string }) => t.state !== 'running').length).toBeGreaterThanOrEqual(2);
    const r = await runCli('sweep', [file, '--data', data, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = r.json!;
    expect(result.trials).toHaveLength(4);
    expect(result.trials.every((t: { state: string }) => t.state === 'complete' || t.state === 'pruned')).toBe(true);
    // The random sampler's proposals depend only on the seed: the same as a sweep of a function.
    const fn = await sweep({ space: parseSpace(spec.space), sampler: 'random', trials: 4, seed: 5, objective: () => 0 });
    expect(result.trials.map((t: { params: object }) => t.params)).toEqual(fn.trials.map((t) => ({ ...t.params, learningRate: Number((t.params.learningRate as number).toPrecision(3)) })));
    // Every trial is a run folder whose history has its reported values; a pruned one stopped early.
    for (const t of result.trials as { number: number; state: string; intermediate: [number, number][]; run: string }[]) {
      const history = JSON.parse(readFileSync(join(t.run, 'history.json'), 'utf8')) as { epoch: number; val_macro_auroc: number }[];
      expect(history.map((h) => [h.epoch, h.val_macro_auroc])).toEqual(t.intermediate);
      const summary = JSON.parse(readFileSync(join(t.run, 'summary.json'), 'utf8'));
      expect(summary.stopped?.kind === 'pruned').toBe(t.state === 'pruned');
      if (t.state === 'complete') expect(t.intermediate).toHaveLength(2);
    }
    const saved = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    const complete = result.trials.filter((t: { state: string }) => t.state === 'complete');
    expect(saved.best.value).toBe(Math.max(...complete.map((t: { value: number }) => t.value)));
    expect(csvRows(join(out, 'trials.csv')).map((row) => row.state)).toEqual(result.trials.map((t: { state: string }) => t.state));
    expect(result.epochs.savedByPruning).toBe(result.trials.filter((t: { state: string }) => t.state === 'pruned').reduce((n: number, t: { intermediate: unknown[] }) => n + 2 - t.intermediate.length, 0));
  }, 600_000);

  it('names what is wrong in a spec before any trial runs', async () => {
    const cases: [object, RegExp][] = [
      [{ ...spec, space: { learningRat: { choice: [0.1] } } }, /space\.learningRat[\s\S]*'learningRat' is not a benchmark field/],
      [{ ...spec, space: {} }, /space[\s\S]*is empty/],
      [{ ...spec, space: { batchSize: { uniform: [8, 32] } } }, /space\.batchSize[\s\S]*whole number: use int or intlog/],
      [{ ...spec, space: { learningRate: { loguniform: [0.000123456, 0.01] } } }, /rounded to 3 significant digits: its bounds must be too[\s\S]*0\.000123/],
      [{ ...spec, space: { loss: { choice: ['BCE', 'XE'] } } }, /space\.loss[\s\S]*unknown loss[\s\S]*"XE"/],
      [{ ...spec, sampler: 'grid' }, /a grid needs the values of learningRate/],
      [{ ...spec, pruner: 'hyperband' }, /pruner[\s\S]*unknown pruner/],
      [{ ...spec, trails: 3 }, /unknown key 'trails'[\s\S]*trials/],
      [{ ...spec, train: { 'no-tensorbord': true } }, /cannot start[\s\S]*no-tensorbord/],
    ];
    for (const [i, [body, message]] of cases.entries()) {
      const file = join(tmp, `bad-${i}.json`);
      writeFileSync(file, JSON.stringify(body));
      const r = await runCli('sweep', [file, '--data', data, '--out', join(tmp, `bad-sweep-${i}`)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr, JSON.stringify(body)).toMatch(message);
      expect(r.stderr).toContain(`bad-${i}.json`);
      expect(existsSync(join(tmp, `bad-sweep-${i}`, 'sweep.json'))).toBe(false);
    }
  }, 300_000);
});
