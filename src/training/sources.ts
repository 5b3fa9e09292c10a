/**
 * Sources of batches and what is computed over a whole one: the DataSource contract the Trainer
 * reads (an ImageDataGenerator is one as it is), `tensorSource` over tensors in memory, and
 * `predictSource` / `evaluateSource`: a model's predictions, loss and metrics over a source
 * (the validation pass, the test set, `predictRun`).
 *
 * Tensors: a source's tensor batches are owned by whoever consumes them (the Trainer, or the
 * functions here), which disposes them after use; predictions come back as Float32Arrays, so no
 * tensor outlives a pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../core/types.js';
import type { LossFn } from '../losses/losses.js';
import { MedtrainError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { batchImages, batchLabels } from './batch-tensors.js';

/** A batch already on the engine: x [B, ...], y [B, C]. Its consumer disposes both after use. */
export interface TensorBatch {
  x: tf.Tensor;
  y: tf.Tensor;
  ids?: string[];
}

export type BatchInput = Batch | TensorBatch;

/** Where batches come from: one pass per call, in order. */
export interface DataSource {
  /**
   * The batches of one pass. Training calls it once per epoch with the epoch index; a source that
   * shuffles must derive the order from the epoch (e.g. rng.fork(`epoch-${epoch}`)) so that a
   * resumed run sees the same batches.
   */
  batches(epoch: number): AsyncIterable<BatchInput> | Iterable<BatchInput>;
  /** Batches per pass, when known (progress, ETA). */
  steps?: number;
}

/** A DataSource, or just its batches function. */
export type SourceLike = DataSource | DataSource['batches'];

export function asSource(s: SourceLike): DataSource {
  return typeof s === 'function' ? { batches: s } : s;
}

/** Metric name → value (null when undefined, e.g. an AUROC with a single label value). */
export type MetricValues = Record<string, number | null>;

/**
 * The metrics of one pass: yTrue and yScore are row-major [rows, numClasses]; yTrue holds MASKED
 * (-1) where not labelled. Keys become `val_<key>` in the epoch logs: `macro_auroc`, `auroc/<class>`, ….
 */
export type EvaluateFn = (yTrue: Float32Array, yScore: Float32Array, info: { rows: number; numClasses: number; classNames?: readonly string[] }) => MetricValues | Promise<MetricValues>;

/** A pass of predictions: row-major [rows, numClasses]. */
export interface Predictions {
  ids: string[];
  yTrue: Float32Array;
  /** Probabilities. */
  yScore: Float32Array;
  rows: number;
  numClasses: number;
}

export interface Evaluation extends Predictions {
  loss: number;
  metrics: MetricValues;
}

export function isBatch(b: BatchInput): b is Batch {
  return (b as Batch).x instanceof Float32Array;
}

/** The batch's images and labels as tensors: new ones for a typed-array Batch, the batch's own otherwise. */
export function inputTensors(input: BatchInput): { x: tf.Tensor; y: tf.Tensor } {
  return isBatch(input) ? { x: batchImages(input), y: batchLabels(input) } : { x: input.x, y: input.y };
}

/** Dispose a batch's tensors (a typed-array Batch has none). */
export function disposeInput(input: BatchInput): void {
  if (!isBatch(input)) tf.dispose([input.x, input.y]);
}

/**
 * Predict a whole source with a model (no training behaviour: BatchNorm uses its moving statistics).
 * `raw` is what the model outputs; `yScore` the probabilities (sigmoid of `raw` when it outputs logits).
 */
export async function predictSource(model: tf.LayersModel, source: SourceLike, o: { pass?: number; outputs?: 'probabilities' | 'logits' } = {}): Promise<Predictions & { raw: Float32Array }> {
  const ids: string[] = [];
  const trues: Float32Array[] = [];
  const raws: Float32Array[] = [];
  let numClasses = -1;
  let rows = 0;
  for await (const input of asSource(source).batches(o.pass ?? 0)) {
    const x = isBatch(input) ? batchImages(input) : input.x;
    let yTrue: Float32Array;
    try {
      const out = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor);
      try {
        raws.push(Float32Array.from((await out.data()) as Float32Array));
        numClasses = out.shape[1] ?? 1;
      } finally {
        out.dispose();
      }
      yTrue = isBatch(input) ? Float32Array.from(input.y) : Float32Array.from((await input.y.data()) as Float32Array);
    } finally {
      x.dispose();
      if (!isBatch(input)) input.y.dispose();
    }
    const n = raws[raws.length - 1]!.length / numClasses;
    if (yTrue.length !== n * numClasses) throw new MedtrainError(`a batch has ${yTrue.length / n} label columns but the model predicts ${numClasses}`, { code: 'shape-mismatch' });
    trues.push(yTrue);
    ids.push(...(input.ids ?? Array.from({ length: n }, (_, i) => String(rows + i))));
    rows += n;
  }
  const yTrue = concat(trues);
  const raw = concat(raws);
  const yScore = o.outputs === 'logits' ? raw.map((v) => 1 / (1 + Math.exp(-v))) : raw;
  return { ids, yTrue, yScore, raw, rows, numClasses: Math.max(numClasses, 0) };
}

/** Loss (and metrics, given an evaluator) of a model over a whole source. */
export async function evaluateSource(
  model: tf.LayersModel,
  loss: LossFn,
  source: SourceLike,
  o: { pass?: number; outputs?: 'probabilities' | 'logits'; evaluate?: EvaluateFn; classNames?: readonly string[] } = {},
): Promise<Evaluation> {
  const p = await predictSource(model, source, o);
  if (p.rows === 0) throw new MedtrainError('the evaluation data gave no batches', { code: 'no-data', hint: 'check the validation/test split' });
  const lossT = tf.tidy(() => loss(tf.tensor2d(p.yTrue, [p.rows, p.numClasses]), tf.tensor2d(p.raw, [p.rows, p.numClasses])));
  const value = (await lossT.data())[0]!;
  lossT.dispose();
  const metrics = o.evaluate ? await o.evaluate(p.yTrue, p.yScore, { rows: p.rows, numClasses: p.numClasses, ...(o.classNames && { classNames: o.classNames }) }) : {};
  return { ids: p.ids, yTrue: p.yTrue, yScore: p.yScore, rows: p.rows, numClasses: p.numClasses, loss: value, metrics };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A DataSource over tensors already in memory: batches of `batchSize` rows, shuffled per epoch
 * from `rng.fork('epoch-<e>')` when an rng is given (so the order depends on the epoch only). The
 * tensors stay the caller's; each batch is a fresh slice its consumer disposes.
 */
export function tensorSource(x: tf.Tensor, y: tf.Tensor, o: { batchSize: number; rng?: Rng; dropLast?: boolean; ids?: string[] }): DataSource {
  const n = x.shape[0]!;
  if (y.shape[0] !== n) throw new Error(`tensorSource: x has ${n} rows and y ${y.shape[0]}`);
  const full = Math.floor(n / o.batchSize);
  const steps = o.dropLast ? full : Math.ceil(n / o.batchSize);
  return {
    steps,
    *batches(epoch: number) {
      const order = o.rng ? o.rng.fork(`epoch-${epoch}`).permutation(n) : null;
      for (let s = 0; s < steps; s++) {
        const lo = s * o.batchSize;
        const hi = Math.min(n, lo + o.batchSize);
        if (order) {
          const idx = order.slice(lo, hi);
          yield {
            ...tf.tidy(() => {
              const it = tf.tensor1d(idx, 'int32');
              return { x: tf.gather(x, it), y: tf.gather(y, it) };
            }),
            ...(o.ids && { ids: Array.from(idx, (i) => o.ids![i]!) }),
          };
        } else {
          yield { x: tf.slice(x, lo, hi - lo), y: tf.slice(y, lo, hi - lo), ...(o.ids && { ids: o.ids.slice(lo, hi) }) };
        }
      }
    },
  };
}
