/**
 * What a run does with faults in its input and its surroundings, through the train CLI as a user
 * runs it and through Experiment in-process: a user's folder is never written into; bad label rows
 * fail the run, or with --on-bad-row skip are named on the console, in run.log and dataset.json;
 * every skipped image likewise (--on-bad-image fail stops at the first); concurrent runs never share
 * a folder; a non-finite loss and an unknown monitor say what happened; "best" is the monitor's;
 * the experiment log sits beside the run folder; the phantom quick start, the weights choice and
 * checkpoint retention are said and done.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, probeEngine, shutdownBackend } from '../../src/backend/index.js';
import { makePhantom } from '../../src/data/phantom/write.js';
import { Benchmark } from '../../src/training/benchmark/benchmark.js';
import type { Callback } from '../../src/training/callbacks/callback.js';
import { Experiment } from '../../src/training/experiment.js';
import { readExperimentLog } from '../../src/training/run/experiment-log.js';
import { ROOT, runCli, testEnv, type CliResult } from '../helpers/cli.js';

const NAME = 'DenseNetMini_chexpert_BCE_E2_B8_N5_D32';
let tmp: string;
let data: string;
const env = () => testEnv({ MEDTRAIN_CACHE_DIR: join(tmp, 'cache') });
const base = (out: string) => ['--benchmark', NAME, '--data', data, '--out', out, '--engine', 'wasm', '--weights', 'random'];
const train = (args: string[], cwd?: string) => runCli('train', args, { env: env(), ...(cwd && { cwd }) });
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as any;
const ok = (r: CliResult) => expect(r.code, r.stderr.slice(-3000)).toBe(0);
const failed = (r: CliResult, code: string) => {
  expect(r.code, r.stderr.slice(-2000)).toBe(2);
  expect(r.json ?? JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ error: code });
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-policies-'));
  data = join(tmp, 'phantom');
  await makePhantom({ out: data, patients: 40, size: 64, seed: 1 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('train: input faults and run folders [engine: wasm]', () => {
  it("refuses a user's folder and leaves every file in it as it was", async () => {
    const mine = join(tmp, 'my-notes');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'mine');
    mkdirSync(join(mine, 'figures'));
    for (const dry of [true, false]) {
      const r = await train([...base(mine), '--json', ...(dry ? ['--dry-run'] : [])]);
      failed(r, 'folder-not-empty');
      expect(r.stderr).toContain(mine);
      expect(readdirSync(mine).sort()).toEqual(['figures', 'notes.txt']);
      expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('mine');
    }
  });

  it('fails on a bad label row by default, naming file, line, column and value; the monitor and the weights are checked before anything is written', async () => {
    const bad = join(tmp, 'bad-rows');
    cpSync(data, bad, { recursive: true });
    const rows = readFileSync(join(bad, 'train.csv'), 'utf8').split('\n');
    const line = 6;
    const cells = rows[line - 1]!.split(',');
    cells[cells.length - 3] = '2.0';
    rows[line - 1] = cells.join(',');
    writeFileSync(join(bad, 'train.csv'), rows.join('\n'));
    const r = await train(['--benchmark', NAME, '--data', bad, '--out', join(tmp, 'bad-rows-run'), '--engine', 'wasm', '--weights', 'random', '--json']);
    failed(r, 'bad-input');
    expect(r.json).toMatchObject({ file: join(bad, 'train.csv'), line, value: '2.0' });
    expect(r.stderr).toMatch(/--on-bad-row skip|skip policy/);

    const typo = await train([...base(join(tmp, 'typo')), '--monitor', 'val_aucroc', '--json']);
    failed(typo, 'bad-flag');
    expect(typo.stderr).toMatch(/unknown monitor 'val_aucroc'.*val_macro_auroc/s);
    const imagenet = await train([...base(join(tmp, 'imagenet')).filter((a) => a !== 'random' && a !== '--weights'), '--weights', 'imagenet', '--json']);
    expect(imagenet.code).toBe(2);
    expect(imagenet.stderr).toMatch(/ImageNet/i);
    expect(existsSync(join(tmp, 'typo')) || existsSync(join(tmp, 'imagenet'))).toBe(false);
  });

  it('with skip policies names every bad row and image on the console, in run.log and dataset.json; best is the monitor\'s; the log sits beside the run; old checkpoints go', async () => {
    const d = join(tmp, 'faulty');
    cpSync(data, d, { recursive: true });
    appendFileSync(join(d, 'train.csv'), 'CheXpert-v1.0-small/train/patient09999/study1/view1_frontal.jpg,Male,50,Frontal,AP,"unclosed\n');
    const images = readFileSync(join(d, 'train.csv'), 'utf8').split('\n').slice(1, 4).map((l) => join(d, l.split(',')[0]!));
    truncateSync(images[0]!, 100);
    writeFileSync(images[1]!, 'not a jpeg');
    unlinkSync(images[2]!);
    const out = join(tmp, 'sub', 'faulty-run');
    const r = await train(['--benchmark', NAME, '--epochs', '3', '--data', d, '--out', out, '--engine', 'wasm', '--weights', 'random', '--on-bad-row', 'skip', '--monitor', 'val_macro_auroc', '--no-early-stopping', '--keep-checkpoints', '1', '--json']);
    ok(r);
    const runLog = readFileSync(join(out, 'run.log'), 'utf8');
    for (const text of [r.stderr, runLog]) {
      expect(text).toMatch(/left out 1 bad label-table row/);
      for (const img of images) expect(text).toContain(img);
      expect(text).toMatch(/skipped 3 image\(s\) in all/);
    }
    const ds = readJson(join(out, 'dataset.json'));
    expect(ds.skipped.rows).toBe(1);
    expect(ds.skipped.images).toBe(3);
    expect(ds.skipped.items.map((s: { file: string }) => s.file)).toEqual(expect.arrayContaining([join(d, 'train.csv'), ...images]));
    expect(r.json).toMatchObject({ skipped: { rows: 1, images: 3 }, best: { monitor: 'val_macro_auroc', by: 'monitor' } });

    // One meaning of best: the monitor's, in summary.json, best/ and config.json.
    const history = readJson(join(out, 'history.json')) as { epoch: number; val_macro_auroc: number | null }[];
    const top = history.reduce((a, b) => ((b.val_macro_auroc ?? -1) > (a.val_macro_auroc ?? -1) ? b : a));
    expect(r.json!.bestEpoch).toBe(top.epoch);
    expect(readJson(join(out, 'best', 'checkpoint.json')).epoch).toBe(top.epoch);
    expect(readJson(join(out, 'config.json')).training.monitor).toBe('val_macro_auroc');
    // --keep-checkpoints 1: the last epoch and the best epoch stay.
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual([...new Set([`epoch-00${top.epoch}`, 'epoch-003'])].sort());
    // The experiment log beside the run folder; none in the checkout's models/.
    expect((await readExperimentLog(join(tmp, 'sub', 'experiment-log.jsonl'))).entries.map((e) => e.run)).toEqual([out]);
    const checkoutLog = join(ROOT, 'models', 'experiment-log.jsonl');
    if (existsSync(checkoutLog)) expect(readFileSync(checkoutLog, 'utf8')).not.toContain(out);

    const strict = await train(['--benchmark', NAME, '--data', d, '--out', join(tmp, 'strict'), '--engine', 'wasm', '--weights', 'random', '--on-bad-row', 'skip', '--on-bad-image', 'fail', '--json']);
    failed(strict, 'bad-image');
    expect(strict.stderr).toContain(join(d, 'train.csv'));
  });

  it('runs started at once without --out each get a folder of their own', async () => {
    const cwd = join(tmp, 'concurrent');
    mkdirSync(cwd);
    const args = ['--benchmark', 'DenseNetMini_chexpert_BCE_E1_B8_N5_D32', '--data', data, '--engine', 'wasm', '--weights', 'random', '--no-tensorboard', '--json'];
    const runs = await Promise.all(Array.from({ length: 4 }, () => train(args, cwd)));
    for (const r of runs) ok(r);
    const dirs = runs.map((r) => r.json!.run as string);
    expect(new Set(dirs).size).toBe(4);
    for (const dir of dirs) expect(readJson(join(dir, 'summary.json')).epochs).toBe(1);
    expect((await readExperimentLog(join(cwd, 'models', 'experiment-log.jsonl'))).entries.map((e) => e.run).sort()).toEqual([...dirs].sort());
  });

  it('says what it chose: the quick start on any phantom folder, and where auto weights come from', async () => {
    const r = await train(['--benchmark', 'chexpert_BCE_E2_B8', '--data', data, '--engine', 'wasm', '--dry-run', '--json']);
    ok(r);
    expect(r.json).toMatchObject({ model: 'DenseNetMini', dim: 64, weights: 'random' });
    expect(r.stderr).toMatch(/on the phantom set it trains the quick start, DenseNetMini at 64 px/);
    expect(r.stderr).toMatch(/weights auto: no ImageNet weights file for DenseNetMini/);
    const big = await train(['--benchmark', 'DenseNetMini_chexpert_BCE_E2_B8_D128', '--data', data, '--engine', 'wasm', '--dry-run', '--json']);
    ok(big);
    expect(big.stderr).toMatch(/images 64 px wide, smaller than the model's input \(128 px\)/);
  });
});

describe('train: every setting a flag, recorded in config.json', () => {
  it('takes the training, head and input-policy flags', async () => {
    const r = await train([...base(join(tmp, 'flags')), '--patience', '3', '--plateau', '0.3,1', '--thresholds', 'f1', '--head-units', '0', '--dropout', '0.2', '--no-tensorboard', '--keep-checkpoints', '2', '--on-bad-image', 'fail', '--monitor', 'val_auroc/Edema', '--dry-run', '--json']);
    ok(r);
    expect(r.json).toMatchObject({
      head: { units: 0, dropout: 0.2 },
      training: { monitor: 'val_auroc/Edema', earlyStopping: { patience: 3 }, plateau: { factor: 0.3, patience: 1 }, thresholds: 'f1', keepCheckpoints: 2, tensorboard: false },
      data: { onBadRow: 'fail', onBadImage: 'fail' },
    });
    const off = await train([...base(join(tmp, 'flags')), '--no-early-stopping', '--plateau', 'none', '--dry-run', '--json']);
    ok(off);
    expect(off.json).toMatchObject({ training: { monitor: 'val_loss', earlyStopping: null, plateau: null, thresholds: 'youden', keepCheckpoints: null, tensorboard: true } });
    const both = await train([...base(join(tmp, 'flags')), '--no-early-stopping', '--patience', '2', '--dry-run', '--json']);
    failed(both, 'bad-flag');
    const resumeFlag = await train(['--resume', join(tmp, 'flags'), '--monitor', 'val_loss', '--json']);
    failed(resumeFlag, 'bad-flag');
  });
});

describe('Experiment in-process: a non-finite loss', () => {
  let engine: 'tensorflow' | 'wasm';
  beforeAll(async () => {
    engine = (await probeEngine('tensorflow')).present ? 'tensorflow' : 'wasm';
    await initBackend(engine, { quiet: true });
  });
  afterAll(() => shutdownBackend());

  /** Sets every weight to NaN at the start of the given epoch (0-based). */
  const poison = (epoch: number): Callback => ({
    name: 'poison',
    onEpochBegin: (ctx, e) => {
      if (e === epoch) tf.tidy(() => ctx.model.setWeights(ctx.model.getWeights().map((w) => tf.fill(w.shape, NaN))));
    },
  });

  it('in the first epoch: an error that says training diverged, in the experiment log too; no checkpoint claimed', async () => {
    const log = join(tmp, 'nan-log.jsonl');
    const exp = await Experiment.create(Benchmark.parse(NAME).withOverrides({ engine }), { data, out: join(tmp, 'nan-first'), experimentLog: log, weights: 'random', progress: false, callbacks: [poison(0)] });
    const e = await exp.run().catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 'diverged' });
    expect(String((e as Error).message)).toMatch(/training diverged: (loss|gradient norm) NaN at epoch 1, step 1 \(batch 1 of the epoch\); no epoch was saved/);
    const entry = (await readExperimentLog(log)).entries.at(-1)!;
    expect(entry).toMatchObject({ status: 'failed' });
    expect(String(entry.error)).toMatch(/NaN at epoch 1/);
  });

  it('in a later epoch: the last good epoch is evaluated and the run says it stopped', async () => {
    const log = join(tmp, 'nan-log.jsonl');
    const exp = await Experiment.create(Benchmark.parse(NAME).withOverrides({ engine }), { data, out: join(tmp, 'nan-later'), experimentLog: log, weights: 'random', progress: false, callbacks: [poison(1)] });
    const { summary } = await exp.run();
    expect(summary.bestEpoch).toBe(1);
    expect(summary.stopped).toMatchObject({ kind: 'non-finite' });
    expect(typeof summary.val.macro_auroc === 'number' || summary.val.macro_auroc === null).toBe(true);
    expect((await readExperimentLog(log)).entries.at(-1)).toMatchObject({ status: 'stopped' });
  });
});
