/**
 * Temperature scaling of a multi-label classifier's sigmoid probabilities, one temperature per class.
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

/** Probabilities are clamped to [PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON] before a logit. */
export const PROBABILITY_EPSILON = 1e-7;
/** The fitted inverse temperature stays in [1 / TEMPERATURE_LIMIT, TEMPERATURE_LIMIT]. */
export const TEMPERATURE_LIMIT = 1e3;

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
