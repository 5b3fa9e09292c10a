/**
 * DeLong's test for two correlated AUROCs (two models scored on the same cases), in the fast
 * midrank form of Sun & Xu (IEEE Signal Processing Letters 21(11), 2014), O(n log n):
 *
 * For model r, each positive case i has the structural component
 *   V10_r(i) = (#negatives scored below it + ½ #negatives tied with it) / N
 * and each negative case j
 *   V01_r(j) = (#positives scored above it + ½ #positives tied with it) / P,
 * (the midrank differences of Sun & Xu); AUROC_r is the mean of either. With S10 and S01 the
 * 2×2 sample covariance matrices (denominator P−1, N−1) of these components across positives and
 * negatives (DeLong, DeLong & Clarke-Pearson, Biometrics 44, 1988),
 *   Var(AUC_A − AUC_B) = (S10_AA + S10_BB − 2·S10_AB)/P + (S01_AA + S01_BB − 2·S01_AB)/N,
 *   z = (AUC_A − AUC_B) / sqrt(Var),   p = 2·(1 − Φ(|z|)) (two-sided).
 *
 * Undefined cases: fewer than 2 positives or 2 negatives → variance, z and p are null. A zero
 * variance (e.g. the same ranking twice) with no difference gives z = 0, p = 1; with a difference
 * (only when both components are constant, e.g. a perfect model against a constant one) z = ±Infinity, p = 0.
 */
import { MedtrainError } from '../util/errors.js';
import { groupIndex, scoreGroups, type GroupIndex } from './groups.js';
import type { ColumnView, Numbers } from './types.js';

export interface DelongAuc {
  auc: number | null;
  /** DeLong variance of the AUROC; null when undefined. */
  variance: number | null;
  /** Normal-approximation interval auc ± z·sqrt(variance), clipped to [0, 1]. */
  ci: [number, number] | null;
}

export interface DelongTest {
  positives: number;
  negatives: number;
  a: DelongAuc;
  b: DelongAuc;
  /** AUROC(a) − AUROC(b). */
  difference: number | null;
  /** Covariance of the two AUROCs. */
  covariance: number | null;
  /** Variance of the difference. */
  variance: number | null;
  z: number | null;
  /** Two-sided p-value. */
  p: number | null;
  /** Interval of the difference at `level`. */
  ci: [number, number] | null;
  level: number;
}

/**
 * Complementary error function to double precision: the series of erf (all terms positive, see
 * Abramowitz & Stegun 7.1.6) below 2, Lentz's continued fraction (A&S 7.1.14) above.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/√π · e^{−x²} · Σ_{n≥0} 2^n x^{2n+1} / (1·3·…·(2n+1))
    let term = x;
    let sum = x;
    const x2 = 2 * x * x;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  if (x > 27) return 0;
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? 1 / tiny : 1 / D;
    C = x + a / C;
    if (Math.abs(C) < tiny) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Upper tail of the standard normal, P(Z > z). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Quantile of the standard normal (Acklam's approximation refined by one Halley step on erfc). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  // Work in the lower tail, where 1 − p is exact and erfc keeps its relative precision.
  if (p > 0.5) return -normalQuantile(1 - p);
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  // Halley refinement: e = Φ(x) − p.
  for (let i = 0; i < 2; i++) {
    const e = 0.5 * erfc(-x / Math.SQRT2) - p;
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
    x = x - u / (1 + (x * u) / 2);
  }
  return x;
}

/** Structural components V10 (per positive) and V01 (per negative) of one model, in the index's row order. */
function components(ix: GroupIndex): { v10: Float64Array; v01: Float64Array } {
  const { groups, group, label } = ix;
  const G = groups.thresholds.length;
  const P = groups.positives;
  const N = groups.negatives;
  // negBelow[g]: negatives with a lower score than group g; posAbove[g]: positives with a higher score.
  const negBelow = new Float64Array(G);
  const posAbove = new Float64Array(G);
  let acc = 0;
  for (let g = G - 1; g >= 0; g--) {
    negBelow[g] = acc;
    acc += groups.neg[g]!;
  }
  acc = 0;
  for (let g = 0; g < G; g++) {
    posAbove[g] = acc;
    acc += groups.pos[g]!;
  }
  const v10 = new Float64Array(P);
  const v01 = new Float64Array(N);
  let i = 0;
  let j = 0;
  for (let k = 0; k < group.length; k++) {
    const g = group[k]!;
    if (label[k]) v10[i++] = (negBelow[g]! + 0.5 * groups.neg[g]!) / N;
    else v01[j++] = (posAbove[g]! + 0.5 * groups.pos[g]!) / P;
  }
  return { v10, v01 };
}

function mean(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

function cov(x: Float64Array, y: Float64Array): number {
  const mx = mean(x);
  const my = mean(y);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - mx) * (y[i]! - my);
  return s / (x.length - 1);
}

function indexFor(scores: Numbers, labels: Numbers, view: ColumnView | undefined, which: string): GroupIndex {
  const g = scoreGroups(scores, labels, view);
  if (g.nanScores) throw new MedtrainError(`model ${which} has ${g.nanScores} NaN score(s)`, { code: 'bad-scores', hint: 'DeLong needs a finite score for every labelled case' });
  return groupIndex(scores, labels, g, view);
}

function aucOf(auc: number | null, variance: number | null, zc: number): DelongAuc {
  if (auc === null || variance === null) return { auc, variance, ci: null };
  const h = zc * Math.sqrt(Math.max(variance, 0));
  return { auc, variance, ci: [Math.max(0, auc - h), Math.min(1, auc + h)] };
}

/**
 * Paired DeLong test of AUROC(scoresA) against AUROC(scoresB) on the same cases and labels
 * (masked labels left out). Views select a column of a [rows, classes] matrix, as in groups.ts.
 */
export function delongTest(scoresA: Numbers, scoresB: Numbers, labels: Numbers, opts: { view?: ColumnView; level?: number } = {}): DelongTest {
  if (scoresA.length !== scoresB.length || scoresA.length !== labels.length) {
    throw new MedtrainError(`the two models' scores (${scoresA.length}, ${scoresB.length}) and the labels (${labels.length}) differ in length`, {
      code: 'shape-mismatch',
      hint: 'DeLong compares two models on the same cases: give both models predictions for every case',
    });
  }
  const level = opts.level ?? 0.95;
  const zc = normalQuantile(1 - (1 - level) / 2);
  const ia = indexFor(scoresA, labels, opts.view, 'A');
  const ib = indexFor(scoresB, labels, opts.view, 'B');
  const P = ia.groups.positives;
  const N = ia.groups.negatives;
  const none = { auc: null, variance: null, ci: null };
  const base = { positives: P, negatives: N, level };
  if (P === 0 || N === 0) return { ...base, a: none, b: none, difference: null, covariance: null, variance: null, z: null, p: null, ci: null };
  const ca = components(ia);
  const cb = components(ib);
  const aucA = mean(ca.v10);
  const aucB = mean(cb.v10);
  const difference = aucA - aucB;
  if (P < 2 || N < 2) {
    return { ...base, a: { auc: aucA, variance: null, ci: null }, b: { auc: aucB, variance: null, ci: null }, difference, covariance: null, variance: null, z: null, p: null, ci: null };
  }
  const varA = cov(ca.v10, ca.v10) / P + cov(ca.v01, ca.v01) / N;
  const varB = cov(cb.v10, cb.v10) / P + cov(cb.v01, cb.v01) / N;
  const covariance = cov(ca.v10, cb.v10) / P + cov(ca.v01, cb.v01) / N;
  const variance = Math.max(0, varA + varB - 2 * covariance);
  let z: number;
  if (variance > 0) z = difference / Math.sqrt(variance);
  else z = difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
  const p = Math.min(1, 2 * normalSf(Math.abs(z)));
  const h = zc * Math.sqrt(variance);
  return {
    ...base,
    a: aucOf(aucA, varA, zc),
    b: aucOf(aucB, varB, zc),
    difference,
    covariance,
    variance,
    z,
    p,
    ci: [difference - h, difference + h],
  };
}
