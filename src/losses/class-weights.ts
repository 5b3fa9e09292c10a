/**
 * Class weights from the training label statistics (ClassStats per class, counted after encoding
 * and upsampling): pos_c = positives, neg_c = negatives, N_c = pos_c + neg_c labelled entries,
 * n = rows (positives + negatives + masked, unless given).
 *
 * Every scheme yields a positive weight w⁺_c (multiplying the y·log p term of class c) and a
 * negative weight w⁻_c (multiplying the (1−y)·log(1−p) term), which is all the weighted losses
 * (losses.ts) need: WBCE uses w⁺ = w⁻, CWBCE two different vectors.
 *
 * Schemes and their sources (the formulas are gathered in the project's SPEC, "Class weights and
 * losses"):
 * - 'class' — the reference Keras codebase's WBCE weights: r_c = n / pos_c, L1-normalised ×10
 *   (w_c = 10·r_c / Σ_k r_k; normalization 'l1', the `L1Normed` name token) or raw (w_c = r_c;
 *   'none', `NoNorm`).
 * - 'pos-neg' — the reference codebase's CWBCE weights: r⁺_c = N_c / pos_c and r⁻_c = N_c / neg_c,
 *   each vector L1-normalised ×10 ('l1') or raw ('none').
 * - 'pos-weight' — InnerEye's pos_weight for BCE-with-logits: w⁺_c = (N_c − pos_c) / pos_c, w⁻_c = 1.
 * - 'max-occurrence' — MML's w_c = max_k pos_k / pos_c, applied to both terms of class c.
 * - 'prevalence' — re-weight the loss to the one expected under target prevalences π_c: with the
 *   training prevalence p_c = pos_c / N_c, w⁺_c = π_c / p_c and w⁻_c = (1 − π_c) / (1 − p_c)
 *   (importance weights for a label-prior shift, as in Saerens, Latinne & Decaestecker, Neural
 *   Computation 14(1), 2002). A target imbalance ratio r (negatives per positive) means π = 1/(1+r);
 *   r = 1 gives sklearn's class_weight='balanced' per class (N_c / (2·pos_c), N_c / (2·neg_c)).
 * - 'uniform' — 1 everywhere (plain BCE).
 *
 * Empty classes: a side (positive or negative) with no training entries would divide by zero. Its
 * weight is 0 instead — it multiplies no training entry anyway — it is left out of the L1
 * normalisation sum (so one empty class cannot squash every other weight), and the class is listed
 * in `emptyPositive` / `emptyNegative` and logged. For the whole-class schemes ('class',
 * 'max-occurrence') a class without positives thus drops out of the weighted loss. Weights are never
 * Infinity or NaN; if no class at all has entries on a side that a scheme normalises over, that is
 * an error.
 */
import type { ClassStats } from '../core/types.js';
import { MedtrainError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import type { LossName } from './names.js';

const log = createLogger('losses');

/** 'l1': L1-normalised ×10 (the name token `L1Normed`); 'none': raw (`NoNorm`). As the Benchmark's classWeightNorm. */
export type Normalization = 'l1' | 'none';
export const NORMALIZATIONS: readonly Normalization[] = ['l1', 'none'];

/** The one reader of a normalisation: l1 (or the name token L1Normed), none (or NoNorm), any case. */
export function parseNormalization(word: string): Normalization {
  const w = word.trim().toLowerCase();
  if (w === 'l1' || w === 'l1normed') return 'l1';
  if (w === 'none' || w === 'nonorm') return 'none';
  throw new MedtrainError('unknown class-weight normalisation', { code: 'bad-normalization', value: word, hint: 'use l1 (L1-normalised ×10, L1Normed in a name) or none (NoNorm)' });
}

export type WeightScheme =
  | { kind: 'class'; normalization: Normalization; rows?: number }
  | { kind: 'pos-neg'; normalization: Normalization }
  | { kind: 'pos-weight' }
  | { kind: 'max-occurrence' }
  | { kind: 'prevalence'; prevalence: number | readonly number[] }
  | { kind: 'prevalence'; imbalanceRatio: number }
  | { kind: 'uniform' };

export interface ClassWeights {
  /** w⁺ per class. */
  positive: number[];
  /** w⁻ per class. */
  negative: number[];
  /** The scheme, in words, e.g. 'pos-neg L1Normed'. */
  scheme: string;
  /** Classes (indices) without positive training entries: w⁺ = 0 (and w⁻ = 0 for whole-class schemes). */
  emptyPositive: number[];
  /** Classes (indices) without negative training entries: w⁻ = 0 for the schemes with a negative weight. */
  emptyNegative: number[];
}

/** The reference's normalisation: 10·r / Σ r over the non-empty entries. */
export function l1Times10(r: readonly number[], what: string): number[] {
  const sum = r.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new MedtrainError(`cannot normalise the ${what} weights: no class has such training labels`, { code: 'bad-weights', hint: 'check the class statistics of the training set' });
  return r.map((x) => (10 * x) / sum);
}

/** r / count where count > 0, else 0 (and the class is recorded as empty). */
function safeRatio(num: number, count: number, c: number, empty: number[]): number {
  if (count > 0) return num / count;
  empty.push(c);
  return 0;
}

function checkStats(stats: readonly ClassStats[]): void {
  if (stats.length === 0) throw new MedtrainError('class weights need the statistics of at least one class', { code: 'bad-weights' });
  stats.forEach((s, c) => {
    for (const k of ['positive', 'negative', 'masked'] as const) {
      if (!(Number.isFinite(s[k]) && s[k] >= 0)) throw new MedtrainError(`class ${c}: ${k} count must be a non-negative number`, { code: 'bad-weights', value: s[k] });
    }
  });
}

function targetPrevalence(scheme: Extract<WeightScheme, { kind: 'prevalence' }>, c: number, numClasses: number): number {
  let pi: number;
  if ('imbalanceRatio' in scheme) {
    const r = scheme.imbalanceRatio;
    if (!(r > 0 && Number.isFinite(r))) throw new MedtrainError('the target imbalance ratio (negatives per positive) must be a positive number', { code: 'bad-weights', value: r });
    pi = 1 / (1 + r);
  } else if (typeof scheme.prevalence === 'number') {
    pi = scheme.prevalence;
  } else {
    if (scheme.prevalence.length !== numClasses) throw new MedtrainError(`${scheme.prevalence.length} target prevalences for ${numClasses} classes`, { code: 'bad-weights' });
    pi = scheme.prevalence[c]!;
  }
  if (!(pi > 0 && pi < 1)) throw new MedtrainError('a target prevalence must lie strictly between 0 and 1', { code: 'bad-weights', value: pi });
  return pi;
}

export function describeScheme(s: WeightScheme): string {
  if (s.kind === 'class' || s.kind === 'pos-neg') return `${s.kind} ${s.normalization === 'l1' ? 'L1Normed' : 'NoNorm'}`;
  if (s.kind === 'prevalence') return 'imbalanceRatio' in s ? `prevalence (imbalance ratio ${s.imbalanceRatio})` : `prevalence ${JSON.stringify(s.prevalence)}`;
  return s.kind;
}

export function computeClassWeights(stats: readonly ClassStats[], scheme: WeightScheme, classNames?: readonly string[]): ClassWeights {
  checkStats(stats);
  const C = stats.length;
  const emptyPositive: number[] = [];
  const emptyNegative: number[] = [];
  let positive: number[];
  let negative: number[];
  switch (scheme.kind) {
    case 'uniform':
      positive = new Array<number>(C).fill(1);
      negative = new Array<number>(C).fill(1);
      break;
    case 'class': {
      const r = stats.map((s, c) => safeRatio(scheme.rows ?? s.positive + s.negative + s.masked, s.positive, c, emptyPositive));
      positive = scheme.normalization === 'l1' ? l1Times10(r, 'class') : r;
      negative = [...positive];
      break;
    }
    case 'pos-neg': {
      const rp = stats.map((s, c) => safeRatio(s.positive + s.negative, s.positive, c, emptyPositive));
      const rn = stats.map((s, c) => safeRatio(s.positive + s.negative, s.negative, c, emptyNegative));
      const norm = scheme.normalization === 'l1';
      positive = norm ? l1Times10(rp, 'positive') : rp;
      negative = norm ? l1Times10(rn, 'negative') : rn;
      break;
    }
    case 'pos-weight':
      positive = stats.map((s, c) => safeRatio(s.negative, s.positive, c, emptyPositive));
      negative = new Array<number>(C).fill(1);
      break;
    case 'max-occurrence': {
      const max = Math.max(...stats.map((s) => s.positive));
      positive = stats.map((s, c) => safeRatio(max, s.positive, c, emptyPositive));
      negative = [...positive];
      break;
    }
    case 'prevalence': {
      positive = [];
      negative = [];
      stats.forEach((s, c) => {
        const pi = targetPrevalence(scheme, c, C);
        const N = s.positive + s.negative;
        // w⁺ = π / (pos/N) = π·N/pos; w⁻ = (1−π) / (neg/N) = (1−π)·N/neg.
        positive.push(safeRatio(pi * N, s.positive, c, emptyPositive));
        negative.push(safeRatio((1 - pi) * N, s.negative, c, emptyNegative));
      });
      break;
    }
  }
  if (emptyPositive.length === C && scheme.kind !== 'uniform') {
    throw new MedtrainError(`no class has positive training labels: ${describeScheme(scheme)} weights are undefined`, { code: 'bad-weights', hint: 'check the label encoding and the class statistics of the training set' });
  }
  if (emptyNegative.length === C) {
    throw new MedtrainError(`no class has negative training labels: ${describeScheme(scheme)} weights are undefined`, { code: 'bad-weights', hint: 'check the label encoding and the class statistics of the training set' });
  }
  const name = (c: number) => classNames?.[c] ?? `class ${c}`;
  if (emptyPositive.length) log.warn(`no positive training labels for ${emptyPositive.map(name).join(', ')}: positive weight 0 (${describeScheme(scheme)})`);
  if (emptyNegative.length) log.warn(`no negative training labels for ${emptyNegative.map(name).join(', ')}: negative weight 0 (${describeScheme(scheme)})`);
  return { positive, negative, scheme: describeScheme(scheme), emptyPositive, emptyNegative };
}

/**
 * The weights a loss of a benchmark name uses: BCE and Focal none (uniform), WBCE the reference
 * 'class' weights, CWBCE the reference 'pos-neg' weights, normalised as the name's token says.
 */
export function classWeightsForLoss(loss: LossName, stats: readonly ClassStats[], normalization: Normalization, classNames?: readonly string[]): ClassWeights {
  switch (loss) {
    case 'BCE':
    case 'Focal':
      return computeClassWeights(stats, { kind: 'uniform' }, classNames);
    case 'WBCE':
      return computeClassWeights(stats, { kind: 'class', normalization }, classNames);
    case 'CWBCE':
      return computeClassWeights(stats, { kind: 'pos-neg', normalization }, classNames);
  }
}
