/**
 * Epoch-end evaluation for a training loop: the validation predictions and labels of one epoch, as
 * typed arrays (read them off the model's output once, e.g. `await probs.data()`, then dispose the
 * tensor), in; the report and a flat record of plain numbers for the history out. No tensors are
 * made here.
 *
 * The reference codebase logs, every epoch, macro and per-class AUROC, precision, recall, F2 (β = 2,
 * threshold 0.5) and binary accuracy; the history gets those and a little more:
 *   <prefix>auroc, <prefix>ap, <prefix>auprc            macro over the classes with both labels
 *   <prefix>precision, recall, specificity, f1, f2       macro (same classes) at the threshold
 *   <prefix>binary_accuracy                              micro accuracy over labelled entries (Keras's)
 *   <prefix>auroc_excluded                               how many classes the macro AUROC left out
 *   <prefix><metric>/<class>                             per class (auroc, ap, precision, recall, f2)
 * An undefined value is null (a class without positives in validation), never 0.
 */
import { evaluateMultiLabel, type EvaluationReport, type ReportOptions } from './report.js';
import type { Numbers } from './groups.js';

export type HistoryRecord = Record<string, number | null>;

export interface EpochEvaluation {
  /** Macro AUROC (null when no class has both labels). */
  auroc: number | null;
  report: EvaluationReport;
  history: HistoryRecord;
}

const PER_CLASS = ['auroc', 'ap', 'precision', 'recall', 'f2'] as const;

export function historyEntries(report: EvaluationReport, prefix = 'val_'): HistoryRecord {
  const m = report.macro;
  const h: HistoryRecord = {
    [`${prefix}auroc`]: m.auroc,
    [`${prefix}ap`]: m.ap,
    [`${prefix}auprc`]: m.auprc,
    [`${prefix}precision`]: m.precision,
    [`${prefix}recall`]: m.recall,
    [`${prefix}specificity`]: m.specificity,
    [`${prefix}f1`]: m.f1,
    [`${prefix}f2`]: m.f2,
    [`${prefix}binary_accuracy`]: report.micro.accuracy,
    [`${prefix}auroc_excluded`]: report.excludedCount,
  };
  for (const [name, c] of Object.entries(report.classes)) {
    for (const k of PER_CLASS) h[`${prefix}${k}/${name}`] = c[k];
  }
  return h;
}

/**
 * Evaluate one epoch's validation predictions ([rows, classes] row-major, probabilities or logits)
 * against the labels (1 / 0 / -1 masked). Thresholds default to 0.5 (pass 0 for logits).
 */
export function evaluateEpoch(
  predictions: Numbers,
  labels: Numbers,
  classNames: readonly string[],
  opts: Omit<ReportOptions, 'classNames'> & { prefix?: string } = {},
): EpochEvaluation {
  const report = evaluateMultiLabel(predictions, labels, classNames.length, { micro: false, ...opts, classNames });
  return { auroc: report.macro.auroc, report, history: historyEntries(report, opts.prefix ?? 'val_') };
}
