/**
 * `ensembleRuns`: combine finished runs into an ensemble folder in the run-folder format, so
 * evaluate, predict and the experiment log take it as a run:
 *
 *   config.json               format medtrain-ensemble/1: the members (paths relative to this folder),
 *                             the method and its fitted combiner, how val was predicted, the classes
 *   predictions-{val,test}.csv, labels-{val,test}.csv   the members' format and ids
 *   metrics-{val,test}.csv, thresholds.json (chosen on val, by the members' threshold method), summary.json
 *
 * Val predictions are honest: mean needs no fitting; weighted and stacking are cross-fitted on val
 * (every val case's output comes from a combiner fitted on the other folds, patients kept whole), and
 * the combiner fitted on all of val gives the test predictions. Test labels are never read to fit.
 *
 * Cross-validation folds (`outOfFold`): their val sets are disjoint, so the ensemble's val predictions
 * are the pooled out-of-fold ones (each case by the fold that held it out) and the combiner (mean, or
 * weights from each fold's AUROC on its own val set) applies to the shared test set.
 *
 * The folder is written whole or not at all (filled aside, then renamed into place).
 */
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { PredictionData } from '../metrics/prediction-files.js';
import { writeFinalEvaluation, type SplitEvaluation } from '../training/run/eval.js';
import { EXPERIMENT_LOG_NAME } from '../training/experiment.js';
import { ENSEMBLE_FORMAT, medtrainVersion } from '../training/run/config.js';
import { appendExperimentLog } from '../training/run/experiment-log.js';
import { RUN_FILES, type RunSummary } from '../training/run/store.js';
import { MedtrainError } from '../util/errors.js';
import { exists, writeDirAtomic, writeJsonAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import { ENSEMBLE_METHODS, combine, crossFit, fitCombiner, fitWeightsEach, meanBce, type Combiner, type EnsembleMethod } from './combine.js';
import { checkMembers, folderKind, readMember, type Member } from './members.js';

const log = createLogger('ensemble');

export interface EnsembleOptions {
  /** The member folders (runs or ensembles), at least two. */
  runs: readonly string[];
  method: EnsembleMethod;
  /** The ensemble folder: new, empty, or an earlier ensemble's (replaced). Default: `ensemble-<method>` beside the first member (`-2`, … when taken). */
  out?: string | null;
  /** Cross-fitting folds on val for weighted and stacking (default 5). */
  folds?: number;
  /** Seed of the cross-fitting folds (default 0). */
  seed?: string | number;
  /** Stacking's inverse regularisation strength, as scikit-learn's C (default 1). */
  C?: number;
  /** The members are cross-validation folds: disjoint val sets, a shared test set. */
  outOfFold?: boolean;
  /** The experiment log to add a line to; default: experiment-log.jsonl beside the ensemble folder; false: none. */
  experimentLog?: string | false;
}

/** config.json of an ensemble folder. */
export interface EnsembleConfig {
  format: typeof ENSEMBLE_FORMAT;
  name: string;
  method: EnsembleMethod;
  /** Relative to the ensemble folder. */
  members: { dir: string; name: string }[];
  classes: string[];
  thresholds: string;
  /** How its val predictions were made. */
  val: 'combined' | 'cross-fitted' | 'out-of-fold';
  crossFitting: { folds: number; seed: string; groups: 'patient' | 'case' } | null;
  combiner: Combiner;
  versions: { medtrain: string };
  created: string;
}

export interface MemberFigures {
  dir: string;
  name: string;
  val_macro_auroc: number | null;
  test_macro_auroc: number | null;
}

export interface EnsembleResult {
  dir: string;
  config: EnsembleConfig;
  val: Record<string, number | null>;
  test: Record<string, number | null> | null;
  members: MemberFigures[];
  /** The member with the highest val macro AUROC. */
  bestMember: MemberFigures;
}

/** Rows of `data` in the order of `ids`. */
function aligned(data: PredictionData, ids: readonly string[]): Float64Array {
  const C = data.classes.length;
  const row = new Map(data.ids.map((id, i) => [id, i]));
  const out = new Float64Array(ids.length * C);
  ids.forEach((id, i) => {
    const j = row.get(id)!;
    out.set(data.scores.subarray(j * C, (j + 1) * C), i * C);
  });
  return out;
}

function evaluation(ids: string[], scores: Float64Array, labels: Float32Array): SplitEvaluation {
  return { ids, yScore: Float32Array.from(scores), yTrue: labels, rows: ids.length, loss: meanBce(scores, labels) };
}

/** Cross-fitting folds over val rows, whole patients (or cases) to a fold, by a seeded permutation. */
function foldsOf(ids: readonly string[], patients: Map<string, string> | null, folds: number, seed: string): Int32Array {
  const groupOf = ids.map((id) => patients?.get(id) ?? id);
  const groups = [...new Set(groupOf)].sort();
  const perm = new Rng(`${seed}/ensemble-folds`).permutation(groups.length);
  const fold = new Map<string, number>();
  perm.forEach((g, i) => fold.set(groups[g]!, i % folds));
  return Int32Array.from(groupOf, (g) => fold.get(g)!);
}

async function outFolder(o: EnsembleOptions, first: Member): Promise<string> {
  if (o.out) {
    const dir = resolve(o.out);
    if (await exists(dir)) {
      const entries = await readdir(dir).catch(() => null);
      if (entries === null) throw new MedtrainError('the output is not a folder', { code: 'bad-output', file: dir, hint: 'give a new folder with --out' });
      if (entries.length && (await folderKind(dir).catch(() => null))?.kind !== 'ensemble') throw new MedtrainError('the output folder is not empty and holds no ensemble', { code: 'bad-output', file: dir, hint: 'give a new or empty folder with --out (an earlier ensemble folder is replaced)' });
      if (entries.length) log.info(`replacing the ensemble in ${dir}`);
    }
    return dir;
  }
  for (let i = 1; ; i++) {
    const dir = join(dirname(first.dir), `ensemble-${o.method}${i === 1 ? '' : `-${i}`}`);
    if (!(await exists(dir))) return dir;
  }
}

function macroAuroc(s: unknown): number | null {
  const v = (s as Record<string, unknown> | undefined)?.macro_auroc;
  return typeof v === 'number' ? v : null;
}

/** Combine runs into an ensemble folder (see the top of this file). */
export async function ensembleRuns(o: EnsembleOptions): Promise<EnsembleResult> {
  const started = Date.now();
  if (!ENSEMBLE_METHODS.includes(o.method)) throw new MedtrainError(`unknown ensemble method '${o.method}'`, { code: 'bad-flag', column: '--method', value: o.method, hint: `use one of ${ENSEMBLE_METHODS.join(', ')}` });
  const K = o.folds ?? 5;
  if (!Number.isSafeInteger(K) || K < 2) throw new MedtrainError('cross-fitting needs at least 2 folds', { code: 'bad-flag', column: '--folds', value: K });
  const C = o.C ?? 1;
  if (!(C > 0) || !Number.isFinite(C)) throw new MedtrainError('C must be a positive number', { code: 'bad-flag', column: '--C', value: C });
  if (o.outOfFold && o.method === 'stacking') throw new MedtrainError("stacking needs every member's predictions on the same val cases; cross-validation folds have disjoint val sets", { code: 'bad-flag', column: '--method', value: o.method, hint: 'ensemble the folds with mean or weighted' });
  const members: Member[] = [];
  for (const r of o.runs) members.push(await readMember(r));
  checkMembers(members, { outOfFold: o.outOfFold });
  const first = members[0]!;
  const names = first.classes;
  const nC = names.length;
  const seed = String(o.seed ?? 0);

  // Val: every member on the first member's cases (or, out of fold, each fold on its own).
  let valIds: string[];
  let valLabels: Float32Array;
  let valScores: Float64Array;
  let combiner: Combiner;
  let crossFitting: EnsembleConfig['crossFitting'] = null;
  if (o.outOfFold) {
    valIds = members.flatMap((m) => m.val.ids);
    valLabels = new Float32Array(valIds.length * nC);
    valScores = new Float64Array(valIds.length * nC);
    let at = 0;
    for (const m of members) {
      valLabels.set(m.val.labels, at * nC);
      valScores.set(m.val.scores, at * nC);
      at += m.val.ids.length;
    }
    // Weights from each fold's AUROC on its own val set.
    combiner = o.method === 'mean' ? { method: 'mean' } : { method: 'weighted', weights: fitWeightsEach(members.map((m) => m.val), nC) };
  } else {
    valIds = first.val.ids;
    valLabels = first.val.labels;
    const vs = members.map((m) => aligned(m.val, valIds));
    const all = valIds.map((_, i) => i);
    combiner = fitCombiner(o.method, vs, valLabels, all, nC, { C });
    if (o.method === 'mean') valScores = combine(combiner, vs, valIds.length, nC);
    else {
      const foldOf = foldsOf(valIds, first.patients, K, seed);
      crossFitting = { folds: K, seed, groups: first.patients ? 'patient' : 'case' };
      valScores = crossFit(o.method, vs, valLabels, valIds.length, nC, { folds: K, foldOf, C });
    }
  }
  let test: SplitEvaluation | null = null;
  if (first.test) {
    const ids = first.test.ids;
    test = evaluation(ids, combine(combiner, members.map((m) => aligned(m.test!, ids)), ids.length, nC), first.test.labels);
  }

  const dir = await outFolder(o, first);
  const config: EnsembleConfig = {
    format: ENSEMBLE_FORMAT,
    name: `${o.method} ensemble of ${members.map((m) => m.name).join(' + ')}`,
    method: o.method,
    members: members.map((m) => ({ dir: relative(dir, m.dir) || '.', name: m.name })),
    classes: [...names],
    thresholds: first.thresholdMethod,
    val: o.outOfFold ? 'out-of-fold' : crossFitting ? 'cross-fitted' : 'combined',
    crossFitting,
    combiner,
    versions: { medtrain: medtrainVersion() },
    created: new Date().toISOString(),
  };
  const memberFigures: MemberFigures[] = [];
  for (const m of members) {
    const s = await readFile(join(m.dir, RUN_FILES.summary), 'utf8').then((t) => JSON.parse(t) as RunSummary).catch(() => null);
    memberFigures.push({ dir: m.dir, name: m.name, val_macro_auroc: macroAuroc(s?.val), test_macro_auroc: macroAuroc(s?.test) });
  }
  const bestMember = memberFigures.reduce((a, b) => ((b.val_macro_auroc ?? -1) > (a.val_macro_auroc ?? -1) ? b : a));
  let figures: { val: Record<string, number | null>; test?: Record<string, number | null> } = { val: {} };
  await writeDirAtomic(dir, async (tmp) => {
    await writeJsonAtomic(join(tmp, RUN_FILES.config), config);
    figures = await writeFinalEvaluation({ dir: tmp }, { val: evaluation(valIds, valScores, valLabels), test }, names, first.thresholdMethod as never);
    const summary: RunSummary & Record<string, unknown> = { kind: 'ensemble', method: o.method, val: figures.val, ...(figures.test && { test: figures.test }), bestEpoch: null, seconds: (Date.now() - started) / 1000, engine: 'none', members: memberFigures, bestMember: bestMember.name };
    await writeJsonAtomic(join(tmp, RUN_FILES.summary), summary);
  });
  if (o.experimentLog !== false) {
    const path = resolve(o.experimentLog ?? join(dirname(dir), EXPERIMENT_LOG_NAME));
    await appendExperimentLog({ time: new Date().toISOString(), name: config.name, run: dir, status: 'completed', kind: 'ensemble', method: o.method, members: members.map((m) => m.dir), summary: { val: figures.val, test: figures.test ?? null } }, path);
  }
  const v = figures.val.macro_auroc;
  log.info(`${config.name}: val macro AUROC ${v === null || v === undefined ? 'undefined' : v.toFixed(4)} (best member ${bestMember.val_macro_auroc?.toFixed(4) ?? 'undefined'}); in ${dir}`);
  return { dir, config, val: figures.val, test: figures.test ?? null, members: memberFigures, bestMember };
}
