/**
 * Calibration of a multi-label classifier's sigmoid probabilities, per class: the Brier score, the
 * expected calibration error (ECE) over equal-width bins, the reliability-diagram data, and
 * temperature scaling (one temperature per class, fitted by minimising the binary cross-entropy).
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
 *
 * Temperature scaling: p' = sigmoid(logit(p) / T), probabilities clamped to [1e-7, 1 - 1e-7] before
 * the logit. The fit minimises the mean binary cross-entropy over the labelled cases; in the inverse
 * temperature a = 1 / T it is a convex 1-D problem (logistic regression with one weight and no bias),
 * solved by Newton's method safeguarded by bisection of the derivative's sign bracket in
 * [1e-3, 1e3]. A class with no positives or no negatives (or every prediction 0.5, or a NaN) keeps
 * T = 1, with the reason. T is monotone: a threshold t maps to sigmoid(logit(t) / T) and every
 * case keeps its side of it.
 */
import { MedtrainError } from '../util/errors.js';
import type { ColumnView, Numbers } from './types.js';

export const DEFAULT_BINS = 15;
/** Probabilities are clamped to [PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON] before a logit. */
export const PROBABILITY_EPSILON = 1e-7;
/** The fitted inverse temperature stays in [1 / TEMPERATURE_LIMIT, TEMPERATURE_LIMIT]. */
export const TEMPERATURE_LIMIT = 1e3;

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

// ---------------------------------------------------------------------------------------------
// Temperature scaling

/** logit of a probability clamped to [PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON]. */
export function clampedLogit(p: number): number {
  const q = p < PROBABILITY_EPSILON ? PROBABILITY_EPSILON : p > 1 - PROBABILITY_EPSILON ? 1 - PROBABILITY_EPSILON : p;
  return Math.log(q) - Math.log1p(-q);
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + e^x), without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** sigmoid(logit(p) / T); T = 1 returns p itself (not clamped). */
export function temperatureScale(p: number, temperature: number): number {
  if (temperature === 1) return p;
  return sigmoid(clampedLogit(p) / temperature);
}

/**
 * Temperature-scaled probabilities: one temperature for every value, or one per class of a
 * row-major [rows, classes] matrix (classes = temperatures.length).
 */
export function applyTemperature(probs: Numbers, temperature: number | readonly number[]): Float64Array {
  const out = new Float64Array(probs.length);
  if (typeof temperature === 'number') {
    checkTemperature(temperature);
    for (let i = 0; i < probs.length; i++) out[i] = temperatureScale(probs[i]!, temperature);
    return out;
  }
  const C = temperature.length;
  if (C === 0 || probs.length % C !== 0) throw new MedtrainError(`${C} temperatures for ${probs.length} values: not one per class of a [rows, classes] matrix`, { code: 'shape-mismatch' });
  temperature.forEach(checkTemperature);
  for (let i = 0, c = 0; i < probs.length; i++) {
    out[i] = temperatureScale(probs[i]!, temperature[c]!);
    if (++c === C) c = 0;
  }
  return out;
}

function checkTemperature(t: number): void {
  if (!(t > 0) || !Number.isFinite(t)) throw new MedtrainError('a temperature must be a positive finite number', { code: 'bad-temperature', value: t });
}

export interface TemperatureFit {
  /** The fitted temperature (1 when kept). */
  temperature: number;
  /** Labelled cases and, of them, positives. */
  n: number;
  positives: number;
  /** Mean binary cross-entropy over the labelled cases at T = 1 and at the fitted T (null without cases). */
  nllBefore: number | null;
  nllAfter: number | null;
  /** Newton / bisection steps taken. */
  iterations: number;
  /** Why the temperature was kept at 1, when it was. */
  kept?: string;
  /** The optimum lies at a limit of [1 / TEMPERATURE_LIMIT, TEMPERATURE_LIMIT] (the model ranks no better than chance, or separates perfectly). */
  atLimit?: boolean;
}

/** A column's labelled logits and labels. */
interface Logits {
  z: Float64Array;
  y: Uint8Array;
  positives: number;
  nan: number;
}

function logitsOf(probs: Numbers, labels: Numbers, view: ColumnView | undefined): Logits {
  const v = view ?? { offset: 0, stride: 1, length: probs.length };
  if (!view && probs.length !== labels.length) throw new MedtrainError(`probabilities (${probs.length}) and labels (${labels.length}) differ in length`, { code: 'shape-mismatch' });
  let m = 0;
  for (let i = 0, j = v.offset; i < v.length; i++, j += v.stride) if (labels[j]! >= 0) m++;
  const z = new Float64Array(m);
  const y = new Uint8Array(m);
  let k = 0;
  let positives = 0;
  let nan = 0;
  for (let i = 0, j = v.offset; i < v.length; i++, j += v.stride) {
    const l = labels[j]!;
    if (!(l >= 0)) continue;
    const p = probs[j]!;
    if (p !== p) nan++;
    z[k] = clampedLogit(p);
    y[k] = l >= 0.5 ? 1 : 0;
    positives += y[k]!;
    k++;
  }
  return { z, y, positives, nan };
}

/** Mean BCE at inverse temperature a: mean of softplus(a z) - y a z. */
function nllAt(d: Logits, a: number): number {
  let s = 0;
  const { z, y } = d;
  for (let i = 0; i < z.length; i++) {
    const x = a * z[i]!;
    s += softplus(x) - (y[i] ? x : 0);
  }
  return s / z.length;
}

/** Derivative and second derivative of the mean BCE in the inverse temperature a. */
function slopeAt(d: Logits, a: number, out: Float64Array): void {
  let g = 0;
  let h = 0;
  const { z, y } = d;
  for (let i = 0; i < z.length; i++) {
    const zi = z[i]!;
    const s = sigmoid(a * zi);
    g += (s - y[i]!) * zi;
    h += s * (1 - s) * zi * zi;
  }
  out[0] = g / z.length;
  out[1] = h / z.length;
}

/**
 * The mean binary cross-entropy of sigmoid(logit(p) / T) against the labels (masked left out),
 * probabilities clamped as in the fit: the objective `fitTemperature` minimises.
 */
export function temperatureNll(probs: Numbers, labels: Numbers, temperature: number, view?: ColumnView): number | null {
  checkTemperature(temperature);
  const d = logitsOf(probs, labels, view);
  return d.z.length && !d.nan ? nllAt(d, 1 / temperature) : null;
}

/**
 * The temperature T > 0 minimising the mean binary cross-entropy of sigmoid(logit(p) / T) over one
 * column's labelled cases (a view into a flat array; default the whole array). A column with no
 * positives or no negatives, a NaN probability or every probability 0.5 keeps T = 1.
 */
export function fitTemperature(probs: Numbers, labels: Numbers, view?: ColumnView): TemperatureFit {
  const d = logitsOf(probs, labels, view);
  const n = d.z.length;
  const base = { n, positives: d.positives };
  const keep = (why: string): TemperatureFit => ({ temperature: 1, ...base, nllBefore: n && !d.nan ? nllAt(d, 1) : null, nllAfter: n && !d.nan ? nllAt(d, 1) : null, iterations: 0, kept: why });
  if (n === 0) return keep('no labelled cases');
  if (d.nan) return keep(`${d.nan} NaN prediction(s)`);
  if (d.positives === 0) return keep('no positive labels');
  if (d.positives === n) return keep('no negative labels');
  if (d.z.every((v) => v === 0)) return keep('every prediction is 0.5');
  const nllBefore = nllAt(d, 1);
  const s = new Float64Array(2);
  let lo = 1 / TEMPERATURE_LIMIT;
  let hi = TEMPERATURE_LIMIT;
  // The objective is convex in a: its slope increases. A slope >= 0 at the low end puts the
  // optimum at T's upper limit; a slope <= 0 at the high end, at its lower limit.
  slopeAt(d, lo, s);
  if (s[0]! >= 0) return { temperature: 1 / lo, ...base, nllBefore, nllAfter: nllAt(d, lo), iterations: 0, atLimit: true };
  slopeAt(d, hi, s);
  if (s[0]! <= 0) return { temperature: 1 / hi, ...base, nllBefore, nllAfter: nllAt(d, hi), iterations: 0, atLimit: true };
  let a = 1;
  let iterations = 0;
  for (; iterations < 200; ) {
    iterations++;
    slopeAt(d, a, s);
    const g = s[0]!;
    const h = s[1]!;
    if (g > 0) hi = a;
    else if (g < 0) lo = a;
    else break;
    let next = a - g / h;
    // Outside the bracket (or no curvature): bisect it, geometrically (the bracket spans decades).
    if (!(next > lo && next < hi)) next = Math.sqrt(lo * hi);
    const step = Math.abs(next - a);
    a = next;
    if (step <= 1e-14 * a || hi - lo <= 1e-14 * a) break;
  }
  return { temperature: 1 / a, ...base, nllBefore, nllAfter: nllAt(d, a), iterations };
}
