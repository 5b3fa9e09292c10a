/**
 * Calibration of a multi-label classifier's sigmoid probabilities, per class: the Brier score, the
 * expected calibration error (ECE) over equal-width bins and the reliability-diagram data.
 *
 * Input as everywhere in metrics/: flat row-major [rows, classes] arrays, labels 1 / 0 / MASKED (-1);
 * masked entries (any label < 0 or NaN) are left out, a label >= 0.5 counts as positive.
 *
 * Definitions (Guo et al. 2017, "On calibration of modern neural networks"):
 * - Brier score: mean over labelled cases of (p - y)^2, as sklearn.metrics.brier_score_loss.
 * - Bins: B equal-width bins (default 15) with edges e_k = k * (1 / B) for k < B and e_B = 1
 *   (numpy's linspace(0, 1, B + 1)). Bin k holds e_k < p <= e_{k+1}; p = 0 goes into the first bin.
 *   These are sklearn.calibration.calibration_curve(strategy='uniform')'s bins.
 * - ECE = sum over bins of (count_k / n) * |fraction of positives_k - mean probability_k|, which is
 *   sum_k |positives_k - sum of p_k| / n.
 * A class with no labelled case, a NaN score or a score outside [0, 1] (a logit, not a probability)
 * has ECE and Brier null, with the reason; its bins are still listed (empty). The macro ECE and Brier
 * average the classes whose figures are defined (a class needs labels, not both label values).
 * Temperature scaling is temperature.ts's.
 */
import { MedtrainError } from '../util/errors.js';
import type { ColumnView, Numbers } from './types.js';

export const DEFAULT_BINS = 15;

export interface ReliabilityBin {
  /** The bin holds lower < p <= upper (the first bin also p = 0). */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin (null when empty). */
  meanPredicted: number | null;
  /** Fraction of positive labels in the bin (null when empty). */
  fractionPositive: number | null;
}

/** ECE and Brier score of one class (or their macro mean). */
export interface CalibrationFigures {
  ece: number | null;
  brier: number | null;
}

export interface ClassCalibration extends CalibrationFigures {
  /** Labelled cases. */
  n: number;
  /** Why ECE and Brier are null, when they are. */
  undefinedBecause?: string;
  bins: ReliabilityBin[];
}

export interface CalibrationReport {
  /** Number of equal-width bins. */
  bins: number;
  classes: Record<string, ClassCalibration>;
  /** Means over the classes with defined figures (`classes` of them). */
  macro: CalibrationFigures & { classes: number };
}

/** Bin edges e_0 = 0, e_k = k * (1 / bins), e_bins = 1 (numpy's linspace(0, 1, bins + 1)). */
export function binEdges(bins: number = DEFAULT_BINS): Float64Array {
  if (!Number.isInteger(bins) || bins < 1) throw new MedtrainError('the number of calibration bins must be a positive integer', { code: 'bad-bins', value: bins });
  const step = 1 / bins;
  const e = new Float64Array(bins + 1);
  for (let k = 0; k < bins; k++) e[k] = k * step;
  e[bins] = 1;
  return e;
}

/** Per-class sums of one pass over the matrix. */
interface CalibrationSums {
  bins: number;
  edges: Float64Array;
  /** [classes, bins, 4]: labelled cases, sum of p, positives, sum of (p - y)^2. */
  acc: Float64Array;
  /** [classes]: labelled cases, NaN scores, scores outside [0, 1]. */
  labelled: Float64Array;
  nan: Float64Array;
  outside: Float64Array;
}

const COUNT = 0;
const SUM_P = 1;
const SUM_Y = 2;
const SQUARES = 3;

/**
 * One row-major pass over a [rows, classes] matrix: every class's bin sums and squared errors,
 * side by side per bin. The hot loop has no branch on the labels (random, so mispredicted): a
 * masked entry is binned with weight 0. Only a score outside [0, 1] or NaN (rare) branches.
 */
function calibrationSums(scores: Numbers, labels: Numbers, numClasses: number, bins: number): CalibrationSums {
  const C = numClasses;
  const B = bins;
  const edges = binEdges(B);
  const acc = new Float64Array(C * B * 4);
  const bad = new Float64Array(C);
  const rows = scores.length / C;
  for (let r = 0; r < rows; r++) {
    const row = r * C;
    for (let c = 0; c < C; c++) {
      const y = labels[row + c]!;
      const p = scores[row + c]!;
      const w = +(y >= 0); // 0 for masked (and NaN) labels
      if (p >= 0 && p <= 1) {
        const t = +(y >= 0.5);
        // Bin k holds e_k < p <= e_{k+1}; p * B may round across an edge, one step corrects it.
        let k = (p * B) | 0;
        if (k > 0 && p <= edges[k]!) k--;
        else if (k < B - 1 && p > edges[k + 1]!) k++;
        const o = (c * B + k) << 2;
        const d = p - t;
        acc[o + COUNT]! += w;
        acc[o + SUM_P]! += w * p;
        acc[o + SUM_Y]! += t;
        acc[o + SQUARES]! += w * d * d;
      } else bad[c]! += w;
    }
  }
  const labelled = new Float64Array(C);
  const nan = new Float64Array(C);
  const outside = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let m = bad[c]!;
    for (let k = 0, o = c * B * 4; k < B; k++, o += 4) m += acc[o + COUNT]!;
    labelled[c] = m;
    if (!bad[c]) continue;
    // Rare: tell NaN scores from scores outside [0, 1] in a second pass over the class.
    for (let j = c; j < scores.length; j += C) {
      const p = scores[j]!;
      if (!(labels[j]! >= 0) || (p >= 0 && p <= 1)) continue;
      if (p !== p) nan[c]!++;
      else outside[c]!++;
    }
  }
  return { bins, edges, acc, labelled, nan, outside };
}

function undefinedReason(s: CalibrationSums, c: number): string | null {
  if (s.labelled[c] === 0) return 'no labelled cases';
  if (s.nan[c]) return `${s.nan[c]} NaN score(s)`;
  if (s.outside[c]) return `${s.outside[c]} score(s) outside [0, 1] (not probabilities)`;
  return null;
}

function figuresOf(s: CalibrationSums, c: number): CalibrationFigures {
  if (undefinedReason(s, c) !== null) return { ece: null, brier: null };
  const n = s.labelled[c]!;
  let gap = 0;
  let squares = 0;
  for (let k = 0, o = c * s.bins * 4; k < s.bins; k++, o += 4) {
    gap += Math.abs(s.acc[o + SUM_Y]! - s.acc[o + SUM_P]!);
    squares += s.acc[o + SQUARES]!;
  }
  return { ece: gap / n, brier: squares / n };
}

function binsOf(s: CalibrationSums, c: number): ReliabilityBin[] {
  const out: ReliabilityBin[] = [];
  for (let k = 0, o = c * s.bins * 4; k < s.bins; k++, o += 4) {
    const m = s.acc[o + COUNT]!;
    out.push({ lower: s.edges[k]!, upper: s.edges[k + 1]!, count: m, meanPredicted: m ? s.acc[o + SUM_P]! / m : null, fractionPositive: m ? s.acc[o + SUM_Y]! / m : null });
  }
  return out;
}

function macroOf(figures: readonly CalibrationFigures[]): CalibrationReport['macro'] {
  let ece = 0;
  let brier = 0;
  let k = 0;
  for (const f of figures) {
    if (f.ece === null || f.brier === null) continue;
    ece += f.ece;
    brier += f.brier;
    k++;
  }
  return { ece: k ? ece / k : null, brier: k ? brier / k : null, classes: k };
}

/**
 * ECE and Brier score of every class of a [rows, classes] matrix (null where undefined), in one
 * pass and without the reliability bins: what a per-epoch report needs.
 */
export function calibrationFigures(scores: Numbers, labels: Numbers, numClasses: number, bins: number = DEFAULT_BINS): CalibrationFigures[] {
  checkShape(scores, labels, numClasses);
  const s = calibrationSums(scores, labels, numClasses, bins);
  return Array.from({ length: numClasses }, (_, c) => figuresOf(s, c));
}

/** Per-class ECE, Brier score and reliability-diagram bins of a [rows, classes] matrix, and their macro means. */
export function calibrationReport(scores: Numbers, labels: Numbers, numClasses: number, opts: { classNames?: readonly string[]; bins?: number } = {}): CalibrationReport {
  checkShape(scores, labels, numClasses);
  const names = opts.classNames ?? Array.from({ length: numClasses }, (_, i) => `class_${i}`);
  if (names.length !== numClasses) throw new MedtrainError(`${names.length} class names for ${numClasses} classes`, { code: 'shape-mismatch' });
  const bins = opts.bins ?? DEFAULT_BINS;
  const s = calibrationSums(scores, labels, numClasses, bins);
  const classes: Record<string, ClassCalibration> = {};
  const figures: CalibrationFigures[] = [];
  for (let c = 0; c < numClasses; c++) {
    const f = figuresOf(s, c);
    const why = undefinedReason(s, c);
    figures.push(f);
    classes[names[c]!] = { ...f, n: s.labelled[c]!, ...(why !== null && { undefinedBecause: why }), bins: binsOf(s, c) };
  }
  return { bins, classes, macro: macroOf(figures) };
}

/** ECE of one column (a view into a flat array; default the whole array). */
export function expectedCalibrationError(probs: Numbers, labels: Numbers, opts: { bins?: number; view?: ColumnView } = {}): number | null {
  return columnFigures(probs, labels, opts).ece;
}

/** Brier score of one column (a view into a flat array; default the whole array). */
export function brierScore(probs: Numbers, labels: Numbers, opts: { view?: ColumnView } = {}): number | null {
  return columnFigures(probs, labels, opts).brier;
}

/** Reliability-diagram bins of one column. */
export function reliabilityBins(probs: Numbers, labels: Numbers, opts: { bins?: number; view?: ColumnView } = {}): ReliabilityBin[] {
  const s = calibrationSums(...columnOf(probs, labels, opts.view), 1, opts.bins ?? DEFAULT_BINS);
  return binsOf(s, 0);
}

function columnFigures(probs: Numbers, labels: Numbers, opts: { bins?: number; view?: ColumnView }): CalibrationFigures {
  return figuresOf(calibrationSums(...columnOf(probs, labels, opts.view), 1, opts.bins ?? DEFAULT_BINS), 0);
}

/** A view's values as two contiguous arrays (the arrays themselves when there is no view). */
function columnOf(probs: Numbers, labels: Numbers, view: ColumnView | undefined): [Numbers, Numbers] {
  if (!view) {
    if (probs.length !== labels.length) throw new MedtrainError(`probabilities (${probs.length}) and labels (${labels.length}) differ in length`, { code: 'shape-mismatch' });
    return [probs, labels];
  }
  const p = new Float64Array(view.length);
  const y = new Float64Array(view.length);
  for (let i = 0, j = view.offset; i < view.length; i++, j += view.stride) {
    p[i] = probs[j]!;
    y[i] = labels[j]!;
  }
  return [p, y];
}

function checkShape(scores: Numbers, labels: Numbers, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new MedtrainError('the number of classes must be a positive integer', { code: 'bad-shape', value: numClasses });
  if (scores.length !== labels.length || scores.length % numClasses !== 0) {
    throw new MedtrainError(`predictions (${scores.length} values) and labels (${labels.length} values) are not both [rows, ${numClasses}]`, { code: 'shape-mismatch' });
  }
}
