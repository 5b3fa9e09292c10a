/**
 * ModelCheckpoint: after every epoch, the full state (model, optimizer, trainer, callbacks) goes to
 * a CheckpointSink — the run store writes it as checkpoints/epoch-NNN/, and also as best/ when the
 * monitored value improved. It runs after every other state holder (order 100), so the state it
 * saves includes this epoch's early-stopping counters, plateau cuts and history.
 */
import type * as tf from '@tensorflow/tfjs';
import { improves, monitorMode, type Callback, type EpochLogs, type TrainContext, type TrainerCheckpoint } from './callback.js';

/** A checkpoint to write: the trainer's snapshot at the end of `epoch` (1-based) and its logs. */
export interface CheckpointData extends TrainerCheckpoint {
  epoch: number;
  logs: EpochLogs;
}

export interface BestMark {
  /** Whether this epoch is the best so far (then it is written as best/ too). */
  best: boolean;
  monitor: string;
  value: number | null;
}

export interface CheckpointSink {
  saveCheckpoint(data: CheckpointData, mark: BestMark): Promise<void>;
}

export interface CheckpointSource {
  /** Load the weights of a saved epoch (1-based) or of best/ into the model. */
  loadModelWeights(epoch: number | 'best', model: tf.LayersModel): Promise<void>;
}

export interface ModelCheckpointOptions {
  /** Default val_loss. */
  monitor?: string;
  mode?: 'auto' | 'min' | 'max';
}

export class ModelCheckpoint implements Callback {
  readonly name = 'checkpoint';
  readonly order = 100;
  readonly monitor: string;
  private readonly mode: 'min' | 'max';
  private best: number | null = null;

  constructor(
    private readonly sink: CheckpointSink,
    o: ModelCheckpointOptions = {},
  ) {
    this.monitor = o.monitor ?? 'val_loss';
    this.mode = monitorMode(this.monitor, o.mode);
  }

  async onEpochEnd(ctx: TrainContext, epoch: number, logs: EpochLogs): Promise<void> {
    const v = logs[this.monitor] ?? null;
    const best = improves(v, this.best, this.mode);
    if (best) this.best = v;
    const cp = await ctx.checkpoint();
    await this.sink.saveCheckpoint({ ...cp, epoch: epoch + 1, logs }, { best, monitor: this.monitor, value: v });
  }

  stateDict(): { best: number | null } {
    return { best: this.best };
  }
  loadStateDict(state: unknown): void {
    this.best = (state as { best: number | null }).best;
  }
}
