/**
 * EarlyStopping (Keras semantics): stop when `monitor` has not improved by more than `minDelta`
 * for `patience` epochs; with restoreBest the model ends with the weights of its best epoch — kept
 * in memory, or, after a resume, loaded from that epoch's checkpoint.
 */
import * as tf from '@tensorflow/tfjs';
import { createLogger } from '../../util/logger.js';
import { improves, monitorMode, type Callback, type EpochLogs, type TrainContext } from './callback.js';
import type { CheckpointSource } from './checkpoint.js';

const log = createLogger('train');

export interface EarlyStoppingOptions {
  /** Default val_loss. */
  monitor?: string;
  mode?: 'auto' | 'min' | 'max';
  /** Epochs without improvement before stopping. Default 5 (the reference). */
  patience?: number;
  /** Default 0. */
  minDelta?: number;
  /** Default true: the run ends with the best epoch's weights. */
  restoreBest?: boolean;
  /** Epochs before this one (0-based) are not judged. Default 0. */
  startFromEpoch?: number;
  /** Where the best epoch's weights are after a resume (the run store). */
  checkpoints?: CheckpointSource;
}

interface State {
  best: number | null;
  /** 0-based. */
  bestEpoch: number | null;
  wait: number;
}

export class EarlyStopping implements Callback {
  readonly name = 'early-stopping';
  readonly monitor: string;
  private readonly mode: 'min' | 'max';
  private readonly patience: number;
  private readonly minDelta: number;
  private readonly restoreBest: boolean;
  private readonly startFromEpoch: number;
  private readonly checkpoints?: CheckpointSource;
  private s: State = { best: null, bestEpoch: null, wait: 0 };
  private bestWeights: tf.Tensor[] | null = null;
  private warned = false;

  constructor(o: EarlyStoppingOptions = {}) {
    this.monitor = o.monitor ?? 'val_loss';
    this.mode = monitorMode(this.monitor, o.mode);
    this.patience = o.patience ?? 5;
    this.minDelta = o.minDelta ?? 0;
    this.restoreBest = o.restoreBest ?? true;
    this.startFromEpoch = o.startFromEpoch ?? 0;
    this.checkpoints = o.checkpoints;
  }

  get best(): number | null {
    return this.s.best;
  }
  /** 0-based epoch of the best value, or null. */
  get bestEpoch(): number | null {
    return this.s.bestEpoch;
  }

  onEpochEnd(ctx: TrainContext, epoch: number, logs: EpochLogs): void {
    if (epoch < this.startFromEpoch) return;
    const v = logs[this.monitor];
    if (v === undefined) {
      if (!this.warned) log.warn(`early stopping: '${this.monitor}' is not among the epoch logs (${Object.keys(logs).join(', ')}); it does nothing`);
      this.warned = true;
      return;
    }
    this.s.wait++;
    if (improves(v, this.s.best, this.mode, this.minDelta)) {
      this.s = { best: v, bestEpoch: epoch, wait: 0 };
      if (this.restoreBest) {
        tf.dispose(this.bestWeights ?? []);
        this.bestWeights = tf.tidy(() => ctx.model.getWeights().map((w) => w.clone()));
      }
      return;
    }
    if (this.s.wait >= this.patience && epoch > 0) {
      const best = this.s.best === null ? 'none' : `${this.s.best} at epoch ${this.s.bestEpoch! + 1}`;
      ctx.stop({ kind: 'early-stopping', message: `${this.monitor} has not improved for ${this.s.wait} epochs (best ${best})`, epoch, step: ctx.step });
    }
  }

  async onTrainEnd(ctx: TrainContext): Promise<void> {
    try {
      if (!this.restoreBest || this.s.bestEpoch === null || this.s.bestEpoch === ctx.completedEpochs - 1) return;
      if (this.bestWeights) {
        ctx.model.setWeights(this.bestWeights);
      } else if (this.checkpoints) {
        await this.checkpoints.loadModelWeights(this.s.bestEpoch + 1, ctx.model);
      } else {
        log.warn(`early stopping: the weights of the best epoch (${this.s.bestEpoch + 1}) are not at hand after the resume; the last epoch's weights stay`);
        return;
      }
      log.info(`restored the weights of the best epoch (${this.s.bestEpoch + 1}, ${this.monitor} ${this.s.best})`);
    } finally {
      tf.dispose(this.bestWeights ?? []);
      this.bestWeights = null;
    }
  }

  stateDict(): State {
    return { ...this.s };
  }
  loadStateDict(state: unknown): void {
    this.s = { ...(state as State) };
  }
}
