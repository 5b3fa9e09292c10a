/**
 * The Tree-structured Parzen Estimator (Bergstra et al., "Algorithms for Hyper-Parameter
 * Optimization", 2011), with the defaults of Optuna's TPESampler (5.x) so a sweep here behaves like
 * one there:
 * - the first 10 finished (complete or pruned) trials are random (random.ts);
 * - then the trials are split: of the n finished ones, the best γ(n) = min(⌈0.1·n⌉, 25) are
 *   "below", the rest "above". Complete trials rank by value in the sweep's direction; pruned ones
 *   after them, the furthest (last reported step) first and, at the same step, by that step's value.
 *   With the constant liar (Optuna 5's default), the running trials other than the one being
 *   proposed are "above" too (they do not count in n): a trial already under way is treated as a
 *   bad one, so parallel trials spread out instead of proposing the same point. Failed trials, and
 *   running ones without the liar, take no part;
 * - multivariate (Optuna 5's default for one objective; Falkner et al., BOHB, 2018): one Parzen
 *   estimator l(x) over the below trials and one g(x) over the above ones, each over all parameters
 *   jointly: a mixture with one component per trial, each component a product of one kernel per
 *   parameter at that trial's values, plus a prior component. Trials lacking a parameter of the
 *   space (or holding a value outside it) are left out of the estimators. Univariate
 *   (`multivariate: false`): one pair of estimators per parameter, over the trials that hold it;
 * - a numeric parameter's kernels are truncated normals on [low, high] (the log scale for
 *   loguniform and log integers), each as wide as the larger gap to a neighbour among the
 *   parameter's observed values (the outermost kernels take their inner gap: endpoints not
 *   considered), clipped to [(high − low) / min(100, n + 2), high − low]; the prior kernel sits in
 *   the middle, width high − low. The multivariate estimator keeps this same rule in every
 *   dimension: Optuna 5 dropped the Scott-like 0.2·(high − low)·n^(−1/(d+4)) bandwidth its
 *   multivariate TPE once had (`_ParzenEstimatorParameters.multivariate` is "unused" in 5.1.0).
 *   Integers keep their kernels on [low − ½, high + ½] and score a value by its cell [x − ½, x + ½];
 * - a choice's kernels are categorical: each observation puts weight 1 on its value and spreads the
 *   prior weight / (n + 1) over all choices; the prior kernel is uniform;
 * - components weigh 1 (the prior 1 too), except that with 25 or more observations the older ones
 *   ramp up linearly from 1/n;
 * - 24 candidates are drawn from l (a component by weight, then a value from each of its kernels);
 *   the one with the largest log l(x) − log g(x) is proposed, log l a log-sum-exp over components
 *   of each component's summed log densities.
 * Every random number comes from the trial's own generator (the context's `rng`).
 */
import { MedtrainError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { contains, type Direction, type Distribution, type Params, type TrialRecord } from '../space.js';
import { RandomSampler } from './random.js';
import type { SampleContext, Sampler } from './sampler.js';
import { logGaussMass, normLogPdf, truncnormPpf } from './truncnorm.js';

export interface TpeOptions {
  /** Finished (complete or pruned) trials drawn at random before TPE takes over (10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x), of which the best is proposed (24). */
  nEiCandidates?: number;
  /** The number of "below" (good) trials out of n finished ones: min(⌈0.1·n⌉, 25). */
  gamma?: (n: number) => number;
  /** The prior kernel's weight, beside an observation's (at most) 1 (1). */
  priorWeight?: number;
  /** One estimator over all parameters jointly, as Optuna 5 does for one objective (true); false: one per parameter. */
  multivariate?: boolean;
  /** Running trials (other than the one proposed) count as bad ones, so parallel trials spread out (true, as Optuna 5). */
  constantLiar?: boolean;
}

/** Optuna's default γ for one objective: the best 10 %, at most 25 trials. */
export function defaultGamma(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/** Weights of n observations in trial order: all 1 below 25; from 25 on, the newest 25 weigh 1 and the older ones ramp linearly from 1/n. */
export function defaultWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  if (n < 25) return w;
  const ramp = n - 25;
  for (let i = 0; i < ramp; i++) w[i] = ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1);
  return w;
}

/** Complete trials with a number for their value, and pruned ones: the trials TPE learns from. */
function isFinished(t: TrialRecord): boolean {
  return (t.state === 'complete' && typeof t.value === 'number' && !Number.isNaN(t.value)) || t.state === 'pruned';
}

/** A pruned trial's rank key, smaller first: the last step reached (descending), then its value. */
function prunedScore(t: TrialRecord, direction: Direction): [number, number] {
  const last = t.intermediate[t.intermediate.length - 1];
  if (!last) return [1, 0];
  const [step, value] = last;
  if (Number.isNaN(value)) return [-step, Infinity];
  return [-step, direction === 'minimize' ? value : -value];
}

function byNumber(a: TrialRecord, b: TrialRecord): number {
  return a.number - b.number;
}

/**
 * The finished trials split into the `nBelow` best and the rest, each in trial-number order (as
 * Optuna does for one objective). With `constantLiar`, running trials join the rest (the caller
 * leaves out the trial being proposed); otherwise they are left out, as failed trials always are.
 */
export function splitTrials(trials: readonly TrialRecord[], direction: Direction, nBelow: number, constantLiar = false): { below: TrialRecord[]; above: TrialRecord[] } {
  const sign = direction === 'minimize' ? 1 : -1;
  const finished = trials.filter(isFinished).sort(byNumber);
  const complete = finished.filter((t) => t.state === 'complete').sort((a, b) => sign * (a.value! - b.value!) || 0);
  const pruned = finished
    .filter((t) => t.state === 'pruned')
    .map((t) => ({ t, key: prunedScore(t, direction) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || 0)
    .map((p) => p.t);
  const running = constantLiar ? trials.filter((t) => t.state === 'running') : [];
  const ranked = [...complete, ...pruned];
  const cut = Math.max(0, Math.min(ranked.length, nBelow));
  return { below: ranked.slice(0, cut).sort(byNumber), above: [...ranked.slice(cut), ...running].sort(byNumber) };
}

/** One parameter's mixture components (the prior's last). Values are a choice's index, or the number itself. */
type Kernels =
  | { kind: 'categorical'; /** Per kernel, the log probability of each choice. */ logProbs: Float64Array[]; probs: Float64Array[] }
  | {
      kind: 'numeric';
      mus: Float64Array;
      sigmas: Float64Array;
      logSigmas: Float64Array;
      /** The kernels' support in their own space (log for a log scale; ±½ around an integer range). */
      low: number;
      high: number;
      /** Per kernel, log of its standard mass on [low, high]. */
      logMass: Float64Array;
      log: boolean;
      /** An integer range: values are rounded, and scored by their cell's mass. */
      discrete: boolean;
      /** The range of values (the distribution's own). */
      min: number;
      max: number;
    };

/**
 * A mixture of product kernels: component k weighs weights[k] and has kernel k of every dimension
 * (parameter). Univariate TPE is the case of one dimension.
 */
interface ParzenEstimator {
  /** Mixture weights, summing to 1 (the prior last). */
  weights: Float64Array;
  logWeights: Float64Array;
  dims: Kernels[];
}

/** Observation weights with the prior's appended, normalised (the prior alone when nothing is observed). */
function mixtureWeights(n: number, priorWeight: number): Float64Array {
  if (n === 0) return Float64Array.of(1);
  const w = new Float64Array(n + 1);
  w.set(defaultWeights(n));
  w[n] = priorWeight;
  const total = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / total);
}

function categoricalKernels(indices: readonly number[], nChoices: number, priorWeight: number): Kernels {
  const rows: Float64Array[] = [];
  if (indices.length === 0) {
    rows.push(new Float64Array(nChoices).fill(1 / nChoices));
  } else {
    const nKernels = indices.length + 1;
    for (let k = 0; k < nKernels; k++) {
      const row = new Float64Array(nChoices).fill(priorWeight / nKernels);
      if (k < indices.length) row[indices[k]!]! += 1;
      const sum = row.reduce((s, v) => s + v, 0);
      rows.push(sum > 0 ? row.map((v) => v / sum) : row);
    }
  }
  return { kind: 'categorical', probs: rows, logProbs: rows.map((r) => r.map(Math.log)) };
}

/**
 * Each kernel's width: the larger gap to its sorted neighbours (the range's ends count as
 * neighbours, except that the outermost kernels of two or more take their inner gap), clipped
 * to [(high − low) / min(100, n + 2), high − low].
 */
function kernelWidths(mus: Float64Array, low: number, high: number): Float64Array {
  const n = mus.length;
  const order = Array.from(mus.keys()).sort((i, j) => mus[i]! - mus[j]!);
  const sorted = [low, ...order.map((i) => mus[i]!), high];
  const widths = new Float64Array(n);
  order.forEach((i, r) => {
    const s = r + 1;
    let w = Math.max(sorted[s]! - sorted[s - 1]!, sorted[s + 1]! - sorted[s]!);
    if (n >= 2 && r === 0) w = sorted[2]! - sorted[1]!;
    if (n >= 2 && r === n - 1) w = sorted[n]! - sorted[n - 1]!;
    widths[i] = w;
  });
  const maxWidth = high - low;
  const minWidth = (high - low) / Math.min(100, n + 2);
  return widths.map((w) => Math.min(maxWidth, Math.max(minWidth, w)));
}

function numericKernels(values: readonly number[], d: Extract<Distribution, { kind: 'uniform' | 'loguniform' | 'int' }>): Kernels {
  const log = d.kind === 'loguniform' || (d.kind === 'int' && d.log);
  const discrete = d.kind === 'int';
  const toSpace = log ? Math.log : (v: number) => v;
  const low = toSpace(discrete ? d.low - 0.5 : d.low);
  const high = toSpace(discrete ? d.high + 0.5 : d.high);
  const observed = Float64Array.from(values, toSpace);
  const widths = kernelWidths(observed, low, high);
  const mus = Float64Array.of(...observed, 0.5 * (low + high));
  const sigmas = Float64Array.of(...widths, high - low);
  const logMass = mus.map((mu, k) => logGaussMass((low - mu) / sigmas[k]!, (high - mu) / sigmas[k]!));
  return { kind: 'numeric', mus, sigmas, logSigmas: sigmas.map(Math.log), low, high, logMass, log, discrete, min: d.low, max: d.high };
}

/**
 * The Parzen estimator of observations given as one column per dimension (choice indices, or
 * numbers), all of the same length, rows in trial order.
 */
function buildEstimator(columns: readonly (readonly number[])[], dists: readonly Distribution[], priorWeight: number): ParzenEstimator {
  const weights = mixtureWeights(columns[0]?.length ?? 0, priorWeight);
  const dims = dists.map((d, i) => (d.kind === 'choice' ? categoricalKernels(columns[i]!, d.choices.length, priorWeight) : numericKernels(columns[i]!, d)));
  return { weights, logWeights: weights.map(Math.log), dims };
}

/** The index drawn from a discrete distribution `p` (summing to 1) with the uniform u. */
function pick(p: Float64Array, u: number): number {
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    acc += p[i]!;
    if (u < acc) return i;
  }
  return p.length - 1;
}

/** A value drawn from kernel k of one dimension. */
function sampleKernel(K: Kernels, k: number, rng: Rng): number {
  if (K.kind === 'categorical') return pick(K.probs[k]!, rng.next());
  const mu = K.mus[k]!;
  const sigma = K.sigmas[k]!;
  const z = truncnormPpf(rng.next(), (K.low - mu) / sigma, (K.high - mu) / sigma);
  let x = mu + sigma * z;
  if (K.log) x = Math.exp(x);
  if (K.discrete) x = Math.round(x);
  return Math.min(K.max, Math.max(K.min, x));
}

/** One point drawn from the mixture: a component by weight, then a value from each of its kernels. */
function sampleEstimator(e: ParzenEstimator, rng: Rng): number[] {
  const k = pick(e.weights, rng.next());
  return e.dims.map((K) => sampleKernel(K, k, rng));
}

/** log of kernel k's density at x (for an integer, its mass over x's cell). */
function kernelLogPdf(K: Kernels, k: number, x: number): number {
  if (K.kind === 'categorical') return K.logProbs[k]![x]!;
  const mu = K.mus[k]!;
  const sigma = K.sigmas[k]!;
  if (K.discrete) {
    const left = K.log ? Math.log(x - 0.5) : x - 0.5;
    const right = K.log ? Math.log(x + 0.5) : x + 0.5;
    return logGaussMass((left - mu) / sigma, (right - mu) / sigma) - K.logMass[k]!;
  }
  const xs = K.log ? Math.log(x) : x;
  return normLogPdf((xs - mu) / sigma) - K.logMass[k]! - K.logSigmas[k]!;
}

/** log of the mixture's density at the point x: log-sum-exp over components of log weight + Σ over dimensions of the kernel's log density. */
function estimatorLogPdf(e: ParzenEstimator, x: readonly number[]): number {
  const terms = e.logWeights.map((lw, k) => e.dims.reduce((s, K, i) => s + kernelLogPdf(K, k, x[i]!), lw));
  const max = terms.reduce((m, v) => Math.max(m, v), -Infinity);
  if (max === -Infinity) return -Infinity;
  return max + Math.log(terms.reduce((s, v) => s + Math.exp(v - max), 0));
}

/**
 * The trials' values of the given parameters in the estimator's terms (a choice's index), one
 * column per parameter, keeping only the trials that hold every one of them inside the space.
 */
function observations(trials: readonly TrialRecord[], keys: readonly string[], dists: readonly Distribution[]): number[][] {
  const columns: number[][] = keys.map(() => []);
  for (const t of trials) {
    const values = keys.map((key) => t.params[key]);
    if (!values.every((v, i) => v !== undefined && contains(dists[i]!, v))) continue;
    values.forEach((v, i) => {
      const d = dists[i]!;
      columns[i]!.push(d.kind === 'choice' ? d.choices.findIndex((c) => c === v) : (v as number));
    });
  }
  return columns;
}

function checkOptions(o: Required<TpeOptions>): void {
  const bad = (what: string, value: unknown): MedtrainError => new MedtrainError(`the TPE sampler's ${what}`, { code: 'bad-sampler', value });
  if (!Number.isInteger(o.nStartupTrials) || o.nStartupTrials < 0) throw bad('nStartupTrials must be a whole number ≥ 0', o.nStartupTrials);
  if (!Number.isInteger(o.nEiCandidates) || o.nEiCandidates < 1) throw bad('nEiCandidates must be a whole number ≥ 1', o.nEiCandidates);
  if (!(Number.isFinite(o.priorWeight) && o.priorWeight > 0)) throw bad('priorWeight must be a positive number', o.priorWeight);
  if (typeof o.multivariate !== 'boolean') throw bad('multivariate must be true or false', o.multivariate);
  if (typeof o.constantLiar !== 'boolean') throw bad('constantLiar must be true or false', o.constantLiar);
}

export class TpeSampler implements Sampler {
  readonly name = 'tpe';
  readonly nStartupTrials: number;
  readonly nEiCandidates: number;
  readonly gamma: (n: number) => number;
  readonly priorWeight: number;
  readonly multivariate: boolean;
  readonly constantLiar: boolean;
  private readonly random = new RandomSampler();

  constructor(options: TpeOptions = {}) {
    const o: Required<TpeOptions> = { nStartupTrials: 10, nEiCandidates: 24, gamma: defaultGamma, priorWeight: 1, multivariate: true, constantLiar: true, ...options };
    checkOptions(o);
    this.nStartupTrials = o.nStartupTrials;
    this.nEiCandidates = o.nEiCandidates;
    this.gamma = o.gamma;
    this.priorWeight = o.priorWeight;
    this.multivariate = o.multivariate;
    this.constantLiar = o.constantLiar;
  }

  sample(ctx: SampleContext): Params {
    const finished = ctx.trials.filter(isFinished);
    if (finished.length < this.nStartupTrials) return this.random.sample(ctx);
    const nBelow = Math.floor(this.gamma(finished.length));
    const liars = this.constantLiar ? ctx.trials.filter((t) => t.state === 'running' && t.number !== ctx.number) : [];
    const { below, above } = splitTrials([...finished, ...liars], ctx.direction, Number.isFinite(nBelow) ? nBelow : 0, this.constantLiar);
    const entries = Object.entries(ctx.space);
    if (this.multivariate) return this.propose(entries, below, above, ctx.rng);
    const params: Params = {};
    for (const entry of entries) Object.assign(params, this.propose([entry], below, above, ctx.rng));
    return params;
  }

  /** The candidate from l with the largest log l(x) − log g(x), over the given parameters jointly. */
  private propose(entries: readonly [string, Distribution][], below: readonly TrialRecord[], above: readonly TrialRecord[], rng: Rng): Params {
    const keys = entries.map(([key]) => key);
    const dists = entries.map(([, d]) => d);
    const l = buildEstimator(observations(below, keys, dists), dists, this.priorWeight);
    const g = buildEstimator(observations(above, keys, dists), dists, this.priorWeight);
    let best: number[] | null = null;
    let bestScore = -Infinity;
    for (let i = 0; i < this.nEiCandidates; i++) {
      const x = sampleEstimator(l, rng);
      const score = estimatorLogPdf(l, x) - estimatorLogPdf(g, x);
      if (best === null || score > bestScore) {
        best = x;
        bestScore = score;
      }
    }
    const params: Params = {};
    entries.forEach(([key, d], i) => {
      const v = best![i]!;
      params[key] = d.kind === 'choice' ? d.choices[v]! : v;
    });
    return params;
  }
}
