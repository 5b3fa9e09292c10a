/**
 * Trainer: the training loop, and nothing else. It takes a tf.LayersModel, a loss, an optimizer and
 * training/validation sources, runs gradient steps (variableGrads, then applyGradients), collects
 * validation predictions as Float32Arrays for an injected evaluator, and calls callback hooks
 * (callbacks/callback.ts) for everything else. Its whole state (epoch, step, learning rate,
 * optimizer moments, RNG, callback state) can be snapshotted and restored, so a resumed run
 * continues exactly where an uninterrupted one would be.
 *
 * Tensors: every tensor a source yields is owned by the Trainer and disposed after its step; the
 * loop holds no tensor across steps, so tf.memory().numTensors is the same after every epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../core/types.js';
import { MedtrainError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { getLearningRate, restoreOptimizer, setLearningRate, snapshotOptimizer, type OptimizerSnapshot } from './optimizers.js';
import type { BatchLogs, Callback, EpochLogs, StopReason, TrainContext, TrainerCheckpoint, TrainerState } from './callbacks/callback.js';
import { NanGuard } from './callbacks/nan-guard.js';

/** A loss over a batch: yTrue [B, C] with MASKED (-1) where not labelled, yPred [B, C]; returns a scalar. */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** A batch already on the engine: x [B, ...], y [B, C]. The Trainer disposes both after use. */
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

function asSource(s: SourceLike): DataSource {
  return typeof s === 'function' ? { batches: s } : s;
}

/** Metric name → value (null when undefined, e.g. an AUROC with a single label value). */
export type MetricValues = Record<string, number | null>;

/**
 * The metrics of one pass: yTrue and yScore are row-major [rows, numClasses]; yTrue holds MASKED
 * (-1) where not labelled. Keys become `val_<key>` in the epoch logs: `macro_auroc`, `auroc/<class>`, ….
 */
export type EvaluateFn = (yTrue: Float32Array, yScore: Float32Array, info: { rows: number; numClasses: number; classNames?: readonly string[] }) => MetricValues | Promise<MetricValues>;

export interface TrainerOptions {
  model: tf.LayersModel;
  loss: LossFn;
  optimizer: tf.Optimizer;
  callbacks?: Callback[];
  evaluate?: EvaluateFn;
  classNames?: readonly string[];
  /** The run's generator: its state is checkpointed and restored in place. */
  rng?: Rng;
  /** What the model outputs: probabilities (default) or logits (sigmoid is applied to scores, not to the loss input). */
  outputs?: 'probabilities' | 'logits';
  /** Clip each gradient to this L2 norm (Keras clipnorm). */
  clipNorm?: number;
  /** A NanGuard is added unless one is given or this is false. */
  nanGuard?: boolean;
}

export interface FitOptions {
  epochs: number;
  train: SourceLike;
  val?: SourceLike;
}

export interface FitResult {
  /** Completed epochs (the resumed ones included). */
  epochs: number;
  step: number;
  stopped: StopReason | null;
  /** The epochs this fit ran. */
  history: EpochLogs[];
}

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

function isBatch(b: BatchInput): b is Batch {
  return (b as Batch).x instanceof Float32Array;
}

function now(): number {
  return performance.now();
}

export class Trainer implements TrainContext {
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly callbacks: readonly Callback[];
  private readonly lossFn: LossFn;
  private readonly evaluateFn?: EvaluateFn;
  private readonly classNames?: readonly string[];
  private readonly rng?: Rng;
  private readonly outputs: 'probabilities' | 'logits';
  private readonly clipNorm?: number;

  private epochsTotal = 0;
  private startEpoch = 0;
  private completed = 0;
  private steps = 0;
  private stepsKnown: number | null = null;
  private stopped: StopReason | null = null;
  private aborted = false;

  constructor(o: TrainerOptions) {
    this.model = o.model;
    this.optimizer = o.optimizer;
    this.lossFn = o.loss;
    this.evaluateFn = o.evaluate;
    this.classNames = o.classNames;
    this.rng = o.rng;
    this.outputs = o.outputs ?? 'probabilities';
    this.clipNorm = o.clipNorm;
    const cbs = [...(o.callbacks ?? [])];
    if (o.nanGuard !== false && !cbs.some((c) => c instanceof NanGuard)) cbs.push(new NanGuard());
    const names = new Set<string>();
    for (const c of cbs) {
      if (names.has(c.name)) throw new Error(`two callbacks are named '${c.name}'; callback names key their checkpoint state and must be unique`);
      names.add(c.name);
    }
    // Stable sort by order.
    this.callbacks = cbs.map((c, i) => ({ c, i })).sort((a, b) => (a.c.order ?? 0) - (b.c.order ?? 0) || a.i - b.i).map((x) => x.c);
  }

  // ---- TrainContext ----
  get epochs(): number {
    return this.epochsTotal;
  }
  get initialEpoch(): number {
    return this.startEpoch;
  }
  get completedEpochs(): number {
    return this.completed;
  }
  get step(): number {
    return this.steps;
  }
  get stepsPerEpoch(): number | null {
    return this.stepsKnown;
  }
  get learningRate(): number {
    return getLearningRate(this.optimizer);
  }
  setLearningRate(lr: number): void {
    if (!(lr > 0) || !Number.isFinite(lr)) throw new Error(`learning rate must be a positive number, got ${lr}`);
    setLearningRate(this.optimizer, lr);
  }
  get stopReason(): StopReason | null {
    return this.stopped;
  }
  stop(reason: StopReason): void {
    this.stopped ??= reason;
  }
  abort(reason: StopReason): void {
    this.stopped = reason;
    this.aborted = true;
  }

  /** The whole state now, for a checkpoint. */
  async checkpoint(): Promise<TrainerCheckpoint> {
    const callbacks: Record<string, unknown> = {};
    for (const c of this.callbacks) if (c.stateDict) callbacks[c.name] = c.stateDict();
    const state: TrainerState = {
      format: 'medtrain-trainer/1',
      epoch: this.completed,
      step: this.steps,
      learningRate: this.learningRate,
      rng: this.rng ? this.rng.state() : null,
      stopped: this.stopped,
      callbacks,
    };
    return { state: JSON.parse(JSON.stringify(state)) as TrainerState, optimizer: await snapshotOptimizer(this.optimizer), model: this.model };
  }

  /**
   * Continue from a checkpoint: epoch, step, learning rate, optimizer state, RNG and callback state.
   * The model's weights are restored separately (RunStore.loadCheckpoint loads them into the model).
   */
  async restore(state: TrainerState, optimizer: OptimizerSnapshot): Promise<void> {
    if (state?.format !== 'medtrain-trainer/1') throw new MedtrainError('not a medtrain trainer state', { code: 'bad-checkpoint' });
    await restoreOptimizer(this.optimizer, optimizer);
    this.completed = state.epoch;
    this.steps = state.step;
    this.stopped = state.stopped;
    this.setLearningRate(state.learningRate);
    if (state.rng && this.rng) this.rng.setState(state.rng);
    for (const c of this.callbacks) {
      if (c.loadStateDict && state.callbacks[c.name] !== undefined) c.loadStateDict(state.callbacks[c.name]);
    }
  }

  private async emit<K extends keyof Callback>(hook: K, ...args: unknown[]): Promise<void> {
    for (const c of this.callbacks) {
      const f = c[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof f === 'function') await f.call(c, this, ...args);
      if (this.aborted && hook !== 'onTrainEnd' && hook !== 'onException') return;
    }
  }

  /**
   * Train from the completed epoch (0, or the restored one) up to `epochs`. Stops early when a
   * callback asks; a non-finite loss aborts the epoch before the weights change (NanGuard).
   */
  async fit(o: FitOptions): Promise<FitResult> {
    if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new Error(`fit: epochs must be a positive integer, got ${o.epochs}`);
    this.epochsTotal = o.epochs;
    this.startEpoch = this.completed;
    const train = asSource(o.train);
    const val = o.val === undefined ? undefined : asSource(o.val);
    this.stepsKnown = train.steps ?? null;
    this.aborted = false;
    const history: EpochLogs[] = [];
    try {
      await this.emit('onTrainBegin');
      for (let e = this.completed; e < o.epochs && !this.stopped; e++) {
        const logs = await this.runEpoch(e, train, val);
        if (!logs) break;
        history.push(logs);
      }
      await this.emit('onTrainEnd', { stopped: this.stopped, history });
    } catch (err) {
      for (const c of this.callbacks) {
        try {
          await c.onException?.(this, err);
        } catch {
          // the first error is the one to report
        }
      }
      throw err;
    }
    return { epochs: this.completed, step: this.steps, stopped: this.stopped, history };
  }

  private async runEpoch(e: number, train: DataSource, val: DataSource | undefined): Promise<EpochLogs | null> {
    await this.emit('onEpochBegin', e);
    if (this.aborted) return null;
    const t0 = now();
    let images = 0;
    let lossSum = 0;
    let batch = 0;
    for await (const input of train.batches(e)) {
      const size = isBatch(input) ? input.size : input.x.shape[0]!;
      await this.emit('onBatchBegin', { epoch: e, batch, size });
      if (this.aborted) {
        disposeInput(input);
        break;
      }
      const logs = await this.trainStep(input, e, batch, size);
      if (!logs) break;
      images += size;
      lossSum += logs.loss * size;
      await this.emit('onBatchEnd', logs);
      if (this.aborted) break;
      batch++;
    }
    if (this.aborted) return null;
    if (batch === 0) throw new MedtrainError(`the training data gave no batches in epoch ${e + 1}`, { code: 'no-data', hint: 'check the training split and the batch size (drop-last with fewer images than one batch gives none)' });
    const seconds = (now() - t0) / 1000;
    const logs: EpochLogs = { epoch: e + 1, loss: lossSum / images, lr: this.learningRate, images, seconds, images_per_second: images / seconds };
    if (val) {
      const v = await this.evaluate(val, e);
      logs.val_loss = v.loss;
      for (const [k, x] of Object.entries(v.metrics)) logs[`val_${k}`] = x;
    }
    await this.emit('onValidationEnd', e, logs);
    if (this.aborted) return null;
    this.completed = e + 1;
    await this.emit('onEpochEnd', e, logs);
    return logs;
  }

  /** One gradient step. Returns null when a callback aborted it (the weights are then unchanged). */
  private async trainStep(input: BatchInput, epoch: number, batch: number, size: number): Promise<BatchLogs | null> {
    const [x, y] = toTensors(input);
    const vars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    if (vars.length === 0) throw new MedtrainError('the model has no trainable weights', { code: 'nothing-to-train', hint: 'unfreeze some layers' });
    let grads: tf.NamedTensorMap | null = null;
    let stats: tf.Tensor | null = null;
    try {
      const r = tf.variableGrads(() => {
        const pred = this.model.apply(x, { training: true }) as tf.Tensor;
        let l = this.lossFn(y, pred);
        for (const reg of this.model.calculateLosses()) l = tf.add(l, reg) as tf.Scalar;
        return l;
      }, vars);
      grads = r.grads;
      const g = grads;
      stats = tf.tidy(() => tf.stack([r.value, tf.addN(Object.values(g).map((t) => tf.sum(tf.square(t))))]));
      r.value.dispose();
      const [loss, gradSq] = (await stats.data()) as Float32Array;
      const lr = this.learningRate;
      const info = { epoch, batch, step: this.steps + 1, loss: loss!, gradNorm: Math.sqrt(gradSq!) };
      await this.emit('onBeforeOptimizerStep', info);
      if (this.aborted) return null;
      if (this.clipNorm !== undefined) {
        const c = this.clipNorm;
        const clipped = tf.tidy(() => {
          const out: tf.NamedTensorMap = {};
          for (const [k, t] of Object.entries(g)) out[k] = tf.mul(t, tf.minimum(1, tf.div(c, tf.add(tf.norm(t), 1e-12))));
          return out;
        });
        tf.dispose(grads);
        grads = clipped;
      }
      this.optimizer.applyGradients(grads);
      this.steps++;
      return { ...info, size, lr };
    } finally {
      tf.dispose([x, y]);
      if (grads) tf.dispose(grads);
      stats?.dispose();
    }
  }

  /** Predict a whole source (no training behaviour: BatchNorm uses its moving statistics). */
  predict(source: SourceLike, pass = 0): Promise<Predictions & { raw: Float32Array }> {
    return predictSource(this.model, source, { pass, outputs: this.outputs });
  }

  /** Loss and metrics over a whole source (the validation pass; the test set in an Experiment). */
  evaluate(source: SourceLike, pass = 0): Promise<Evaluation> {
    return evaluateSource(this.model, this.lossFn, source, { pass, outputs: this.outputs, ...(this.evaluateFn && { evaluate: this.evaluateFn }), ...(this.classNames && { classNames: this.classNames }) });
  }
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
    const x = isBatch(input) ? batchX(input) : input.x;
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

function batchX(b: Batch): tf.Tensor {
  return tf.tensor4d(b.x, [b.size, b.dim, b.dim, b.x.length / (b.size * b.dim * b.dim)]);
}

function toTensors(input: BatchInput): [tf.Tensor, tf.Tensor] {
  return isBatch(input) ? [batchX(input), tf.tensor2d(input.y, [input.size, input.numClasses])] : [input.x, input.y];
}

function disposeInput(input: BatchInput): void {
  if (!isBatch(input)) tf.dispose([input.x, input.y]);
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
 * tensors stay the caller's; each batch is a fresh slice the Trainer disposes.
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
