/**
 * Integration: using a saved run through the CLIs (predict, reevaluate, evaluate) on a tiny WBCE run
 * trained here on a phantom set: predictions that belong to their image, one report per unreadable
 * image, the best epoch by the run's monitor, and the run's own weighted loss without dataset.json.
 * The fastest engine present (tensorflow, else wasm) trains and predicts.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEngine } from '../../../src/backend/index.js';
import { makePhantom } from '../../../src/data/phantom/write.js';
import { modelNames } from '../../../src/models/registry.js';
import { ROOT, runCli, testEnv, type CliResult } from '../../helpers/cli.js';

const TINY = modelNames().includes('DenseNetMini') ? 'DenseNetMini' : 'MobileNetV2';
const CLASSES = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'];

let tmp: string;
let data: string;
let run: string;
let engine: string;
const env = (): NodeJS.ProcessEnv => testEnv({ MEDTRAIN_CACHE_DIR: join(tmp, 'cache') });
const cli = (script: string, args: string[]): Promise<CliResult> => runCli(script, [...args, '--engine', engine], { env: env() });
const ok = (r: CliResult) => expect(r.code, `${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`).toBe(0);
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as any;

/** A copy of the trained run (to change without touching the others). */
function copyRun(name: string, change?: (config: any) => void): string {
  const dir = join(tmp, name);
  cpSync(run, dir, { recursive: true });
  if (change) {
    const config = readJson(join(dir, 'config.json'));
    change(config);
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  return dir;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'medtrain-run-eval-'));
  data = join(tmp, 'phantom');
  run = join(tmp, 'run');
  engine = (await probeEngine('tensorflow')).present ? 'tensorflow' : 'wasm';
  await makePhantom({ out: data, patients: 40, size: 64, seed: 1 });
  const r = await cli('train', ['--benchmark', `${TINY}_chexpert_WBCE_E3_B8_N5_D32`, '--data', data, '--out', run, '--weights', 'random', '--no-early-stopping', '--experiment-log', join(tmp, 'log.jsonl'), '--json']);
  ok(r);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Pred = { id: string; path: string; probabilities: Record<string, number> };

describe('predict', () => {
  const image = (patient: number) => join(data, 'CheXpert-v1.0-small', 'valid', `patient000${patient}`, 'study1', 'view1_frontal.jpg');

  it('two folders holding the same relative name: each row has a unique id, its own path and its own probabilities', async () => {
    // Two "patient folders" with the same file name inside, holding different images.
    const a = join(tmp, 'same-name', 'a');
    const b = join(tmp, 'same-name', 'b');
    for (const [dir, patient] of [[a, 33], [b, 34]] as const) {
      mkdirSync(join(dir, 'study1'), { recursive: true });
      copyFileSync(image(patient), join(dir, 'study1', 'view1_frontal.jpg'));
    }
    const fileA = join(a, 'study1', 'view1_frontal.jpg');
    const fileB = join(b, 'study1', 'view1_frontal.jpg');
    // The folders as a user in the repository would write them; fileA once more, given itself.
    const relA = relative(ROOT, a);
    const relB = relative(ROOT, b);
    const both = await cli('predict', ['--run', run, '--json', relA, relB, fileA]);
    ok(both);
    const alone = await Promise.all([fileA, fileB].map((f) => cli('predict', ['--run', run, '--json', f])));
    alone.forEach(ok);
    const [onlyA, onlyB] = alone.map((r) => (r.json!.predictions as Pred[])[0]!);
    // The two images really give different probabilities (else the test could not tell them apart).
    expect(CLASSES.some((c) => Math.abs(onlyA!.probabilities[c]! - onlyB!.probabilities[c]!) > 1e-4)).toBe(true);

    const preds = both.json!.predictions as Pred[];
    // fileA, given twice (in folder a and by itself), is predicted once, and the log says so.
    expect(preds.map((p) => p.id)).toEqual([join(relA, 'study1', 'view1_frontal.jpg'), join(relB, 'study1', 'view1_frontal.jpg')]);
    expect(both.stderr).toMatch(/given twice.*predicted once/);
    expect(preds.map((p) => p.path)).toEqual([fileA, fileB]);
    for (const [p, one] of [[preds[0]!, onlyA!], [preds[1]!, onlyB!]] as const) {
      for (const c of CLASSES) expect(p.probabilities[c], `${p.id} ${c}`).toBeCloseTo(one.probabilities[c]!, 5);
    }
    expect(both.json!.skipped).toEqual([]);
  });

  it('a file that is not an image: named once (no log line, no fake table line), the others predicted, exit 0; none readable: exit 2', async () => {
    const dir = join(tmp, 'mixed');
    mkdirSync(dir, { recursive: true });
    copyFileSync(image(35), join(dir, 'view1_frontal.jpg'));
    const notImage = join(dir, 'view2_frontal.jpg');
    writeFileSync(notImage, 'this is not an image\n');

    const text = await cli('predict', ['--run', run, dir]);
    ok(text);
    const output = `${text.stdout}\n${text.stderr}`;
    expect(output.split(notImage).length - 1, output).toBe(1);
    expect(text.stdout).toContain(`skipped ${notImage}: not an image`);
    expect(output).not.toMatch(/view2_frontal\.jpg:\d/);
    expect(text.stdout).toContain(`${join(dir, 'view1_frontal.jpg')}:`);

    const json = await cli('predict', ['--run', run, '--json', dir]);
    ok(json);
    expect(json.json!.predictions).toHaveLength(1);
    expect(json.json!.skipped).toEqual([{ id: notImage, file: notImage, reason: expect.stringMatching(/not an image/) }]);

    const none = await cli('predict', ['--run', run, '--json', notImage]);
    expect(none.code, none.stderr).toBe(2);
    expect(none.json).toMatchObject({ error: 'no-images', file: notImage });
    expect(none.stderr).toMatch(/^medtrain: .*view2_frontal\.jpg: the image could not be read: not an image/m);
    expect(none.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('reevaluate', () => {
  const history = () => readJson(join(run, 'history.json')) as Record<string, number | null>[];
  /** The epoch a monitor picks from training's history (the first of equals). */
  const pick = (monitor: string, mode: 'min' | 'max') =>
    history().reduce<Record<string, number | null> | null>((best, h) => (h[monitor] !== null && (best === null || (mode === 'min' ? h[monitor]! < best[monitor]! : h[monitor]! > best[monitor]!)) ? h : best), null)!.epoch;

  it("chooses the best epoch by the run's monitor (val_loss, as best/ and summary.json), reports monitor and value, and says so", async () => {
    const r = await cli('reevaluate', ['--run', run]);
    ok(r);
    const re = readJson(join(run, 'reevaluation.json'));
    expect(re.monitor).toBe('val_loss');
    expect(re.mode).toBe('min');
    const rows = re.epochs as Record<string, number>[];
    expect(rows.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const lowest = rows.reduce((a, b) => (b.val_loss! < a.val_loss! ? b : a));
    expect(re.bestEpoch).toBe(lowest.epoch);
    expect(re.bestEpoch).toBe(readJson(join(run, 'summary.json')).bestEpoch);
    expect(re.bestValue).toBe(lowest.val_loss);
    expect(re.bestValMacroAuroc).toBe(lowest.val_macro_auroc);
    expect(r.stdout).toMatch(new RegExp(`^best epoch by val_loss \\(lowest\\): ${re.bestEpoch} \\(val_loss ${lowest.val_loss!.toFixed(4)}, val macro AUROC `, 'm'));
    expect(r.stdout).not.toMatch(/best epoch by val macro AUROC/);
  });

  it('a monitor reevaluate does not list by default (val_macro_f1, val_auroc/<class>) gets its column and decides; the training loss is said not to be computed', async () => {
    for (const [monitor, mode] of [['val_macro_f1', 'max'], ['val_auroc/Cardiomegaly', 'max'], ['val_macro_auroc', 'max']] as const) {
      const dir = copyRun(`monitor-${monitor.replace('/', '-')}`, (c) => void (c.training.monitor = monitor));
      const r = await cli('reevaluate', ['--run', dir, '--json']);
      ok(r);
      const re = r.json!;
      expect(re).toMatchObject({ monitor, mode });
      const rows = re.epochs as Record<string, number | null>[];
      // The monitored quantity, as the epoch measured it in training.
      rows.forEach((row, i) => expect(row[monitor], `${monitor} epoch ${row.epoch}`).toBeCloseTo(history()[i]![monitor]!, 5));
      expect(re.bestEpoch, monitor).toBe(pick(monitor, mode));
      expect(re.bestValue).toBe(rows.find((row) => row.epoch === re.bestEpoch)![monitor]);
      expect(readJson(join(dir, 'reevaluation.json'))).toMatchObject({ monitor, bestEpoch: re.bestEpoch, bestValue: re.bestValue });
      expect(readFileSync(join(dir, 'reevaluation.csv'), 'utf8').split('\n')[0]!.split(',')).toContain(monitor);
    }
    const dir = copyRun('monitor-loss', (c) => void (c.training.monitor = 'loss'));
    const r = await cli('reevaluate', ['--run', dir]);
    ok(r);
    expect(r.stdout).toMatch(/^best epoch by loss: — \(the run's monitor is the training loss .*which reevaluate does not compute/m);
    expect(readJson(join(dir, 'reevaluation.json'))).toMatchObject({ monitor: 'loss', bestEpoch: null, bestValue: null, note: expect.stringMatching(/does not compute/) });
  });
});

describe('evaluate', () => {
  it('a WBCE run without dataset.json: the loss is the run\'s weighted loss (class weights computed again as training did), not plain BCE', async () => {
    const bare = copyRun('no-dataset-json');
    rmSync(join(bare, 'dataset.json'));
    const [withJson, without] = await Promise.all([cli('evaluate', ['--run', run, '--json', '--split', 'val']), cli('evaluate', ['--run', bare, '--json', '--split', 'val'])]);
    ok(withJson);
    ok(without);
    expect(without.json!.figures.loss).toBeCloseTo(withJson.json!.figures.loss, 6);
    expect(without.stderr).toMatch(/dataset\.json is missing or unreadable: the WBCE class weights are computed again/);
    expect(withJson.json!.figures.loss).toBeCloseTo(readJson(join(run, 'summary.json')).val.loss, 5);
  });
});
