/**
 * A saved run, used: its end-of-training evaluation (predictions, labels, per-class metrics and the
 * operating thresholds chosen on val), `evaluateRun` (a split, at the best or any saved epoch),
 * `predictRun` (probabilities and thresholded labels for images) and `reevaluateRun` (every saved
 * epoch on val and test: the epoch table).
 *
 * Files it writes in the run folder, each atomically:
 *   predictions-<split>.csv   id, then one probability column per class
 *   labels-<split>.csv        id, then one label column per class (1, 0, blank = not labelled)
 *   metrics-<split>.csv       one row per class, then macro, micro and weighted rows
 *   thresholds.json           per class, chosen on val by the run's method (Youden's J by default)
 *   reevaluation.csv / .json  the epoch table (reevaluateRun)
 * The two CSVs of a split are what `npm run evaluate -- --predictions P --labels L` reads.
 */
import type * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { initBackend } from '../../backend/engines.js';
import { ImageDataGenerator } from '../../data/generator.js';
import { MASKED, type CaseRecord } from '../../core/types.js';
import { createLoss } from '../../losses/index.js';
import { chooseThresholds, evaluateMultiLabel, type EvaluationReport, type ThresholdMethod } from '../../metrics/index.js';
import { loadClassifier, type Classifier } from '../../models/classifier.js';
import { MedtrainError } from '../../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { createLogger } from '../../util/logger.js';
import type { Benchmark } from '../benchmark/benchmark.js';
import { toCsv } from '../../util/csv.js';
import { benchmarkOf, type RunConfig } from './config.js';
import type { SplitPart } from '../../data/dataset.js';
import { evalGenerator, loadRunData, type RunData } from './data.js';
import { loadWeightsInto, RUN_FILES, RunStore } from './store.js';
import type { LossFn } from '../../losses/losses.js';
import { evaluateSource, predictSource, type SourceLike } from '../sources.js';

const log = createLogger('evaluate');

export type SplitName = 'val' | 'test';

/** One split's predictions through the model, with the loss. */
export interface SplitEvaluation {
  ids: string[];
  yTrue: Float32Array;
  yScore: Float32Array;
  rows: number;
  loss: number;
}

/** A model's predictions and loss over a split (its eval generator). */
export async function evaluateSplit(model: tf.LayersModel, loss: LossFn, source: SourceLike): Promise<SplitEvaluation> {
  const e = await evaluateSource(model, loss, source);
  return { ids: e.ids, yTrue: e.yTrue, yScore: e.yScore, rows: e.rows, loss: e.loss };
}

/** The summary figures of a split: loss, rows, and the macro (and micro) ranking and threshold metrics. */
export function splitFigures(e: SplitEvaluation, r: EvaluationReport): Record<string, number | null> {
  return {
    macro_auroc: r.macro.auroc,
    macro_ap: r.macro.ap,
    macro_auprc: r.macro.auprc,
    macro_f1: r.macro.f1,
    macro_f2: r.macro.f2,
    micro_auroc: r.micro.auroc,
    loss: e.loss,
    rows: e.rows,
    classes: r.macro.classes,
    excluded: r.excludedCount,
  };
}

const METRIC_COLUMNS = ['class', 'n', 'positives', 'negatives', 'masked', 'auroc', 'ap', 'auprc', 'threshold', 'precision', 'recall', 'specificity', 'f1', 'f2', 'accuracy', 'tp', 'fp', 'tn', 'fn', 'excluded'];

/** Per-class rows, then macro, micro and weighted. */
export function metricRows(r: EvaluationReport): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = Object.entries(r.classes).map(([name, c]) => ({ class: name, ...c }));
  rows.push({ class: 'macro', ...r.macro, n: null, excluded: r.excluded.join('; ') || null });
  rows.push({ class: 'micro', ...r.micro });
  rows.push({ class: 'weighted', ...r.weighted });
  return rows;
}

function matrixCsv(ids: readonly string[], m: Float32Array, names: readonly string[], masked: boolean): string {
  const C = names.length;
  const rows = ids.map((id, i) => {
    const row: Record<string, unknown> = { id };
    names.forEach((n, c) => {
      const v = m[i * C + c]!;
      row[n] = masked && v === MASKED ? null : v;
    });
    return row;
  });
  return toCsv(rows, ['id', ...names]);
}

export interface Thresholds {
  method: string;
  /** By class name. */
  thresholds: Record<string, number>;
  /** Classes whose val labels could not support the method (they use 0.5). */
  fellBack: string[];
}

async function writeSplitFiles(store: RunStore, split: SplitName, e: SplitEvaluation, r: EvaluationReport, names: readonly string[]): Promise<void> {
  await writeFileAtomic(join(store.dir, `predictions-${split}.csv`), matrixCsv(e.ids, e.yScore, names, false));
  await writeFileAtomic(join(store.dir, `labels-${split}.csv`), matrixCsv(e.ids, e.yTrue, names, true));
  await store.writeCsv(`metrics-${split}.csv`, metricRows(r), METRIC_COLUMNS);
}

/**
 * The end of a run: thresholds chosen on val, then for val and test the predictions, labels and
 * per-class metrics (at those thresholds; AUROC and AP need none). Returns summary.json's val and test.
 */
export async function writeFinalEvaluation(store: RunStore, evals: Record<SplitName, SplitEvaluation | null>, names: readonly string[], method: RunConfig['training']['thresholds']): Promise<{ val: Record<string, number | null>; test?: Record<string, number | null> }> {
  const C = names.length;
  const val = evals.val!;
  const chosen = chooseThresholds(val.yScore, val.yTrue, C, method as ThresholdMethod, { classNames: names });
  const th: Thresholds = { method: String(method), thresholds: Object.fromEntries(names.map((n, c) => [n, chosen.thresholds[c]!])), fellBack: chosen.fellBack };
  await writeJsonAtomic(join(store.dir, RUN_FILES.thresholds), th);
  const out: { val: Record<string, number | null>; test?: Record<string, number | null> } = { val: {} };
  for (const split of ['val', 'test'] as const) {
    const e = evals[split];
    if (!e) continue;
    const r = evaluateMultiLabel(e.yScore, e.yTrue, C, { classNames: names, thresholds: chosen.thresholds });
    await writeSplitFiles(store, split, e, r, names);
    out[split] = splitFigures(e, r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Using a saved run

export interface OpenedRun {
  store: RunStore;
  config: RunConfig;
  benchmark: Benchmark;
  classifier: Classifier;
  /** The run's own loss (its class weights from dataset.json), for the loss figures. */
  loss: LossFn;
}

/** Open a run folder and load a checkpoint's model ('best', or a 1-based epoch), on the given engine. */
export async function openRun(dir: string, o: { epoch?: number | 'best'; engine?: string } = {}): Promise<OpenedRun> {
  const store = await RunStore.open(dir);
  const config = await store.readConfig<RunConfig>();
  const benchmark = benchmarkOf(config, store.paths.config);
  await initBackend(o.engine ?? null, { quiet: true });
  const which = o.epoch ?? 'best';
  const cpDir = store.checkpointDir(which);
  if (!(await store.readCheckpointInfo(which).catch(() => null))) {
    const have = await store.listCheckpoints();
    if (which === 'best' && have.length) {
      throw new MedtrainError('the run has no best/ checkpoint', { code: 'no-checkpoint', file: cpDir, hint: `give an epoch with --epoch (saved: ${have.join(', ')})` });
    }
    throw new MedtrainError(`no complete checkpoint for ${which === 'best' ? 'the best epoch' : `epoch ${which}`}`, { code: 'no-checkpoint', file: cpDir, hint: have.length ? `saved epochs: ${have.join(', ')}` : 'this run has no checkpoint yet' });
  }
  const { classifier } = await loadClassifier(cpDir);
  const weights = (await store.readDatasetReport())?.classWeights;
  const loss = createLoss(weights ? benchmark.loss : 'BCE', weights ? { weights: { positive: weights.positive, negative: weights.negative } } : {});
  return { store, config, benchmark, classifier, loss };
}

async function runSplit(run: OpenedRun, data: RunData, split: SplitName): Promise<SplitPart> {
  const p = split === 'val' ? data.val : data.test;
  if (!p || p.records.length === 0) throw new MedtrainError(`the run's data has no ${split} split`, { code: 'no-data', file: data.root, hint: split === 'test' ? 'the dataset has no test table (CheXpert valid.csv, ChestX-ray14 test_list.txt): use --split val' : 'check the split files' });
  return p;
}

export interface RunEvaluation {
  run: string;
  split: SplitName;
  /** 'best' or the 1-based epoch. */
  epoch: number | 'best';
  figures: Record<string, number | null>;
  report: EvaluationReport;
}

/** Evaluate a run's best (or a given epoch's) model on its val or test split, at its val-chosen thresholds. */
export async function evaluateRun(dir: string, o: { split?: SplitName; epoch?: number; engine?: string } = {}): Promise<RunEvaluation> {
  const run = await openRun(dir, { epoch: o.epoch ?? 'best', engine: o.engine });
  try {
    const split = o.split ?? 'test';
    const data = await loadRunData(run.config.data.dir, run.benchmark, { dir: run.store.dir, write: false }, { table: run.config.data.table });
    const part = await runSplit(run, data, split);
    const e = await predictPart(run, part);
    const names = data.classes.names;
    const th = await readThresholds(run.store, names);
    const report = evaluateMultiLabel(e.yScore, e.yTrue, names.length, { classNames: names, thresholds: th });
    return { run: run.store.dir, split, epoch: o.epoch ?? 'best', figures: splitFigures(e, report), report };
  } finally {
    run.classifier.dispose();
  }
}

async function predictPart(run: OpenedRun, part: SplitPart): Promise<SplitEvaluation> {
  const gen = await evalGenerator(part, run.benchmark, { preprocessing: run.classifier.preprocessing });
  try {
    return await evaluateSplit(run.classifier.model, run.loss, gen);
  } finally {
    await gen.close();
  }
}

/** The run's thresholds by class (thresholds.json), 0.5 where it has none. */
async function readThresholds(store: RunStore, names: readonly string[]): Promise<number[]> {
  let th: Thresholds | null = null;
  try {
    th = JSON.parse(await fsp.readFile(join(store.dir, RUN_FILES.thresholds), 'utf8')) as Thresholds;
  } catch {
    log.warn(`${store.dir} has no ${RUN_FILES.thresholds} (the run did not finish): thresholds 0.5`);
  }
  return names.map((n) => th?.thresholds[n] ?? 0.5);
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp']);

async function imagesIn(input: string): Promise<string[]> {
  const p = resolve(input);
  let st;
  try {
    st = await fsp.stat(p);
  } catch {
    throw new MedtrainError('no such image or folder', { code: 'missing-file', file: p, hint: 'give an image file or a folder of images' });
  }
  if (st.isFile()) return [p];
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await fsp.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = join(d, e.name);
      if (e.isDirectory()) await walk(f);
      else if (IMAGE_EXT.has(extname(e.name).toLowerCase())) out.push(f);
    }
  };
  await walk(p);
  if (!out.length) throw new MedtrainError('the folder holds no images', { code: 'no-data', file: p, hint: `image files end in ${[...IMAGE_EXT].join(', ')}` });
  return out;
}

export interface Prediction {
  /** The image path as given (relative to the folder when a folder was given). */
  id: string;
  path: string;
  probabilities: Record<string, number>;
  labels: Record<string, 0 | 1>;
}

export interface PredictResult {
  run: string;
  classes: string[];
  thresholds: Record<string, number>;
  predictions: Prediction[];
  /** Images that could not be read. */
  skipped: { file: string; reason: string }[];
  /** The CSV written, when asked for. */
  out: string | null;
}

/**
 * Probabilities and thresholded labels (thresholds.json, chosen on val) of a run's best model for
 * images: one file, or every image under a folder. With `out`, also a CSV: id, then a probability
 * column per class, then `<class> label` columns (0/1).
 */
export async function predictRun(dir: string, inputs: readonly string[], o: { out?: string | null; engine?: string; epoch?: number } = {}): Promise<PredictResult> {
  if (!inputs.length) throw new MedtrainError('nothing to predict', { code: 'bad-flag', hint: 'give an image or a folder after the flags' });
  const run = await openRun(dir, { epoch: o.epoch ?? 'best', engine: o.engine });
  try {
    const names = run.config.classes;
    const files: { id: string; path: string }[] = [];
    for (const input of inputs) {
      const list = await imagesIn(input);
      const base = resolve(input);
      for (const f of list) files.push({ id: list.length === 1 && f === base ? input : relative(base, f), path: f });
    }
    // A file named like CheXpert's (…_lateral.jpg) is a lateral view: the lung-field crop (C1) skips those.
    const records: CaseRecord[] = files.map((f, i) => ({ id: f.id, path: f.path, patientId: f.id, raw: new Float32Array(0), source: { file: f.path, line: i + 1 }, ...(/lateral/i.test(basename(f.path)) && { view: 'lateral' as const }) }));
    const part: SplitPart = { records, labels: new Float32Array(records.length * names.length).fill(MASKED) };
    const gen = await ImageDataGenerator.create(part.records, part.labels, { batchSize: run.benchmark.batchSize, dim: run.benchmark.dim, preprocessing: run.classifier.preprocessing, transforms: run.benchmark.transforms, crop: run.benchmark.crop, mode: 'eval' });
    let scores: { ids: string[]; yScore: Float32Array };
    try {
      scores = await predictSource(run.classifier.model, gen);
    } finally {
      await gen.close();
    }
    const th = await readThresholds(run.store, names);
    const byId = new Map(files.map((f) => [f.id, f.path]));
    const C = names.length;
    const predictions: Prediction[] = scores.ids.map((id, i) => ({
      id,
      path: byId.get(id)!,
      probabilities: Object.fromEntries(names.map((n, c) => [n, scores.yScore[i * C + c]!])),
      labels: Object.fromEntries(names.map((n, c) => [n, scores.yScore[i * C + c]! >= th[c]! ? 1 : 0])) as Record<string, 0 | 1>,
    }));
    let out: string | null = null;
    if (o.out) {
      out = resolve(o.out);
      const rows = predictions.map((p) => ({ id: p.id, ...p.probabilities, ...Object.fromEntries(names.map((n) => [`${n} label`, p.labels[n]])) }));
      await writeFileAtomic(out, toCsv(rows, ['id', ...names, ...names.map((n) => `${n} label`)]));
    }
    return { run: run.store.dir, classes: [...names], thresholds: Object.fromEntries(names.map((n, c) => [n, th[c]!])), predictions, skipped: gen.skipped.map((s) => ({ file: s.file, reason: s.reason })), out };
  } finally {
    run.classifier.dispose();
  }
}

export interface EpochRow {
  epoch: number;
  [k: string]: number | null;
}

export interface Reevaluation {
  run: string;
  epochs: EpochRow[];
  /** The epoch with the highest val macro AUROC (the first of equals), or null. */
  best_epoch: number | null;
  best_val_macro_auroc: number | null;
  files: { csv: string; json: string };
}

/**
 * Every saved epoch on val and test: loss and macro figures per split, and per-class AUROC; the best
 * epoch by val macro AUROC. Written as reevaluation.csv and reevaluation.json in the run folder.
 */
export async function reevaluateRun(dir: string, o: { engine?: string } = {}): Promise<Reevaluation> {
  const store = await RunStore.open(dir);
  const epochs = await store.listCheckpoints();
  if (!epochs.length) throw new MedtrainError('the run has no saved epoch', { code: 'no-checkpoint', file: store.paths.checkpoints, hint: 'train it first (or resume it)' });
  const run = await openRun(dir, { epoch: epochs[0], engine: o.engine });
  try {
    const data = await loadRunData(run.config.data.dir, run.benchmark, { dir: run.store.dir, write: false }, { table: run.config.data.table });
    const names = data.classes.names;
    const C = names.length;
    const parts: [SplitName, SplitPart][] = [['val', data.val]];
    if (data.test?.records.length) parts.push(['test', data.test]);
    const gens = new Map<SplitName, ImageDataGenerator>();
    const rows: EpochRow[] = [];
    try {
      for (const [s, p] of parts) gens.set(s, await evalGenerator(p, run.benchmark, { preprocessing: run.classifier.preprocessing }));
      for (const [i, epoch] of epochs.entries()) {
        // openRun loaded the first saved epoch.
        if (i > 0) await loadWeightsInto(run.classifier.model, store.checkpointDir(epoch));
        const row: EpochRow = { epoch };
        for (const [s] of parts) {
          const e = await evaluateSplit(run.classifier.model, run.loss, gens.get(s)!);
          const r = evaluateMultiLabel(e.yScore, e.yTrue, C, { classNames: names, micro: false });
          row[`${s}_loss`] = e.loss;
          row[`${s}_macro_auroc`] = r.macro.auroc;
          row[`${s}_macro_ap`] = r.macro.ap;
          for (const n of names) row[`${s}_auroc/${n}`] = r.classes[n]!.auroc;
        }
        rows.push(row);
        log.info(`epoch ${epoch}: val macro AUROC ${row.val_macro_auroc ?? 'undefined'}${row.test_macro_auroc !== undefined ? `, test ${row.test_macro_auroc ?? 'undefined'}` : ''}`);
      }
    } finally {
      for (const g of gens.values()) await g.close();
    }
    let best: EpochRow | null = null;
    for (const r of rows) if (r.val_macro_auroc !== null && (best === null || r.val_macro_auroc! > best.val_macro_auroc!)) best = r;
    const files = { csv: join(store.dir, RUN_FILES.reevaluationCsv), json: join(store.dir, RUN_FILES.reevaluationJson) };
    const result: Reevaluation = { run: store.dir, epochs: rows, best_epoch: best?.epoch ?? null, best_val_macro_auroc: best?.val_macro_auroc ?? null, files };
    await writeFileAtomic(files.csv, toCsv(rows));
    await writeJsonAtomic(files.json, { epochs: rows, best_epoch: result.best_epoch, best_val_macro_auroc: result.best_val_macro_auroc });
    return result;
  } finally {
    run.classifier.dispose();
  }
}
