/**
 * Trainer: the training loop, and nothing else. It takes a tf.LayersModel, a loss, an optimizer and
 * training/validation sources (sources.ts), runs gradient steps (variableGrads, then
 * applyGradients), runs the validation pass through evaluateSource with an injected evaluator, and
 * calls callback hooks (callbacks/callback.ts) for everything else.
 *
 * State: the Trainer's whole state (epoch, step, learning rate, optimizer moments, RNG, callback
 * state) can be snapshotted and restored, so a resumed run continues exactly where an
 * uninterrupted one would be.
 *
 * Tensors: the Trainer owns every tensor of a training batch (a source's TensorBatch, or the ones
 * it makes from a typed-array Batch through batch-tensors.ts) and disposes them after its step,
 * aborted or not; the loop holds no tensor across steps, so tf.memory().numTensors is the same
 * after every epoch.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossFn } from '../losses/losses.js';
import { MedtrainError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { getLearningRate, restoreOptimizer, setLearningRate, snapshotOptimizer, type OptimizerSnapshot } from './optimizers.js';
import type { BatchLogs, Callback, EpochLogs, StopReason, TrainContext, TrainerCheckpoint, TrainerState } from './callbacks/callback.js';
import { NanGuard } from './callbacks/nan-guard.js';
import { asSource, disposeInput, evaluateSource, inputTensors, isBatch, predictSource, type BatchInput, type DataSource, type EvaluateFn, type Evaluation, type Predictions, type SourceLike } from './sources.js';

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
    const vars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    if (vars.length === 0) {
      disposeInput(input);
      throw new MedtrainError('the model has no trainable weights', { code: 'nothing-to-train', hint: 'unfreeze some layers' });
    }
    const { x, y } = inputTensors(input);
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
