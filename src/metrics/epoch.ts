/**
 * Epoch-end evaluation for a training loop: the validation predictions and labels of one epoch, as
 * typed arrays, in; the report and a flat record of plain numbers for the history out. No tensors
 * are made here.
 *
 * The reference codebase logs, every epoch, macro and per-class AUROC, precision, recall, F2 (β = 2,
 * threshold 0.5) and binary accuracy; the record has those and a little more (the Trainer of
 * src/training prefixes every key with `val_`):
 *   macro_auroc, macro_ap, macro_auprc                   over the classes with both labels
 *   macro_precision, _recall, _specificity, _f1, _f2     the same classes, at the threshold
 *   binary_accuracy                                      micro accuracy over labelled entries (Keras's)
 *   auroc_excluded                                       classes the macro left out (AUROC undefined)
 *   auroc/<class>, ap/<class>, precision/<class>, recall/<class>, f2/<class>
 * An undefined value is null (a class without positives in validation), never 0.
 */
import { evaluateMultiLabel, type EvaluationReport, type ReportOptions } from './report.js';
import type { Numbers } from './types.js';

export type HistoryRecord = Record<string, number | null>;

export interface EpochEvaluation {
  /** Macro AUROC (null when no class has both labels). */
  auroc: number | null;
  report: EvaluationReport;
  history: HistoryRecord;
}

const MACRO = ['auroc', 'ap', 'auprc', 'precision', 'recall', 'specificity', 'f1', 'f2'] as const;
const PER_CLASS = ['auroc', 'ap', 'precision', 'recall', 'f2'] as const;

export function historyEntries(report: EvaluationReport, prefix = ''): HistoryRecord {
  const h: HistoryRecord = {};
  for (const k of MACRO) h[`${prefix}macro_${k}`] = report.macro[k];
  h[`${prefix}binary_accuracy`] = report.micro.accuracy;
  h[`${prefix}auroc_excluded`] = report.excludedCount;
  for (const [name, c] of Object.entries(report.classes)) {
    for (const k of PER_CLASS) h[`${prefix}${k}/${name}`] = c[k];
  }
  return h;
}

/** The keys historyEntries writes for these classes (without the prefix). */
export function epochMetricNames(classNames: readonly string[]): string[] {
  return [...MACRO.map((k) => `macro_${k}`), 'binary_accuracy', 'auroc_excluded', ...classNames.flatMap((n) => PER_CLASS.map((k) => `${k}/${n}`))];
}

export type EpochOptions = Omit<ReportOptions, 'classNames'> & { prefix?: string };

/**
 * Evaluate one epoch's validation predictions ([rows, classes] row-major probabilities) against the
 * labels (1 / 0 / -1 masked). Thresholds default to 0.5.
 */
export function evaluateEpoch(predictions: Numbers, labels: Numbers, classNames: readonly string[], opts: EpochOptions = {}): EpochEvaluation {
  const report = evaluateMultiLabel(predictions, labels, classNames.length, { micro: false, ...opts, classNames });
  return { auroc: report.macro.auroc, report, history: historyEntries(report, opts.prefix ?? '') };
}

/**
 * The Trainer's `evaluate` hook (src/training: `(yTrue, yScore, info) => MetricValues`), made of
 * evaluateEpoch: `new Trainer({..., evaluate: epochEvaluator()})` logs val_macro_auroc,
 * val_auroc/<class>, ... every epoch. Classes are named by info.classNames, else class_<i>.
 */
export function epochEvaluator(opts: EpochOptions = {}): (yTrue: Float32Array, yScore: Float32Array, info: { rows: number; numClasses: number; classNames?: readonly string[] }) => HistoryRecord {
  return (yTrue, yScore, info) => {
    const names = info.classNames ?? Array.from({ length: info.numClasses }, (_, i) => `class_${i}`);
    return evaluateEpoch(yScore, yTrue, names, opts).history;
  };
}
