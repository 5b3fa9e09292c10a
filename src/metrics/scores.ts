/**
 * Scores at an operating threshold, from confusion counts, with scikit-learn's definitions
 * (`precision_recall_fscore_support`, 1.9):
 *   precision = tp / (tp + fp), recall (sensitivity) = tp / (tp + fn),
 *   specificity = tn / (tn + fp) (recall of the negative class),
 *   F-beta = (1 + β²)·tp / ((1 + β²)·tp + β²·fn + fp), accuracy = (tp + tn) / n.
 * A ratio whose denominator is 0 is undefined. `zeroDivision` says what it reports, as sklearn's
 * argument of that name: null (sklearn's np.nan: undefined, and left out of averages; medtrain's
 * default, so a class without positives never drags a mean recall down), 0 (sklearn's default
 * "warn") or 1.
 */
import type { Confusion } from './types.js';

export type ZeroDivision = 0 | 1 | null;

export interface ThresholdScores {
  precision: number | null;
  recall: number | null;
  specificity: number | null;
  /** F-beta for each requested beta, keyed `f<beta>` (f1, f2, f0.5, ...). */
  fbeta: Record<string, number | null>;
  accuracy: number | null;
}

export function ratio(num: number, den: number, zeroDivision: ZeroDivision): number | null {
  return den !== 0 ? num / den : zeroDivision;
}

export function fbetaScore(c: Confusion, beta: number, zeroDivision: ZeroDivision = null): number | null {
  const b2 = beta * beta;
  return ratio((1 + b2) * c.tp, b2 * (c.tp + c.fn) + (c.tp + c.fp), zeroDivision);
}

export function fbetaKey(beta: number): string {
  return `f${beta}`;
}

export function thresholdScores(c: Confusion, opts: { betas?: readonly number[]; zeroDivision?: ZeroDivision } = {}): ThresholdScores {
  const zd = opts.zeroDivision === undefined ? null : opts.zeroDivision;
  const fbeta: Record<string, number | null> = {};
  for (const b of opts.betas ?? [1, 2]) fbeta[fbetaKey(b)] = fbetaScore(c, b, zd);
  const n = c.tp + c.fp + c.tn + c.fn;
  return {
    precision: ratio(c.tp, c.tp + c.fp, zd),
    recall: ratio(c.tp, c.tp + c.fn, zd),
    specificity: ratio(c.tn, c.tn + c.fp, zd),
    fbeta,
    accuracy: n > 0 ? (c.tp + c.tn) / n : null,
  };
}
