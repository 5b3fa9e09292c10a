/**
 * Learning-rate callbacks. LrFactorSchedule: lr_e = lr0·f^e, applied at each epoch's start by
 * multiplying the current rate (so a ReduceLROnPlateau cut compounds with it rather than being
 * overwritten). ReduceLROnPlateau (Keras semantics): multiply by `factor` after `patience` epochs
 * without improvement, not below minLr.
 */
import { createLogger } from '../../util/logger.js';
import { improves, monitorMode, type Callback, type EpochLogs, type TrainContext } from './callback.js';

const log = createLogger('train');

export class LrFactorSchedule implements Callback {
  readonly name = 'lr-factor';
  readonly order = -50;
  constructor(readonly factor: number) {
    if (!(factor > 0 && factor <= 1)) throw new Error(`LrFactorSchedule: the factor must be in (0, 1], got ${factor}`);
  }
  onEpochBegin(ctx: TrainContext, epoch: number): void {
    if (epoch > 0 && this.factor !== 1) ctx.setLearningRate(ctx.learningRate * this.factor);
  }
}

export interface ReduceLROnPlateauOptions {
  /** Default val_loss. */
  monitor?: string;
  mode?: 'auto' | 'min' | 'max';
  /** Default 0.5 (the reference). */
  factor?: number;
  /** Default 2 (the reference). */
  patience?: number;
  /** Default 1e-4 (Keras). */
  minDelta?: number;
  /** Epochs to wait after a cut before counting again. Default 0. */
  cooldown?: number;
  /** Default 0. */
  minLr?: number;
}

interface PlateauState {
  best: number | null;
  wait: number;
  cooldown: number;
}

export class ReduceLROnPlateau implements Callback {
  readonly name = 'reduce-lr-on-plateau';
  readonly monitor: string;
  private readonly mode: 'min' | 'max';
  private readonly factor: number;
  private readonly patience: number;
  private readonly minDelta: number;
  private readonly cooldown: number;
  private readonly minLr: number;
  private s: PlateauState = { best: null, wait: 0, cooldown: 0 };

  constructor(o: ReduceLROnPlateauOptions = {}) {
    this.monitor = o.monitor ?? 'val_loss';
    this.mode = monitorMode(this.monitor, o.mode);
    this.factor = o.factor ?? 0.5;
    if (!(this.factor > 0 && this.factor < 1)) throw new Error(`ReduceLROnPlateau: the factor must be in (0, 1), got ${this.factor}`);
    this.patience = o.patience ?? 2;
    this.minDelta = o.minDelta ?? 1e-4;
    this.cooldown = o.cooldown ?? 0;
    this.minLr = o.minLr ?? 0;
  }

  onEpochEnd(ctx: TrainContext, epoch: number, logs: EpochLogs): void {
    const v = logs[this.monitor];
    if (v === undefined) return;
    const inCooldown = this.s.cooldown > 0;
    if (inCooldown) {
      this.s.cooldown--;
      this.s.wait = 0;
    }
    if (improves(v, this.s.best, this.mode, this.minDelta)) {
      this.s.best = v;
      this.s.wait = 0;
    } else if (!inCooldown) {
      this.s.wait++;
      if (this.s.wait >= this.patience) {
        const old = ctx.learningRate;
        if (old > this.minLr) {
          const lr = Math.max(old * this.factor, this.minLr);
          ctx.setLearningRate(lr);
          log.info(`epoch ${epoch + 1}: ${this.monitor} has not improved for ${this.s.wait} epochs; learning rate ${old} → ${lr}`);
        }
        this.s.cooldown = this.cooldown;
        this.s.wait = 0;
      }
    }
  }

  stateDict(): PlateauState {
    return { ...this.s };
  }
  loadStateDict(state: unknown): void {
    this.s = { ...(state as PlateauState) };
  }
}
