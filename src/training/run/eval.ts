/**
 * A saved run, used: its end-of-training evaluation (predictions, labels, per-class metrics and the
 * operating thresholds chosen on val), `evaluateRun` (a split, at the best or any saved epoch),
 * `predictRun` (probabilities and thresholded labels for images) and `reevaluateRun` (every saved
 * epoch on val and test: the epoch table).
 *
 * Files it writes in the run folder, each atomically:
 *   predictions-<split>.csv   id, then one probability column per class
 *   labels-<split>.csv        id, then one label column per class (1, 0, blank = not labelled)
 *   metrics-<split>.csv       one row per class, then macro, micro and weighted rows (ece and brier:
 *                             per class and macro; calibration.ts)
 *   thresholds.json           per class, chosen on val by the run's method (Youden's J by default)
 *   reevaluation.csv / .json  the epoch table (reevaluateRun)
 * The two CSVs of a split are what `medtrain evaluate --predictions P --labels L` reads.
 */
import type * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../backend/engines.js';
import { MASKED } from '../../core/types.js';
import { createLoss } from '../../losses/index.js';
import { chooseThresholds, evaluateMultiLabel, type EvaluationReport, type ThresholdMethod } from '../../metrics/index.js';
import { loadClassifier, type Classifier } from '../../models/classifier.js';
import { MedtrainError } from '../../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { createLogger } from '../../util/logger.js';
import type { Benchmark } from '../benchmark/benchmark.js';
import { toCsv } from '../../util/csv.js';
import { ENSEMBLE_FORMAT, benchmarkOf, withDefaults, type RunConfig } from './config.js';
import { recomputeRunClassWeights } from './class-weights.js';
import type { SplitPart } from '../../data/dataset.js';
import { evalGenerator, loadRunData, type RunData } from './data.js';
import { RUN_FILES, RunStore } from './store.js';
import type { LossFn } from '../../losses/losses.js';
import { evaluateSource, type SourceLike } from '../sources.js';

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
    macro_ece: r.macro.ece,
    macro_brier: r.macro.brier,
    micro_auroc: r.micro.auroc,
    loss: e.loss,
    rows: e.rows,
    classes: r.macro.classes,
    excluded: r.excludedCount,
  };
}

export const METRIC_COLUMNS = ['class', 'n', 'positives', 'negatives', 'masked', 'auroc', 'ap', 'auprc', 'threshold', 'precision', 'recall', 'specificity', 'f1', 'f2', 'accuracy', 'ece', 'brier', 'tp', 'fp', 'tn', 'fn', 'excluded'];

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

async function writeSplitFiles(dir: string, split: SplitName, e: SplitEvaluation, r: EvaluationReport, names: readonly string[]): Promise<void> {
  await writeFileAtomic(join(dir, `predictions-${split}.csv`), matrixCsv(e.ids, e.yScore, names, false));
  await writeFileAtomic(join(dir, `labels-${split}.csv`), matrixCsv(e.ids, e.yTrue, names, true));
  await writeFileAtomic(join(dir, `metrics-${split}.csv`), toCsv(metricRows(r), METRIC_COLUMNS));
}

/**
 * The end of a run (or the making of an ensemble, in its folder): thresholds chosen on val, then for
 * val and test the predictions, labels and per-class metrics (at those thresholds; AUROC and AP need
 * none). Returns summary.json's val and test.
 */
export async function writeFinalEvaluation(store: { dir: string }, evals: Record<SplitName, SplitEvaluation | null>, names: readonly string[], method: RunConfig['training']['thresholds']): Promise<{ val: Record<string, number | null>; test?: Record<string, number | null> }> {
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
    await writeSplitFiles(store.dir, split, e, r, names);
    out[split] = splitFigures(e, r);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Using a saved run

/** Which saved model a command used: the best epoch by the run's monitor, or an epoch asked for. */
export interface ModelChoice {
  epoch: number;
  /** 'monitor': best/ (the best epoch by the monitor); 'last epoch': no epoch had a value of the monitor; 'asked': --epoch; 'ensemble': an ensemble's members (epoch 0). */
  by: 'monitor' | 'last epoch' | 'asked' | 'ensemble';
  monitor: string;
  /** The monitor's value at that epoch, when it had one. */
  value: number | null;
  /** The same in words, as the commands print it: 'best epoch 2 by val_loss (0.3437)'. */
  description: string;
}

export interface OpenedRun {
  store: RunStore;
  /** config.json, with the settings an older run folder lacks at their defaults. */
  config: RunConfig;
  benchmark: Benchmark;
  classifier: Classifier;
  model: ModelChoice;
}

/** Open a run folder and load a checkpoint's model ('best', or a 1-based epoch), on the given engine. */
export async function openRun(dir: string, o: { epoch?: number | 'best'; engine?: string } = {}): Promise<OpenedRun> {
  const store = await RunStore.open(dir);
  const raw = await store.readConfig<RunConfig>();
  if ((raw as { format?: string }).format === ENSEMBLE_FORMAT) throw new MedtrainError('an ensemble folder, not a training run: it has no model of its own', { code: 'ensemble-folder', file: store.paths.config, hint: 'use evaluateEnsemble / predictEnsemble (the medtrain commands take either)' });
  const benchmark = benchmarkOf(raw, store.paths.config);
  const config = withDefaults(raw);
  await initBackend(o.engine ?? null, { quiet: true });
  const monitor = config.training.monitor;
  let which: number | 'best' = o.epoch ?? 'best';
  let found = await store.readCheckpointInfo(which).catch(() => null);
  let by: ModelChoice['by'] = which === 'best' ? 'monitor' : 'asked';
  if (!found && which === 'best') {
    // As training chose when no epoch had a value of the monitor: the last complete epoch.
    const last = await store.lastCheckpoint();
    if (last !== null) {
      log.warn(`${store.dir} has no best/ (no epoch had a value of ${monitor}): using the last complete epoch, ${last}`);
      which = last;
      by = 'last epoch';
      found = await store.readCheckpointInfo(last);
    }
  }
  if (!found) {
    const have = await store.listCheckpoints();
    throw new MedtrainError(`no complete checkpoint for ${which === 'best' ? 'the best epoch' : `epoch ${which}`}`, { code: 'no-checkpoint', file: store.checkpointDir(which), hint: have.length ? `saved epochs: ${have.join(', ')}` : 'this run has no checkpoint yet' });
  }
  const { classifier } = await loadClassifier(found.dir);
  const value = found.info.logs[monitor] ?? null;
  const epoch = found.info.epoch;
  const shown = value === null ? 'undefined' : value.toFixed(4);
  const description = by === 'monitor' ? `best epoch ${epoch} by ${monitor} (${shown})` : by === 'last epoch' ? `epoch ${epoch}, the last (no epoch had a value of ${monitor})` : `epoch ${epoch} (${monitor} ${shown})`;
  return { store, config, benchmark, classifier, model: { epoch, by, monitor, value, description } };
}

/** The run's data as it trained on it: its split files, its table and its bad-row policy. */
export function openRunData(run: OpenedRun): Promise<RunData> {
  return loadRunData(run.config.data.dir, run.benchmark, { dir: run.store.dir, write: false }, { table: run.config.data.table, onBadRow: run.config.data.onBadRow });
}

/**
 * The run's own loss, for the loss figures: the benchmark's loss with the class weights training
 * used. They are dataset.json's; a folder without a readable dataset.json has them computed again
 * from the run's data exactly as training computed them (run/class-weights.ts), so a WBCE or CWBCE
 * run is never scored as plain BCE. BCE and Focal train with uniform weights (1 everywhere), which is
 * the unweighted loss.
 */
export async function runLoss(run: OpenedRun, data: RunData): Promise<LossFn> {
  const b = run.benchmark;
  let weights: { positive: number[]; negative: number[] } | undefined = (await run.store.readDatasetReport())?.classWeights;
  if (!weights) {
    if (b.loss === 'BCE' || b.loss === 'Focal') return createLoss(b.loss);
    log.info(`${run.store.paths.dataset} is missing or unreadable: the ${b.loss} class weights are computed again from the run's training split, as training computed them`);
    weights = (await recomputeRunClassWeights(data, b, { onBadImage: run.config.data.onBadImage })).weights;
  }
  return createLoss(b.loss, { weights: { positive: weights.positive, negative: weights.negative } });
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
  /** The saved model evaluated. */
  model: ModelChoice;
  figures: Record<string, number | null>;
  report: EvaluationReport;
}

/** A run's model's predictions on one of its splits, with the run's thresholds. */
export interface RunSplitScores {
  run: string;
  split: SplitName;
  names: string[];
  scores: SplitEvaluation;
  thresholds: number[];
  model: ModelChoice;
}

/** The predictions of a run's best (or a given epoch's) model on its val or test split. */
export async function scoreRunSplit(dir: string, o: { split?: SplitName; epoch?: number; engine?: string } = {}): Promise<RunSplitScores> {
  const run = await openRun(dir, { epoch: o.epoch ?? 'best', engine: o.engine });
  try {
    const split = o.split ?? 'test';
    const data = await openRunData(run);
    const part = await runSplit(run, data, split);
    const scores = await predictPart(run, part, await runLoss(run, data));
    const names = data.classes.names;
    return { run: run.store.dir, split, names, scores, thresholds: await readThresholds(run.store, names), model: run.model };
  } finally {
    run.classifier.dispose();
  }
}

/** Evaluate a run's best (or a given epoch's) model on its val or test split, at its val-chosen thresholds. */
export async function evaluateRun(dir: string, o: { split?: SplitName; epoch?: number; engine?: string } = {}): Promise<RunEvaluation> {
  const s = await scoreRunSplit(dir, o);
  const e = s.scores;
  const report = evaluateMultiLabel(e.yScore, e.yTrue, s.names.length, { classNames: s.names, thresholds: s.thresholds });
  return { run: s.run, split: s.split, epoch: o.epoch ?? 'best', model: s.model, figures: splitFigures(e, report), report };
}

async function predictPart(run: OpenedRun, part: SplitPart, loss: LossFn): Promise<SplitEvaluation> {
  const gen = await evalGenerator(part, run.benchmark, { preprocessing: run.classifier.preprocessing, onBadImage: run.config.data.onBadImage });
  try {
    return await evaluateSplit(run.classifier.model, loss, gen);
  } finally {
    await gen.close();
  }
}

/** The run's thresholds by class (thresholds.json), 0.5 where it has none. */
export async function readThresholds(store: { dir: string }, names: readonly string[]): Promise<number[]> {
  let th: Thresholds | null = null;
  try {
    th = JSON.parse(await fsp.readFile(join(store.dir, RUN_FILES.thresholds), 'utf8')) as Thresholds;
  } catch {
    log.warn(`${store.dir} has no ${RUN_FILES.thresholds} (the run did not finish): thresholds 0.5`);
  }
  return names.map((n) => th?.thresholds[n] ?? 0.5);
}

