/**
 * Integration: real training through the CLIs (train, evaluate, predict, reevaluate) and through
 * Experiment in-process, on a tiny phantom set made here. The CLI runs use the WASM engine (bitwise
 * deterministic across processes, so a killed and resumed run can be compared byte for byte); the
 * in-process run uses the fastest engine present (tensorflow, else wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { initBackend, probeEngine, shutdownBackend } from '../../src/backend/index.js';
import { makePhantom } from '../../src/data/phantom/write.js';
import { modelNames } from '../../src/models/registry.js';
import { Benchmark } from '../../src/training/benchmark/benchmark.js';
import type { Callback } from '../../src/training/callbacks/index.js';
import { Experiment } from '../../src/training/experiment.js';
import { readExperimentLog } from '../../src/training/run/experiment-log.js';
import { RunStore } from '../../src/training/run/store.js';
import { ROOT, runCli, testEnv, type CliResult } from '../helpers/cli.js';

/** The smallest registry model: the compact DenseNet where the registry has it. */
const TINY = modelNames().includes('DenseNetMini') ? 'DenseNetMini' : 'MobileNetV2';
const NAME = `${TINY}_chexpert_BCE_E3_B8_N5_D32`;
const CLASSES = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'];
/** config.json's first keys, in order (issue 6). */
const CONFIG_KEYS = ['name', 'model', 'dataset', 'classes', 'loss', 'classWeightNorm', 'epochs', 'batchSize', 'crop', 'augmentation', 'transforms', 'uncertainty', 'blankPolicy', 'dim', 'split', 'learningRate', 'lrFactor', 'optimizer', 'upsample', 'seed', 'engine'];

let tmp: string;
let data: string;
let log: string;
const env = (): NodeJS.ProcessEnv => testEnv({ MEDTRAIN_CACHE_DIR: join(tmp, 'cache') });

/** Run `medtrain <script> -- args` as a child (tsx, repository root); `onSpawn` may watch or kill it. */
function cli(script: string, args: string[], onSpawn?: (p: ReturnType<typeof spawn>) => void): Promise<CliResult> {
  return runCli(script, args, { env: env(), onSpawn });
}

const ok = (r: CliResult) => expect(r.code, `${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`).toBe(0);

/** Every file under a folder with its SHA-256, to show nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name);
      if (e.isDirectory()) walk(f);
      else out[relative(dir, f)] = createHash('sha256').update(readFileSync(f)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as any;
const csvRows = (f: string) => readFileSync(f, 'utf8').trim().split('\n');
const untimed = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'seconds' && k !== 'images_per_second')));
const temporaries = (dir: string) => [dir, join(dir, 'checkpoints')].flatMap((d) => readdirSync(d).filter((n) => n.includes('.tmp-')));

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-experiment-'));
  data = join(tmp, 'phantom');
  log = join(tmp, 'experiment-log.jsonl');
  await makePhantom({ out: data, patients: 40, size: 64, seed: 1 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the train, evaluate, predict and reevaluate CLIs [engine: wasm]', () => {
  let full: string;
  const trainArgs = (out: string) => ['--benchmark', NAME, '--epochs', '2', '--data', data, '--out', out, '--engine', 'wasm', '--weights', 'random', '--experiment-log', log];

  beforeAll(() => {
    full = join(tmp, 'full');
  });

  it('trains a tiny config and writes every file of the run folder', async () => {
    const r = await cli('train', [...trainArgs(full), '--json']);
    ok(r);
    const s = r.json!;
    expect(s.run).toBe(full);
    expect(s.engine).toBe('wasm');
    expect(s.epochs).toBe(2);
    expect(typeof s.val.macro_auroc).toBe('number');
    expect(typeof s.test.macro_auroc).toBe('number');
    expect([1, 2]).toContain(s.bestEpoch);
    expect(s.seconds).toBeGreaterThan(0);
    const { run: _run, ...summary } = s;
    expect(readJson(join(full, 'summary.json'))).toEqual(summary);

    const config = readJson(join(full, 'config.json'));
    expect(Object.keys(config).slice(0, CONFIG_KEYS.length)).toEqual(CONFIG_KEYS);
    expect(config).toMatchObject({ model: TINY, dataset: 'chexpert', classes: CLASSES, epochs: 2, batchSize: 8, dim: 32, split: { train: 0.8, val: 0.2 }, engine: 'wasm', weights: 'random' });
    expect(config.name).toBe(`${TINY}_chexpert_BCE_E2_B8_N5_D32_wasm`);
    expect(config.versions.tfjs).toBe(tf.version.tfjs);
    expect(config.data.dir).toBe(data);

    // The split files partition the tables: train and val from train.csv by patient, test = valid.csv.
    const ids = (f: string) => csvRows(join(full, f)).slice(1);
    const [train, val, test] = ['split-train.csv', 'split-val.csv', 'split-test.csv'].map(ids);
    expect(train!.length + val!.length).toBe(csvRows(join(data, 'train.csv')).length - 1);
    expect(test!.length).toBe(csvRows(join(data, 'valid.csv')).length - 1);

    for (const cp of ['checkpoints/epoch-001', 'checkpoints/epoch-002', 'best']) {
      const files = readdirSync(join(full, cp));
      expect(files, cp).toEqual(expect.arrayContaining(['model.json', 'optimizer.json', 'optimizer.bin', 'checkpoint.json']));
      expect(files.some((f) => /^group1-shard\d+of\d+\.bin$/.test(f)), cp).toBe(true);
    }
    expect(readJson(join(full, 'best', 'checkpoint.json')).epoch).toBe(s.bestEpoch);

    const history = readJson(join(full, 'history.json')) as Record<string, unknown>[];
    expect(history.map((h) => h.epoch)).toEqual([1, 2]);
    const head = csvRows(join(full, 'history.csv'))[0]!.split(',');
    for (const k of ['epoch', 'loss', 'lr', 'val_loss', 'val_macro_auroc', ...CLASSES.map((c) => `val_auroc/${c}`)]) expect(head, k).toContain(k);
    expect(csvRows(join(full, 'history.csv'))).toHaveLength(3);

    const predictions = csvRows(join(full, 'predictions-test.csv'));
    expect(predictions[0]).toBe(['id', ...CLASSES].join(','));
    expect(predictions).toHaveLength(test!.length + 1);
    const metrics = csvRows(join(full, 'metrics-test.csv')).map((l) => l.split(',')[0]);
    expect(metrics).toEqual(['class', ...CLASSES, 'macro', 'micro', 'weighted']);
    expect(Object.keys(readJson(join(full, 'thresholds.json')).thresholds)).toEqual(CLASSES);

    for (const run of ['train', 'validation', 'batch']) {
      const events = readdirSync(join(full, 'tensorboard', run)).filter((f) => f.startsWith('events.out.tfevents.'));
      expect(events, run).toHaveLength(1);
      expect(statSync(join(full, 'tensorboard', run, events[0]!)).size, run).toBeGreaterThan(100);
    }
    expect(readFileSync(join(full, 'run.log'), 'utf8')).toContain('"message"');
    const entries = (await readExperimentLog(log)).entries.filter((e) => e.run === full);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ name: config.name, status: 'completed', summary: { bestEpoch: s.bestEpoch, engine: 'wasm' } });
    expect(temporaries(full)).toEqual([]);
  });

  it('--dry-run --json prints exactly the config the run wrote, with the issue\'s keys first, and writes nothing', async () => {
    const out = join(tmp, 'dry');
    const r = await cli('train', [...trainArgs(out), '--dry-run', '--json']);
    ok(r);
    expect(Object.keys(r.json!).slice(0, CONFIG_KEYS.length)).toEqual(CONFIG_KEYS);
    const { created: _a, ...dry } = r.json!;
    const { created: _b, ...written } = readJson(join(full, 'config.json'));
    expect(dry).toEqual(written);
    expect(existsSync(out)).toBe(false);
  });

  it('a run killed by SIGKILL mid-epoch and resumed with --resume ends byte-identical to the uninterrupted one', async () => {
    const cut = join(tmp, 'cut');
    const killed = await cli('train', trainArgs(cut), (p) => {
      void (async () => {
        // Epoch 1 is checkpointed; a moment later epoch 2 is under way.
        while (!existsSync(join(cut, 'checkpoints', 'epoch-001', 'checkpoint.json')) && p.exitCode === null) await sleep(20);
        await sleep(800);
        p.kill('SIGKILL');
      })();
    });
    expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
    const store = await RunStore.open(cut);
    expect(await store.listCheckpoints()).toEqual([1]);
    expect(existsSync(join(cut, 'summary.json'))).toBe(false);

    const r = await cli('train', ['--resume', cut, '--json', '--experiment-log', log]);
    ok(r);
    expect(r.stderr).toContain('resumed after epoch 1 of 2');
    const fullStore = await RunStore.open(full);
    for (const which of [2, 'best'] as const) {
      for (const f of readdirSync(fullStore.checkpointDir(which)).filter((n) => n.endsWith('.bin'))) {
        const same = readFileSync(join(store.checkpointDir(which), f)).equals(readFileSync(join(fullStore.checkpointDir(which), f)));
        expect(same, `${which}/${f}`).toBe(true);
      }
    }
    expect(untimed(readJson(join(cut, 'history.json')))).toEqual(untimed(readJson(join(full, 'history.json'))));
    expect(readFileSync(join(cut, 'predictions-test.csv'), 'utf8')).toBe(readFileSync(join(full, 'predictions-test.csv'), 'utf8'));
    expect({ ...r.json!, seconds: 0, run: '' }).toEqual({ ...readJson(join(full, 'summary.json')), seconds: 0, run: '' });
    expect(temporaries(cut)).toEqual([]);
    expect((await readExperimentLog(log)).entries.filter((e) => e.run === cut).map((e) => e.status)).toEqual(['completed']);
  });

  it("reevaluate: a row per saved epoch on val and test, the best by the run's monitor (val_loss), CSV and JSON in the run folder", async () => {
    const r = await cli('reevaluate', ['--run', full, '--json', '--engine', 'wasm']);
    ok(r);
    const re = r.json!;
    expect(re.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    const history = readJson(join(full, 'history.json')) as Record<string, number | null>[];
    for (const [i, row] of (re.epochs as Record<string, number | null>[]).entries()) {
      // The saved weights give back what the epoch measured on val.
      expect(row.val_loss).toBeCloseTo(history[i]!.val_loss!, 5);
      expect(row.val_macro_auroc).toBeCloseTo(history[i]!.val_macro_auroc!, 6);
      for (const c of CLASSES) expect(row, c).toHaveProperty(`test_auroc/${c}`);
    }
    const best = (re.epochs as Record<string, number>[]).reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
    expect(re).toMatchObject({ monitor: 'val_loss', bestEpoch: best.epoch, bestValue: best.val_loss });
    expect(readJson(join(full, 'reevaluation.json')).bestEpoch).toBe(re.bestEpoch);
    expect(csvRows(join(full, 'reevaluation.csv'))).toHaveLength(3);
  });

  it('evaluate --run gives the test figures of summary.json; predict reads an image and a folder', async () => {
    const e = await cli('evaluate', ['--run', full, '--json', '--engine', 'wasm']);
    ok(e);
    expect(e.json!.split).toBe('test');
    expect(e.json!.figures.macro_auroc).toBeCloseTo(readJson(join(full, 'summary.json')).test.macro_auroc, 6);
    // One meaning of best, shown by every command: the run's monitor.
    const best = readJson(join(full, 'summary.json')).best;
    expect(e.json!.model).toMatchObject({ epoch: best.epoch, by: 'monitor', monitor: 'val_loss' });
    expect(e.json!.model.description).toBe(`best epoch ${best.epoch} by val_loss (${best.value.toFixed(4)})`);
    const text = await cli('evaluate', ['--run', full, '--engine', 'wasm']);
    expect(text.stdout).toContain(`best epoch ${best.epoch} by val_loss`);

    const folder = join(data, 'CheXpert-v1.0-small', 'valid');
    const image = join(folder, 'patient00033', 'study1', 'view1_frontal.jpg');
    const csv = join(tmp, 'predicted.csv');
    const p = await cli('predict', ['--run', full, '--out', csv, '--json', '--engine', 'wasm', image, folder]);
    ok(p);
    expect(p.json!.model.description).toBe(e.json!.model.description);
    const preds = p.json!.predictions as { id: string; path: string; probabilities: Record<string, number>; labels: Record<string, number> }[];
    const tests = csvRows(join(full, 'predictions-test.csv')).slice(1).map((l) => l.split(','));
    // The image given by itself is in the folder too: predicted once, under the name it was first given.
    expect(preds).toHaveLength(tests.length);
    expect(preds[0]!.id).toBe(image);
    expect(new Set(preds.map((x) => x.id)).size).toBe(preds.length);
    // Every image of the folder, as the run itself scored it on its test split.
    for (const [id, ...scores] of tests) {
      const pr = preds.find((x) => x.path === join(data, id!));
      expect(pr, id).toBeDefined();
      CLASSES.forEach((c, k) => expect(pr!.probabilities[c]).toBeCloseTo(Number(scores[k]), 5));
      CLASSES.forEach((c) => expect(pr!.labels[c]).toBe(pr!.probabilities[c]! >= p.json!.thresholds[c] ? 1 : 0));
    }
    expect(csvRows(csv)[0]).toBe(['id', ...CLASSES, ...CLASSES.map((c) => `${c} label`)].join(','));
    expect(csvRows(csv)).toHaveLength(preds.length + 1);
  });

  it('bad input: a clear error, exit code 2, and nothing already written lost or half-written', async () => {
    const blocker = join(tmp, 'a-file');
    writeFileSync(blocker, 'keep me\n');
    const notRun = join(tmp, 'not-a-run');
    mkdirSync(notRun);
    writeFileSync(join(notRun, 'notes.txt'), 'mine\n');
    const before = { full: snapshot(full), notRun: snapshot(notRun) };
    const fresh = join(tmp, 'fresh');
    // The engine is started before these errors: the cpu engine starts at once.
    const cases: [string, string[], string, RegExp][] = [
      ['train', ['--benchmark', NAME, '--epochz', '2'], 'bad-flag', /--epochz.*\n?.*known flags/],
      ['train', ['--benchmark', NAME, '--data', join(tmp, 'no-such-data'), '--out', fresh, '--engine', 'cpu'], 'missing-data', /data folder not found/],
      ['train', ['--benchmark', NAME, '--data', data, '--out', join(blocker, 'run'), '--engine', 'cpu', '--experiment-log', log], 'unwritable', /cannot write to the run folder/],
      ['train', ['--benchmark', NAME, '--data', data, '--out', full, '--engine', 'cpu', '--experiment-log', log], 'run-exists', /a run is already in this folder/],
      ['train', ['--resume', notRun, '--experiment-log', log], 'not-a-run', /not a run folder/],
      ['train', ['--resume', full, '--experiment-log', log], 'run-complete', /nothing to resume/],
      ['train', ['--resume', full, '--epochs', '9'], 'bad-flag', /--epochs cannot change/],
      ['evaluate', ['--run', notRun], 'not-a-run', /not a run folder/],
      ['predict', ['--run', full, '--engine', 'cpu', join(tmp, 'nope.jpg')], 'missing-file', /no such image or folder/],
    ];
    const logBefore = readFileSync(log, 'utf8');
    const results = await Promise.all(cases.map(([script, args]) => cli(script, [...args, '--json'])));
    results.forEach((r, i) => {
      const [script, args, code, message] = cases[i]!;
      const what = `${script} ${args.join(' ')}`;
      expect(r.code, `${what}\n${r.stderr}`).toBe(2);
      expect(r.json, what).toMatchObject({ error: code });
      expect(r.stderr, what).toMatch(/^medtrain: /m);
      expect(r.stderr, what).toMatch(message);
      expect(r.stderr, what).not.toMatch(/\n\s+at /); // no stack trace
    });
    expect(snapshot(full)).toEqual(before.full);
    expect(snapshot(notRun)).toEqual(before.notRun);
    expect(readFileSync(blocker, 'utf8')).toBe('keep me\n');
    expect(existsSync(fresh)).toBe(false);
    expect(readFileSync(log, 'utf8')).toBe(logBefore);
  });
});

describe('Experiment in-process', () => {
  let engine: 'tensorflow' | 'wasm';
  beforeAll(async () => {
    engine = (await probeEngine('tensorflow')).present ? 'tensorflow' : 'wasm';
    await initBackend(engine, { quiet: true });
  });
  afterAll(() => shutdownBackend());

  it('keeps tf.memory().numTensors flat across epochs and leaves no tensor behind', async () => {
    const counts: number[] = [];
    const memory: Callback = { name: 'memory', order: 1000, onEpochEnd: () => void counts.push(tf.memory().numTensors) };
    const b = Benchmark.parse(NAME).withOverrides({ engine });
    const exp = await Experiment.create(b, { data, out: join(tmp, 'in-process'), experimentLog: false, weights: 'random', progress: false, callbacks: [memory] });
    const before = tf.memory().numTensors;
    const { summary } = await exp.run();
    expect(summary.epochs).toBe(3);
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size, `tensors at the end of each epoch: ${counts.join(', ')}`).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the library example (scripts/examples/train-and-evaluate.ts) runs end to end', async () => {
    const out = join(tmp, 'example');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'examples', 'train-and-evaluate.ts'), data, out, `${TINY}_chexpert_BCE_E1_B16_N5_D32_${engine}`], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += String(d)));
      p.stderr.on('data', (d) => (stderr += String(d)));
      p.on('error', reject);
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/^trained .* val macro AUROC \d\.\d{4}, best epoch 1$/m);
    expect(r.stdout).toMatch(/^test macro AUROC \d\.\d{4} over \d classes$/m);
    expect(existsSync(join(out, 'summary.json'))).toBe(true);
    expect(csvRows(join(out, 'predictions-example.csv'))).toHaveLength(csvRows(join(data, 'valid.csv')).length);
  });
});
