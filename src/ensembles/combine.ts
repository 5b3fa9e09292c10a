/**
 * How an ensemble turns its members' probabilities into one: the combiners and how they are fitted.
 * Pure numbers, no files: `members[m]` is member m's [rows, classes] row-major probabilities.
 *
 *   mean       p_c = (1/M) Σ_m p_mc
 *   weighted   p_c = Σ_m w_mc p_mc, with w_mc = max(AUROC_mc − 0.5, 0) / Σ_k max(AUROC_kc − 0.5, 0):
 *              each member weighs on a class by how far its validation AUROC on that class is above
 *              chance; a class on which no member is above chance (or AUROC is undefined) takes the mean.
 *   stacking   p_c = σ(b_c + Σ_m β_mc logit(p_mc)): per class, a logistic regression over the members'
 *              logits, L2-regularised as scikit-learn's LogisticRegression (½‖β‖² + C Σ log loss, the
 *              intercept not penalised; C = 1 by default), fitted by Newton's method. A class whose
 *              labels have no positive or no negative takes the mean.
 * Probabilities are clipped to [1e-7, 1 − 1e-7] before a logit. Sums run in float64.
 */
import { auroc } from '../metrics/curves.js';
import { scoreGroups } from '../metrics/groups.js';
import { MASKED } from '../core/types.js';
import { clampedLogit as logit, PROBABILITY_EPSILON } from '../metrics/temperature.js';

export type EnsembleMethod = 'mean' | 'weighted' | 'stacking';
export const ENSEMBLE_METHODS: readonly EnsembleMethod[] = ['mean', 'weighted', 'stacking'];

/** A fitted combiner, as config.json records it. */
export type Combiner =
  | { method: 'mean' }
  /** weights[c][m]: member m's weight on class c (each class's weights add up to 1). */
  | { method: 'weighted'; weights: number[][] }
  /** models[c]: class c's meta learner, or null where the class takes the mean. */
  | { method: 'stacking'; C: number; models: ({ intercept: number; coef: number[] } | null)[] };

export { logit };

/** Mean binary cross-entropy over the labelled entries (probabilities clipped as for a logit). */
export function meanBce(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    if (y[i] !== 0 && y[i] !== 1) continue;
    const q = Math.min(1 - PROBABILITY_EPSILON, Math.max(PROBABILITY_EPSILON, p[i]!));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
    n++;
  }
  return n ? s / n : NaN;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** The combined [rows, classes] probabilities. */
export function combine(c: Combiner, members: readonly ArrayLike<number>[], rows: number, classes: number): Float64Array {
  const M = members.length;
  const out = new Float64Array(rows * classes);
  for (let k = 0; k < classes; k++) {
    const w = c.method === 'weighted' ? c.weights[k]! : null;
    const lr = c.method === 'stacking' ? c.models[k] : null;
    for (let i = 0; i < rows; i++) {
      const j = i * classes + k;
      let s = 0;
      if (lr) {
        s = lr.intercept;
        for (let m = 0; m < M; m++) s += lr.coef[m]! * logit(members[m]![j]!);
        out[j] = sigmoid(s);
      } else {
        for (let m = 0; m < M; m++) s += (w ? w[m]! : 1) * members[m]![j]!;
        out[j] = w ? s : s / M;
      }
    }
  }
  return out;
}

/** The labelled rows of class k among `rows` (all rows when omitted). */
function labelled(labels: ArrayLike<number>, classes: number, k: number, rows: readonly number[]): number[] {
  return rows.filter((i) => labels[i * classes + k] !== MASKED);
}

/** How far a member's AUROC on class k over `rows` is above chance (0 when not, or undefined). */
function gain(p: ArrayLike<number>, labels: ArrayLike<number>, rows: readonly number[], classes: number, k: number): number {
  const idx = labelled(labels, classes, k, rows);
  const a = auroc(scoreGroups(Float64Array.from(idx, (i) => p[i * classes + k]!), Float64Array.from(idx, (i) => labels[i * classes + k]!)));
  return a === null || !Number.isFinite(a) ? 0 : Math.max(a - 0.5, 0);
}

function normalised(gains: number[]): number[] {
  const total = gains.reduce((a, b) => a + b, 0);
  return total > 0 ? gains.map((g) => g / total) : gains.map(() => 1 / gains.length);
}

/** Per-class weights from each member's AUROC on the given rows (see the top of the file). */
export function fitWeights(members: readonly ArrayLike<number>[], labels: ArrayLike<number>, rows: readonly number[], classes: number): number[][] {
  return Array.from({ length: classes }, (_, k) => normalised(members.map((p) => gain(p, labels, rows, classes, k))));
}

/** The same, each member scored on its own cases (cross-validation folds: each on its own val set). */
export function fitWeightsEach(members: readonly { scores: ArrayLike<number>; labels: ArrayLike<number> }[], classes: number): number[][] {
  return Array.from({ length: classes }, (_, k) => normalised(members.map((m) => gain(m.scores, m.labels, Array.from({ length: m.labels.length / classes }, (_, i) => i), classes, k))));
}

/** Solve A x = b (n×n, symmetric positive definite) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const a = A.map((r, i) => [...r, b[i]!]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!)) piv = r;
    [a[col], a[piv]] = [a[piv]!, a[col]!];
    const d = a[col]![col]!;
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / d;
      if (f !== 0) for (let c2 = col; c2 <= n; c2++) a[r]![c2]! -= f * a[col]![c2]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!;
    for (let c2 = r + 1; c2 < n; c2++) s -= a[r]![c2]! * x[c2]!;
    x[r] = s / a[r]![r]!;
  }
  return x;
}

/**
 * L2-regularised logistic regression of y (0/1) on the rows of X (features without the intercept):
 * minimises ½‖β‖² + C Σ_i logloss(y_i, σ(b + x_i·β)) by Newton's method with step halving. null when
 * y has one value only.
 */
export function fitLogistic(X: readonly number[][], y: readonly number[], C = 1): { intercept: number; coef: number[] } | null {
  const n = y.length;
  const pos = y.reduce((a, b) => a + b, 0);
  if (pos === 0 || pos === n) return null;
  const d = (X[0]?.length ?? 0) + 1;
  const row = (i: number) => [1, ...X[i]!];
  const objective = (w: number[]) => {
    let f = 0;
    for (let j = 1; j < d; j++) f += (0.5 * w[j]! * w[j]!) / C;
    for (let i = 0; i < n; i++) {
      const z = row(i).reduce((s, v, j) => s + v * w[j]!, 0);
      // log(1 + e^z) − y z, stably
      f += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i]! * z;
    }
    return f;
  };
  let w = new Array<number>(d).fill(0);
  w[0] = Math.log(pos / (n - pos));
  let f = objective(w);
  for (let iter = 0; iter < 100; iter++) {
    const g = new Array<number>(d).fill(0);
    const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++) {
      const x = row(i);
      const p = sigmoid(x.reduce((s, v, j) => s + v * w[j]!, 0));
      const r = p - y[i]!;
      const h = p * (1 - p);
      for (let a = 0; a < d; a++) {
        g[a]! += r * x[a]!;
        for (let b = 0; b <= a; b++) H[a]![b]! += h * x[a]! * x[b]!;
      }
    }
    // Scaled by 1/C: minimise ½‖β‖²/C + Σ logloss, the same minimiser.
    for (let j = 1; j < d; j++) {
      g[j]! += w[j]! / C;
      H[j]![j]! += 1 / C;
    }
    for (let a = 0; a < d; a++) for (let b = a + 1; b < d; b++) H[a]![b] = H[b]![a]!;
    H[0]![0]! += 1e-12; // an intercept-only direction with every p at 0 or 1
    const step = solve(H, g);
    let t = 1;
    let next = w.map((v, j) => v - step[j]!);
    let fNext = objective(next);
    while (fNext > f && t > 1e-8) {
      t /= 2;
      next = w.map((v, j) => v - t * step[j]!);
      fNext = objective(next);
    }
    const moved = Math.max(...step.map((s) => Math.abs(s * t)));
    w = next;
    f = fNext;
    if (moved < 1e-10) break;
  }
  return { intercept: w[0]!, coef: w.slice(1) };
}

/** Per-class meta learners fitted on the given rows. */
export function fitStacking(members: readonly ArrayLike<number>[], labels: ArrayLike<number>, rows: readonly number[], classes: number, C = 1): Extract<Combiner, { method: 'stacking' }> {
  const models: ({ intercept: number; coef: number[] } | null)[] = [];
  for (let k = 0; k < classes; k++) {
    const idx = labelled(labels, classes, k, rows);
    const X = idx.map((i) => members.map((p) => logit(p[i * classes + k]!)));
    models.push(fitLogistic(X, idx.map((i) => labels[i * classes + k]!), C));
  }
  return { method: 'stacking', C, models };
}

/** Fit a combiner of the method on the given rows. */
export function fitCombiner(method: EnsembleMethod, members: readonly ArrayLike<number>[], labels: ArrayLike<number>, rows: readonly number[], classes: number, o: { C?: number } = {}): Combiner {
  if (method === 'mean') return { method };
  if (method === 'weighted') return { method, weights: fitWeights(members, labels, rows, classes) };
  return fitStacking(members, labels, rows, classes, o.C ?? 1);
}

/**
 * Cross-fitting: the rows are split into `folds` groups (whole groups of `groupOf`, e.g. patients,
 * assigned by a seeded permutation); each group's combined probabilities come from a combiner fitted
 * on the other groups only, so no row's output was fitted on its own label. Returns the out-of-fold
 * [rows, classes] probabilities.
 */
export function crossFit(method: EnsembleMethod, members: readonly ArrayLike<number>[], labels: ArrayLike<number>, rows: number, classes: number, o: { folds: number; foldOf: Int32Array; C?: number }): Float64Array {
  const out = new Float64Array(rows * classes);
  for (let f = 0; f < o.folds; f++) {
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < rows; i++) (o.foldOf[i] === f ? held : train).push(i);
    if (!held.length) continue;
    const c = fitCombiner(method, members, labels, train, classes, o);
    const sub = members.map((p) => {
      const s = new Float64Array(held.length * classes);
      held.forEach((i, r) => {
        for (let k = 0; k < classes; k++) s[r * classes + k] = p[i * classes + k]!;
      });
      return s;
    });
    const part = combine(c, sub, held.length, classes);
    held.forEach((i, r) => out.set(part.subarray(r * classes, (r + 1) * classes), i * classes));
  }
  return out;
}
