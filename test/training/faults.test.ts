/**
 * Fault injection: the train CLI is killed (SIGKILL, MEDTRAIN_FAULT: src/util/faults.ts) at every
 * stage boundary of a run — before and after each file it writes, during the first and a later
 * epoch, inside checkpoint writes, between the summary and its experiment-log line — each time
 * continued with `train --resume` (or, killed before config.json, started again into the same
 * folder), until the run ends. It must end complete, with the same weights, history, predictions
 * and summary as an uninterrupted run (WASM engine: bitwise deterministic across processes), no
 * temporary file left, and one experiment-log line. Then Ctrl-C: the run stops after the current
 * step, says how to resume (exit 130), and the resumed run ends the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makePhantom } from '../../src/data/phantom/write.js';
import { readExperimentLog } from '../../src/training/run/experiment-log.js';
import { runCli, testEnv, type CliResult } from '../helpers/cli.js';

const NAME = 'DenseNetMini_chexpert_BCE_E2_B8_N5_D32';

/** The crash points, in the order a run passes them (8 optimizer steps an epoch here). */
const CHAIN = [
  'before:config.json', // the folder is made and empty: `train` again into it
  'after:config.json',
  'after:split-train.csv',
  'after:split-val.csv',
  'after:split-test.csv',
  'after:dataset.json',
  'step:3', // during the first epoch
  'after:history.csv', // epoch 1 logged, not yet checkpointed
  'checkpoint-model:best', // inside best/'s write: model written, optimizer state not
  'fill:epoch-001', // epoch 1's checkpoint complete in its temporary folder, not yet renamed
  'after:epoch-001',
  'step:12', // during the second epoch
  'checkpoint-model:epoch-002',
  'after:epoch-002',
  'after:dataset.json', // the final dataset.json, with every skipped image
  'after:thresholds.json',
  'after:predictions-val.csv',
  'after:metrics-test.csv',
  'after:summary.json', // complete, its experiment-log line not written
];

let tmp: string;
let data: string;
let log: string;
const env = (fault?: string) => testEnv({ MEDTRAIN_LOG_LEVEL: 'warn', ...(fault && { MEDTRAIN_FAULT: fault }) });
const trainArgs = (out: string) => ['--benchmark', NAME, '--data', data, '--out', out, '--engine', 'wasm', '--weights', 'random', '--experiment-log', log];
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as any;
const untimed = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'seconds' && k !== 'images_per_second')));
const temporaries = (dir: string) => [dir, join(dir, 'checkpoints')].filter(existsSync).flatMap((d) => readdirSync(d).filter((n) => n.includes('.tmp-')));
const ok = (r: CliResult) => expect(r.code, `${r.stderr.slice(-3000)}`).toBe(0);

/** The run `dir` ends as the uninterrupted `ref` did. */
function expectSameRun(dir: string, ref: string): void {
  for (const cp of ['checkpoints/epoch-002', 'best']) {
    for (const f of readdirSync(join(ref, cp)).filter((n) => n.endsWith('.bin'))) {
      expect(readFileSync(join(dir, cp, f)).equals(readFileSync(join(ref, cp, f))), `${cp}/${f}`).toBe(true);
    }
    const info = (d: string) => readJson(join(d, cp, 'checkpoint.json'));
    expect(untimed([info(dir).logs]), cp).toEqual(untimed([info(ref).logs]));
  }
  expect(untimed(readJson(join(dir, 'history.json')))).toEqual(untimed(readJson(join(ref, 'history.json'))));
  for (const f of ['predictions-val.csv', 'predictions-test.csv', 'labels-test.csv', 'metrics-test.csv', 'thresholds.json', 'split-train.csv', 'split-val.csv', 'split-test.csv']) {
    expect(readFileSync(join(dir, f), 'utf8'), f).toBe(readFileSync(join(ref, f), 'utf8'));
  }
  expect({ ...readJson(join(dir, 'summary.json')), seconds: 0 }).toEqual({ ...readJson(join(ref, 'summary.json')), seconds: 0 });
  expect(readJson(join(dir, 'dataset.json'))).toEqual(readJson(join(ref, 'dataset.json')));
  expect(temporaries(dir)).toEqual([]);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-faults-'));
  data = join(tmp, 'phantom');
  log = join(tmp, 'experiment-log.jsonl');
  await makePhantom({ out: data, patients: 40, size: 64, seed: 1 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the train CLI killed at every stage boundary [engine: wasm]', () => {
  let ref: string;

  beforeAll(async () => {
    ref = join(tmp, 'ref');
    ok(await runCli('train', trainArgs(ref), { env: env() }));
  });

  it('resumes from every kill and ends with the uninterrupted run\'s weights and files', async () => {
    const dir = join(tmp, 'chain');
    for (const point of CHAIN) {
      const started = existsSync(join(dir, 'config.json'));
      const r = await runCli('train', started ? ['--resume', dir, '--experiment-log', log] : trainArgs(dir), { env: env(point) });
      expect(r.signal, `the kill at ${point} did not happen (exit ${r.code}): ${r.stderr.slice(-2000)}`).toBe('SIGKILL');
      if (point === 'before:config.json') expect(readdirSync(dir)).toEqual([]);
    }
    const last = await runCli('train', ['--resume', dir, '--experiment-log', log, '--json'], { env: testEnv({ MEDTRAIN_LOG_LEVEL: 'info' }) });
    ok(last);
    expect(last.stderr).toMatch(/added its missing line/);
    expectSameRun(dir, ref);
    const lines = (await readExperimentLog(log)).entries.filter((e) => e.run === dir);
    expect(lines.map((e) => e.status)).toEqual(['completed']);
    // Complete and logged: nothing left to resume.
    const again = await runCli('train', ['--resume', dir, '--experiment-log', log, '--json'], { env: env() });
    expect(again.code).toBe(2);
    expect(again.json).toMatchObject({ error: 'run-complete' });
  });

  it('Ctrl-C stops after the current step, says how to resume (exit 130), and the resumed run ends the same', async () => {
    const dir = join(tmp, 'interrupted');
    const r = await runCli('train', trainArgs(dir), {
      env: env(),
      onSpawn: (p) =>
        void (async () => {
          // Epoch 1 is saved; a moment later epoch 2 is under way.
          while (!existsSync(join(dir, 'checkpoints', 'epoch-001', 'checkpoint.json')) && p.exitCode === null) await sleep(20);
          await sleep(300);
          p.kill('SIGINT');
        })(),
    });
    expect(r.code, r.stderr.slice(-2000)).toBe(130);
    expect(r.stderr).toMatch(/interrupted after step \d+ \(epoch 2, batch \d+\); the run keeps its last complete epoch, 1/);
    expect(r.stderr).toContain(`medtrain train --resume ${dir}`);
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toMatch(/interrupted after step/);
    expect((await readExperimentLog(log)).entries.filter((e) => e.run === dir).map((e) => e.status)).toEqual(['interrupted']);
    expect(existsSync(join(dir, 'summary.json'))).toBe(false);
    const resumed = await runCli('train', ['--resume', dir, '--experiment-log', log], { env: env() });
    ok(resumed);
    expectSameRun(dir, ref);
    expect((await readExperimentLog(log)).entries.filter((e) => e.run === dir).map((e) => e.status)).toEqual(['interrupted', 'completed']);
  });
});
