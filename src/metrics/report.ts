/**
 * The per-class report of a multi-label classifier: every class's ranking metrics (AUROC, average
 * precision, AUPRC) and scores at its operating threshold, and their macro, micro and weighted
 * aggregates.
 *
 * Input: predictions and labels as flat row-major [rows, classes] arrays (typed arrays or plain
 * arrays), labels 1 / 0 / MASKED (-1); masked entries are left out of everything.
 *
 * Aggregates, so that no number hides a class that could not be scored:
 * - macro and weighted average the classes with both positive and negative labels, for every
 *   metric. The others (no positives, no negatives, nothing labelled, NaN scores) have an undefined
 *   AUROC: their own AUROC is null, never 0; they are listed in `excluded`, counted in
 *   `excludedCount`, and their per-class figures are still reported. A score undefined for an
 *   included class (precision with nothing predicted positive) is left out of its mean, as sklearn's
 *   `precision_recall_fscore_support(average='macro', zero_division=np.nan)`; with zeroDivision 0 or
 *   1 the substituted value is averaged, as sklearn's other settings. When every class has both
 *   labels the macro figures are sklearn's average='macro', the weighted ones its average='weighted'
 *   (weights: each class's positives).
 * - micro pools every labelled (case, class) entry of every class: ranking metrics over the pooled
 *   scores (sklearn average='micro'), threshold scores from the summed confusion counts; micro
 *   accuracy is Keras's binary accuracy over labelled entries.
 * - calibration (ECE, Brier score, reliability bins; calibration.ts) is per class; its macro means
 *   are over every class with defined figures (labels present), whether or not its AUROC is; micro
 *   and weighted have none.
 */
import { MedtrainError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { calibrationReport, type CalibrationReport } from './calibration.js';
import { columnSummary } from './column-summary.js';
import { summarizeColumns } from './columns.js';
import { fbetaKey, thresholdScores, type ZeroDivision } from './scores.js';
import type { Confusion, Numbers, Ranking } from './types.js';

const log = createLogger('metrics');

export interface ReportOptions {
  /** Class names in column order (default class_0, class_1, ...). */
  classNames?: readonly string[];
  /** One threshold for all classes or one per class (default 0.5). */
  thresholds?: number | readonly number[];
  /** F-beta scores to report besides f1 and f2 (in `fbeta`, keyed f<beta>). */
  betas?: readonly number[];
  /** What a ratio with a zero denominator reports (default null: undefined). See scores.ts. */
  zeroDivision?: ZeroDivision;
  /** Compute the micro ranking metrics (one more sort over all entries; default true). */
  micro?: boolean;
  /** Equal-width bins of the expected calibration error and the reliability data (default 15; calibration.ts). */
  calibrationBins?: number;
}

export interface ThresholdFigures {
  precision: number | null;
  recall: number | null;
  specificity: number | null;
  f1: number | null;
  f2: number | null;
  /** Extra F-beta scores asked for with `betas`. */
  fbeta: Record<string, number | null>;
  accuracy: number | null;
}

/** auroc, ap (average precision, sklearn's step definition), auprc (trapezoid under the PR points). */
export type RankingFigures = Ranking;

export interface ClassReport extends RankingFigures, ThresholdFigures, Confusion {
  /** Labelled cases. */
  n: number;
  positives: number;
  negatives: number;
  /** Masked (unlabelled) entries. */
  masked: number;
  /** The operating threshold used (score >= threshold is positive). */
  threshold: number;
  /** Why the class is left out of the macro and weighted averages, when it is. */
  excluded?: string;
  /** Labels other than 0 / 1 / masked, read as positive when >= 0.5. */
  nonBinaryLabels?: number;
  /** Expected calibration error over equal-width bins and Brier score (null for no labels, NaN scores or scores outside [0, 1]). */
  ece: number | null;
  brier: number | null;
}

export type AggregateFigures = RankingFigures & ThresholdFigures;

export interface EvaluationReport {
  classes: Record<string, ClassReport>;
  /** ece and brier: the mean over the classes whose figures are defined (calibration.macro.classes of them), not only the AUROC's `classes`. */
  macro: AggregateFigures & { classes: number; ece: number | null; brier: number | null };
  micro: AggregateFigures & Confusion;
  weighted: AggregateFigures;
  /** Classes left out of the macro and weighted averages (AUROC undefined). */
  excluded: string[];
  excludedCount: number;
  rows: number;
  /** Per class ECE, Brier score and the reliability-diagram bins (calibration.ts). */
  calibration: CalibrationReport;
}

export const THRESHOLD_KEYS = ['precision', 'recall', 'specificity', 'f1', 'f2', 'accuracy'] as const;
export const RANKING_KEYS = ['auroc', 'ap', 'auprc'] as const;

export function defaultClassNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class_${i}`);
}

/** Check shapes and names; return [rows, names]. */
export function checkMatrix(scores: Numbers, labels: Numbers, numClasses: number, names?: readonly string[]): [number, string[]] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new MedtrainError('the number of classes must be a positive integer', { code: 'bad-shape', value: numClasses });
  if (scores.length !== labels.length || scores.length % numClasses !== 0) {
    throw new MedtrainError(`predictions (${scores.length} values) and labels (${labels.length} values) are not both [rows, ${numClasses}]`, {
      code: 'shape-mismatch',
      hint: 'pass row-major arrays of the same shape, one column per class',
    });
  }
  const classNames = names ? [...names] : defaultClassNames(numClasses);
  if (classNames.length !== numClasses) throw new MedtrainError(`${classNames.length} class names for ${numClasses} classes`, { code: 'shape-mismatch' });
  if (new Set(classNames).size !== classNames.length) throw new MedtrainError('class names must be unique', { code: 'bad-classes', value: classNames });
  return [scores.length / numClasses, classNames];
}

export function thresholdsFor(t: number | readonly number[] | undefined, numClasses: number): number[] {
  if (t === undefined) return new Array<number>(numClasses).fill(0.5);
  if (typeof t === 'number') return new Array<number>(numClasses).fill(t);
  if (t.length !== numClasses) throw new MedtrainError(`${t.length} thresholds for ${numClasses} classes`, { code: 'bad-threshold', hint: 'give one threshold, or one per class' });
  return [...t];
}

/** Why a class's AUROC is undefined, or null when it is defined. */
export function exclusionReason(g: { labelled: number; labelledPositives: number; nanScores: number }): string | null {
  if (g.labelled === 0) return 'no labelled cases';
  if (g.nanScores) return `${g.nanScores} NaN score(s)`;
  if (g.labelledPositives === 0) return 'no positive labels';
  if (g.labelledPositives === g.labelled) return 'no negative labels';
  return null;
}

/** Threshold scores of confusion counts, with f1 and f2 always and any extra betas. */
export function thresholdFigures(c: Confusion, betas: readonly number[], zeroDivision: ZeroDivision): ThresholdFigures {
  const s = thresholdScores(c, { betas: [1, 2, ...betas], zeroDivision });
  const fbeta: Record<string, number | null> = {};
  for (const b of betas) fbeta[fbetaKey(b)] = s.fbeta[fbetaKey(b)]!;
  return { precision: s.precision, recall: s.recall, specificity: s.specificity, f1: s.fbeta.f1!, f2: s.fbeta.f2!, fbeta, accuracy: s.accuracy };
}

/**
 * AUROC, average precision and AUPRC of every class of a [rows, classes] matrix (null where
 * undefined), one sort per class.
 */
export function rankingByClass(scores: Numbers, labels: Numbers, numClasses: number): Ranking[] {
  checkMatrix(scores, labels, numClasses);
  return summarizeColumns(scores, labels, numClasses, new Array<number>(numClasses).fill(Infinity)).map((s) => s.ranking);
}

export function evaluateMultiLabel(scores: Numbers, labels: Numbers, numClasses: number, opts: ReportOptions = {}): EvaluationReport {
  const [rows, names] = checkMatrix(scores, labels, numClasses, opts.classNames);
  const thresholds = thresholdsFor(opts.thresholds, numClasses);
  const betas = opts.betas ?? [];
  const zd = opts.zeroDivision === undefined ? null : opts.zeroDivision;
  const classes: Record<string, ClassReport> = {};
  const excluded: string[] = [];
  const summaries = summarizeColumns(scores, labels, numClasses, thresholds);
  const calibration = calibrationReport(scores, labels, numClasses, { classNames: names, bins: opts.calibrationBins });
  for (let c = 0; c < numClasses; c++) {
    const g = summaries[c]!;
    const name = names[c]!;
    const reason = exclusionReason(g);
    if (reason) excluded.push(name);
    if (g.nanScores) log.warn(`class ${name}: ${g.nanScores} NaN prediction(s); its metrics are undefined`);
    if (g.nonBinary) log.warn(`class ${name}: ${g.nonBinary} label(s) neither 0 nor 1, read as positive when >= 0.5`);
    const n = g.labelled;
    classes[name] = {
      ...g.ranking,
      ...thresholdFigures(g.confusion, betas, zd),
      ...g.confusion,
      n,
      positives: g.labelledPositives,
      negatives: n - g.labelledPositives,
      masked: rows - n,
      threshold: thresholds[c]!,
      ...(reason && { excluded: reason }),
      ...(g.nonBinary > 0 && { nonBinaryLabels: g.nonBinary }),
      ece: calibration.classes[name]!.ece,
      brier: calibration.classes[name]!.brier,
    };
  }
  const reports = names.map((n) => classes[n]!);
  const included = reports.filter((r) => !r.excluded);
  const macro = { ...aggregate(included, betas, null), classes: included.length, ece: calibration.macro.ece, brier: calibration.macro.brier };
  const weighted = aggregate(included, betas, (r) => r.positives);
  const micro = microFigures(scores, labels, reports, betas, zd, opts.micro ?? true);
  return { classes, macro, micro, weighted, excluded, excludedCount: excluded.length, rows, calibration };
}

/** Mean (or weighted mean) of the non-null values; null when there are none (or all weights are 0). */
export function meanOf(values: readonly (number | null)[], weights?: readonly number[]): number | null {
  let s = 0;
  let w = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const wi = weights ? weights[i]! : 1;
    s += wi * v;
    w += wi;
  }
  return w > 0 ? s / w : null;
}

function aggregate(included: ClassReport[], betas: readonly number[], weightOf: ((r: ClassReport) => number) | null): AggregateFigures {
  const avg = (rs: ClassReport[], get: (r: ClassReport) => number | null) =>
    meanOf(
      rs.map(get),
      weightOf ? rs.map(weightOf) : undefined,
    );
  const fbeta: Record<string, number | null> = {};
  for (const b of betas) fbeta[fbetaKey(b)] = avg(included, (r) => r.fbeta[fbetaKey(b)] ?? null);
  return {
    auroc: avg(included, (r) => r.auroc),
    ap: avg(included, (r) => r.ap),
    auprc: avg(included, (r) => r.auprc),
    precision: avg(included, (r) => r.precision),
    recall: avg(included, (r) => r.recall),
    specificity: avg(included, (r) => r.specificity),
    f1: avg(included, (r) => r.f1),
    f2: avg(included, (r) => r.f2),
    fbeta,
    accuracy: avg(included, (r) => r.accuracy),
  };
}

function microFigures(scores: Numbers, labels: Numbers, reports: ClassReport[], betas: readonly number[], zd: ZeroDivision, withRanking: boolean): AggregateFigures & Confusion {
  const conf: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const r of reports) {
    conf.tp += r.tp;
    conf.fp += r.fp;
    conf.tn += r.tn;
    conf.fn += r.fn;
  }
  let rank: RankingFigures = { auroc: null, ap: null, auprc: null };
  if (withRanking) rank = columnSummary(scores, labels, undefined, Infinity).ranking;
  return { ...rank, ...thresholdFigures(conf, betas, zd), ...conf };
}
