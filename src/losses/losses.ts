/**
 * Masked binary cross-entropy losses for multi-label heads: BCE, WBCE (one weight per class), CWBCE
 * (a positive and a negative weight per class) and focal loss, from probabilities or from logits.
 *
 * yTrue and yPred are [batch, classes]; yTrue holds 1 / 0 / smoothed labels in (0, 1), and MASKED
 * (-1) where a class is not labelled. With m = [yTrue >= 0], per entry
 *   ℓ = w⁺_c · y · Lpos + w⁻_c · (1 − y) · Lneg          (times the focal factor, if any)
 *   L = Σ m·ℓ / Σ m                                       (0 when every entry is masked)
 * so a masked entry adds nothing to the loss or its gradient and is not counted in the mean
 * (the SPEC's CWBCE; BCE and WBCE are its special cases w⁺ = w⁻ = 1 and w⁺ = w⁻ = w_c).
 *
 * From probabilities (the head's sigmoid output, the default): p is clipped to [ε, 1 − ε] with
 * ε = 1e-7, Lpos = −log(p + ε), Lneg = −log(1 − p + ε) — the reference codebase's formula (Keras 2's
 * backend adds ε inside the logs). `logEpsilon: false` leaves ε out of the logs, which is exactly
 * Keras 3's BinaryCrossentropy. Gradients vanish where p is clipped, as in Keras.
 * From logits (`fromLogits: true`, for a head without the sigmoid), the numerically stable form of
 * TensorFlow's sigmoid_cross_entropy_with_logits: Lpos = softplus(−z), Lneg = softplus(z), computed as
 *   Lpos = max(z, 0) − z + log(1 + exp(−|z|)),   Lneg = max(z, 0) + log(1 + exp(−|z|)),
 * (for unit weights ℓ = max(z, 0) − z·y + log(1 + exp(−|z|))), finite for any z with no clipping.
 *
 * Focal loss (Lin et al., ICCV 2017) as Keras's BinaryFocalCrossentropy: with p_t = y·p + (1−y)(1−p),
 * ℓ is multiplied by (1 − p_t)^γ and, when alpha is given, by α_t = y·α + (1−y)(1−α); p is the
 * unclipped probability (sigmoid(z) from logits). Class weights combine with it.
 *
 * Every loss is a function (yTrue, yPred) → scalar tensor: usable as a tfjs-layers custom loss
 * (`model.compile({loss})`) and inside `tf.variableGrads` in a custom loop. It works in `tf.tidy`
 * and leaves no tensors behind but its result.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClassStats } from '../core/types.js';
import { MedtrainError } from '../util/errors.js';
import { classWeightsForLoss, computeClassWeights, type Normalization, type WeightScheme } from './class-weights.js';
import { parseLossName } from './names.js';

export const EPSILON = 1e-7;

export interface PosNegWeights {
  positive: readonly number[];
  negative: readonly number[];
}

export interface FocalOptions {
  /** Focusing parameter γ >= 0 (Lin et al. use 2). */
  gamma: number;
  /** Class-balancing α in [0, 1] for positives (1 − α for negatives); null or absent: none. */
  alpha?: number | null;
}

export interface LossOptions {
  /** yPred holds logits rather than probabilities (default false: the head ends in a sigmoid). */
  fromLogits?: boolean;
  /** Clipping ε for probabilities (default 1e-7, Keras's epsilon). */
  epsilon?: number;
  /** Add ε inside the logs after clipping, as the reference codebase (default true); false = Keras 3. */
  logEpsilon?: boolean;
  /** Per-class weights; absent: 1. */
  weights?: PosNegWeights;
  /** Focal modulation; absent: plain cross-entropy. */
  focal?: FocalOptions;
}

export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

function checkOptions(o: LossOptions): void {
  const eps = o.epsilon ?? EPSILON;
  if (!(eps > 0 && eps < 0.5)) throw new MedtrainError('loss epsilon must lie in (0, 0.5)', { code: 'bad-loss', value: eps });
  if (o.weights) {
    const { positive, negative } = o.weights;
    if (positive.length !== negative.length) throw new MedtrainError(`${positive.length} positive and ${negative.length} negative class weights`, { code: 'bad-loss' });
    for (const w of [...positive, ...negative]) {
      if (!(Number.isFinite(w) && w >= 0)) throw new MedtrainError('class weights must be finite and >= 0', { code: 'bad-loss', value: w });
    }
  }
  if (o.focal) {
    const { gamma, alpha } = o.focal;
    if (!(gamma >= 0 && Number.isFinite(gamma))) throw new MedtrainError('focal gamma must be a finite number >= 0', { code: 'bad-loss', value: gamma });
    if (alpha !== undefined && alpha !== null && !(alpha >= 0 && alpha <= 1)) throw new MedtrainError('focal alpha must lie in [0, 1]', { code: 'bad-loss', value: alpha });
  }
}

function checkShapes(yTrue: tf.Tensor, yPred: tf.Tensor, weights: PosNegWeights | undefined): void {
  const a = yTrue.shape;
  const b = yPred.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new MedtrainError(`labels [${a.join(', ')}] and predictions [${b.join(', ')}] differ in shape`, { code: 'shape-mismatch', hint: 'the head needs one output per class' });
  }
  const C = b[b.length - 1];
  if (weights && C !== weights.positive.length) {
    throw new MedtrainError(`${weights.positive.length} class weights for ${C} outputs`, { code: 'shape-mismatch', hint: 'compute the class weights on the same classes as the model head' });
  }
}

/** The masked, optionally weighted and focal, binary cross-entropy described above. */
export function maskedBinaryCrossentropy(opts: LossOptions = {}): LossFn {
  checkOptions(opts);
  const eps = opts.epsilon ?? EPSILON;
  const logEps = opts.logEpsilon ?? true;
  const weights = opts.weights ? { positive: [...opts.weights.positive], negative: [...opts.weights.negative] } : undefined;
  const focal = opts.focal && (opts.focal.gamma > 0 || (opts.focal.alpha ?? null) !== null) ? opts.focal : undefined;
  return (yTrue, yPred) =>
    tf.tidy(() => {
      checkShapes(yTrue, yPred, weights);
      const pred = yPred.toFloat();
      const labels = yTrue.toFloat();
      const mask = tf.greaterEqual(labels, 0).toFloat();
      const y = tf.mul(labels, mask); // masked entries → 0 (their loss is multiplied by 0 anyway)
      const notY = tf.sub(1, y);
      let lpos: tf.Tensor;
      let lneg: tf.Tensor;
      let p: tf.Tensor | null = null;
      if (opts.fromLogits) {
        const tail = tf.log1p(tf.exp(tf.neg(tf.abs(pred))));
        const relu = tf.relu(pred);
        lpos = tf.add(tf.sub(relu, pred), tail);
        lneg = tf.add(relu, tail);
        if (focal) p = tf.sigmoid(pred);
      } else {
        const clipped = tf.clipByValue(pred, eps, 1 - eps);
        lpos = tf.neg(tf.log(logEps ? tf.add(clipped, eps) : clipped));
        lneg = tf.neg(tf.log(logEps ? tf.add(tf.sub(1, clipped), eps) : tf.sub(1, clipped)));
        if (focal) p = pred;
      }
      let posTerm = tf.mul(y, lpos);
      let negTerm = tf.mul(notY, lneg);
      if (weights) {
        posTerm = tf.mul(posTerm, tf.tensor1d(weights.positive));
        negTerm = tf.mul(negTerm, tf.tensor1d(weights.negative));
      }
      let entry = tf.add(posTerm, negTerm);
      if (focal && p) {
        const pt = tf.add(tf.mul(y, p), tf.mul(notY, tf.sub(1, p)));
        if (focal.gamma > 0) entry = tf.mul(entry, tf.pow(tf.sub(1, pt), focal.gamma));
        const alpha = focal.alpha ?? null;
        if (alpha !== null) entry = tf.mul(entry, tf.add(tf.mul(y, alpha), tf.mul(notY, 1 - alpha)));
      }
      // Σm·ℓ / max(Σm, 1): 0 when all is masked. (tf.divNoNan has no gradient through its zero test.)
      return tf.div(tf.sum(tf.mul(entry, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
    });
}

/** Masked BCE. */
export function bce(opts: Omit<LossOptions, 'weights' | 'focal'> = {}): LossFn {
  return maskedBinaryCrossentropy(opts);
}

/** Masked WBCE: one weight per class on both terms. */
export function wbce(weights: readonly number[], opts: Omit<LossOptions, 'weights' | 'focal'> = {}): LossFn {
  return maskedBinaryCrossentropy({ ...opts, weights: { positive: weights, negative: weights } });
}

/** Masked CWBCE: positive and negative weights per class. */
export function cwbce(weights: PosNegWeights, opts: Omit<LossOptions, 'weights' | 'focal'> = {}): LossFn {
  return maskedBinaryCrossentropy({ ...opts, weights });
}

/** Masked focal loss (default γ = 2, no α), optionally class-weighted. */
export function focalLoss(focal: FocalOptions = { gamma: 2 }, opts: Omit<LossOptions, 'focal'> = {}): LossFn {
  return maskedBinaryCrossentropy({ ...opts, focal });
}

export interface CreateLossOptions extends Omit<LossOptions, 'weights'> {
  /** Training class statistics: the weights of WBCE / CWBCE come from them. */
  stats?: readonly ClassStats[];
  /** The weights' normalisation, as the Benchmark's classWeightNorm (default 'l1': L1Normed, the reference formulas as written). */
  normalization?: Normalization;
  /** Another weighting scheme instead of the loss's own (e.g. InnerEye's pos-weight, a target prevalence). */
  scheme?: WeightScheme;
  /** Explicit weights instead of statistics. */
  weights?: PosNegWeights;
  classNames?: readonly string[];
}

/**
 * A loss by its benchmark name: BCE, WBCE, CWBCE or Focal (case-insensitive). WBCE and CWBCE need
 * `stats` (or explicit `weights`); `scheme` replaces their reference weights with another scheme.
 */
export function createLoss(name: string, opts: CreateLossOptions = {}): LossFn {
  const lossName = parseLossName(name);
  let weights = opts.weights;
  if (!weights && (opts.scheme || lossName === 'WBCE' || lossName === 'CWBCE')) {
    if (!opts.stats) throw new MedtrainError(`${lossName} needs the training class statistics for its weights`, { code: 'bad-loss', hint: 'pass stats (ClassStats per class) or explicit weights' });
    weights = opts.scheme ? computeClassWeights(opts.stats, opts.scheme, opts.classNames) : classWeightsForLoss(lossName, opts.stats, opts.normalization ?? 'l1', opts.classNames);
  }
  const focal = lossName === 'Focal' ? (opts.focal ?? { gamma: 2 }) : opts.focal;
  return maskedBinaryCrossentropy({ ...opts, weights, focal });
}
