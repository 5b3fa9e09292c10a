/**
 * Integration: two tiny runs trained here on a phantom set (the second a repeat, `_2`: other initial
 * weights and data order, the same split), combined by `medtrain ensemble`, then used as a run:
 * `medtrain evaluate --run` scores it again through its members' models and `medtrain predict --run`
 * gives the members' mean for an image.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEngine } from '../../src/backend/index.js';
import { makePhantom } from '../../src/data/phantom/write.js';
import { runCli, testEnv, type CliResult } from '../helpers/cli.js';

const NAME = 'DenseNetMini_chexpert_BCE_E2_B8_N5_D32';
let tmp: string;
let data: string;
let engine: string;
const cli = (script: string, args: string[]): Promise<CliResult> => runCli(script, [...args, ...(script === 'ensemble' ? [] : ['--engine', engine])], { env: testEnv({ MEDTRAIN_CACHE_DIR: join(tmp, 'cache') }) });
const ok = (r: CliResult) => expect(r.code, `${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`).toBe(0);
const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as any;
const run = (k: number) => join(tmp, `run-${k}`);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-ensemble-runs-'));
  data = join(tmp, 'phantom');
  engine = (await probeEngine('tensorflow')).present ? 'tensorflow' : 'wasm';
  await makePhantom({ out: data, patients: 40, size: 64, seed: 1 });
  for (const [k, name] of [[1, NAME], [2, `${NAME}_2`]] as const) {
    ok(await cli('train', ['--benchmark', name, '--data', data, '--out', run(k), '--weights', 'random', '--no-early-stopping', '--no-tensorboard', '--experiment-log', join(tmp, 'log.jsonl'), '--json']));
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('an ensemble of two trained runs', () => {
  it('a repeat keeps the split and draws the weights anew', () => {
    for (const f of ['split-val.csv', 'split-test.csv']) expect(readFileSync(join(run(2), f), 'utf8')).toBe(readFileSync(join(run(1), f), 'utf8'));
    expect(readFileSync(join(run(2), 'predictions-val.csv'), 'utf8')).not.toBe(readFileSync(join(run(1), 'predictions-val.csv'), 'utf8'));
  });

  it('medtrain ensemble, then evaluate and predict take the folder as a run', async () => {
    const out = join(tmp, 'mean');
    const made = await cli('ensemble', ['--runs', run(1), run(2), '--method', 'mean', '--out', out, '--json']);
    ok(made);
    const e = json(made);
    const names = [run(1), run(2)].map((d) => JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')).name as string);
    expect(names[1]).toBe(`${names[0]}_2`);
    expect(e.members.map((m: { name: string }) => m.name)).toEqual(names);

    const ev = await cli('evaluate', ['--run', out, '--split', 'test', '--json']);
    ok(ev);
    // Scored again through the members' models: the figures the ensemble wrote.
    expect(json(ev).figures.macro_auroc).toBeCloseTo(e.test.macro_auroc, 6);
    expect(json(ev).model.by).toBe('ensemble');

    const image = join(data, 'CheXpert-v1.0-small', 'valid', 'patient00033', 'study1', 'view1_frontal.jpg');
    const [p, a, b] = await Promise.all([out, run(1), run(2)].map(async (d) => json(await cli('predict', ['--run', d, image, '--json']))));
    for (const c of p.classes as string[]) expect(p.predictions[0].probabilities[c]).toBeCloseTo((a.predictions[0].probabilities[c] + b.predictions[0].probabilities[c]) / 2, 6);
    expect(p.thresholds).toEqual(JSON.parse(readFileSync(join(out, 'thresholds.json'), 'utf8')).thresholds);

    const text = await cli('evaluate', ['--run', out, '--epoch', '1']);
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/an ensemble has no epochs of its own/);
  });
});
